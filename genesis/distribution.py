"""The white paper's genesis distribution of CMT, as a pure function.

The CyberMiles white paper (section 7, "CMT Token Issuance") issues
1,000,000,000 CMT at genesis:

* 700,000,000 — initial offering, free at genesis;
* 100,000,000 — CyberMiles team & partners, locked, released 10% per quarter over 2.5 years;
* 100,000,000 — 5miles, locked, released 10% per quarter over 2.5 years;
* 100,000,000 — reserve held by the foundation, released by governance.

Supply may later grow by block rewards up to a hard cap of 10,000,000,000 CMT.
CMT has 18 decimals; every amount here is in wei (10**-18 CMT).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from genesis.document import (
    DEFAULT_VESTING_PERIODS,
    QUARTER_SECONDS,
    Allocation,
    Validator,
    VestingSchedule,
)
from genesis.errors import DistributionError

CMT = 10**18
GENESIS_SUPPLY = 1_000_000_000 * CMT
SUPPLY_CAP = 10_000_000_000 * CMT
INITIAL_OFFERING = 700_000_000 * CMT
TEAM_AND_PARTNERS = 100_000_000 * CMT
FIVEMILES = 100_000_000 * CMT
FOUNDATION_RESERVE = 100_000_000 * CMT
TEAM_AND_PARTNERS_SCHEDULE = "team_and_partners"
FIVEMILES_SCHEDULE = "5miles"


class Distribution(NamedTuple):
    """The genesis allocations, vesting schedules and foundation reserve (wei) of a distribution."""

    alloc: tuple[Allocation, ...]
    vesting: tuple[VestingSchedule, ...]
    foundation_reserve: int


def split_offering(offering: Sequence[tuple[bytes, int]], total: int = INITIAL_OFFERING) -> tuple[Allocation, ...]:
    """Split ``total`` wei among ``(address, weight)`` pairs in proportion to the integer weights.

    The split is exact: each share is rounded down and the wei left over go,
    one each, to the entries with the largest remainders (earliest first on
    ties), so the balances always add up to ``total``. Entries keep their order.
    """
    if not offering:
        raise DistributionError("the initial offering needs at least one recipient")
    seen: set[bytes] = set()
    for index, (address, weight) in enumerate(offering):
        if not isinstance(address, bytes) or len(address) != 20:
            raise DistributionError(f"offering[{index}]: address must be 20 bytes")
        if address in seen:
            raise DistributionError(f"offering[{index}]: duplicate address 0x{address.hex()}")
        seen.add(address)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
            raise DistributionError(f"offering[{index}]: weight must be a positive integer")
    weight_sum = sum(weight for _, weight in offering)
    shares = [total * weight // weight_sum for _, weight in offering]
    remainders = [total * weight % weight_sum for _, weight in offering]
    leftover = total - sum(shares)
    by_remainder = sorted(range(len(offering)), key=lambda i: (-remainders[i], i))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return tuple(Allocation(address=address, balance=share) for (address, _), share in zip(offering, shares))


def white_paper_distribution(
    offering: Sequence[tuple[bytes, int]],
    team_beneficiary: bytes,
    fivemiles_beneficiary: bytes,
    genesis_time: int,
) -> Distribution:
    """The white paper's 1,000,000,000 CMT: offering split by weight, two vesting lock-ups, the reserve.

    ``offering`` lists ``(address, weight)`` pairs that share the 700M CMT
    initial offering (see ``split_offering``). The team & partners and 5miles
    lock-ups start at ``genesis_time`` and release 10% per quarter.
    """
    for label, address in (("team_beneficiary", team_beneficiary), ("fivemiles_beneficiary", fivemiles_beneficiary)):
        if not isinstance(address, bytes) or len(address) != 20:
            raise DistributionError(f"{label}: address must be 20 bytes")
    vesting = (
        VestingSchedule(
            name=TEAM_AND_PARTNERS_SCHEDULE,
            beneficiary=team_beneficiary,
            amount=TEAM_AND_PARTNERS,
            start_time=genesis_time,
            period_seconds=QUARTER_SECONDS,
            periods=DEFAULT_VESTING_PERIODS,
        ),
        VestingSchedule(
            name=FIVEMILES_SCHEDULE,
            beneficiary=fivemiles_beneficiary,
            amount=FIVEMILES,
            start_time=genesis_time,
            period_seconds=QUARTER_SECONDS,
            periods=DEFAULT_VESTING_PERIODS,
        ),
    )
    return Distribution(alloc=split_offering(offering), vesting=vesting, foundation_reserve=FOUNDATION_RESERVE)


def carve_stakes(alloc: Sequence[Allocation], validators: Sequence[Validator]) -> tuple[Allocation, ...]:
    """``alloc`` with each validator's ``stake`` taken from its owner's balance (the supply is unchanged).

    A genesis self-stake is the owner's own CMT, bonded: it leaves the
    owner's allocation and is held by staking instead. Raises
    ``DistributionError`` when an owner has no allocation or too little.
    """
    balances = {a.address: a.balance for a in alloc}
    for index, validator in enumerate(validators):
        if validator.stake == 0:
            continue
        held = balances.get(validator.owner)
        if held is None:
            raise DistributionError(f"validators[{index}]: owner 0x{validator.owner.hex()} has no allocation to stake from")
        if held < validator.stake:
            raise DistributionError(
                f"validators[{index}]: stake {validator.stake} wei exceeds its owner's allocation of {held} wei"
            )
        balances[validator.owner] = held - validator.stake
    return tuple(replace(a, balance=balances[a.address]) for a in alloc)
