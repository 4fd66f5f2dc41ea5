"""Call frames as a trace shows them, and py-evm's errors in geth's and OpenEthereum's words."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    InsufficientFunds,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
    Revert,
    StackDepthLimit,
    WriteProtection,
)

from vm.receipts import Log
from vm.tracing.tracer import opcode_name

_GETH_WORDS: tuple[tuple[type[Exception], str], ...] = (
    (Revert, "execution reverted"),
    (OutOfGas, "out of gas"),
    (InvalidJumpDestination, "invalid jump destination"),
    (InsufficientStack, "stack underflow"),
    (FullStack, "stack limit reached 1024 (1023)"),
    (WriteProtection, "write protection"),
    (StackDepthLimit, "max call depth exceeded"),
    (InsufficientFunds, "insufficient balance for transfer"),
    (ContractCreationCollision, "contract address collision"),
)
_PARITY_WORDS: tuple[tuple[type[Exception], str], ...] = (
    (Revert, "Reverted"),
    (OutOfGas, "Out of gas"),
    (InvalidJumpDestination, "Bad jump destination"),
    (InvalidInstruction, "Bad instruction"),
    (InsufficientStack, "Stack underflow"),
    (FullStack, "Out of stack"),
    (WriteProtection, "Mutable Call In Static Context"),
    (StackDepthLimit, "Call stack too deep"),
    (InsufficientFunds, "Insufficient balance"),
    (ContractCreationCollision, "Contract address collision"),
)


def geth_error(error: Exception) -> str:
    """geth's message for a failed frame or opcode (``execution reverted``, ``out of gas``, ...)."""
    for kind, words in _GETH_WORDS:
        if isinstance(error, kind):
            return words
    if isinstance(error, InvalidInstruction):
        found = re.match(r"Invalid opcode 0x([0-9a-f]+)", str(error))
        return f"invalid opcode: {opcode_name(int(found.group(1), 16), None) if found else 'INVALID'}"
    return str(error) or type(error).__name__


def parity_error(error: Exception) -> str:
    """OpenEthereum's message for a failed frame (``Reverted``, ``Out of gas``, ...)."""
    for kind, words in _PARITY_WORDS:
        if isinstance(error, kind):
            return words
    return str(error) or type(error).__name__


@dataclass
class CallFrame:
    """One message call or creation and what it did; ``calls`` are its callees in order.

    ``error`` is the py-evm exception of a failed frame (None on success);
    ``logs`` are its own events with their position among ``calls``.
    """

    call_type: str
    sender: bytes
    to: bytes
    value: int
    gas: int
    input: bytes
    depth: int
    gas_used: int = 0
    output: bytes = b""
    error: Exception | None = None
    calls: list[CallFrame] = field(default_factory=list)
    logs: list[tuple[int, Log]] = field(default_factory=list)

    @property
    def reverted(self) -> bool:
        """Whether the frame ended in ``REVERT`` (its output is then the revert data)."""
        return isinstance(self.error, Revert)

    def count(self) -> int:
        """Frames in this tree, this one included."""
        return 1 + sum(call.count() for call in self.calls)
