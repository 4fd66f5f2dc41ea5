"""Block awards: the supply follows genesis x 1.08^years whatever the block interval, then stops, under the cap."""
from __future__ import annotations

from decimal import Decimal, getcontext

import pytest

from consensus.dpos.inflation import SCALE, YEAR, award, exp_fixed, grow, ln1p_fixed
from consensus.dpos.params import DposParams
from tests.dpos.harness import CMT

getcontext().prec = 60
GENESIS = 1_000_000_000 * CMT


@pytest.mark.parametrize("rate_bp", [1, 800, 2_500, 10_000])
def test_fixed_point_ln_and_exp_match_decimal(rate_bp: int) -> None:
    exact_ln = (1 + Decimal(rate_bp) / 10_000).ln()
    assert abs(Decimal(ln1p_fixed(rate_bp)) / SCALE - exact_ln) < Decimal(10) ** -28
    y = ln1p_fixed(rate_bp)
    assert abs(Decimal(exp_fixed(y)) / SCALE - exact_ln.exp()) < Decimal(10) ** -27


def test_growth_over_fractions_of_a_year_composes() -> None:
    whole = grow(GENESIS, 800, YEAR + YEAR // 3)
    expected = Decimal(GENESIS) * Decimal("1.08") ** (1 + Decimal(YEAR // 3) / YEAR)
    assert abs(Decimal(whole) - expected) <= 2
    stepwise = GENESIS
    for step in (YEAR // 3, YEAR // 2, YEAR - YEAR // 3 - YEAR // 2, YEAR // 3):
        stepwise = grow(stepwise, 800, step)
    assert abs(stepwise - whole) <= 8  # a few wei of rounding per step


def test_award_switches_rate_after_the_inflation_years_and_respects_the_cap() -> None:
    params = DposParams(inflation_years=1, post_inflation_rate_bp=100)
    two_years = award(GENESIS, 0, 2 * YEAR, 0, params)
    expected = Decimal(GENESIS) * Decimal("1.08") * Decimal("1.01") - GENESIS
    assert abs(Decimal(two_years) - expected) <= 4
    capped = DposParams(supply_cap=GENESIS + 5 * CMT)
    assert award(GENESIS, 0, YEAR, 0, capped) == 5 * CMT
    assert award(GENESIS + 5 * CMT, YEAR, 2 * YEAR, 0, capped) == 0
    assert award(GENESIS, 100, 100, 0, params) == 0


def test_supply_follows_eight_percent_a_year_for_ten_years_then_stays(staking_chain) -> None:
    sc = staking_chain(validators=2, users=0, total_supply=GENESIS)
    for year in range(1, 13):
        sc.block(dt=YEAR // 2)
        sc.block(dt=YEAR - YEAR // 2)
        expected = Decimal(GENESIS) * Decimal("1.08") ** min(year, 10)
        total = sc.supply()["total"]
        assert abs(Decimal(total) - expected) < 100, year  # wei of rounding
    assert sc.supply()["minted"] == sc.supply()["total"] - GENESIS


def test_supply_does_not_depend_on_the_block_interval(staking_chain) -> None:
    coarse = staking_chain(validators=2, users=0, total_supply=GENESIS)
    fine = staking_chain(validators=2, users=0, total_supply=GENESIS)
    for _ in range(4):
        coarse.block(dt=3 * 86_400)
    for _ in range(48):
        fine.block(dt=6 * 3_600)
    assert coarse.time == fine.time
    assert abs(coarse.supply()["total"] - fine.supply()["total"]) <= 100


def test_supply_stops_at_the_cap(staking_chain) -> None:
    params = DposParams(supply_cap=GENESIS + 1_000 * CMT)
    sc = staking_chain(validators=2, users=0, total_supply=GENESIS, params=params)
    sc.block(dt=YEAR)
    sc.block(dt=YEAR)
    assert sc.supply()["total"] == GENESIS + 1_000 * CMT
