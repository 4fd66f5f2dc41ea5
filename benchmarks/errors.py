"""Errors of the benchmark harness; ``BenchmarkError`` is the root of all of them.

The command-line entry points catch ``BenchmarkError`` and print its message,
so each subclass carries a sentence a user can act on.
"""
from __future__ import annotations

from typing import Any


class BenchmarkError(Exception):
    """Root of every error raised by the benchmark harness."""


class RpcTransportError(BenchmarkError):
    """The endpoint could not be reached, timed out or answered something that is not JSON-RPC."""


class RpcError(BenchmarkError):
    """The endpoint answered a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: error {code}: {message}")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class CompileError(BenchmarkError):
    """The Solidity contract could not be compiled."""


class SetupError(BenchmarkError):
    """The untimed setup phase (funding, deployment, token distribution) failed."""


class TargetError(BenchmarkError):
    """A node under test could not be installed, started or reached."""
