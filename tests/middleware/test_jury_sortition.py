"""Sortition matches stake weights: chi-square of drawn jurors over many beacon values, and draws are distinct.

The beacons are fixed (``keccak("beacon k")``), so the statistic is the same on every run;
it is compared with the tabulated critical value of the chi-square distribution at the
0.001 level (scipy is not a dependency).
"""
from __future__ import annotations

from collections import Counter

from eth_hash.auto import keccak

from middleware.jury.draw import draw_leaves
from middleware.jury.slots import DictSlots
from middleware.jury.sumtree import SumTree

STAKES = [1, 2, 3, 4, 5, 6, 7, 8]  # CMT; juror k holds STAKES[k]
BEACONS = 6_000
CHI2_CRITICAL_0_001 = {7: 24.322, 55: 93.168}  # upper 0.001 points of chi-square with 7 and 55 degrees of freedom


def tree_of(stakes: list[int]) -> SumTree:
    tree = SumTree(DictSlots())
    for key, stake in enumerate(stakes, start=1):
        tree.set_weight(tree.add(key), stake * 10**18)
    return tree


def chi_square(observed: Counter, expected: dict) -> float:
    return sum((observed[k] - e) ** 2 / e for k, e in expected.items())


def test_first_and_second_draws_follow_the_stake_weights() -> None:
    tree = tree_of(STAKES)
    firsts: Counter = Counter()
    pairs: Counter = Counter()
    for k in range(BEACONS):
        leaves, picks = draw_leaves(tree, keccak(b"beacon %d" % k), case_id=1, count=2, min_stake=1)
        assert picks == 2 and leaves[0] != leaves[1]
        firsts[leaves[0]] += 1
        pairs[tuple(leaves)] += 1
    total = sum(STAKES)
    expected_first = {a: BEACONS * STAKES[a] / total for a in range(len(STAKES))}
    # without replacement: the second juror is drawn from the stake left
    expected_pair = {
        (a, b): BEACONS * STAKES[a] / total * STAKES[b] / (total - STAKES[a])
        for a in range(len(STAKES)) for b in range(len(STAKES)) if a != b
    }
    assert min(expected_pair.values()) >= 5  # the chi-square approximation holds
    assert chi_square(firsts, expected_first) < CHI2_CRITICAL_0_001[7]
    assert chi_square(pairs, expected_pair) < CHI2_CRITICAL_0_001[55]


def test_a_biased_draw_would_fail_the_test() -> None:
    """The statistic has power: drawing uniformly instead of by stake is far beyond the critical value."""
    uniform = Counter({a: BEACONS // len(STAKES) for a in range(len(STAKES))})
    total = sum(STAKES)
    expected = {a: BEACONS * STAKES[a] / total for a in range(len(STAKES))}
    assert chi_square(uniform, expected) > 10 * CHI2_CRITICAL_0_001[7]


def test_a_draw_finds_distinct_eligible_jurors_or_reports_how_many_there_are() -> None:
    tree = tree_of(STAKES)
    for k in range(50):
        leaves, picks = draw_leaves(tree, keccak(b"beacon %d" % k), case_id=k, count=4, min_stake=5 * 10**18)
        assert sorted(leaves) == [4, 5, 6, 7] and picks >= 4
        all_of_them, _ = draw_leaves(tree, keccak(b"beacon %d" % k), case_id=k, count=8, min_stake=1)
        assert sorted(all_of_them) == list(range(8))
    short, picks = draw_leaves(tree, keccak(b"beacon"), case_id=1, count=5, min_stake=5 * 10**18)
    assert sorted(short) == [4, 5, 6, 7] and picks == len(STAKES)  # every juror was looked at once, no more
