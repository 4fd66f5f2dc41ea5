"""Fuzzing inbound webhook callbacks: bodies signed with the caller's real secret, over HTTP.

Contract: every answer is one of the endpoint's statuses with a JSON body
(``transactionHash`` on 202, ``error`` otherwise), never a 500; the body
parser alone raises only ``CallbackRefused`` or ``ArgumentError``.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.webhooks.abiargs import ArgumentError, encode_call
from middleware.webhooks.errors import CallbackRefused
from middleware.webhooks.inbound import InboundEndpoint, create_inbound_app
from middleware.webhooks.settings import AllowedCall, Caller, InboundSettings
from middleware.webhooks.signing import SIGNATURE_HEADER, sign
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import json_values

NOW = 1_700_000_000
ESCROW = bytes.fromhex("e5" * 20)
SECRET = b"carrier secret 0123456789"
METHODS = ("confirmDelivery(uint256)", "settle(address,uint256[],bytes32,string,bool,int8[2][])")
SETTINGS = InboundSettings(
    enabled=True,
    callers=(Caller("carrier", SECRET, tuple(AllowedCall(ESCROW, method) for method in METHODS)),),
    replay_cache_size=64,
    max_body_bytes=4_096,
)
STATUSES = {202, 400, 401, 403, 409, 413, 422}

callback_values = json_values | st.sampled_from(["42", "-1", "0x", "0x" + "e5" * 20, "0x" + "00" * 32, "1" * 80,
                                                  *METHODS])


@st.composite
def callback_bodies(draw: st.DrawFn) -> bytes:
    """A callback document with some fields replaced, added or removed; or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=100))
    document: dict[str, Any] = {"id": draw(st.text(min_size=1, max_size=10)), "contract": "0x" + ESCROW.hex(),
                                "method": draw(st.sampled_from(METHODS)),
                                "args": draw(st.lists(callback_values, max_size=7))}
    for key in draw(st.lists(st.sampled_from(["id", "contract", "method", "args", "extra"]), max_size=2)):
        if draw(st.booleans()):
            document[key] = draw(callback_values)
        else:
            document.pop(key, None)
    return json.dumps(document).encode()


class RecordingSubmitter:
    """The node side of the endpoint: records each call it is asked to sign and submit."""

    def __init__(self) -> None:
        self.submitted: list[tuple[bytes, bytes]] = []

    async def submit(self, to: bytes, data: bytes) -> bytes:
        self.submitted.append((to, data))
        return len(self.submitted).to_bytes(32, "big")


async def _post_all(bodies: list[bytes]) -> list[tuple[int, Any]]:
    endpoint = InboundEndpoint(SETTINGS, RecordingSubmitter(), clock=lambda: NOW)
    answers = []
    async with TestClient(TestServer(create_inbound_app(endpoint, SETTINGS.max_body_bytes))) as client:
        for body in bodies:
            headers = {SIGNATURE_HEADER: sign(SECRET, NOW, body), "Content-Type": "application/json"}
            response = await client.post("/callbacks/carrier", data=body, headers=headers)
            answers.append((response.status, await response.json()))
    return answers


def _http_contract(bodies: list[bytes]) -> None:
    for status, answer in asyncio.run(_post_all(bodies)):
        assert status in STATUSES, (status, answer)
        assert ("transactionHash" in answer) if status == 202 else isinstance(answer.get("error"), str)


def _parse_contract(body: bytes) -> None:
    try:
        _, _, method, args = InboundEndpoint._parse(body)
        encode_call(method, args)
    except (CallbackRefused, ArgumentError):
        pass


@settings(FUZZ, max_examples=25)
@given(st.lists(callback_bodies(), min_size=1, max_size=8))
def test_signed_callbacks_get_a_status_and_a_json_answer(bodies: list[bytes]) -> None:
    _http_contract(bodies)


@FUZZ
@given(callback_bodies())
def test_callback_bodies_parse_or_are_refused(body: bytes) -> None:
    _parse_contract(body)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("webhook_inbound"), ids=lambda value: str(value)[:40])
def test_webhook_inbound_corpus(name: str, raw: bytes) -> None:
    _parse_contract(raw)
    if len(raw) <= SETTINGS.max_body_bytes:
        _http_contract([raw])


@pytest.mark.fuzz_long
@settings(FUZZ_LONG, max_examples=FUZZ_LONG.max_examples // 20)
@given(st.lists(callback_bodies(), min_size=1, max_size=20))
def test_signed_callbacks_long(bodies: list[bytes]) -> None:
    _http_contract(bodies)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(callback_bodies())
def test_callback_bodies_long(body: bytes) -> None:
    _parse_contract(body)
