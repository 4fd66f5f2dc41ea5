"""Vote bookkeeping: the votes of one (height, round, type), and all rounds of a height.

``VoteSet`` counts voting power per block hash (``NIL`` included) and in total,
answering the thresholds of the algorithm: +2/3 for one value, +2/3 for
anything, and more than 1/3 (f+1) for anything. As in the paper, messages are
counted per value: a validator adds its power at most once to each value and
once to the total. A second, different vote of a validator is reported as
``DuplicateVoteEvidence``; it is also counted for its own value when that value
is one the owner tracks (``NIL`` or a proposed block, decided by ``tracks``),
so that an equivocator's vote for a proposed block still completes a POL that
honest nodes saw, while made-up values cannot grow the set. By quorum
intersection no two values can both reach +2/3 with at most 1/3 faulty power.

``HeightVoteSet`` holds the prevote and precommit sets of every round of one
height. Rounds up to the current round + 1 are always tracked; beyond that a
validator may open at most ``MAX_FUTURE_ROUNDS_PER_VALIDATOR`` rounds, so
whatever validators send, the number of tracked rounds stays bounded by the
current round plus a multiple of the validator count.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consensus.errors import ConsensusError
from consensus.evidence import DuplicateVoteEvidence
from consensus.keys import verify
from consensus.messages import NIL, Verifier, Vote
from consensus.types import PRECOMMIT, PREVOTE, Commit, CommitSig
from consensus.validators import ValidatorSet

MAX_FUTURE_ROUNDS_PER_VALIDATOR = 2


class InvalidVote(ConsensusError):
    """A vote that cannot be counted: wrong height/round/type, not a validator, or a bad signature."""


class VoteNotTracked(ConsensusError):
    """A vote for a round too far ahead of the current one, from a validator that already opened its share."""


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding a vote: whether it was new and counted, and evidence if it conflicted."""

    added: bool
    evidence: DuplicateVoteEvidence | None = None


def _tracks_nil_only(block_hash: bytes) -> bool:
    return block_hash == NIL


class VoteSet:
    """The votes of one type at one (height, round), verified and weighed by voting power."""

    def __init__(self, chain_id: int, height: int, round_: int, vote_type: int, validators: ValidatorSet,
                 verifier: Verifier = verify, tracks: Callable[[bytes], bool] = _tracks_nil_only) -> None:
        """``tracks(value)``: whether a conflicting vote for ``value`` is counted (it is always evidence)."""
        if vote_type not in (PREVOTE, PRECOMMIT):
            raise InvalidVote(f"unknown vote type {vote_type}")
        self.chain_id = chain_id
        self.height = height
        self.round = round_
        self.type = vote_type
        self.validators = validators
        self._verifier = verifier
        self._tracks = tracks
        self._total = validators.total_power
        self._votes: dict[bytes, Vote] = {}
        self._conflicting: dict[bytes, dict[bytes, Vote]] = {}
        self._power_by_value: dict[bytes, int] = {}
        self._power = 0

    def add(self, vote: Vote) -> AddResult:
        """Verify and count ``vote``; raises ``InvalidVote`` if it does not belong here or is badly signed."""
        if (vote.height, vote.round, vote.type) != (self.height, self.round, self.type):
            raise InvalidVote(f"vote for ({vote.height}, {vote.round}, {vote.type}) added to the set of "
                              f"({self.height}, {self.round}, {self.type})")
        existing = self._votes.get(vote.validator_address)
        conflicting = self._conflicting.get(vote.validator_address, {})
        if existing == vote or conflicting.get(vote.block_hash) == vote:
            return AddResult(added=False)
        validator = self.validators.by_address(vote.validator_address)
        if validator is None:
            raise InvalidVote(f"vote from 0x{vote.validator_address.hex()}, not a validator at height {self.height}")
        if not vote.verify(self.chain_id, validator.pub_key, self._verifier):
            raise InvalidVote(f"invalid signature on the vote of 0x{vote.validator_address.hex()}")
        if existing is not None:
            if existing.block_hash == vote.block_hash or vote.block_hash in conflicting:
                return AddResult(added=False)
            evidence = DuplicateVoteEvidence.of(existing, vote)
            if not self._tracks(vote.block_hash):
                return AddResult(added=False, evidence=evidence)
            self._conflicting.setdefault(vote.validator_address, {})[vote.block_hash] = vote
            self._power_by_value[vote.block_hash] = self._power_by_value.get(vote.block_hash, 0) + validator.power
            return AddResult(added=True, evidence=evidence)
        self._votes[vote.validator_address] = vote
        self._power_by_value[vote.block_hash] = self._power_by_value.get(vote.block_hash, 0) + validator.power
        self._power += validator.power
        return AddResult(added=True)

    def votes(self) -> list[Vote]:
        """The first vote of each validator that voted, in validator-set order."""
        return [self._votes[v.address] for v in self.validators.validators if v.address in self._votes]

    def votes_for(self, block_hash: bytes) -> list[Vote]:
        """The counted votes for ``block_hash`` (at most one per validator), in validator-set order."""
        found = []
        for validator in self.validators.validators:
            vote = self._votes.get(validator.address)
            if vote is None or vote.block_hash != block_hash:
                vote = self._conflicting.get(validator.address, {}).get(block_hash)
            if vote is not None:
                found.append(vote)
        return found

    def power_for(self, block_hash: bytes) -> int:
        """Voting power that voted for ``block_hash`` (``NIL`` for nil)."""
        return self._power_by_value.get(block_hash, 0)

    @property
    def power(self) -> int:
        """Voting power that voted at all."""
        return self._power

    def has_two_thirds_for(self, block_hash: bytes) -> bool:
        """More than 2/3 of the voting power voted for ``block_hash``."""
        return self.power_for(block_hash) * 3 > self._total * 2

    def two_thirds_majority(self) -> bytes | None:
        """The value (a block hash or ``NIL``) with more than 2/3 of the power, or None."""
        for value in sorted(self._power_by_value):
            if self.has_two_thirds_for(value):
                return value
        return None

    def has_two_thirds_any(self) -> bool:
        """More than 2/3 of the voting power voted, for anything."""
        return self._power * 3 > self._total * 2

    def has_one_third_any(self) -> bool:
        """More than 1/3 of the voting power (f+1) voted, for anything."""
        return self._power * 3 > self._total

    def make_commit(self) -> Commit:
        """The commit of the block this precommit set has +2/3 for (signatures of its voters only)."""
        value = self.two_thirds_majority()
        if self.type != PRECOMMIT or value is None or value == NIL:
            raise InvalidVote(f"no +2/3 precommits for a block at height {self.height} round {self.round}")
        signatures = [CommitSig(v.validator_address, v.timestamp_ms, v.signature) for v in self.votes_for(value)]
        return Commit(height=self.height, round=self.round, block_hash=value, signatures=signatures)


