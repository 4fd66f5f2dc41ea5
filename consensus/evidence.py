"""Evidence of misbehaviour: a validator that signed two different votes for one (height, round, type).

``DuplicateVoteEvidence`` holds both signed votes in a canonical order (by
their encodings), so the same misbehaviour always has the same bytes and hash
whichever vote was seen first. Its encoding is what goes into
``Block.evidence``. ``EvidencePool`` keeps verified evidence until a block
includes it or it expires, bounded in size, in first-seen order.
"""
from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak
from rlp.exceptions import DecodingError, DeserializationError

from consensus.errors import ConsensusError
from consensus.keys import verify
from consensus.messages import MalformedMessage, Verifier, Vote
from consensus.validators import ValidatorSet

_EVIDENCE_TAG = b"cmt-duplicate-vote"
MAX_EVIDENCE_BYTES = 1024


class InvalidEvidence(ConsensusError):
    """Evidence that is malformed or does not prove misbehaviour."""


@dataclass(frozen=True)
class DuplicateVoteEvidence:
    """Two conflicting signed votes of one validator; build it with ``of`` for the canonical order."""

    vote_a: Vote
    vote_b: Vote

    @classmethod
    def of(cls, first: Vote, second: Vote) -> DuplicateVoteEvidence:
        """Evidence from two conflicting votes, in canonical order."""
        a, b = sorted((first, second), key=lambda vote: rlp.encode(vote.to_list()))
        return cls(a, b)

    @property
    def height(self) -> int:
        """Height of the misbehaviour."""
        return self.vote_a.height

    @property
    def validator_address(self) -> bytes:
        """The validator that double-signed."""
        return self.vote_a.validator_address

    def encode(self) -> bytes:
        """Canonical bytes (what ``Block.evidence`` carries)."""
        return rlp.encode([_EVIDENCE_TAG, self.vote_a.to_list(), self.vote_b.to_list()])

    @property
    def hash(self) -> bytes:
        """keccak-256 of the encoding."""
        return keccak(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> DuplicateVoteEvidence:
        """Parse bytes from a block or a peer; raises ``InvalidEvidence`` unless well-formed and canonical."""
        if not isinstance(data, bytes) or len(data) > MAX_EVIDENCE_BYTES:
            raise InvalidEvidence("evidence is not bytes of a bounded size")
        try:
            items = rlp.decode(data, strict=True)
        except (DecodingError, DeserializationError) as exc:
            raise InvalidEvidence(f"evidence is not canonical RLP: {exc}") from exc
        if not isinstance(items, list) or len(items) != 3 or items[0] != _EVIDENCE_TAG:
            raise InvalidEvidence("not duplicate-vote evidence")
        try:
            evidence = cls(Vote.from_list(items[1]), Vote.from_list(items[2]))
        except MalformedMessage as exc:
            raise InvalidEvidence(f"evidence vote is malformed: {exc}") from exc
        if evidence.encode() != data or cls.of(evidence.vote_a, evidence.vote_b) != evidence:
            raise InvalidEvidence("evidence is not in canonical form")
        return evidence

    def verify(self, chain_id: int, validators: ValidatorSet, verifier: Verifier = verify) -> None:
        """Raise ``InvalidEvidence`` unless both votes are validly signed by one validator of ``validators``
        at the same height, round and type for different blocks."""
        a, b = self.vote_a, self.vote_b
        if (a.height, a.round, a.type, a.validator_address) != (b.height, b.round, b.type, b.validator_address):
            raise InvalidEvidence("evidence votes are not of one validator at one height, round and type")
        if a.block_hash == b.block_hash:
            raise InvalidEvidence("evidence votes are for the same block")
        validator = validators.by_address(a.validator_address)
        if validator is None:
            raise InvalidEvidence(f"0x{a.validator_address.hex()} is not a validator at height {a.height}")
        for vote in (a, b):
            if not vote.verify(chain_id, validator.pub_key, verifier):
                raise InvalidEvidence(f"evidence vote of 0x{a.validator_address.hex()} has an invalid signature")


class EvidencePool:
    """Verified evidence waiting for a block: bounded, deduplicated, dropped when committed or expired.

    Evidence older than ``max_age_heights`` below the current height is refused
    and pruned. Committed evidence hashes are remembered until they expire, so
    committed evidence is not accepted again.
    """

    def __init__(self, chain_id: int, max_pending: int = 100, max_age_heights: int = 100_000) -> None:
        self._chain_id = chain_id
        self._max_pending = max_pending
        self._max_age = max_age_heights
        self._pending: dict[bytes, DuplicateVoteEvidence] = {}
        self._committed: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, evidence: DuplicateVoteEvidence, validators: ValidatorSet, current_height: int,
            verifier: Verifier = verify) -> bool:
        """Verify against the validator set of the evidence's height and keep it; False if known, full or expired.

        Raises ``InvalidEvidence`` for evidence that does not verify.
        """
        key = evidence.hash
        if key in self._pending or key in self._committed or self._expired(evidence.height, current_height):
            return False
        if evidence.height > current_height:
            raise InvalidEvidence(f"evidence at height {evidence.height} is from the future")
        evidence.verify(self._chain_id, validators, verifier)
        if len(self._pending) >= self._max_pending:
            return False
        self._pending[key] = evidence
        return True

    def pending(self, max_count: int) -> list[DuplicateVoteEvidence]:
        """Up to ``max_count`` pending pieces of evidence, oldest first (for a proposal)."""
        return list(self._pending.values())[:max_count]

    def mark_committed(self, evidence: list[DuplicateVoteEvidence], height: int) -> None:
        """Forget evidence a committed block included, and prune what expired at ``height``."""
        for item in evidence:
            self._pending.pop(item.hash, None)
            self._committed[item.hash] = item.height
        self.prune(height)

    def prune(self, current_height: int) -> None:
        """Drop pending and remembered evidence that has expired at ``current_height``."""
        self._pending = {k: e for k, e in self._pending.items() if not self._expired(e.height, current_height)}
        self._committed = {k: h for k, h in self._committed.items() if not self._expired(h, current_height)}

    def _expired(self, evidence_height: int, current_height: int) -> bool:
        return evidence_height + self._max_age < current_height
