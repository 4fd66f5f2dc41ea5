"""JSON-RPC errors; ``RPCError`` is the root of every error of the ``rpc`` package.

Each error carries the JSON-RPC ``code``, a human ``message`` and optional
``data``. The server turns any ``RPCError`` raised by a method handler or by
the ``Backend`` into the ``error`` member of the response. The codes follow
JSON-RPC 2.0, EIP-1474 and geth (``3`` for a reverted call, ``-32000`` for a
rejected transaction).
"""
from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


class RPCError(Exception):
    """Root of the errors a JSON-RPC call can return."""

    code = -32603

    def __init__(self, message: str, data: Any = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RPCError):
    """The request body is not valid JSON."""

    code = -32700


class InvalidRequest(RPCError):
    """The JSON is not a valid JSON-RPC 2.0 request."""

    code = -32600


class MethodNotFound(RPCError):
    """The method does not exist or is not available on this transport."""

    code = -32601


class InvalidParams(RPCError):
    """The parameters of a call are missing, malformed or out of range."""

    code = -32602


class InternalError(RPCError):
    """An unexpected failure inside the node; details are logged, not returned."""

    code = -32603


class ServerError(RPCError):
    """A generic server-side failure, reported with geth's code -32000."""

    code = -32000


class TransactionRejected(ServerError):
    """A transaction refused by the pool or by gas estimation (``nonce too low``, ...)."""


class ResourceNotFound(RPCError):
    """A block, header or state that the request names does not exist (EIP-1474)."""

    code = -32001


class LimitExceeded(RPCError):
    """A request that exceeds a configured bound (range, results, size, subscriptions)."""

    code = -32005


class ResponseTooLarge(RPCError):
    """A batch request of a batch whose results add up past the response-size bound (geth's -32003)."""

    code = -32003


class ExecutionReverted(RPCError):
    """A call or gas estimation that ended in ``REVERT``.

    ``data`` is the revert data as 0x-hex; the message carries the decoded
    ``Error(string)`` reason or ``Panic(uint256)`` code when there is one.
    """

    code = 3

    def __init__(self, revert_data: bytes) -> None:
        reason = decode_revert_reason(revert_data)
        message = "execution reverted" if reason is None else f"execution reverted: {reason}"
        super().__init__(message, data="0x" + revert_data.hex())
        self.revert_data = revert_data
        self.reason = reason


def decode_revert_reason(revert_data: bytes) -> str | None:
    """The reason encoded in revert data: ``Error(string)`` text or a described ``Panic(uint256)``.

    Returns None for empty data, custom errors and malformed encodings.
    """
    selector, body = revert_data[:4], revert_data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            (text,) = abi_decode(["string"], body)
            return str(text)
        if selector == PANIC_SELECTOR:
            (panic_code,) = abi_decode(["uint256"], body)
            description = PANIC_REASONS.get(panic_code, "unknown panic code")
            return f"panic: {description} (0x{panic_code:x})"
    except (DecodingError, UnicodeDecodeError, OverflowError, ValueError):
        return None
    return None
