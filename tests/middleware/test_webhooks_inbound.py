"""Webhooks: the inbound callback endpoint refuses anything unauthenticated, replayed or not allowed."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import eth_abi
import pytest
from aiohttp.test_utils import TestClient, TestServer
from eth_utils import function_signature_to_4byte_selector

from middleware.webhooks.errors import SubmissionRejected
from middleware.webhooks.inbound import InboundEndpoint, create_inbound_app
from middleware.webhooks.settings import AllowedCall, Caller, InboundSettings
from middleware.webhooks.signing import SIGNATURE_HEADER, sign

NOW = 1_700_000_000
ESCROW = bytes.fromhex("e5" * 20)
OTHER = bytes.fromhex("07" * 20)
CARRIER_SECRET = b"carrier secret 0123456789"
CONFIRM = "confirmDelivery(uint256)"


class RecordingSubmitter:
    """A ``TxSubmitter`` that records what it is asked to submit (or refuses everything)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.submitted: list[tuple[bytes, bytes]] = []
        self.refuse = refuse

    async def submit(self, to: bytes, data: bytes) -> bytes:
        if self.refuse is not None:
            raise SubmissionRejected(self.refuse)
        self.submitted.append((to, data))
        return bytes([len(self.submitted)]) * 32


SETTINGS = InboundSettings(
    enabled=True,
    callers=(
        Caller("carrier", CARRIER_SECRET, (AllowedCall(ESCROW, CONFIRM),)),
        Caller("bank", b"bank secret 0123456789ab", ()),
    ),
    replay_cache_size=4,
    max_body_bytes=1_024,
)


def body(**fields: Any) -> bytes:
    document = {"id": "delivery-1", "contract": "0x" + ESCROW.hex(), "method": CONFIRM, "args": ["42"], **fields}
    return json.dumps(document).encode()


def signed(data: bytes, *, secret: bytes = CARRIER_SECRET, at: int = NOW) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, at, data), "Content-Type": "application/json"}


async def exchange(submitter: RecordingSubmitter, requests: list[tuple[str, bytes, dict[str, str]]],
                   clock: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """POST each (path, body, headers) in turn; the answers' status and JSON."""
    endpoint = InboundEndpoint(SETTINGS, submitter, clock=lambda: clock[0])
    answers = []
    async with TestClient(TestServer(create_inbound_app(endpoint, SETTINGS.max_body_bytes))) as client:
        for path, data, headers in requests:
            response = await client.post(path, data=data, headers=headers)
            answers.append((response.status, await response.json()))
    return answers


def post(*requests: tuple[str, bytes, dict[str, str]], submitter: RecordingSubmitter | None = None,
         now: int = NOW) -> tuple[list[tuple[int, dict[str, Any]]], RecordingSubmitter]:
    submitter = submitter or RecordingSubmitter()
    return asyncio.run(exchange(submitter, list(requests), [now])), submitter


def test_a_signed_allowed_callback_becomes_one_submitted_call() -> None:
    data = body()
    [(status, answer)], submitter = post(("/callbacks/carrier", data, signed(data)))
    assert status == 202
    assert answer == {"id": "delivery-1", "transactionHash": "0x" + "01" * 32}
    selector = function_signature_to_4byte_selector(CONFIRM)
    assert submitter.submitted == [(ESCROW, selector + eth_abi.encode(["uint256"], [42]))]


@pytest.mark.parametrize(
    ("path", "data", "headers", "status", "message"),
    [
        ("/callbacks/nobody", body(), signed(body()), 401, "unknown caller"),
        ("/callbacks/carrier", body(), {}, 401, "missing X-CMT-Signature header"),
        ("/callbacks/carrier", body(args=["43"]), signed(body()), 401, "signature does not match the body"),
        ("/callbacks/carrier", body(), signed(body(), secret=b"guessed secret 000000000"), 401,
         "signature does not match the body"),
        ("/callbacks/carrier", body(), signed(body(), at=NOW - 301), 401, "more than 300 s from now"),
        ("/callbacks/bank", body(), signed(body(), secret=b"bank secret 0123456789ab"), 403,
         "caller 'bank' may not call confirmDelivery(uint256)"),
        ("/callbacks/carrier", body(contract="0x" + OTHER.hex()), signed(body(contract="0x" + OTHER.hex())), 403,
         "may not call confirmDelivery(uint256) on 0x" + OTHER.hex()),
        ("/callbacks/carrier", body(method="release(uint256)"), signed(body(method="release(uint256)")), 403,
         "may not call release(uint256)"),
        ("/callbacks/carrier", body(args=["-1"]), signed(body(args=["-1"])), 400,
         "args[0]: -1 is out of range for uint256"),
        ("/callbacks/carrier", body(args=[]), signed(body(args=[])), 400, "takes 1 argument(s), got 0"),
        ("/callbacks/carrier", body(extra=1), signed(body(extra=1)), 400, "body: unknown field 'extra'"),
        ("/callbacks/carrier", b"[1]", signed(b"[1]"), 400, "body: expected a JSON object"),
        ("/callbacks/carrier", b"{", signed(b"{"), 400, "body is not JSON"),
        ("/callbacks/carrier", body(id=""), signed(body(id="")), 400, "id: expected a string of 1 to 128"),
        ("/callbacks/carrier", b"x" * 2_000, signed(b"x" * 2_000), 413, "body too large: at most 1024 bytes"),
    ],
    ids=["unknown-caller", "unsigned", "tampered", "wrong-secret", "stale", "caller-not-allowed",
         "contract-not-allowed", "method-not-allowed", "bad-argument", "argument-count", "unknown-field",
         "not-object", "not-json", "empty-id", "too-large"],
)
def test_refused_callbacks_submit_nothing(path, data, headers, status, message) -> None:
    [(got_status, answer)], submitter = post((path, data, headers))
    assert got_status == status
    assert message in answer["error"]
    assert submitter.submitted == []


def test_a_replayed_callback_is_refused() -> None:
    data = body()
    headers = signed(data)
    answers, submitter = post(("/callbacks/carrier", data, headers), ("/callbacks/carrier", data, headers))
    assert [status for status, _ in answers] == [202, 409]
    assert answers[1][1]["error"] == "callback already received (same signature or id)"
    assert len(submitter.submitted) == 1


def test_a_re_signed_callback_with_a_used_id_is_refused() -> None:
    data = body()
    answers, submitter = post(("/callbacks/carrier", data, signed(data)),
                              ("/callbacks/carrier", data, signed(data, at=NOW + 1)),
                              ("/callbacks/carrier", body(id="delivery-2"), signed(body(id="delivery-2"), at=NOW + 1)))
    assert [status for status, _ in answers] == [202, 409, 202]
    assert len(submitter.submitted) == 2


def test_a_refused_submission_can_be_sent_again() -> None:
    data = body()
    [(status, answer)], _ = post(("/callbacks/carrier", data, signed(data)),
                                 submitter=RecordingSubmitter(refuse="transaction refused: execution reverted"))
    assert (status, answer["error"]) == (422, "transaction refused: execution reverted")
    again, submitter = post(("/callbacks/carrier", data, signed(data)))
    assert again[0][0] == 202 and len(submitter.submitted) == 1


def test_a_full_replay_cache_refuses_rather_than_forgets() -> None:
    requests = [("/callbacks/carrier", body(id=f"d{n}"), signed(body(id=f"d{n}"))) for n in range(3)]
    answers, submitter = post(*requests)  # each accepted callback holds two keys; the cache holds four
    assert [status for status, _ in answers] == [202, 202, 429]
    assert len(submitter.submitted) == 2
