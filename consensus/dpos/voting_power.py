"""Voting power: whole CMT of bonded stake, with Travis's size threshold capping any one candidate.

Formula (integers only):

* raw power of a candidate = ``stake // 10**18`` (whole CMT, rounded down; a
  candidate with less than 1 CMT bonded has no power and cannot be elected);
* ``cap = max(1, total_raw_power_of_the_validators x validator_size_threshold_bp // 10_000)``
  (rounded down, at least 1), where the total is over the validators just
  elected (backups are not counted);
* voting power = ``min(raw power, cap)``, for validators and backups alike.

The consensus weight of a validator is its voting power, and so is its
weight in governance votes and in the split of block awards.
"""
from __future__ import annotations

from collections.abc import Sequence

WEI_PER_CMT = 10**18
BASIS_POINTS = 10_000


def whole_cmt(stake_wei: int) -> int:
    """A stake's raw power: whole CMT, rounded down."""
    return stake_wei // WEI_PER_CMT


def size_cap(validators_raw_power: int, threshold_bp: int) -> int:
    """The most voting power any one candidate may have (at least 1)."""
    return max(1, validators_raw_power * threshold_bp // BASIS_POINTS)


def consensus_powers(stakes_wei: Sequence[int], threshold_bp: int) -> tuple[int, ...]:
    """The voting powers of a validator set whose members have bonded ``stakes_wei``.

    This is what an election computes for these validators, so a genesis
    document derives its validators' consensus powers with it.
    """
    raw = [whole_cmt(stake) for stake in stakes_wei]
    cap = size_cap(sum(raw), threshold_bp)
    return tuple(min(power, cap) for power in raw)