class HeightVoteSet:
    """Prevotes and precommits of every tracked round of one height."""

    def __init__(self, chain_id: int, height: int, validators: ValidatorSet, verifier: Verifier = verify,
                 tracks: Callable[[bytes], bool] = _tracks_nil_only) -> None:
        """``tracks`` is handed to every ``VoteSet`` (which conflicting votes count)."""
        self.chain_id = chain_id
        self.height = height
        self.validators = validators
        self._verifier = verifier
        self._tracks = tracks
        self._rounds: dict[int, tuple[VoteSet, VoteSet]] = {}
        self._opened_by: dict[int, bytes] = {}
        self.current_round = 0

    def set_round(self, round_: int) -> None:
        """Advance the current round (never backwards)."""
        self.current_round = max(self.current_round, round_)

    def rounds(self) -> list[int]:
        """Tracked rounds, ascending."""
        return sorted(self._rounds)

    def prevotes(self, round_: int) -> VoteSet | None:
        """The prevote set of ``round_`` if tracked."""
        sets = self._rounds.get(round_)
        return sets[0] if sets else None

    def precommits(self, round_: int) -> VoteSet | None:
        """The precommit set of ``round_`` if tracked."""
        sets = self._rounds.get(round_)
        return sets[1] if sets else None

    def add(self, vote: Vote) -> AddResult:
        """Count ``vote`` in its round; raises ``InvalidVote`` or ``VoteNotTracked``."""
        if vote.height != self.height:
            raise InvalidVote(f"vote for height {vote.height} added to the votes of height {self.height}")
        sets = self._rounds.get(vote.round)
        if sets is None:
            if vote.round > self.current_round + 1 and self._future_rounds_opened(vote.validator_address) \
                    >= MAX_FUTURE_ROUNDS_PER_VALIDATOR:
                raise VoteNotTracked(f"0x{vote.validator_address.hex()} already opened "
                                     f"{MAX_FUTURE_ROUNDS_PER_VALIDATOR} rounds ahead of round {self.current_round}")
            sets = self._new_round(vote.round)
            if vote.round > self.current_round + 1:
                self._opened_by[vote.round] = vote.validator_address
        try:
            return (sets[0] if vote.type == PREVOTE else sets[1]).add(vote)
        except InvalidVote:
            if not sets[0].power and not sets[1].power:
                del self._rounds[vote.round]
                self._opened_by.pop(vote.round, None)
            raise

    def power_in_round(self, round_: int) -> int:
        """Voting power of the distinct validators that sent any vote in ``round_``."""
        sets = self._rounds.get(round_)
        if sets is None:
            return 0
        voters = {v.validator_address for v in sets[0].votes()} | {v.validator_address for v in sets[1].votes()}
        return sum(v.power for v in self.validators.validators if v.address in voters)

    def _new_round(self, round_: int) -> tuple[VoteSet, VoteSet]:
        sets = (VoteSet(self.chain_id, self.height, round_, PREVOTE, self.validators, self._verifier, self._tracks),
                VoteSet(self.chain_id, self.height, round_, PRECOMMIT, self.validators, self._verifier, self._tracks))
        self._rounds[round_] = sets
        return sets

    def _future_rounds_opened(self, address: bytes) -> int:
        return sum(1 for round_, opener in self._opened_by.items()
                   if opener == address and round_ > self.current_round + 1)
