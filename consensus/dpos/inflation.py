"""The block award: total supply compounds at the yearly inflation rate, measured in block time.

Rule: the award of a block at time ``t`` whose predecessor award was at ``t0``
grows the current total supply ``S`` (genesis + minted - burned) to

    S x (1 + rate)^((t - t0) / YEAR)

where ``rate`` is ``inflation_rate_bp`` for the part of ``[t0, t]`` before
``genesis_time + inflation_years x YEAR`` and ``post_inflation_rate_bp`` after
it (YEAR = 365 days). Since ``(1+r)^(a/Y) x (1+r)^(b/Y) = (1+r)^((a+b)/Y)``
the supply after any sequence of blocks depends only on the elapsed block
time, never on the block interval: ``genesis x 1.08^years`` when nothing is
burned. The award never lifts the total above ``supply_cap``.

Integer arithmetic only:

* whole years: ``S x (10_000 + bp)^n // 10_000^n`` (exact, then rounded down);
* the rest ``s < YEAR`` seconds: ``S x exp(ln(1 + bp/10_000) x s / YEAR)``
  with ``ln`` (an atanh series) and ``exp`` (a Taylor series) in fixed point
  of ``SCALE = 10**30``, each step rounded down.

Each block therefore loses less than 2 wei plus ``S x 10**-28`` to rounding,
and awards are never larger than the exact real value.
"""
from __future__ import annotations

from functools import lru_cache

from consensus.dpos.params import DAY, DposParams

YEAR = 365 * DAY
SCALE = 10**30
BASIS_POINTS = 10_000


@lru_cache(maxsize=64)
def ln1p_fixed(rate_bp: int) -> int:
    """``ln(1 + rate_bp / 10_000)`` in fixed point (``SCALE``), rounded down.

    Uses ``ln(1+x) = 2 atanh(z)`` with ``z = x / (2 + x) <= 1/3`` for rates
    up to 100%, so the series ``2 (z + z^3/3 + z^5/5 + ...)`` converges in
    under 70 terms.
    """
    z = rate_bp * SCALE // (2 * BASIS_POINTS + rate_bp)
    z_squared = z * z // SCALE
    total, power, k = 0, z, 1
    while power:
        total += power // k
        power = power * z_squared // SCALE
        k += 2
    return 2 * total


def exp_fixed(y: int) -> int:
    """``exp(y / SCALE)`` in fixed point for ``0 <= y <= SCALE`` (a Taylor series, each term rounded down)."""
    total, term, k = SCALE, SCALE, 1
    while term:
        term = term * y // (SCALE * k)
        total += term
        k += 1
    return total


def grow(supply: int, rate_bp: int, seconds: int) -> int:
    """``supply x (1 + rate_bp / 10_000)^(seconds / YEAR)``, rounded down."""
    years, rest = divmod(seconds, YEAR)
    grown: int = supply * (BASIS_POINTS + rate_bp) ** years // BASIS_POINTS**years
    return grown * exp_fixed(ln1p_fixed(rate_bp) * rest // YEAR) // SCALE


def award(supply: int, last_time: int, now: int, genesis_time: int, params: DposParams) -> int:
    """The wei to mint at block time ``now`` given the total ``supply`` and the previous award's time."""
    if now <= last_time or supply >= params.supply_cap:
        return 0
    end = genesis_time + params.inflation_years * YEAR
    grown = supply
    inflating = max(0, min(now, end) - last_time)
    if inflating:
        grown = grow(grown, params.inflation_rate_bp, inflating)
    after = now - max(last_time, end)
    if after > 0:
        grown = grow(grown, params.post_inflation_rate_bp, after)
    return min(grown, params.supply_cap) - supply
