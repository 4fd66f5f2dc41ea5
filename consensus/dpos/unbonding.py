"""Paying out matured unbondings at the end of each block.

An unbonding queued at block time ``t`` matures at ``t + unbonding_period``
(or at its predecessor's maturity, if later: the queue is first-in
first-out); it is paid in the first block whose time is at or after its
maturity, at most ``MAX_PAYOUTS_PER_BLOCK`` per block (the rest wait for the
next block, still in order).
"""
from __future__ import annotations

from consensus.dpos.events import UNBONDING_PAID
from consensus.dpos.records import Unbonding
from consensus.dpos.store import StakingStore

MAX_PAYOUTS_PER_BLOCK = 1_000


def pay_matured(store: StakingStore, now: int) -> list[Unbonding]:
    """Pay every unbonding matured by ``now`` (up to the per-block bound), oldest first."""
    paid: list[Unbonding] = []
    while len(paid) < MAX_PAYOUTS_PER_BLOCK:
        entry = store.pop_matured(now)
        if entry is None:
            break
        store.context.transfer(entry.delegator, entry.amount)
        store.context.emit(
            UNBONDING_PAID, indexed=[("address", entry.delegator), ("uint256", entry.seq)],
            data=[("uint256", entry.amount)],
        )
        paid.append(entry)
    return paid
