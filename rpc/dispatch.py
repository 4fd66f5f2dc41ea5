"""JSON-RPC 2.0 request handling independent of the transport.

Parses a request body, validates single and batch requests, calls the
registered method handlers, and builds responses. Notifications (requests
without ``id``) are executed but get no response. A batch holds at most
``max_batch_size`` requests; as in geth, once the results of a batch add up
past ``max_batch_response_bytes`` of JSON, that request and the ones after it
are answered with -32003 "response too large" instead of their results. At
most ``BATCH_CONCURRENCY`` requests of one batch run at once, so a batch of
1,000 reads never fills the node's queue of pending reads by itself.
Unexpected exceptions are logged with their traceback and answered with a bare
-32603.

Bodies are parsed with orjson, which bounds nesting at 1024 levels and rejects
``NaN``, ``Infinity`` and numbers that overflow a double with a decode error.
The standard library's recursive parser must not see request bodies: py-evm
raises the interpreter's recursion limit to 100,000 on import, so a body nested
100,000 levels deep would overflow the C stack and kill the process instead of
raising ``RecursionError``.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from rpc.errors import (
    InternalError,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ResponseTooLarge,
    RPCError,
    ServerError,
)
from rpc.jsonwire import encode
from vm.errors import InvalidTransaction

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Awaitable[Any]]
"""A method: ``await handler(params, connection)``; ``connection`` is None over HTTP."""
RequestObserver = Callable[[str, float, int | None], None]
"""Told of each request: ``(method, seconds, error code or None)``."""
UNKNOWN_METHOD = "unknown"
"""The method name reported for requests to methods that do not exist."""

_NO_ID = object()
BATCH_CONCURRENCY = 64
"""Requests of one batch handled at the same time."""
MAX_ID_LENGTH = 256
"""The longest string id echoed back (clients use counters or UUIDs)."""


def error_response(error: RPCError, request_id: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response."""
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class Dispatcher:
    """Routes JSON-RPC requests to method handlers."""

    def __init__(self, methods: Mapping[str, Handler], max_batch_size: int, max_batch_response_bytes: int,
                 observer: RequestObserver | None = None) -> None:
        """Route to ``methods``; batches are bounded by request count and by the JSON size of their results.
        ``observer`` (monitoring) is told of every request."""
        self._methods = dict(methods)
        self._observer = observer
        self._max_batch_size = max_batch_size
        self._max_batch_response_bytes = max_batch_response_bytes

    @property
    def method_names(self) -> tuple[str, ...]:
        """The names of the registered methods, sorted."""
        return tuple(sorted(self._methods))

    async def handle_body(self, body: bytes | str, connection: Any = None) -> Any | None:
        """Answer a raw request body: a response object, a list of them, or None if nothing to send."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return error_response(ParseError(f"parse error: {exc}"))
        if isinstance(payload, list):
            return await self._handle_batch(payload, connection)
        return await self.handle_request(payload, connection)

    async def _handle_batch(self, batch: list[Any], connection: Any) -> list[dict[str, Any]] | dict[str, Any] | None:
        if not batch:
            return error_response(InvalidRequest("empty batch"))
        if len(batch) > self._max_batch_size:
            return error_response(InvalidRequest(f"batch too large: {len(batch)} requests, at most {self._max_batch_size}"))
        gate = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def handle(item: Any) -> dict[str, Any] | None:
            async with gate:
                return await self.handle_request(item, connection)

        responses = await asyncio.gather(*(handle(item) for item in batch))
        answered = [response for response in responses if response is not None]
        return self._bound_response(answered) or None

    def _bound_response(self, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``responses`` with those from the one that crosses the size bound on replaced by -32003 errors."""
        total = 0
        for index, response in enumerate(responses):
            if "result" in response:
                total += len(encode(response["result"]))
                if total > self._max_batch_response_bytes:
                    too_large = ResponseTooLarge("response too large")
                    return responses[:index] + [error_response(too_large, late["id"]) for late in responses[index:]]
        return responses

    async def handle_request(self, request: Any, connection: Any = None) -> dict[str, Any] | None:
        """Answer one request object; None for a notification."""
        if not isinstance(request, dict):
            return error_response(InvalidRequest("invalid request: not a JSON object"))
        request_id = request.get("id", _NO_ID)
        reply_id = None if request_id is _NO_ID else request_id
        if request_id is not _NO_ID:
            problem = _id_problem(request_id)
            if problem is not None:
                return error_response(InvalidRequest(f"invalid request: {problem}"))
        if request.get("jsonrpc") != "2.0":
            return error_response(InvalidRequest('invalid request: "jsonrpc" must be "2.0"'), reply_id)
        method = request.get("method")
        if not isinstance(method, str):
            return error_response(InvalidRequest('invalid request: "method" must be a string'), reply_id)
        params = request.get("params")
        if params is not None and not isinstance(params, (list, dict)):
            return error_response(InvalidRequest('invalid request: "params" must be an array or object'), reply_id)
        started = time.perf_counter()
        code: int | None = None
        try:
            result = await self._call(method, params, connection)
        except RPCError as exc:
            code = exc.code
            response = error_response(exc, reply_id)
        else:
            response = {"jsonrpc": "2.0", "id": reply_id, "result": result}
        if self._observer is not None:  # unknown names are not labels: they would be unbounded
            self._observer(method if method in self._methods else UNKNOWN_METHOD, time.perf_counter() - started, code)
        return None if request_id is _NO_ID else response

    async def _call(self, method: str, params: Any, connection: Any) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise MethodNotFound(f"the method {method} does not exist/is not available")
        try:
            return await handler(params, connection)
        except RPCError:
            raise
        except InvalidTransaction as exc:
            raise ServerError(str(exc)) from exc
        except Exception:
            log.exception("internal error in %s", method)
            raise InternalError("internal error") from None


def _id_problem(request_id: Any) -> str | None:
    """Why ``request_id`` cannot be echoed back as a JSON-RPC id, or None."""
    if request_id is None or isinstance(request_id, int) and not isinstance(request_id, bool):
        return None
    if isinstance(request_id, float):
        return None if math.isfinite(request_id) else "id must be a finite number"
    if isinstance(request_id, str):
        return None if len(request_id) <= MAX_ID_LENGTH else f"id longer than {MAX_ID_LENGTH} characters"
    return "id must be a string, number or null"
