"""Case records: terms, windows, drawn jurors, commitments and revealed votes.

Slots of case ``id`` (from ``slot_of(b"case", id)``): the creator (low 160 bits), the number
of jurors (8 bits) and the ruling (8 bits); the stake per juror; the fee; the commit and
reveal windows' lengths and the beacon height (64 bits each); the windows' ends (64 bits each,
written by the draw). Drawn jurors' addresses are packed 20 bytes after another into the
words from ``slot_of(b"seats", id)`` (a draw writes 0.625 of a word per juror). Juror ``i``'s
commitment has the slot ``slot_of(b"commit", id, i)``; all reveals of a case share one word
(bit ``i``: juror ``i`` revealed; bit ``128 + i``: it voted for).
"""
from __future__ import annotations

from dataclasses import dataclass

from middleware.jury.slots import Slots, slot_of

PENDING = 0
FOR = 1
AGAINST = 2
UNDECIDED = 3
COUNT_SLOT = slot_of(b"cases")
ADDRESS_MASK = (1 << 160) - 1
U64 = (1 << 64) - 1
VOTE_SHIFT = 128


@dataclass(frozen=True)
class Case:
    """A case as stored (``commit_ends``/``reveal_ends`` are 0 until the jurors are drawn)."""

    creator: bytes
    juror_count: int
    ruling: int
    stake_per_juror: int
    fee: int
    commit_seconds: int
    reveal_seconds: int
    beacon_height: int
    commit_ends: int = 0
    reveal_ends: int = 0

    @property
    def drawn(self) -> bool:
        """Whether the jurors have been drawn (the commit window started)."""
        return self.commit_ends != 0


@dataclass(frozen=True)
class Reveals:
    """The revealed votes of a case: one bit per juror revealed, one per juror that voted for."""

    word: int

    def revealed(self, index: int) -> bool:
        """Whether juror ``index`` revealed."""
        return bool(self.word >> index & 1)

    def vote(self, index: int) -> bool:
        """Juror ``index``'s revealed vote (False until revealed)."""
        return bool(self.word >> (VOTE_SHIFT + index) & 1)

    def with_vote(self, index: int, vote: bool) -> Reveals:
        """These reveals and juror ``index``'s vote."""
        return Reveals(self.word | 1 << index | int(vote) << (VOTE_SHIFT + index))

    def counts(self) -> tuple[int, int]:
        """(votes for, votes against)."""
        revealed = self.word & ((1 << VOTE_SHIFT) - 1)
        voted_for = self.word >> VOTE_SHIFT
        return voted_for.bit_count(), (revealed & ~voted_for).bit_count()


class CaseBook:
    """Reads and writes cases in the contract's slots."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots

    def count(self) -> int:
        """Number of cases opened so far (ids are 1..count)."""
        return self.slots.load(COUNT_SLOT)

    def open(self, case: Case) -> int:
        """Store a new case; returns its id."""
        case_id = self.count() + 1
        self.slots.store(COUNT_SLOT, case_id)
        base = slot_of(b"case", case_id)
        self.slots.store(base, int.from_bytes(case.creator, "big") | case.juror_count << 160)
        self.slots.store(base + 1, case.stake_per_juror)
        self.slots.store(base + 2, case.fee)
        self.slots.store(base + 3, case.commit_seconds | case.reveal_seconds << 64 | case.beacon_height << 128)
        return case_id

    def get(self, case_id: int) -> Case | None:
        """The case ``case_id``, or None when there is no such case."""
        if not 1 <= case_id <= self.count():
            return None
        base = slot_of(b"case", case_id)
        head, terms, windows = self.slots.load(base), self.slots.load(base + 3), self.slots.load(base + 4)
        return Case(
            creator=(head & ADDRESS_MASK).to_bytes(20, "big"), juror_count=head >> 160 & 0xFF,
            ruling=head >> 168 & 0xFF, stake_per_juror=self.slots.load(base + 1), fee=self.slots.load(base + 2),
            commit_seconds=terms & U64, reveal_seconds=terms >> 64 & U64, beacon_height=terms >> 128,
            commit_ends=windows & U64, reveal_ends=windows >> 64,
        )

    def set_drawn(self, case_id: int, jurors: list[bytes], commit_ends: int, reveal_ends: int) -> None:
        """Record the drawn jurors and the windows' ends."""
        base = slot_of(b"case", case_id)
        self.slots.store(base + 4, commit_ends | reveal_ends << 64)
        packed = b"".join(jurors)
        packed += b"\x00" * (-len(packed) % 32)
        seats = slot_of(b"seats", case_id)
        for word in range(len(packed) // 32):
            self.slots.store(seats + word, int.from_bytes(packed[32 * word : 32 * word + 32], "big"))

    def set_ruling(self, case_id: int, case: Case, ruling: int) -> None:
        """Record the case's ruling."""
        self.slots.store(slot_of(b"case", case_id),
                         int.from_bytes(case.creator, "big") | case.juror_count << 160 | ruling << 168)

    def jurors(self, case_id: int, case: Case) -> list[bytes]:
        """The drawn jurors in draw order (empty until drawn)."""
        if not case.drawn:
            return []
        seats = slot_of(b"seats", case_id)
        words = (20 * case.juror_count + 31) // 32
        packed = b"".join(self.slots.load(seats + w).to_bytes(32, "big") for w in range(words))
        return [packed[20 * i : 20 * i + 20] for i in range(case.juror_count)]

    def juror(self, case_id: int, index: int) -> bytes:
        """Juror ``index`` of a drawn case (reads the one or two words holding it)."""
        seats = slot_of(b"seats", case_id)
        start, end = 20 * index, 20 * index + 20
        words = range(start // 32, (end - 1) // 32 + 1)
        packed = b"".join(self.slots.load(seats + w).to_bytes(32, "big") for w in words)
        offset = start - 32 * words[0]
        return packed[offset : offset + 20]

    def commitment(self, case_id: int, index: int) -> bytes:
        """Juror ``index``'s commitment (32 zero bytes: none)."""
        return self.slots.load(slot_of(b"commit", case_id, index)).to_bytes(32, "big")

    def set_commitment(self, case_id: int, index: int, commitment: bytes) -> None:
        """Record juror ``index``'s commitment."""
        self.slots.store(slot_of(b"commit", case_id, index), int.from_bytes(commitment, "big"))

    def reveals(self, case_id: int) -> Reveals:
        """The case's revealed votes."""
        return Reveals(self.slots.load(slot_of(b"votes", case_id)))

    def set_reveals(self, case_id: int, reveals: Reveals) -> None:
        """Record the case's revealed votes."""
        self.slots.store(slot_of(b"votes", case_id), reveals.word)
