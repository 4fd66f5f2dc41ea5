"""geth's struct logger: one entry per executed opcode, with stack, memory, storage and return data.

An entry is recorded before its opcode runs (pc, opcode, gas left, depth,
refund counter, stack and, when asked, memory and return data); its gas
cost is known once the opcode ran, or, for the call family, as soon as the
callee's frame starts (the cost then includes the gas handed to the callee,
as geth reports it). At ``SLOAD`` and ``SSTORE`` the entry carries the
storage slots of the running contract seen so far, the one in hand included.

Bounds: ``limit`` entries at most are recorded (0: no limit, as geth); the
captured size is counted as it grows and past ``max_bytes`` the trace stops
with ``TraceLimitExceeded``, so a huge transaction cannot exhaust memory.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth.abc import ComputationAPI, MessageAPI
from eth.exceptions import Revert

from vm.errors import TraceLimitExceeded
from vm.tracing.frames import geth_error
from vm.tracing.tracer import Tracer

SLOAD = 0x54
SSTORE = 0x55
ENTRY_BYTES = 120  # JSON bytes of an entry without stack, memory or storage
WORD_BYTES = 70  # JSON bytes of one stack, memory or storage word


@dataclass(frozen=True)
class StructLogConfig:
    """The struct logger's options (geth's ``logger.Config``) and its size bound."""

    enable_memory: bool = False
    disable_stack: bool = False
    disable_storage: bool = False
    enable_return_data: bool = False
    limit: int = 0
    max_bytes: int = 64 * 1024 * 1024


@dataclass
class StructLog:
    """One executed opcode."""

    pc: int
    op: str
    gas: int
    gas_cost: int
    depth: int
    refund: int
    stack: tuple[int, ...] | None
    memory: bytes | None
    return_data: bytes | None
    storage: dict[int, int] | None = None
    error: str | None = None


@dataclass(frozen=True)
class StructTrace:
    """A transaction's struct log and outcome (``gas`` is the receipt's gas used)."""

    gas: int
    failed: bool
    return_value: bytes
    logs: tuple[StructLog, ...]


def stack_values(computation: ComputationAPI) -> tuple[int, ...]:
    """The stack of ``computation``, bottom first, as integers (py-evm keeps ints and bytes)."""
    return tuple(v if isinstance(v, int) else int.from_bytes(v, "big")
                 for v in computation._stack.values)  # type: ignore[attr-defined]


class StructLogger(Tracer):
    """Records a ``StructLog`` per opcode, bounded by ``config``."""

    wants_steps = True

    def __init__(self, config: StructLogConfig = StructLogConfig()) -> None:
        self.config = config
        self.logs: list[StructLog] = []
        self._size = 0
        self._active: list[ComputationAPI] = []  # the frames in progress, outermost first
        self._pending: dict[int, StructLog] = {}  # per depth: the entry whose opcode is running
        self._storage: dict[bytes, dict[int, int]] = {}

    def enter(self, call_type: str, message: MessageAPI, parent: ComputationAPI | None) -> None:
        """A callee starts: its caller's call opcode has now paid for it, the gas handed over included."""
        if parent is None:
            return
        entry = self._pending.pop(parent.msg.depth, None)
        if entry is not None:
            entry.gas_cost = entry.gas - parent.get_gas_remaining()

    def step(self, computation: ComputationAPI, pc: int, opcode: int, name: str, gas: int) -> None:
        """Record the entry of the opcode about to run."""
        depth = computation.msg.depth
        del self._active[depth:]
        self._active.append(computation)
        if self.config.limit and len(self.logs) >= self.config.limit:
            return
        stack = None if self.config.disable_stack else stack_values(computation)
        memory = bytes(computation._memory._bytes) if self.config.enable_memory else None  # type: ignore[attr-defined]
        return_data = computation.return_data if self.config.enable_return_data else None
        storage = None
        if not self.config.disable_storage and opcode in (SLOAD, SSTORE) and stack:
            storage = self._storage_seen(computation, opcode, stack)
        entry = StructLog(pc, name, gas, 0, depth + 1, self._refund(), stack, memory, return_data, storage)
        self._size += ENTRY_BYTES + WORD_BYTES * (len(stack or ()) + len(storage or ()) + len(memory or b"") // 32)
        self._size += 2 * len(return_data or b"")
        if self._size > self.config.max_bytes:
            raise TraceLimitExceeded(
                f"trace too large: struct logs exceed {self.config.max_bytes} bytes after {len(self.logs)} steps "
                "(set limit, disableStack or leave enableMemory off)")
        self.logs.append(entry)
        self._pending[depth] = entry

    def step_done(self, computation: ComputationAPI, gas_before: int, error: Exception | None) -> None:
        """Fill in the gas cost (unless a callee already did) and any error of the opcode."""
        entry = self._pending.pop(computation.msg.depth, None)
        if entry is None:
            return
        entry.gas_cost = gas_before - computation.get_gas_remaining()
        if error is not None and not isinstance(error, Revert):
            entry.error = geth_error(error)

    def _refund(self) -> int:
        """The transaction's refund counter: what the frames in progress and their finished callees refund."""
        return max(0, sum(frame.get_gas_refund() for frame in self._active))

    def _storage_seen(self, computation: ComputationAPI, opcode: int, stack: tuple[int, ...]) -> dict[int, int]:
        address = computation.msg.storage_address
        seen = self._storage.setdefault(address, {})
        slot = stack[-1]
        if opcode == SSTORE:
            if len(stack) >= 2:
                seen[slot] = stack[-2]
        else:
            with computation.state.untraced():  # type: ignore[attr-defined]
                seen[slot] = computation.state.get_storage(address, slot)
        return dict(seen)

    def result(self, gas_used: int, failed: bool, output: bytes) -> StructTrace:
        """The finished trace of a transaction that used ``gas_used`` and returned ``output``."""
        return StructTrace(gas_used, failed, output, tuple(self.logs))
