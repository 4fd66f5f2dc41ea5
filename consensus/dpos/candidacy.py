"""Declaring, updating, withdrawing, verifying, (de)activating and handing over a candidacy.

Rules (Travis's semantics):

* declare: one candidacy per owner account; a 32-byte nonzero consensus key
  no other candidate uses; commission within ``[min_commission_bp,
  max_commission_bp]``; the self-stake ``max_amount x self_staking_ratio_bp
  // 10_000`` (rounded down) is at least ``min_staking_amount`` and the value
  sent covers it (it is bonded as the owner's delegation; more is allowed up
  to ``max_amount``);
* update: a new consensus key is reserved at once and swapped in at the next
  election; a changed description clears the verification; a new
  ``max_amount`` recomputes the self-stake, which the owner's delegation plus
  the value sent must cover, and may not be below the bonded stake;
* withdraw: every delegation (the owner's included) enters the unbonding
  queue and the candidacy is removed;
* verify: only ``foundation_address`` (never the zero address);
* activate clears a jail and the missed-block count; deactivate stops the
  candidate from being elected (it leaves the set at the end of the block);
* ownership: the owner names a new owner account that is not a candidate;
  when that account accepts, the candidacy and the owner's delegation move
  to it.
"""
from __future__ import annotations

from dataclasses import replace

from consensus.dpos.delegation import bond, unbond
from consensus.dpos.errors import InvalidAmount, InvalidCandidacy, Unauthorized
from consensus.dpos.params import DposParams
from consensus.dpos.records import PUB_KEY_BYTES, Candidate, Description
from consensus.dpos.rewards import settle
from consensus.dpos.store import NEXT_CANDIDATE_ID, REELECT, StakingStore

BASIS_POINTS = 10_000
MAX_DESCRIPTION_FIELD = 256  # bytes of UTF-8 per description field
ZERO_ADDRESS = b"\x00" * 20


def check_description(description: Description) -> None:
    """Reject a description field longer than ``MAX_DESCRIPTION_FIELD`` bytes."""
    for name, value in vars(description).items():
        if len(value.encode()) > MAX_DESCRIPTION_FIELD:
            raise InvalidCandidacy(f"Staking: description {name} longer than {MAX_DESCRIPTION_FIELD} bytes")


def _check_key(store: StakingStore, pub_key: bytes, candidate_id: int | None) -> None:
    if len(pub_key) != PUB_KEY_BYTES or pub_key == b"\x00" * PUB_KEY_BYTES:
        raise InvalidCandidacy("Staking: consensus key must be 32 nonzero bytes")
    holder = store.id_of_key(pub_key)
    if holder is not None and holder != candidate_id:
        raise InvalidCandidacy("Staking: consensus key already used by another candidate")


def _check_commission(params: DposParams, commission_bp: int) -> None:
    if not params.min_commission_bp <= commission_bp <= params.max_commission_bp:
        raise InvalidCandidacy(
            f"Staking: commission must be between {params.min_commission_bp} and {params.max_commission_bp} bp"
        )


def self_stake_of(params: DposParams, max_amount: int) -> int:
    """The self-stake a candidacy of ``max_amount`` requires (rounded down)."""
    return max_amount * params.self_staking_ratio_bp // BASIS_POINTS


def _mark_reelection(store: StakingStore, candidate_id: int) -> None:
    if store.is_elected(candidate_id):
        store.set_counter(REELECT, 1)


def declare(store: StakingStore, params: DposParams, owner: bytes, pub_key: bytes, max_amount: int,
            commission_bp: int, description: Description, value: int, block_number: int) -> Candidate:
    """Register the candidacy of ``owner`` and bond the ``value`` it sent as its self-stake."""
    if store.id_of_owner(owner) is not None:
        raise InvalidCandidacy("Staking: this account already has a candidacy")
    _check_key(store, pub_key, None)
    _check_commission(params, commission_bp)
    check_description(description)
    self_stake = self_stake_of(params, max_amount)
    if self_stake < max(1, params.min_staking_amount):
        raise InvalidAmount(f"Staking: self-stake {self_stake} wei is below the minimum of "
                            f"{params.min_staking_amount} wei; raise max amount")
    if not self_stake <= value <= max_amount:
        raise InvalidAmount(f"Staking: send between {self_stake} (the self-stake) and {max_amount} wei")
    candidate_id = store.counter(NEXT_CANDIDATE_ID)
    store.set_counter(NEXT_CANDIDATE_ID, candidate_id + 1)
    candidate = Candidate(
        candidate_id=candidate_id, owner=owner, pub_key=pub_key, max_amount=max_amount,
        commission_bp=commission_bp, self_stake=self_stake, description=description, declared_at=block_number,
    )
    store.put_candidate(candidate)
    store.set_owner_index(owner, candidate_id)
    store.set_key_index(pub_key, candidate_id)
    return bond(store, candidate, owner, value)[0]


