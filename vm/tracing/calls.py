"""The call tracer: the tree of message calls and creations a transaction made.

Precompiles and native contracts are frames like any other (a contract
calling the staking contract at ``0x…0C02`` shows a ``CALL`` with its input,
output, gas and revert data). As geth's ``callTracer``, ``from`` is the
calling contract (also for ``DELEGATECALL``), ``to`` the called code's
address (the created contract for creations), and events of a failed frame
and its callees are dropped. ``max_frames`` bounds the tree.
"""
from __future__ import annotations

from collections.abc import Sequence

from eth.abc import ComputationAPI, MessageAPI

from vm.errors import TraceLimitExceeded
from vm.receipts import Log
from vm.tracing.frames import CallFrame
from vm.tracing.tracer import Tracer

MAX_FRAMES = 100_000


class CallTracer(Tracer):
    """Builds the ``CallFrame`` tree of one transaction (or of one block hook run)."""

    def __init__(self, *, with_logs: bool = False, max_frames: int = MAX_FRAMES) -> None:
        self.with_logs = with_logs
        self.max_frames = max_frames
        self.root: CallFrame | None = None
        self._stack: list[CallFrame] = []
        self._frames = 0

    def enter(self, call_type: str, message: MessageAPI, parent: ComputationAPI | None) -> None:
        """Open a frame for ``message``."""
        self._frames += 1
        if self._frames > self.max_frames:
            raise TraceLimitExceeded(f"trace too large: more than {self.max_frames} call frames")
        delegated = call_type in ("DELEGATECALL", "CALLCODE")
        frame = CallFrame(
            call_type=call_type,
            sender=parent.msg.storage_address if parent is not None else message.sender,
            to=message.code_address if delegated else message.storage_address,
            value=message.value,
            gas=message.gas,
            input=message.code if message.is_create else message.data_as_bytes,
            depth=message.depth,
        )
        if self._stack:
            self._stack[-1].calls.append(frame)
        else:
            self.root = frame
        self._stack.append(frame)

    def exit(self, message: MessageAPI, computation: ComputationAPI) -> None:
        """Close the innermost frame with the outcome of ``computation``."""
        frame = self._stack.pop()
        frame.gas_used = message.gas - computation.get_gas_remaining()
        if computation.is_error:
            frame.error = computation.error
            frame.output = computation.output if frame.reverted else b""
            _drop_logs(frame)
        else:
            frame.output = computation.output  # a creation's output is the code it deployed

    def log(self, address: bytes, topics: Sequence[int], data: bytes) -> None:
        """Keep the event in the innermost frame, positioned among its callees."""
        if self.with_logs and self._stack:
            frame = self._stack[-1]
            log = Log(address=address, topics=tuple(t.to_bytes(32, "big") for t in topics), data=data)
            frame.logs.append((len(frame.calls), log))


def _drop_logs(frame: CallFrame) -> None:
    frame.logs.clear()
    for call in frame.calls:
        _drop_logs(call)
