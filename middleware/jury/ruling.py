"""The ruling of a case from its revealed votes, who forfeits, and the equal split of the pot.

Majority of revealed votes: more for than against rules ``FOR``, more against ``AGAINST``; a
tie (including nobody revealing) rules ``UNDECIDED``. With a majority, its jurors keep their
stakes and share the pot; every other juror (minority or silent) forfeits. Undecided, the
revealers keep their stakes and the silent jurors forfeit; the pot goes to the case's creator.
The pot (the fee plus the forfeits) is split in equal integer shares; the remainder of the
division goes to the creator, so no wei is created or lost.
"""
from __future__ import annotations

from dataclasses import dataclass

from middleware.jury.cases import AGAINST, FOR, UNDECIDED, Reveals


@dataclass(frozen=True)
class Verdict:
    """A decided case: its ruling, the seats paid from the pot and the seats that forfeit."""

    ruling: int
    votes_for: int
    votes_against: int
    majority: tuple[int, ...]
    forfeiting: tuple[int, ...]


def decide(juror_count: int, reveals: Reveals) -> Verdict:
    """The verdict of a case with ``juror_count`` seats and these reveals."""
    votes_for, votes_against = reveals.counts()
    ruling = FOR if votes_for > votes_against else AGAINST if votes_against > votes_for else UNDECIDED
    majority: list[int] = []
    forfeiting: list[int] = []
    for seat in range(juror_count):
        revealed = reveals.revealed(seat)
        if ruling == UNDECIDED:
            if not revealed:
                forfeiting.append(seat)
        elif revealed and reveals.vote(seat) == (ruling == FOR):
            majority.append(seat)
        else:
            forfeiting.append(seat)
    return Verdict(ruling, votes_for, votes_against, tuple(majority), tuple(forfeiting))


def split(pot: int, winners: int) -> tuple[int, int]:
    """(each winner's share, the remainder for the creator); with no winners the creator gets it all."""
    if winners == 0:
        return 0, pot
    share = pot // winners
    return share, pot - share * winners
