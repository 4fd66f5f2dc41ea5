"""The inbound callback endpoint: an authenticated HTTP call becomes an oracle transaction.

``POST /callbacks/<caller>`` with ``Content-Type: application/json``,
``X-CMT-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(caller secret, "<t>." + body)>``
and the body::

    {"id": "<caller's unique request id>", "contract": "0x<address>",
     "method": "confirmDelivery(uint256)", "args": ["42"]}

Checks, in order: known caller (401), body size (413), signature and timestamp window
(401), body shape (400), the (contract, method) pair is allowed for this caller (403),
signature and id not seen within the window (409), arguments encode (400). Then the
``TxSubmitter`` signs a transaction of the node's oracle account and admits it to the
mempool like ``eth_sendRawTransaction``; a refusal there is 422. Success is ``202``
with ``{"id": ..., "transactionHash": "0x..."}``; every refusal is
``{"error": "<reason>"}`` and submits nothing.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from middleware.jsonnesting import first_too_deep
from middleware.webhooks.abiargs import ArgumentError, encode_call
from middleware.webhooks.errors import (
    CallbackRefused,
    CallbackTooLarge,
    ForbiddenCallback,
    MalformedCallback,
    SignatureError,
    UnauthorizedCallback,
)
from middleware.webhooks.replay import ReplayCache
from middleware.webhooks.settings import Caller, InboundSettings
from middleware.webhooks.signing import SIGNATURE_HEADER, verify

log = logging.getLogger(__name__)

BODY_KEYS = frozenset({"id", "contract", "method", "args"})
MAX_ID_LENGTH = 128
MAX_BODY_NESTING = 8  # the body object, its args list and arrays of arrays in args


class TxSubmitter(Protocol):
    """Signs a call of the oracle account and admits it to the mempool."""

    async def submit(self, to: bytes, data: bytes) -> bytes:
        """Submit a call of ``to`` with ``data``; returns the transaction hash (``SubmissionRejected`` if refused)."""


class InboundEndpoint:
    """Authenticates callbacks and turns the allowed ones into transactions."""

    def __init__(self, settings: InboundSettings, submitter: TxSubmitter,
                 clock: Callable[[], int] = lambda: int(time.time())) -> None:
        self._settings = settings
        self._callers: dict[str, Caller] = {caller.name: caller for caller in settings.callers}
        self._submitter = submitter
        self._clock = clock
        self._replays = ReplayCache(settings.replay_cache_size)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one ``POST /callbacks/<caller>``."""
        try:
            return await self._accept(request)
        except CallbackRefused as refused:
            log.info("inbound callback from %r refused (%d): %s", request.match_info.get("caller"),
                     refused.status, refused.message)
            return web.json_response({"error": refused.message}, status=refused.status)

    async def _accept(self, request: web.Request) -> web.Response:
        caller = self._callers.get(request.match_info["caller"])
        if caller is None:
            raise UnauthorizedCallback("unknown caller")
        body = await self._read_body(request)
        now = self._clock()
        try:
            timestamp, signature = verify(caller.secret, request.headers.get(SIGNATURE_HEADER), body, now,
                                          self._settings.window_seconds)
        except SignatureError as exc:
            raise UnauthorizedCallback(str(exc)) from None
        request_id, contract, method, args = self._parse(body)
        if not any(a.contract == contract and a.method == method for a in caller.allowed):
            raise ForbiddenCallback(f"caller {caller.name!r} may not call {method} on 0x{contract.hex()}")
        try:
            data = encode_call(method, args)
        except ArgumentError as exc:
            raise MalformedCallback(str(exc)) from None
        keys = [f"{caller.name}/sig/{signature}", f"{caller.name}/id/{request_id}"]
        self._replays.reserve(keys, timestamp + self._settings.window_seconds, now)
        try:
            tx_hash = await self._submitter.submit(contract, data)
        except BaseException:
            self._replays.release(keys)
            raise
        log.info("inbound callback %s from %r submitted as 0x%s", request_id, caller.name, tx_hash.hex())
        return web.json_response({"id": request_id, "transactionHash": "0x" + tx_hash.hex()}, status=202)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise CallbackTooLarge(f"body too large: at most {limit} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise CallbackTooLarge(f"body too large: at most {limit} bytes") from None

    @staticmethod
    def _parse(body: bytes) -> tuple[str, bytes, str, Any]:
        """The (id, contract, method, args) of a callback body, or ``MalformedCallback`` naming the problem."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCallback(f"body is not UTF-8 text (byte {exc.start})") from None
        if first_too_deep(text, MAX_BODY_NESTING) is not None:
            raise MalformedCallback(f"body: nested deeper than {MAX_BODY_NESTING} levels")
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise MalformedCallback(f"body is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise MalformedCallback("body: expected a JSON object")
        unknown = sorted(set(document) - BODY_KEYS)
        if unknown:
            raise MalformedCallback(f"body: unknown field {unknown[0]!r}")
        missing = sorted(BODY_KEYS - set(document))
        if missing:
            raise MalformedCallback(f"body: missing field {missing[0]!r}")
        request_id, contract, method = document["id"], document["contract"], document["method"]
        if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_LENGTH:
            raise MalformedCallback(f"id: expected a string of 1 to {MAX_ID_LENGTH} characters")
        if not isinstance(contract, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", contract):
            raise MalformedCallback("contract: expected a 0x-prefixed 20-byte hex address")
        if not isinstance(method, str):
            raise MalformedCallback("method: expected a canonical signature like confirmDelivery(uint256)")
        return request_id, bytes.fromhex(contract[2:]), method, document["args"]


def create_inbound_app(endpoint: InboundEndpoint, max_body_bytes: int) -> web.Application:
    """The aiohttp application serving ``POST /callbacks/<caller>``."""
    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_post("/callbacks/{caller}", endpoint.handle)
    return app
