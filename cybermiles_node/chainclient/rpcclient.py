"""A small synchronous Ethereum JSON-RPC client over HTTP for the command line.

It speaks plain JSON-RPC 2.0 through :mod:`urllib`, so the CLI needs no web3
library at run time, and turns every failure into an :class:`RpcClientError`
whose message can be shown to a user as it is: an unreachable node, an HTTP
error, a malformed answer, or a JSON-RPC error with its message and, for a
reverted execution, the decoded revert reason.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import urllib.error
import urllib.request
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from middleware.jsonnesting import first_too_deep

#: Largest response body accepted from a node.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Arrays and objects inside one another in a response body.
MAX_RESPONSE_NESTING = 256
#: Selector of Solidity's ``Error(string)`` revert payload.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
#: Selector of Solidity's ``Panic(uint256)`` revert payload.
PANIC_SELECTOR = bytes.fromhex("4e487b71")
#: Meanings of Solidity panic codes.
PANIC_REASONS = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array encoding",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised internal function",
}


class RpcClientError(Exception):
    """Root of the client's errors; the message is fit to show to a user."""


class NodeUnreachableError(RpcClientError):
    """No HTTP answer came from the node: refused, timed out, unknown host."""


class RpcProtocolError(RpcClientError):
    """The node answered with something that is not a JSON-RPC response."""


class RpcResponseError(RpcClientError):
    """The node answered the call with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: Any) -> None:
        """Keep the error's parts; the revert reason is decoded from ``data`` when present."""
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data
        self.revert_data = _revert_data(data)
        self.revert_reason = decode_revert_reason(self.revert_data) if self.revert_data else None
        super().__init__(self._describe())

    @property
    def is_revert(self) -> bool:
        """Whether the error is a reverted execution (code 3 or revert data present)."""
        return self.code == 3 or self.revert_data is not None or "revert" in self.rpc_message.lower()

    def _describe(self) -> str:
        """``execution reverted: <reason>`` when revert data decodes, else the node's message."""
        if self.revert_reason:
            return f"execution reverted: {self.revert_reason}"
        return self.rpc_message


class RpcClient:
    """Calls JSON-RPC methods on one node URL."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        """Talk to ``url`` (``http://`` or ``https://``), waiting ``timeout`` seconds per request."""
        if not url.startswith(("http://", "https://")):
            raise RpcClientError(f"RPC URL must start with http:// or https://, got {url!r}")
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional ``params`` and return its ``result``."""
        request_id = next(self._ids)
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        ).encode("utf-8")
        answer = self._post(body)
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise RpcProtocolError(f"node at {self.url} sent a response that does not answer {method}")
        error = answer.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise RpcProtocolError(f"node at {self.url} sent a malformed error for {method}")
            raise RpcResponseError(
                method,
                int(error.get("code", 0)) if isinstance(error.get("code"), int) else 0,
                str(error.get("message", "unknown error")),
                error.get("data"),
            )
        if "result" not in answer:
            raise RpcProtocolError(f"node at {self.url} sent neither result nor error for {method}")
        return answer["result"]

    def _post(self, body: bytes) -> Any:
        """POST ``body`` and return the parsed JSON answer."""
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raw = exc.read(MAX_RESPONSE_BYTES + 1)
            parsed = _parse_json(raw)
            if isinstance(parsed, dict) and ("error" in parsed or "result" in parsed):
                return parsed
            raise RpcProtocolError(f"node at {self.url} answered HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise NodeUnreachableError(self._unreachable(exc.reason)) from None
        except TimeoutError:
            raise NodeUnreachableError(
                f"node at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except (ConnectionError, http.client.HTTPException) as exc:
            raise NodeUnreachableError(self._unreachable(exc)) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise RpcProtocolError(f"node at {self.url} sent more than {MAX_RESPONSE_BYTES} bytes")
        parsed = _parse_json(raw)
        if parsed is None:
            raise RpcProtocolError(f"node at {self.url} did not answer with JSON")
        return parsed

    def _unreachable(self, reason: object) -> str:
        """A message telling that the node cannot be reached, and why."""
        if isinstance(reason, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(reason, TimeoutError):
            why = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, socket.gaierror):
            why = "unknown host"
        elif isinstance(reason, OSError) and reason.strerror:
            why = reason.strerror.lower()
        else:
            why = str(reason) or type(reason).__name__
        return f"cannot reach node at {self.url}: {why} (is `cmnode start` running?)"


def decode_revert_reason(data: bytes) -> str | None:
    """Decode Solidity ``Error(string)`` or ``Panic(uint256)`` revert data; ``None`` if neither."""
    try:
        if data[:4] == ERROR_STRING_SELECTOR:
            (reason,) = abi_decode(["string"], data[4:])
            return str(reason)
        if data[:4] == PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], data[4:])
            return f"panic 0x{code:02x} ({PANIC_REASONS.get(code, 'unknown panic code')})"
    except (DecodingError, UnicodeDecodeError, ValueError):
        return None
    return None


def _revert_data(data: Any) -> bytes | None:
    """Revert bytes from an error's ``data``: a hex string, or an object holding one."""
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) > 2:
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def _parse_json(raw: bytes) -> Any:
    """Parse ``raw`` as JSON, ``None`` when it is not (or nests deeper than ``MAX_RESPONSE_NESTING``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if first_too_deep(text, MAX_RESPONSE_NESTING) is not None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
