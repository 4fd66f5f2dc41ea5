"""A small asynchronous JSON-RPC 2.0 client over HTTP (aiohttp) with batch support."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Self

import aiohttp

from benchmarks.errors import RpcError, RpcTransportError

Call = tuple[str, list[Any]]


def encode_batch(calls: Sequence[Call], first_id: int = 1) -> bytes:
    """Encode ``calls`` as one JSON-RPC batch body whose ids count up from ``first_id``."""
    return json.dumps(
        [{"jsonrpc": "2.0", "id": first_id + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)],
        separators=(",", ":"),
    ).encode()


def _as_result(method: str, reply: dict[str, Any]) -> Any:
    """Return the ``result`` of one response object, or an ``RpcError`` built from its ``error``."""
    error = reply.get("error")
    if error is not None:
        if not isinstance(error, dict):
            return RpcError(method, -32603, str(error))
        return RpcError(method, int(error.get("code", -32603)), str(error.get("message", "")), error.get("data"))
    if "result" not in reply:
        return RpcError(method, -32603, "response has neither result nor error")
    return reply["result"]


class RpcClient:
    """JSON-RPC client for one HTTP endpoint, sharing a pool of ``connections`` keep-alive connections."""

    def __init__(self, url: str, timeout: float = 30.0, connections: int = 4) -> None:
        """Prepare a client for ``url``; each request fails after ``timeout`` seconds."""
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._next_id = 1

    async def __aenter__(self) -> Self:
        """Open the connection pool."""
        connector = aiohttp.TCPConnector(limit=self._connections, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, body: bytes) -> Any:
        """POST a pre-encoded JSON-RPC body and return the decoded JSON reply."""
        if self._session is None:
            raise RpcTransportError("RPC client used outside its 'async with' block")
        try:
            async with self._session.post(
                self.url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                text = await response.read()
                if response.status >= 400 and not text:
                    raise RpcTransportError(f"{self.url}: HTTP {response.status}")
        except TimeoutError as exc:
            raise RpcTransportError(f"{self.url}: no answer within {self._timeout.total:.0f} s") from exc
        except aiohttp.ClientError as exc:
            raise RpcTransportError(f"{self.url}: {exc}") from exc
        try:
            return json.loads(text)
        except ValueError as exc:
            raise RpcTransportError(f"{self.url}: answer is not JSON (HTTP {response.status}): {text[:200]!r}") from exc

    async def call(self, method: str, *params: Any) -> Any:
        """Call one method and return its result; raise ``RpcError`` if the node answers an error."""
        self._next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}).encode()
        reply = await self.post(body)
        if not isinstance(reply, dict):
            raise RpcTransportError(f"{method}: unexpected answer {str(reply)[:200]}")
        result = _as_result(method, reply)
        if isinstance(result, RpcError):
            raise result
        return result

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Send ``calls`` as one batch; return results in call order, an ``RpcError`` in place of each failure."""
        if not calls:
            return []
        return self.decode_batch(calls, await self.post(encode_batch(calls)))

    @staticmethod
    def decode_batch(calls: Sequence[Call], reply: Any, first_id: int = 1) -> list[Any]:
        """Match a batch reply to its ``calls`` by id (see ``encode_batch``); missing answers become errors."""
        if isinstance(reply, dict):  # the whole batch was refused, e.g. too large
            error = _as_result("batch", reply)
            raise error if isinstance(error, RpcError) else RpcTransportError(f"batch: unexpected answer {reply}")
        if not isinstance(reply, list):
            raise RpcTransportError(f"batch: unexpected answer {str(reply)[:200]}")
        by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
        results: list[Any] = []
        for i, (method, _) in enumerate(calls):
            item = by_id.get(first_id + i)
            results.append(RpcError(method, -32603, "no answer in batch") if item is None else _as_result(method, item))
        return results
