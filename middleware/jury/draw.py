"""Sortition: the stake-weighted draw of a case's distinct jurors from the beacon.

Draw ``i`` (0-based) takes the point ``keccak256(beacon || caseId || i || attempt)`` (each a
32-byte big-endian word) modulo the stake not drawn yet and picks the juror whose interval
of the sum tree holds it (``Sortition.pick``, O(log n) node reads). Picked jurors are taken
out of the draw whatever their stake, so every juror is drawn at most once; a juror whose
active stake is below the case's stake per juror is skipped and ``attempt`` (the number of
jurors skipped so far in this draw) grows by one. The draw ends when enough jurors were
found or no stake is left.
"""
from __future__ import annotations

from eth_hash.auto import keccak

from middleware.jury.sumtree import Sortition, SumTree


def draw_point(beacon: bytes, case_id: int, index: int, attempt: int) -> int:
    """The random 256-bit number of draw ``index`` after ``attempt`` skipped jurors."""
    words = b"".join(value.to_bytes(32, "big") for value in (case_id, index, attempt))
    return int.from_bytes(keccak(beacon + words), "big")


def draw_leaves(tree: SumTree, beacon: bytes, case_id: int, count: int, min_stake: int) -> tuple[list[int], int]:
    """Up to ``count`` distinct leaves with at least ``min_stake`` weight, and the number of picks made."""
    sortition = Sortition(tree)
    leaves: list[int] = []
    picks = 0
    while len(leaves) < count and (remaining := sortition.remaining()):
        point = draw_point(beacon, case_id, len(leaves), picks - len(leaves)) % remaining
        leaf, weight = sortition.pick(point)
        picks += 1
        if weight >= min_stake:
            leaves.append(leaf)
    return leaves, picks
