"""Simulation of a sequence of blocks of calls on top of a committed state (``eth_simulateV1``).

Every simulated block runs on the state the previous one left, with its own
state overrides applied first and its own block environment; nothing is
kept. Without ``validate`` a call is an ``eth_call`` (no nonce check, no base
fee unless one is given); with it, each call must be a valid transaction
(its nonce, if given, is the sender's next one; its fee covers the base fee;
its sender can pay). A call that cannot start stops the simulation with a
``SimulationError``; a call that fails or reverts is reported and the
simulation goes on.

Simulated blocks have no signatures and no header of the chain's format: a
block's ``hash`` is the keccak of the RLP list of its fields, and a call's
``tx_hash`` the keccak of the RLP list of its sender, nonce and message
fields. They identify the simulated items within one answer, and the
``BLOCKHASH`` of a simulated block returns that hash.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import rlp
from eth.abc import DatabaseAPI
from eth_hash.auto import keccak
from eth_typing import Address

from vm.errors import VMError
from vm.execution import BlockEnv, CallMessage, CallOutcome, ChainExecutor, run_call
from vm.interruptible import Checkpoint
from vm.overrides import BlockOverrides, StateOverrides, apply_state_overrides
from vm.statedb import overlay_atomic_db

MAX_SIMULATED_BLOCKS = 256
"""Blocks one simulation may span, gaps filled with empty blocks included (geth's bound)."""
MAX_SIMULATED_CALLS = 1000
"""Calls one simulation may run, across all its blocks."""
SECONDS_PER_SIMULATED_BLOCK = 12
"""How far a block's time follows its parent's when no ``time`` override is given (as geth)."""


class SimulationError(VMError):
    """A simulated call could not start (``reason`` in geth's wording); the simulation stops."""

    def __init__(self, reason: str, block_index: int, call_index: int) -> None:
        super().__init__(f"block {block_index}, call {call_index}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class SimulatedBlockInput:
    """One block to simulate: its environment, the state overrides applied before it, and its calls."""

    env: BlockEnv
    state: StateOverrides
    calls: tuple[CallMessage, ...]


@dataclass(frozen=True)
class BlockPlan:
    """A block as a simulation request names it: optional block overrides, state overrides, calls."""

    overrides: BlockOverrides | None
    state: StateOverrides
    calls: tuple[CallMessage, ...]


def plan_blocks(parent: BlockEnv, plans: Sequence[BlockPlan], *, validate: bool) -> list[SimulatedBlockInput]:
    """The blocks to simulate after ``parent`` (the base block, its own hash first in ``recent_hashes``).

    Numbers and times must increase; a number that skips ahead is preceded
    by empty blocks, as geth does. Unless overridden, a block keeps the
    parent's gas limit and fee recipient, its base fee is the parent's under
    ``validate`` and zero otherwise, and PREVRANDAO is zero.
    """
    if sum(len(plan.calls) for plan in plans) > MAX_SIMULATED_CALLS:
        raise SimulationError(f"too many calls: at most {MAX_SIMULATED_CALLS}", len(plans), 0)
    blocks: list[SimulatedBlockInput] = []
    number, timestamp = parent.number, parent.timestamp
    default_fee = parent.base_fee if validate else 0
    for index, plan in enumerate(plans):
        overrides = plan.overrides or BlockOverrides()
        target = number + 1 if overrides.number is None else overrides.number
        if target <= number:
            raise SimulationError(f"block numbers must be in order: {target} <= {number}", index, 0)
        if target - parent.number > MAX_SIMULATED_BLOCKS:
            raise SimulationError(f"too many blocks: at most {MAX_SIMULATED_BLOCKS}", index, 0)
        empty_count = target - number - 1
        time = timestamp + SECONDS_PER_SIMULATED_BLOCK * (empty_count + 1) if overrides.time is None else overrides.time
        latest_time = timestamp + SECONDS_PER_SIMULATED_BLOCK * empty_count
        if time <= latest_time:
            raise SimulationError(f"block timestamps must be in order: {time} <= {latest_time}", index, 0)
        template = replace(parent, coinbase=overrides.fee_recipient or parent.coinbase,
                           gas_limit=overrides.gas_limit or parent.gas_limit, prev_randao=b"\x00" * 32,
                           base_fee=default_fee if overrides.base_fee is None else overrides.base_fee)
        for _ in range(empty_count):
            number += 1
            timestamp += SECONDS_PER_SIMULATED_BLOCK
            blocks.append(SimulatedBlockInput(replace(template, number=number, timestamp=timestamp), (), ()))
        env = replace(template, number=target, timestamp=time, prev_randao=overrides.prev_randao or b"\x00" * 32)
        blocks.append(SimulatedBlockInput(env, plan.state, plan.calls))
        number, timestamp = target, time
    return blocks


@dataclass(frozen=True)
class SimulatedCall:
    """A simulated call: its synthetic hash, sender, nonce and outcome (with its logs)."""

    tx_hash: bytes
    sender: bytes
    nonce: int
    message: CallMessage
    outcome: CallOutcome


@dataclass(frozen=True)
class SimulatedBlock:
    """A simulated block: its environment, parent, digest hash, state root, gas used and calls."""

    env: BlockEnv
    parent_hash: bytes
    hash: bytes
    state_root: bytes
    gas_used: int
    calls: tuple[SimulatedCall, ...]


def simulate(executor: ChainExecutor, base: DatabaseAPI, state_root: bytes, parent_hash: bytes,
             blocks: Sequence[SimulatedBlockInput], *, validate: bool,
             checkpoint: Checkpoint | None = None) -> list[SimulatedBlock]:
    """Run ``blocks`` in order on the state at ``state_root`` (the block ``parent_hash``'s post-state).

    Each block's ``env.recent_hashes`` are the base chain's hashes before the
    first simulated block; the hashes of earlier simulated blocks are put in
    front of them.
    """
    atomic, _ = overlay_atomic_db(base)
    results: list[SimulatedBlock] = []
    root = state_root
    simulated_hashes: list[bytes] = []
    for block_index, block in enumerate(blocks):
        env = replace(block.env, recent_hashes=(*reversed(simulated_hashes), *block.env.recent_hashes)[:256])
        state = executor.open_call_state(atomic, root, env)
        apply_state_overrides(state, block.state)
        calls: list[SimulatedCall] = []
        gas_used = 0
        for call_index, message in enumerate(block.calls):
            remaining = env.gas_limit - gas_used
            if message.gas is not None and message.gas > remaining:
                raise SimulationError("block gas limit reached", block_index, call_index)
            if message.gas is None:
                message = replace(message, gas=remaining)
            nonce = state.get_nonce(Address(message.sender))
            outcome = run_call(state, env, message, checkpoint, validate=validate)
            if not outcome.success and outcome.gas_used == 0 and not outcome.output:
                raise SimulationError(outcome.error or "invalid transaction", block_index, call_index)
            state.lock_changes()
            gas_used += outcome.gas_used
            calls.append(SimulatedCall(_call_hash(message, nonce, env), message.sender, nonce, message, outcome))
        state.persist()
        root = state.state_root
        block_hash = keccak(rlp.encode([
            parent_hash, env.number, env.timestamp, env.coinbase, env.gas_limit, env.base_fee, env.prev_randao,
            root, gas_used, [call.tx_hash for call in calls],
        ]))
        results.append(SimulatedBlock(env, parent_hash, block_hash, root, gas_used, tuple(calls)))
        simulated_hashes.append(block_hash)
        parent_hash = block_hash
    return results


def _call_hash(message: CallMessage, nonce: int, env: BlockEnv) -> bytes:
    """A digest naming one simulated call: its sender, nonce, message fields and block number."""
    return keccak(rlp.encode([
        message.sender, nonce, message.to or b"", message.value, message.data, message.gas or 0,
        message.gas_price or 0, message.max_fee_per_gas or 0, message.max_priority_fee_per_gas or 0, env.number,
    ]))
