"""The jury's sum tree: updates, removals, slot reuse, and picks equal to a linear scan over the same weights."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.jury.slots import DictSlots
from middleware.jury.sumtree import Sortition, SumTree


def linear_pick(weights: list[int], point: int) -> int:
    """The naive reference: the first leaf whose running sum passes ``point``."""
    for leaf, weight in enumerate(weights):
        if point < weight:
            return leaf
        point -= weight
    raise AssertionError("point beyond the total")


# an operation: (kind, argument, weight): 0 add a key, 1 set a weight, 2 remove a key (weight to 0 first)
OPERATIONS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 10**24)), max_size=80)


@settings(max_examples=60, deadline=None)
@given(OPERATIONS, st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=12))
def test_random_trees_pick_as_a_linear_scan_does(operations: list[tuple[int, int, int]], draws: list[int]) -> None:
    slots = DictSlots()
    weights: dict[int, int] = {}  # leaf -> weight, the reference
    keys: dict[int, int] = {}
    next_key = 1
    for kind, argument, weight in operations:
        tree = SumTree(slots)  # reloaded from storage each time, as every call does
        live = sorted(keys)
        if kind == 0 or not live:
            leaf = tree.add(next_key)
            assert leaf not in keys
            keys[leaf], weights[leaf] = next_key, 0
            next_key += 1
        elif kind == 1:
            leaf = live[argument % len(live)]
            tree.set_weight(leaf, weight)
            weights[leaf] = weight
        else:
            leaf = live[argument % len(live)]
            tree.set_weight(leaf, 0)
            tree.remove(leaf)
            del keys[leaf], weights[leaf]
    tree = SumTree(slots)
    for leaf, key in keys.items():
        assert tree.key(leaf) == key and tree.weight(leaf) == weights[leaf]
    assert tree.total() == sum(weights.values())
    # freed leaves are reused: the tree never holds more leaves than keys it held at once
    assert tree.leaves <= max(len(operations), 1)
    plain = [weights.get(leaf, 0) for leaf in range(tree.leaves)]
    sortition = Sortition(tree)
    for value in draws:
        if sortition.remaining() == 0:
            break
        point = value % sortition.remaining()
        leaf, weight = sortition.pick(point)
        assert leaf == linear_pick(plain, point) and weight == plain[leaf] > 0
        plain[leaf] = 0  # without replacement: the linear scan forgets it too
        assert sortition.remaining() == sum(plain)
    assert SumTree(slots).total() == sum(weights.values()), "picking wrote nothing"


def test_removed_leaves_are_reused_last_freed_first() -> None:
    slots = DictSlots()
    tree = SumTree(slots)
    leaves = [tree.add(key) for key in (11, 12, 13, 14, 15)]
    assert leaves == [0, 1, 2, 3, 4] and tree.depth == 3
    for leaf in (1, 3):
        tree.remove(leaf)
    assert [tree.add(21), tree.add(22), tree.add(23)] == [3, 1, 5]
    assert [tree.key(leaf) for leaf in range(6)] == [11, 22, 13, 21, 15, 23]


def test_a_leaf_with_weight_cannot_be_removed() -> None:
    tree = SumTree(DictSlots())
    leaf = tree.add(7)
    tree.set_weight(leaf, 5)
    try:
        tree.remove(leaf)
    except ValueError as exc:
        assert "still has weight 5" in str(exc)
    else:
        raise AssertionError("removed a weighted leaf")
