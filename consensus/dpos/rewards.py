"""Splitting block awards and fees: between groups, between validators, then into delegations.

Each block's award plus its fees (and anything left over from blocks no
validator signed) is split (all integers, no wei created or lost):

1. between the validators that signed the previous block and all backups:
   ``validators_block_award_ratio`` percent (rounded down) to the first, the
   rest to the second; everything to the signers when there are no backups;
2. within each group, by voting power (``split_by_weight``);
3. each candidate's share is added to its ``pending_reward``; it is split
   into its delegations when settled (``settle``: at every election and
   before any change to the candidate's delegations, so the stakes it is
   split by are the stakes it was earned with). Delegation ``d`` earns
   ``gross_d = reward x amount_d // stake`` and keeps
   ``gross_d - gross_d x commission_d // 10_000``; the owner receives every
   commission and the rounding remainder on top of its own gross share.

Rewards compound: every credit is added to the delegation's bonded amount
(and so to the candidate's stake and voting power at the next election), as
Travis does; nothing is claimed.

``split_by_weight`` rounds each part down and gives the remainder to the
first entry of largest weight.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from consensus.dpos.errors import DposError
from consensus.dpos.records import Candidate, Delegation
from consensus.dpos.store import BONDED, PENDING_REWARDS, Member, StakingStore

BASIS_POINTS = 10_000
K = TypeVar("K")


def split_by_weight(amount: int, entries: Sequence[tuple[K, int]]) -> list[tuple[K, int]]:
    """``amount`` split between ``entries`` (key, weight) in proportion to weight; parts sum to ``amount``."""
    total_weight = sum(weight for _, weight in entries)
    if total_weight <= 0 or any(weight < 0 for _, weight in entries):
        raise DposError("Staking: cannot split by weights that are not positive")
    parts = [amount * weight // total_weight for _, weight in entries]
    heaviest = max(range(len(entries)), key=lambda i: (entries[i][1], -i))
    parts[heaviest] += amount - sum(parts)
    return [(key, part) for (key, _), part in zip(entries, parts)]


def split_block_reward(amount: int, signers: Sequence[Member], backups: Sequence[Member],
                       validators_ratio_pct: int) -> list[tuple[int, int]]:
    """(candidate id, wei) for each signer and backup; empty when no validator signed."""
    signers = [m for m in signers if m.power > 0]
    backups = [m for m in backups if m.power > 0]
    if not signers:
        return []
    to_validators = amount if not backups else amount * validators_ratio_pct // 100
    shares = split_by_weight(to_validators, [(m.candidate_id, m.power) for m in signers])
    if backups:
        shares += split_by_weight(amount - to_validators, [(m.candidate_id, m.power) for m in backups])
    return shares


def split_candidate_reward(reward: int, owner: bytes, stake: int,
                           delegations: Sequence[Delegation]) -> list[tuple[bytes, int]]:
    """(delegator, wei) credits of a candidate's ``reward``, the owner last; they sum to ``reward``."""
    if stake != sum(d.amount for d in delegations) or stake <= 0:
        raise DposError("Staking: candidate stake out of step with its delegations")
    credits: list[tuple[bytes, int]] = []
    to_owner = reward
    for delegation in delegations:
        gross = reward * delegation.amount // stake
        if delegation.delegator == owner:
            continue
        net = gross - gross * delegation.commission_bp // BASIS_POINTS
        credits.append((delegation.delegator, net))
        to_owner -= net
    credits.append((owner, to_owner))
    return credits


def credit_candidate(store: StakingStore, candidate_id: int, amount: int) -> None:
    """Add ``amount`` (already held by the contract) to a candidate's pending reward."""
    candidate = store.candidate(candidate_id)
    store.put_candidate(replace(candidate, pending_reward=candidate.pending_reward + amount))
    store.add_counter(PENDING_REWARDS, amount)


def settle(store: StakingStore, candidate: Candidate) -> Candidate:
    """Split a candidate's pending reward into its delegations (compounding them); returns it stored."""
    if candidate.pending_reward == 0:
        return candidate
    reward = candidate.pending_reward
    if candidate.stake == 0:
        credits = [(candidate.owner, reward)]
    else:
        credits = split_candidate_reward(reward, candidate.owner, candidate.stake,
                                         store.delegations_of_candidate(candidate.candidate_id))
    for delegator, amount in credits:
        if amount == 0:
            continue
        current = store.delegation(candidate.candidate_id, delegator) or Delegation(
            candidate.candidate_id, delegator, 0, 0
        )
        store.put_delegation(replace(current, amount=current.amount + amount, rewarded=current.rewarded + amount))
    settled = replace(candidate, stake=candidate.stake + reward, pending_reward=0)
    store.put_candidate(settled)
    store.add_counter(PENDING_REWARDS, -reward)
    store.add_counter(BONDED, reward)
    return settled
