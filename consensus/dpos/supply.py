"""The CMT supply: counters of what was minted and burned, and the breakdown of where it is.

Invariant (checked by the tests at every block): the sum of all account
balances equals ``genesis supply + minted - burned``, and the staking
contract's balance equals ``bonded + unbonding + rewards``. Block awards are
minted; base fees are burned; priority fees move from senders to the staking
contract (the block's coinbase); slashed stake moves to the reserve (the
governance contract's balance), so slashing neither mints nor burns.
"""
from __future__ import annotations

from dataclasses import dataclass

from consensus.dpos.store import (
    BONDED,
    BURNED,
    GENESIS_SUPPLY,
    MINTED,
    PENDING_REWARDS,
    POOL,
    UNBONDING,
    StakingStore,
)
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS, VESTING_ADDRESS
from vm.native.framework import CallContext


@dataclass(frozen=True)
class Supply:
    """Where the CMT is (wei). ``circulating`` is ``total`` less everything held by the native contracts."""

    total: int
    minted: int
    burned: int
    bonded: int
    unbonding: int
    rewards: int  # award and fees received by staking and not yet compounded into delegations
    locked: int  # vesting lock-ups
    reserve: int  # foundation reserve (governance)
    circulating: int


def total_supply(store: StakingStore) -> int:
    """Genesis supply + minted - burned."""
    return store.counter(GENESIS_SUPPLY) + store.counter(MINTED) - store.counter(BURNED)


def holdings(store: StakingStore) -> int:
    """What the staking contract's balance must cover: bonded, unbonding and undistributed rewards."""
    return store.counter(BONDED) + store.counter(UNBONDING) + store.counter(POOL) + store.counter(PENDING_REWARDS)


def supply(context: CallContext) -> Supply:
    """The supply breakdown at the current state (any native contract may ask)."""
    store = StakingStore(context.for_contract(STAKING_ADDRESS))
    total = total_supply(store)
    bonded = store.counter(BONDED)
    unbonding = store.counter(UNBONDING)
    rewards = store.counter(POOL) + store.counter(PENDING_REWARDS)
    locked = context.balance(VESTING_ADDRESS)
    reserve = context.balance(GOVERNANCE_ADDRESS)
    return Supply(
        total=total, minted=store.counter(MINTED), burned=store.counter(BURNED), bonded=bonded,
        unbonding=unbonding, rewards=rewards, locked=locked, reserve=reserve,
        circulating=total - bonded - unbonding - rewards - locked - reserve,
    )
