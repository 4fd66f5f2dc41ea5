"""Juror records: active stake (in the sum tree), unbonding stake and when it can be withdrawn.

Two slots per juror address: ``leaf + 1`` (0: no leaf) in the high 128 bits and the active
stake in the low 128 bits; the time the unbonding stake becomes withdrawable in the high
128 bits and the unbonding stake in the low 128 bits. The active stake is also the weight of
the juror's leaf; a juror whose active stake drops to 0 gives its leaf back to the tree.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from middleware.jury.slots import Slots, slot_of
from middleware.jury.sumtree import SumTree

HALF = 128
HALF_MASK = (1 << HALF) - 1


def _slot(address: bytes) -> int:
    return slot_of(b"juror", int.from_bytes(address, "big"))


@dataclass(frozen=True)
class Juror:
    """One juror's stakes (wei) and its sum-tree leaf."""

    leaf: int | None
    active: int
    unbonding: int
    available_at: int


class JurorBook:
    """Reads and writes juror records, keeping the sum tree's weights equal to the active stakes."""

    def __init__(self, slots: Slots, tree: SumTree) -> None:
        self.slots = slots
        self.tree = tree

    def get(self, address: bytes) -> Juror:
        """The record of ``address`` (all zero when it never staked)."""
        base = _slot(address)
        first, second = self.slots.load(base), self.slots.load(base + 1)
        leaf_plus_one = first >> HALF
        return Juror(leaf_plus_one - 1 if leaf_plus_one else None, first & HALF_MASK, second & HALF_MASK, second >> HALF)

    def _put(self, address: bytes, old: Juror, new: Juror) -> None:
        base = _slot(address)
        first = (0 if new.leaf is None else new.leaf + 1) << HALF | new.active
        second = new.available_at << HALF | new.unbonding
        if (old.leaf, old.active) != (new.leaf, new.active):
            self.slots.store(base, first)
        if (old.unbonding, old.available_at) != (new.unbonding, new.available_at):
            self.slots.store(base + 1, second)

    def update(self, address: bytes, old: Juror, *, active: int, unbonding: int, available_at: int) -> Juror:
        """Write ``address``'s new stakes, giving it a leaf or taking it back as its active stake needs."""
        leaf = old.leaf
        if active and leaf is None:
            leaf = self.tree.add(int.from_bytes(address, "big"))
        if leaf is not None:
            self.tree.set_weight(leaf, active)
            if not active:
                self.tree.remove(leaf)
                leaf = None
        new = replace(old, leaf=leaf, active=active, unbonding=unbonding, available_at=available_at)
        self._put(address, old, new)
        return new
