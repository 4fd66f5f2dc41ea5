"""Access lists of calls (``eth_createAccessList``): the accounts and storage slots a call's code touches.

A recording state notes every account and slot whose warmth the EVM asks
about: exactly the accesses of opcodes (BALANCE, EXT*, CALL*, SLOAD, SSTORE,
SELFDESTRUCT), not the accounts a transaction warms before it starts. As geth
does, the sender, the recipient (or the created contract) and the
precompiles (native contracts included) are left out, and the call is run
again with the list found until the list no longer grows; the gas used is
that of the last run, with the list.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

from eth._utils.address import generate_contract_address
from eth.abc import DatabaseAPI
from eth.vm.forks.prague.state import PragueState
from eth_typing import Address

from vm.execution import BlockEnv, CallMessage, CallOutcome, ChainExecutor, call_env, run_call
from vm.interruptible import Checkpoint
from vm.overrides import NO_OVERRIDES, CallOverrides

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]


class _Recording(Protocol):
    """A state of the recording class: the accounts and slots whose warmth was checked."""

    recorded: dict[bytes, set[int]]
"""EIP-2930 entries: address and storage slots, both in ascending order."""

MAX_ROUNDS = 16
"""Runs at most per request; each run only adds entries, so real calls settle in two or three."""


@dataclass(frozen=True)
class AccessListOutcome:
    """The access list of a call and the outcome of its last run, with that list."""

    access_list: AccessList
    outcome: CallOutcome


def create_access_list(executor: ChainExecutor, base: DatabaseAPI, state_root: bytes, env: BlockEnv,
                       message: CallMessage, checkpoint: Checkpoint | None = None,
                       overrides: CallOverrides = NO_OVERRIDES) -> AccessListOutcome:
    """The access list ``message`` needs on the state at ``state_root`` (rerun until it is stable)."""
    recording_class = _recording_state_class(executor.call_state_class)
    current = _normalised(message.access_list, frozenset())
    outcome = CallOutcome(False, b"", 0, "no run")
    for _ in range(MAX_ROUNDS):
        attempt = replace(message, access_list=current)
        block_env = call_env(env, attempt, overrides)
        state = executor.call_state(base, state_root, block_env, overrides, recording_class)
        recipient = message.to or generate_contract_address(Address(message.sender), state.get_nonce(Address(message.sender)))
        excluded = frozenset({message.sender, recipient, *executor.precompile_addresses})
        outcome = run_call(state, block_env, attempt, checkpoint)
        found = _normalised((*current, *cast(_Recording, state).recorded.items()), excluded)
        if found == current:
            break
        current = found
    return AccessListOutcome(current, outcome)


def _normalised(entries: Iterable[tuple[bytes, Iterable[int]]], excluded: frozenset[bytes]) -> AccessList:
    """``entries`` merged by address, sorted, without the ``excluded`` addresses."""
    merged: dict[bytes, set[int]] = {}
    for address, slots in entries:
        if address not in excluded:
            merged.setdefault(address, set()).update(slots)
    return tuple((address, tuple(sorted(merged[address]))) for address in sorted(merged))


@functools.cache
def _recording_state_class(base: type[PragueState]) -> type[PragueState]:
    """``base`` extended to record the accounts and slots whose warmth the EVM checks."""

    def __init__(self: Any, *args: Any) -> None:
        base.__init__(self, *args)
        self.recorded = {}

    def is_address_warm(self: Any, address: bytes) -> bool:
        self.recorded.setdefault(address, set())
        return base.is_address_warm(self, Address(address))

    def is_storage_warm(self: Any, address: bytes, slot: int) -> bool:
        self.recorded.setdefault(address, set()).add(slot)
        return base.is_storage_warm(self, Address(address), slot)

    return type(f"AccessRecording{base.__name__}", (base,), {
        "__init__": __init__, "is_address_warm": is_address_warm, "is_storage_warm": is_storage_warm,
    })
