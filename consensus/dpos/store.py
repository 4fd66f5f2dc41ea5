"""Typed access to the staking contract's storage, over a ``CallContext``.

Layout (every key is namespaced by ``cmt.staking.``, hashed with keccak):

* scalar counters in single slots (``counter``/``set_counter``): candidate id
  sequence, totals of bonded, unbonding and undistributed reward wei, the
  supply counters, the unbonding queue's head and tail;
* records as RLP byte strings (``records.py``): ``cand`` + id,
  ``del`` + id + delegator, ``unb`` + sequence number;
* look-ups in mapping slots: owner -> id + 1, consensus key -> id + 1;
* enumerable sets in slots (``WordSet``): all candidate ids, each candidate's
  delegators, each delegator's candidates and pending unbondings. A set is a
  storage array plus a position mapping: adding appends, removing moves the
  last element into the hole, so its order is a deterministic function of
  the operations applied (never of a hash table's iteration order);
* the elected set (validators then backups, ranked) as one byte string.

Gas: each slot read or write goes through the context, so user calls pay the
EVM storage schedule for exactly what they touch.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import rlp
from eth_hash.auto import keccak

from consensus.dpos.errors import DposError, InvalidAmount, UnknownCandidate
from consensus.dpos.records import (
    Candidate,
    Delegation,
    Unbonding,
    decode_record,
    encode_record,
)
from vm.native.framework import CallContext, mapping_slot

NAMESPACE = b"cmt.staking."
ID_BYTES = 8
MAX_CANDIDATES = 1_000
MAX_DELEGATORS_PER_CANDIDATE = 1_000
MAX_CANDIDATES_PER_DELEGATOR = 64
MAX_UNBONDINGS_PER_DELEGATOR = 16

# scalar counters
NEXT_CANDIDATE_ID = "next_candidate_id"
BONDED = "bonded"  # sum of all delegation amounts
UNBONDING = "unbonding"  # sum of the unbonding queue
POOL = "pool"  # award and fees received while no validator signed: paid out with the next award
PENDING_REWARDS = "pending_rewards"  # awards credited to candidates, not yet split into their delegations
GENESIS_SUPPLY = "genesis_supply"
GENESIS_TIME = "genesis_time"
MINTED = "minted"
BURNED = "burned"
LAST_AWARD_TIME = "last_award_time"
QUEUE_HEAD = "queue_head"
QUEUE_TAIL = "queue_tail"
QUEUE_LAST_MATURITY = "queue_last_maturity"
REELECT = "reelect"  # 1 when the set must be re-elected at this block's end (a member left or was jailed)


def _key(*parts: bytes) -> bytes:
    return NAMESPACE + b"".join(parts)


def _slot(*parts: bytes) -> int:
    return int.from_bytes(keccak(_key(*parts)), "big")


def id_bytes(candidate_id: int) -> bytes:
    """The fixed-width key form of a candidate id."""
    return candidate_id.to_bytes(ID_BYTES, "big")


@dataclass(frozen=True)
class Member:
    """One member of the elected set: a validator (``is_backup`` false) or a backup."""

    candidate_id: int
    owner: bytes
    pub_key: bytes
    power: int
    is_backup: bool


class WordSet:
    """An enumerable set of 32-byte words in storage (insertion order, swap-and-pop removal)."""

    def __init__(self, context: CallContext, name: bytes, limit: int) -> None:
        self._context = context
        self._length_slot = _slot(b"set.", name)
        self._items_base = _slot(b"set.items.", name)
        self._positions = _slot(b"set.pos.", name)
        self._limit = limit

    def __len__(self) -> int:
        return self._context.load(self._length_slot)

    def __contains__(self, item: int) -> bool:
        return self._context.load(mapping_slot(self._positions, item)) != 0

    def __iter__(self) -> Iterator[int]:
        for index in range(len(self)):
            yield self._context.load(self._items_base + index)

    def add(self, item: int) -> None:
        """Add ``item`` (no-op when present; ``DposError`` when the set is full).

        Block hooks are exempt from the limit: a bound that users can fill
        must never fail a block (the hooks only add an owner's own delegation
        when compounding its reward, which the candidate count bounds).
        """
        if item in self:
            return
        length = len(self)
        if length >= self._limit and not self._context.is_system:
            raise DposError(f"Staking: limit of {self._limit} entries reached")
        self._context.store(self._items_base + length, item)
        self._context.store(mapping_slot(self._positions, item), length + 1)
        self._context.store(self._length_slot, length + 1)

    def discard(self, item: int) -> None:
        """Remove ``item`` (no-op when absent); the last element takes its place."""
        position = self._context.load(mapping_slot(self._positions, item))
        if position == 0:
            return
        last_index = len(self) - 1
        if position - 1 != last_index:
            last = self._context.load(self._items_base + last_index)
            self._context.store(self._items_base + position - 1, last)
            self._context.store(mapping_slot(self._positions, last), position)
        self._context.store(self._items_base + last_index, 0)
        self._context.store(mapping_slot(self._positions, item), 0)
        self._context.store(self._length_slot, last_index)


def _address_word(address: bytes) -> int:
    return int.from_bytes(address, "big")


class StakingStore:
    """Candidates, delegations, the unbonding queue, counters and the elected set of the staking contract."""

    def __init__(self, context: CallContext) -> None:
        self.context = context

    # -- counters --------------------------------------------------------------

    def counter(self, name: str) -> int:
        """The value of a scalar counter (0 when never set)."""
        return self.context.load(_slot(b"counter.", name.encode()))

    def set_counter(self, name: str, value: int) -> None:
        """Set a scalar counter (``DposError`` if it would go negative: an accounting bug, never silent)."""
        if value < 0:
            raise DposError(f"Staking: counter {name} would become negative")
        self.context.store(_slot(b"counter.", name.encode()), value)

    def add_counter(self, name: str, delta: int) -> None:
        """Add ``delta`` (possibly negative) to a scalar counter."""
        self.set_counter(name, self.counter(name) + delta)

    # -- candidates --------------------------------------------------------------

    def candidate_ids(self) -> WordSet:
        """Every registered candidate's id."""
        return WordSet(self.context, b"candidates", MAX_CANDIDATES)

    def candidate(self, candidate_id: int) -> Candidate:
        """The candidate with ``candidate_id`` (``UnknownCandidate`` when absent)."""
        candidate = self.find_candidate(candidate_id)
        if candidate is None:
            raise UnknownCandidate(f"Staking: no candidate with id {candidate_id}")
        return candidate

    def candidates(self) -> list[Candidate]:
        """Every registered candidate, ordered by id."""
        return [self.candidate(candidate_id) for candidate_id in sorted(self.candidate_ids())]

    def put_candidate(self, candidate: Candidate) -> None:
        """Store ``candidate`` and keep the id set and look-ups in step."""
        self.context.store_bytes(_key(b"cand", id_bytes(candidate.candidate_id)), encode_record(candidate))
        self.candidate_ids().add(candidate.candidate_id)

    def delete_candidate(self, candidate: Candidate) -> None:
        """Remove ``candidate`` and its look-ups (its delegations must be gone already)."""
        self.context.delete_bytes(_key(b"cand", id_bytes(candidate.candidate_id)))
        self.candidate_ids().discard(candidate.candidate_id)
        self.set_owner_index(candidate.owner, None)
        self.set_key_index(candidate.pub_key, None)
        if candidate.pending_pub_key:
            self.set_key_index(candidate.pending_pub_key, None)

    def id_of_owner(self, owner: bytes) -> int | None:
        """The id of the candidate owned by ``owner``, if any."""
        value = self.context.load(mapping_slot(_slot(b"owner"), owner))
        return value - 1 if value else None

    def id_of_key(self, pub_key: bytes) -> int | None:
        """The id of the candidate using (or about to use) consensus key ``pub_key``, if any."""
        value = self.context.load(mapping_slot(_slot(b"key"), pub_key))
        return value - 1 if value else None

    def set_owner_index(self, owner: bytes, candidate_id: int | None) -> None:
        """Point ``owner`` at ``candidate_id`` (None clears it)."""
        self.context.store(mapping_slot(_slot(b"owner"), owner), 0 if candidate_id is None else candidate_id + 1)

    def set_key_index(self, pub_key: bytes, candidate_id: int | None) -> None:
        """Point consensus key ``pub_key`` at ``candidate_id`` (None clears it)."""
        self.context.store(mapping_slot(_slot(b"key"), pub_key), 0 if candidate_id is None else candidate_id + 1)

    def find_candidate(self, candidate_id: int) -> Candidate | None:
        """The candidate with ``candidate_id``, or None when it withdrew."""
        data = self.context.load_bytes(_key(b"cand", id_bytes(candidate_id)))
        return None if data is None else decode_record(Candidate, data)

    def candidate_of_owner(self, owner: bytes) -> Candidate:
        """The candidate owned by ``owner`` (``UnknownCandidate`` naming the account when none)."""
        candidate_id = self.id_of_owner(owner)
        if candidate_id is None:
            raise UnknownCandidate(f"Staking: 0x{owner.hex()} is not a candidate")
        return self.candidate(candidate_id)

    # -- delegations -------------------------------------------------------------

    def delegators_of(self, candidate_id: int) -> WordSet:
        """The delegator accounts (as words) of a candidate."""
        return WordSet(self.context, b"delegators" + id_bytes(candidate_id), MAX_DELEGATORS_PER_CANDIDATE)

    def candidates_of(self, delegator: bytes) -> WordSet:
        """The candidate ids a delegator has delegations with."""
        return WordSet(self.context, b"delegations" + delegator, MAX_CANDIDATES_PER_DELEGATOR)

    def delegation(self, candidate_id: int, delegator: bytes) -> Delegation | None:
        """The delegation of ``delegator`` to ``candidate_id``, if any."""
        data = self.context.load_bytes(_key(b"del", id_bytes(candidate_id), delegator))
        return None if data is None else decode_record(Delegation, data)

    def delegations_of_candidate(self, candidate_id: int) -> list[Delegation]:
        """A candidate's delegations, ordered by delegator address."""
        delegators = sorted(word.to_bytes(20, "big") for word in self.delegators_of(candidate_id))
        return [self._existing_delegation(candidate_id, delegator) for delegator in delegators]

    def delegations_of_delegator(self, delegator: bytes) -> list[Delegation]:
        """A delegator's delegations, ordered by candidate id."""
        return [self._existing_delegation(cid, delegator) for cid in sorted(self.candidates_of(delegator))]

    def _existing_delegation(self, candidate_id: int, delegator: bytes) -> Delegation:
        delegation = self.delegation(candidate_id, delegator)
        if delegation is None:
            raise DposError("Staking: delegation index out of step with delegations")
        return delegation

    def put_delegation(self, delegation: Delegation) -> None:
        """Store ``delegation`` (removing it when its amount is zero) and keep both indexes in step."""
        key = _key(b"del", id_bytes(delegation.candidate_id), delegation.delegator)
        word = _address_word(delegation.delegator)
        if delegation.amount == 0:
            self.context.delete_bytes(key)
            self.delegators_of(delegation.candidate_id).discard(word)
            self.candidates_of(delegation.delegator).discard(delegation.candidate_id)
            return
        self.context.store_bytes(key, encode_record(delegation))
        self.delegators_of(delegation.candidate_id).add(word)
        self.candidates_of(delegation.delegator).add(delegation.candidate_id)

    # -- unbonding queue ---------------------------------------------------------

    def unbondings_of(self, delegator: bytes) -> WordSet:
        """The sequence numbers of a delegator's pending unbondings."""
        return WordSet(self.context, b"unbondings" + delegator, MAX_UNBONDINGS_PER_DELEGATOR)

    def unbonding(self, seq: int) -> Unbonding | None:
        """The queued unbonding ``seq``, if still pending."""
        data = self.context.load_bytes(_key(b"unb", seq.to_bytes(8, "big")))
        return None if data is None else decode_record(Unbonding, data)

    def enqueue_unbonding(self, delegator: bytes, candidate_id: int, amount: int, mature_time: int) -> Unbonding:
        """Append an unbonding at the queue's tail; it matures no earlier than the one queued before it.

        The queue is first-in first-out and ordered by (maturity, sequence
        number): when ``unbonding_period`` was shortened, a new entry's
        maturity is raised to its predecessor's.
        """
        if amount <= 0:
            raise InvalidAmount("Staking: nothing to unbond")
        seq = self.counter(QUEUE_TAIL)
        mature_time = max(mature_time, self.counter(QUEUE_LAST_MATURITY))
        entry = Unbonding(seq=seq, delegator=delegator, candidate_id=candidate_id, amount=amount,
                          mature_time=mature_time, height=self.context.block_number)
        self.unbondings_of(delegator).add(seq)
        self.context.store_bytes(_key(b"unb", seq.to_bytes(8, "big")), encode_record(entry))
        self.set_counter(QUEUE_TAIL, seq + 1)
        self.set_counter(QUEUE_LAST_MATURITY, mature_time)
        self.add_counter(UNBONDING, amount)
        return entry

    def pending_unbondings(self) -> list[Unbonding]:
        """Every unbonding still in the queue, oldest first."""
        entries = (self.unbonding(seq) for seq in range(self.counter(QUEUE_HEAD), self.counter(QUEUE_TAIL)))
        return [entry for entry in entries if entry is not None]

    def cut_unbonding(self, entry: Unbonding, cut: int) -> None:
        """Take ``cut`` wei off a queued unbonding (slashing); the queue keeps its order."""
        self.context.store_bytes(_key(b"unb", entry.seq.to_bytes(8, "big")),
                                 encode_record(replace(entry, amount=entry.amount - cut)))
        self.add_counter(UNBONDING, -cut)

    def pop_matured(self, now: int) -> Unbonding | None:
        """Remove and return the queue's head if it has matured by ``now``."""
        seq = self.counter(QUEUE_HEAD)
        if seq >= self.counter(QUEUE_TAIL):
            return None
        entry = self.unbonding(seq)
        if entry is None:
            raise DposError("Staking: unbonding queue out of step")
        if entry.mature_time > now:
            return None
        self.context.delete_bytes(_key(b"unb", seq.to_bytes(8, "big")))
        self.unbondings_of(entry.delegator).discard(seq)
        self.set_counter(QUEUE_HEAD, seq + 1)
        self.add_counter(UNBONDING, -entry.amount)
        return entry

    # -- elected set and last awards ----------------------------------------------

    def elected(self) -> list[Member]:
        """The elected set, validators first, each group in rank order."""
        data = self.context.load_bytes(_key(b"elected"))
        if data is None:
            return []
        return [
            Member(int.from_bytes(cid, "big"), owner, key, int.from_bytes(power, "big"), backup == b"\x01")
            for cid, owner, key, power, backup in rlp.decode(data)
        ]

    def put_elected(self, members: list[Member]) -> None:
        """Store the elected set (validators first, each group in rank order)."""
        self.context.store_bytes(
            _key(b"elected"),
            rlp.encode([[m.candidate_id, m.owner, m.pub_key, m.power, int(m.is_backup)] for m in members]),
        )

    def is_elected(self, candidate_id: int) -> bool:
        """Whether the candidate is a validator or backup in force."""
        return any(member.candidate_id == candidate_id for member in self.elected())

    def last_awards(self) -> list[tuple[int, int]]:
        """(candidate id, wei) credited to each candidate in the latest block that paid awards."""
        data = self.context.load_bytes(_key(b"awards"))
        if data is None:
            return []
        return [(int.from_bytes(cid, "big"), int.from_bytes(amount, "big")) for cid, amount in rlp.decode(data)]

    def put_last_awards(self, awards: list[tuple[int, int]]) -> None:
        """Record the awards of this block (``last_awards``)."""
        self.context.store_bytes(_key(b"awards"), rlp.encode([[cid, amount] for cid, amount in awards]))
