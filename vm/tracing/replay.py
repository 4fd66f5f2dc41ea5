"""Re-executing past transactions and calls under a tracer.

``replay_block`` runs a committed block again from its parent's state root in
the block's own environment (``BlockEnv``, consensus facts included): the
begin-block hooks, then the transactions in order, each traced by the tracer
``tracer_for(index)`` gives (None: run untraced), and, when asked, the
end-block hooks. Every transaction runs through py-evm (a plain transfer too,
whose trace is then a single ``CALL`` frame; py-evm and the transfer fast path
give identical results, which a property test checks). The hooks' effects are
recorded as state diffs so that rewards, slashing and payouts are visible.
A sponsored transaction runs as block execution runs it (``vm.sponsorship.block``):
its fee moves from the sponsor's deposit, and the trace shows those changes too.

``trace_call`` runs an unsigned message as ``eth_call`` does, traced. Both run
inside ``checkpoints(checkpoint)`` and also call it between transactions, so
a deadline stops a replay of a long block as well as a long loop.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import DatabaseAPI
from eth.vm.forks.prague import PragueVM

from vm.execution import BlockEnv, CallMessage, CallOutcome, ChainExecutor, call_env, run_call
from vm.interruptible import Checkpoint, checkpoints
from vm.native.framework import CallContext
from vm.overrides import NO_OVERRIDES, CallOverrides
from vm.sponsorship.block import BlockSponsorship
from vm.tracing.hooks import TracedState, traced_state_class
from vm.tracing.prestate import PrestateTracer, StateDiff
from vm.tracing.tracer import Tracer


@dataclass(frozen=True)
class TracedTransaction:
    """A replayed transaction: its position, receipt gas, outcome and the tracer that watched it."""

    index: int
    tx: Any
    gas_used: int
    success: bool
    output: bytes
    error: Exception | None
    tracer: Tracer


@dataclass(frozen=True)
class HookEffects:
    """What the native contracts' ``phase`` hooks (``begin_block`` or ``end_block``) changed."""

    phase: str
    diff: StateDiff


@dataclass(frozen=True)
class BlockReplay:
    """The traced transactions of a replayed block and, when asked, its hooks' effects."""

    transactions: tuple[TracedTransaction, ...]
    hooks: tuple[HookEffects, ...] = ()


_TRACED_CLASSES: dict[type, type[TracedState]] = {}


def _traced_class(executor: ChainExecutor) -> type[TracedState]:
    base = executor.call_state_class
    if base not in _TRACED_CLASSES:
        _TRACED_CLASSES[base] = traced_state_class(base)
    return _TRACED_CLASSES[base]


def replay_block(executor: ChainExecutor, base: DatabaseAPI, parent_root: bytes, env: BlockEnv,
                 transactions: Sequence[Any], tracer_for: Callable[[int], Tracer | None],
                 checkpoint: Checkpoint, *, last: int | None = None, with_hooks: bool = False) -> BlockReplay:
    """Replay the block of ``transactions`` (decoded) on ``parent_root`` in ``env``, tracing what ``tracer_for`` says.

    Transactions after index ``last`` are not run (None: all of them);
    ``with_hooks`` records the effects of the begin- and end-block hooks
    (the end-block hooks then run after the last transaction).
    """
    state: TracedState = executor.call_state(  # type: ignore[assignment]
        base, parent_root, env, NO_OVERRIDES, _traced_class(executor))
    hooks: list[HookEffects] = []
    traced: list[TracedTransaction] = []
    with checkpoints(checkpoint):
        effects = _run_hooks(executor, state, env, "begin_block", with_hooks)
        if effects is not None:
            hooks.append(effects)
        block_gas = 0
        sponsorships = BlockSponsorship(state) if executor.sponsors_gas else None
        for index, tx in enumerate(transactions):
            if last is not None and index > last:
                break
            checkpoint()
            tracer = tracer_for(index)
            state.lock_changes()
            state.tracer = tracer
            sponsorship = sponsorships.sponsorship_of(tx) if sponsorships is not None else None
            if sponsorship is not None:
                computation, _ = sponsorships.apply(  # type: ignore[union-attr]
                    tx, sponsorship, state.apply_transaction,
                    functools.partial(PragueVM.finalize_gas_used, tx))
            else:
                computation = state.apply_transaction(tx)
            state.tracer = None
            if tracer is not None:
                tracer.finish(state)
            gas_used = PragueVM.finalize_gas_used(tx, computation)
            block_gas += gas_used
            if tracer is not None:
                error = computation.error if computation.is_error else None
                traced.append(TracedTransaction(index, tx, gas_used, error is None, computation.output, error, tracer))
        if with_hooks and last is None:
            state.lock_changes()
            effects = _run_hooks(executor, state, env, "end_block", True, block_gas)
            if effects is not None:
                hooks.append(effects)
    return BlockReplay(tuple(traced), tuple(hooks))


def _run_hooks(executor: ChainExecutor, state: TracedState, env: BlockEnv, phase: str, record: bool,
               block_gas: int = 0) -> HookEffects | None:
    """Run every native contract's ``phase`` hook on ``state``; their effects when ``record``."""
    recorder = PrestateTracer() if record else None
    state.tracer = recorder
    for native in executor.natives:
        context = CallContext.for_system(state, native.address, lambda *event: None, block_gas_used=block_gas)
        if phase == "begin_block":
            native.begin_block(context, env.consensus)
        else:
            native.end_block(context, env.consensus)
    state.tracer = None
    return None if recorder is None else HookEffects(phase, recorder.diff(state))


def trace_call(executor: ChainExecutor, base: DatabaseAPI, state_root: bytes, env: BlockEnv, message: CallMessage,
               tracer: Tracer, checkpoint: Checkpoint, overrides: CallOverrides = NO_OVERRIDES) -> CallOutcome:
    """Run ``message`` as ``eth_call`` does on the state at ``state_root``, reporting to ``tracer``."""
    block_env = call_env(env, message, overrides)
    state = executor.call_state(base, state_root, block_env, overrides, _traced_class(executor))
    state.tracer = tracer  # type: ignore[attr-defined]
    outcome = run_call(state, block_env, message, checkpoint)
    state.tracer = None  # type: ignore[attr-defined]
    tracer.finish(state)
    return outcome
