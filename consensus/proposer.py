"""Proposer selection: CometBFT's weighted round-robin with proposer priorities.

Each validator has a priority. One increment adds every validator's voting
power to its priority, picks the validator with the highest priority (ties go
to the lower address) as proposer, and subtracts the total voting power from
the proposer's priority. Before a batch of increments the priorities are
rescaled (integer-divided, truncating toward zero, by ``ceil(diff / (2 *
total))`` when the spread ``max - min`` exceeds ``2 * total``) and centred
(the floor of their average is subtracted). A validator joining a set starts at
``-(total + total // 8)`` so it cannot jump the queue. Integers only.

Determinism contract (what every node computes identically):

* ``ProposerPriorities.initial(vset)`` is the state of the first height of a
  chain (as CometBFT's ``NewValidatorSet``, one increment included).
* The proposer of round ``r`` at a height whose state is ``P`` is
  ``P.incremented(r).proposer`` (one batch of ``r`` increments; round 0 is ``P``
  itself), independent of the path by which a node reached round ``r``.
* The state of the next height is ``P.next_height(next_vset)``: the validator
  changes applied, then one increment, regardless of the round in which the
  height was decided.

So the state of any height is a pure function of the genesis set and the
sequence of validator sets of the heights before it; a driver persists it
with each committed height (``encode``/``decode``) instead of recomputing
it from genesis.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import rlp
from rlp.exceptions import RLPException
from rlp.sedes import big_endian_int

from consensus.errors import ConsensusError
from consensus.validators import ValidatorSet

PRIORITY_WINDOW_SIZE_FACTOR = 2
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


class InvalidPriorities(ConsensusError):
    """A proposer-priority state that cannot be used (empty set, bad power, malformed encoding)."""


def _clip(value: int) -> int:
    return max(_INT64_MIN, min(_INT64_MAX, value))


def _highest(priorities: list[int], addresses: list[bytes]) -> int:
    """Index of the highest priority, the lower address winning ties."""
    return min(range(len(priorities)), key=lambda i: (-priorities[i], addresses[i]))


def _div_trunc(value: int, divisor: int) -> int:
    quotient = abs(value) // divisor
    return quotient if value >= 0 else -quotient


@dataclass(frozen=True)
class ProposerPriorities:
    """Immutable priority state: ``entries`` are (address, voting power, priority), ordered by address.

    ``proposer`` is the validator chosen by the last increment (as CometBFT keeps it), not necessarily the
    one with the highest priority now: the chosen one has just had the total power subtracted.
    """

    entries: tuple[tuple[bytes, int, int], ...]
    proposer: bytes

    @classmethod
    def from_powers(cls, powers: Iterable[tuple[bytes, int]]) -> ProposerPriorities:
        """The initial state for (address, power) pairs: zero priorities, then one increment."""
        entries = tuple(sorted((address, power, 0) for address, power in powers))
        state = cls(entries, b"")
        state._check()
        return state.incremented(1)

    @classmethod
    def initial(cls, validators: ValidatorSet) -> ProposerPriorities:
        """The initial state of a validator set."""
        return cls.from_powers((v.address, v.power) for v in validators.validators)

    @property
    def total_power(self) -> int:
        """Sum of voting power."""
        return sum(power for _, power, _ in self.entries)

    def priority_of(self, address: bytes) -> int:
        """The priority of ``address``."""
        for entry_address, _, priority in self.entries:
            if entry_address == address:
                return priority
        raise InvalidPriorities(f"0x{address.hex()} is not in the priority state")

    def incremented(self, times: int) -> ProposerPriorities:
        """The state after rescaling, centring and ``times`` increments (``times`` 0 returns ``self``)."""
        if times < 0:
            raise InvalidPriorities(f"cannot increment priorities {times} times")
        if times == 0:
            return self
        total = self.total_power
        priorities = self._centred(self._rescaled([p for _, _, p in self.entries], total))
        powers = [power for _, power, _ in self.entries]
        addresses = [address for address, _, _ in self.entries]
        best = 0
        for _ in range(times):
            priorities = [_clip(p + power) for p, power in zip(priorities, powers)]
            best = _highest(priorities, addresses)
            priorities[best] = _clip(priorities[best] - total)
        return ProposerPriorities(tuple(zip(addresses, powers, priorities)), addresses[best])

    def updated(self, validators: ValidatorSet) -> ProposerPriorities:
        """The state for a changed validator set: kept priorities, newcomers behind, then rescaled and centred.

        Its ``proposer`` is the highest-priority validator; ``next_height`` increments right after anyway.
        """
        new_total = validators.total_power
        known = {address: priority for address, _, priority in self.entries}
        newcomer = -(new_total + (new_total >> 3))
        entries = sorted((v.address, v.power, known.get(v.address, newcomer)) for v in validators.validators)
        ProposerPriorities(tuple(entries), b"")._check()
        priorities = self._centred(self._rescaled([p for _, _, p in entries], new_total))
        addresses = [address for address, _, _ in entries]
        return ProposerPriorities(tuple((a, w, p) for (a, w, _), p in zip(entries, priorities)),
                                  addresses[_highest(priorities, addresses)])

    def next_height(self, validators: ValidatorSet) -> ProposerPriorities:
        """The state of the next height, whose validator set is ``validators``."""
        return self.updated(validators).incremented(1)

    def encode(self) -> bytes:
        """Canonical bytes for persistence (priorities are offset to be non-negative)."""
        return rlp.encode([self.proposer, [[a, w, p - _INT64_MIN] for a, w, p in self.entries]])

    @classmethod
    def decode(cls, data: bytes) -> ProposerPriorities:
        """Inverse of ``encode``; raises ``InvalidPriorities`` on malformed bytes."""
        try:
            proposer, items = rlp.decode(data, strict=True)
            entries = tuple(
                (bytes(a), big_endian_int.deserialize(w),
                 big_endian_int.deserialize(p) + _INT64_MIN)
                for a, w, p in items
            )
        except (RLPException, TypeError, ValueError) as exc:
            raise InvalidPriorities(f"malformed proposer priorities: {exc}") from exc
        state = cls(entries, bytes(proposer))
        state._check()
        if list(entries) != sorted(entries) or any(p > _INT64_MAX for _, _, p in entries) \
                or state.proposer not in {address for address, _, _ in entries}:
            raise InvalidPriorities("malformed proposer priorities: unordered or out of range")
        return state

    def _check(self) -> None:
        if not self.entries:
            raise InvalidPriorities("a validator set needs at least one validator")
        addresses = [address for address, _, _ in self.entries]
        if len(set(addresses)) != len(addresses):
            raise InvalidPriorities("duplicate validator address")
        if any(power <= 0 or power > _INT64_MAX // 8 for _, power, _ in self.entries):
            raise InvalidPriorities("validator power out of range")

    @staticmethod
    def _rescaled(priorities: list[int], total: int) -> list[int]:
        window = PRIORITY_WINDOW_SIZE_FACTOR * total
        diff = max(priorities) - min(priorities)
        if diff <= window:
            return priorities
        ratio = (diff + window - 1) // window
        return [_div_trunc(p, ratio) for p in priorities]

    @staticmethod
    def _centred(priorities: list[int]) -> list[int]:
        average = sum(priorities) // len(priorities)
        return [_clip(p - average) for p in priorities]
