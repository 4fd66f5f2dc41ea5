"""Delegating stake to a candidate, withdrawing it into the unbonding queue, per-delegator commission.

Rules:

* a delegation is at least ``min_staking_amount`` wei, to an active, unjailed
  candidate, and never lifts the candidate's stake above its ``max_amount``;
* a new delegation takes the candidate's commission rate (the owner's own: 0);
* a withdrawal of ``0 < amount <= delegated`` enters the unbonding queue,
  maturing ``unbonding_period`` seconds of block time later; the owner may
  not go below its self-stake (withdrawing the candidacy releases it);
* the owner may set any delegator's rate between ``min_commission_bp`` and
  its candidacy's rate (a discount, never a surprise increase).

Every operation first settles the candidate's pending reward
(``rewards.settle``) so rewards are split by the stakes that earned them.
"""
from __future__ import annotations

from dataclasses import replace

from consensus.dpos.errors import InvalidAmount, InvalidCandidacy, Unauthorized
from consensus.dpos.params import DposParams
from consensus.dpos.records import Candidate, Delegation, Unbonding
from consensus.dpos.rewards import settle
from consensus.dpos.store import BONDED, StakingStore


def bond(store: StakingStore, candidate: Candidate, delegator: bytes, amount: int) -> tuple[Candidate, Delegation]:
    """Add ``amount`` wei (already received) to ``delegator``'s delegation; returns both as stored."""
    current = store.delegation(candidate.candidate_id, delegator) or Delegation(
        candidate.candidate_id, delegator, 0, 0 if delegator == candidate.owner else candidate.commission_bp
    )
    grown = replace(current, amount=current.amount + amount)
    store.put_delegation(grown)
    updated = replace(candidate, stake=candidate.stake + amount)
    store.put_candidate(updated)
    store.add_counter(BONDED, amount)
    return updated, grown


def unbond(store: StakingStore, candidate: Candidate, delegation: Delegation, amount: int,
           mature_time: int) -> tuple[Candidate, Unbonding]:
    """Move ``amount`` of a delegation into the unbonding queue; returns the stored candidate and the entry."""
    store.put_delegation(replace(delegation, amount=delegation.amount - amount))
    updated = replace(candidate, stake=candidate.stake - amount)
    store.put_candidate(updated)
    store.add_counter(BONDED, -amount)
    return updated, store.enqueue_unbonding(delegation.delegator, candidate.candidate_id, amount, mature_time)


def delegate(store: StakingStore, params: DposParams, delegator: bytes, owner: bytes, amount: int) -> Delegation:
    """Bond ``amount`` wei sent by ``delegator`` to the candidate owned by ``owner``; returns the delegation."""
    candidate = settle(store, store.candidate_of_owner(owner))
    if not candidate.active or candidate.jailed:
        raise InvalidCandidacy("Staking: candidate is not active")
    if amount < max(1, params.min_staking_amount):
        raise InvalidAmount(f"Staking: delegation below the minimum of {params.min_staking_amount} wei")
    if candidate.stake + amount > candidate.max_amount:
        raise InvalidAmount(
            f"Staking: candidate accepts at most {candidate.max_amount - candidate.stake} more wei"
        )
    return bond(store, candidate, delegator, amount)[1]


def withdraw(store: StakingStore, params: DposParams, delegator: bytes, owner: bytes, amount: int,
             now: int) -> Unbonding:
    """Start unbonding ``amount`` wei of ``delegator``'s delegation to ``owner``'s candidate."""
    candidate = settle(store, store.candidate_of_owner(owner))
    delegation = store.delegation(candidate.candidate_id, delegator)
    if delegation is None:
        raise InvalidAmount("Staking: no delegation to this candidate")
    if not 0 < amount <= delegation.amount:
        raise InvalidAmount(f"Staking: amount must be between 1 and {delegation.amount} wei")
    if delegator == candidate.owner and delegation.amount - amount < candidate.self_stake:
        raise InvalidAmount(
            f"Staking: the owner cannot withdraw below its self-stake of {candidate.self_stake} wei"
        )
    _, entry = unbond(store, candidate, delegation, amount, now + params.unbonding_period)
    return entry


def set_commission(store: StakingStore, params: DposParams, owner: bytes, delegator: bytes,
                   commission_bp: int) -> Delegation:
    """Set the commission rate the candidate of ``owner`` takes from ``delegator``'s rewards."""
    candidate = settle(store, store.candidate_of_owner(owner))
    delegation = store.delegation(candidate.candidate_id, delegator)
    if delegation is None:
        raise InvalidAmount("Staking: no delegation from this delegator")
    if delegator == owner:
        raise Unauthorized("Staking: the owner's own delegation pays no commission")
    if not params.min_commission_bp <= commission_bp <= candidate.commission_bp:
        raise InvalidCandidacy(
            f"Staking: commission must be between {params.min_commission_bp} and {candidate.commission_bp} bp"
        )
    updated = replace(delegation, commission_bp=commission_bp)
    store.put_delegation(updated)
    return updated