def update(store: StakingStore, params: DposParams, owner: bytes, pub_key: bytes, max_amount: int,
           commission_bp: int, description: Description, value: int) -> Candidate:
    """Change a candidacy (``pub_key`` all zero keeps the key) and bond the ``value`` sent as self-stake."""
    candidate = settle(store, store.candidate_of_owner(owner))
    _check_commission(params, commission_bp)
    check_description(description)
    if pub_key != b"\x00" * PUB_KEY_BYTES and pub_key != candidate.pub_key:
        _check_key(store, pub_key, candidate.candidate_id)
        if candidate.pending_pub_key:
            store.set_key_index(candidate.pending_pub_key, None)
        store.set_key_index(pub_key, candidate.candidate_id)
        candidate = replace(candidate, pending_pub_key=pub_key)
    self_stake = self_stake_of(params, max_amount)
    own = store.delegation(candidate.candidate_id, owner)
    own_amount = (own.amount if own else 0) + value
    if own_amount < self_stake:
        raise InvalidAmount(f"Staking: the owner's stake {own_amount} wei would be below the self-stake "
                            f"{self_stake} wei")
    if max_amount < candidate.stake + value:
        raise InvalidAmount(f"Staking: max amount below the bonded stake of {candidate.stake + value} wei")
    candidate = replace(
        candidate, max_amount=max_amount, commission_bp=commission_bp, self_stake=self_stake,
        description=description, verified=candidate.verified and description == candidate.description,
    )
    store.put_candidate(candidate)
    return bond(store, candidate, owner, value)[0] if value else candidate


def withdraw_candidacy(store: StakingStore, params: DposParams, owner: bytes, now: int) -> Candidate:
    """Unbond every delegation of ``owner``'s candidacy and remove it; returns the removed record."""
    candidate = settle(store, store.candidate_of_owner(owner))
    _mark_reelection(store, candidate.candidate_id)
    for delegation in store.delegations_of_candidate(candidate.candidate_id):
        candidate, _ = unbond(store, candidate, delegation, delegation.amount, now + params.unbonding_period)
    store.delete_candidate(candidate)
    return candidate


def verify(store: StakingStore, params: DposParams, sender: bytes, owner: bytes, verified: bool) -> Candidate:
    """Set the verified mark of ``owner``'s candidacy (foundation only)."""
    if params.foundation_address == ZERO_ADDRESS or sender != params.foundation_address:
        raise Unauthorized("Staking: only the foundation verifies candidacies")
    candidate = replace(store.candidate_of_owner(owner), verified=verified)
    store.put_candidate(candidate)
    return candidate


def set_active(store: StakingStore, owner: bytes, active: bool) -> Candidate:
    """Activate (also ending a jail) or deactivate ``owner``'s candidacy."""
    candidate = store.candidate_of_owner(owner)
    if active and candidate.active and not candidate.jailed:
        raise InvalidCandidacy("Staking: candidacy is already active")
    if not active and not candidate.active:
        raise InvalidCandidacy("Staking: candidacy is already inactive")
    candidate = replace(candidate, active=active, jailed=False if active else candidate.jailed, missed_blocks=0)
    store.put_candidate(candidate)
    if not active:
        _mark_reelection(store, candidate.candidate_id)
    return candidate


def start_transfer(store: StakingStore, owner: bytes, new_owner: bytes) -> Candidate:
    """Name ``new_owner`` as the candidacy's next owner (it must accept)."""
    candidate = store.candidate_of_owner(owner)
    if new_owner in (ZERO_ADDRESS, owner) or store.id_of_owner(new_owner) is not None:
        raise InvalidCandidacy("Staking: the new owner must be another account without a candidacy")
    candidate = replace(candidate, pending_owner=new_owner)
    store.put_candidate(candidate)
    return candidate


def accept_transfer(store: StakingStore, new_owner: bytes, previous_owner: bytes) -> Candidate:
    """Move ``previous_owner``'s candidacy, and its own delegation, to ``new_owner`` (who named it)."""
    candidate = settle(store, store.candidate_of_owner(previous_owner))
    if candidate.pending_owner != new_owner:
        raise Unauthorized("Staking: this account was not named the candidacy's new owner")
    if store.id_of_owner(new_owner) is not None:
        raise InvalidCandidacy("Staking: the new owner already has a candidacy")
    own = store.delegation(candidate.candidate_id, previous_owner)
    theirs = store.delegation(candidate.candidate_id, new_owner)
    if own is not None:
        store.put_delegation(replace(own, amount=0))
        merged = own if theirs is None else replace(
            theirs, amount=theirs.amount + own.amount, rewarded=theirs.rewarded + own.rewarded,
            slashed=theirs.slashed + own.slashed,
        )
        store.put_delegation(replace(merged, delegator=new_owner, commission_bp=0))
    store.set_owner_index(previous_owner, None)
    store.set_owner_index(new_owner, candidate.candidate_id)
    candidate = replace(candidate, owner=new_owner, pending_owner=b"")
    store.put_candidate(candidate)
    _mark_reelection(store, candidate.candidate_id)
    return candidate
