"""What a trace request asks for (``TraceSpec``), the tracers that answer it, and what they found.

``TraceSpec.kind`` is ``struct`` (geth's struct logger), ``call`` (geth's
``callTracer``), ``prestate`` (``prestateTracer``, with ``diff_mode``) or
``flat`` (the call tree for Parity-style ``trace_*``, with the state diff
when ``state_diff``). ``TxTracers`` builds the tracers of one transaction and
``TransactionTrace`` carries their findings out of the execution thread.
"""
from __future__ import annotations

from dataclasses import dataclass

from vm.tracing.calls import CallTracer
from vm.tracing.frames import CallFrame
from vm.tracing.prestate import AccountState, PrestateTracer, StateDiff
from vm.tracing.replay import HookEffects, TracedTransaction
from vm.tracing.structlog import StructLogConfig, StructLogger, StructTrace
from vm.tracing.tracer import FanOut, Tracer

KINDS = ("struct", "call", "prestate", "flat")


@dataclass(frozen=True)
class TraceSpec:
    """Which tracer, with which options, and how long a trace may run."""

    kind: str = "struct"
    struct: StructLogConfig = StructLogConfig()
    with_logs: bool = False
    only_top_call: bool = False
    diff_mode: bool = False
    state_diff: bool = False
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class TransactionTrace:
    """The findings of one traced transaction or call; only those of the spec's kind are set.

    ``gas_used`` is the receipt's gas (the call's gas for a traced call),
    ``gas`` the transaction's gas limit.
    """

    tx_hash: bytes
    index: int
    gas: int
    gas_used: int
    success: bool
    output: bytes
    struct: StructTrace | None = None
    call: CallFrame | None = None
    prestate: dict[bytes, AccountState] | None = None
    diff: StateDiff | None = None


@dataclass(frozen=True)
class BlockTraces:
    """The traced transactions of a block and, when asked, its begin/end-block hooks' effects."""

    block_hash: bytes
    number: int
    transactions: tuple[TransactionTrace, ...]
    hooks: tuple[HookEffects, ...] = ()


class TxTracers:
    """The tracers one transaction needs for ``spec``."""

    def __init__(self, spec: TraceSpec) -> None:
        self.spec = spec
        self.struct = StructLogger(spec.struct) if spec.kind == "struct" else None
        self.calls = CallTracer(with_logs=spec.with_logs) if spec.kind in ("call", "flat") else None
        wants_state = spec.kind == "prestate" or (spec.kind == "flat" and spec.state_diff)
        self.prestate = PrestateTracer() if wants_state else None

    @property
    def tracer(self) -> Tracer:
        """One tracer feeding all of them."""
        return FanOut([t for t in (self.struct, self.calls, self.prestate) if t is not None])

    def findings(self, tx_hash: bytes, index: int, gas: int, gas_used: int, success: bool,
                 output: bytes) -> TransactionTrace:
        """What the tracers found, for a transaction that ended as given."""
        struct = None if self.struct is None else self.struct.result(gas_used, not success, output)
        prestate = self.prestate
        wants_diff = self.spec.diff_mode or self.spec.kind == "flat"
        return TransactionTrace(
            tx_hash, index, gas, gas_used, success, output, struct=struct,
            call=None if self.calls is None else self.calls.root,
            prestate=None if prestate is None or wants_diff else prestate.accounts,
            diff=prestate.changes if prestate is not None and wants_diff else None,
        )

    def of(self, traced: TracedTransaction) -> TransactionTrace:
        """The findings of a replayed transaction."""
        tx = traced.tx
        return self.findings(tx.hash, traced.index, tx.gas, traced.gas_used, traced.success, traced.output)
