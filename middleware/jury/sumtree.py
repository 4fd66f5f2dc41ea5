"""A sum tree of weighted keys in contract storage: O(log n) updates and stake-weighted picks.

Leaves are numbered 0, 1, ...; each holds a key (a juror's address) and a weight (its active
stake). A node at level ``h`` (``h = 0`` just above the leaves) with index ``j`` covers leaves
``[j * 2^(h+1), (j+1) * 2^(h+1))`` and stores, in one slot, the sums of its two halves
(left in the high 128 bits, right in the low 128 bits), so walking down from the root reads
one slot per level. The tree has ``depth`` levels and room for ``2^depth`` leaves; when full
it grows by one level above the old root (whose sum becomes the new root's left half), so no
existing slot moves. A leaf whose key left is put on a free list (the leaf's slot holds the
next free leaf) and reused by the next key, so the tree never grows beyond the most keys it
held at once. Everything is a pure function of the slots: no iteration over unordered data.

``Sortition`` draws without replacement from a snapshot of the tree: each pick subtracts the
picked leaf's weight from the nodes on its path in an in-memory overlay (nothing is written),
so later picks never land on it again and no rejection loop is needed.
"""
from __future__ import annotations

from middleware.jury.slots import Slots, slot_of

WEIGHT_BITS = 128
WEIGHT_MASK = (1 << WEIGHT_BITS) - 1
MAX_WEIGHT = WEIGHT_MASK  # far above the supply cap (10^28 wei), so no sum overflows a half-slot
FREE_FLAG = 1 << 255
META_SLOT = slot_of(b"tree")


def node_slot(level: int, index: int) -> int:
    """The slot holding the two half sums of node ``index`` at ``level``."""
    return slot_of(b"node", level, index)


def leaf_slot(leaf: int) -> int:
    """The slot holding leaf ``leaf``'s key (or, when free, ``FREE_FLAG`` | the next free leaf + 1)."""
    return slot_of(b"leaf", leaf)


def _halves(value: int) -> tuple[int, int]:
    return value >> WEIGHT_BITS, value & WEIGHT_MASK


class SumTree:
    """Weighted keys in storage: set a leaf's weight, add and remove keys, read sums."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots
        meta = slots.load(META_SLOT)
        self.depth = meta & 0xFF
        self.leaves = (meta >> 8) & 0xFFFF_FFFF_FFFF_FFFF
        self.free_head = meta >> 72  # first free leaf + 1; 0: none

    def _save_meta(self) -> None:
        self.slots.store(META_SLOT, self.depth | self.leaves << 8 | self.free_head << 72)

    def node(self, level: int, index: int) -> tuple[int, int]:
        """The (left, right) sums of a node."""
        return _halves(self.slots.load(node_slot(level, index)))

    def total(self) -> int:
        """The sum of all weights."""
        if self.depth == 0:
            return 0
        left, right = self.node(self.depth - 1, 0)
        return left + right

    def weight(self, leaf: int) -> int:
        """The weight of ``leaf``."""
        left, right = self.node(0, leaf >> 1)
        return right if leaf & 1 else left

    def key(self, leaf: int) -> int:
        """The key held by ``leaf`` (0 when free)."""
        value = self.slots.load(leaf_slot(leaf))
        return 0 if value & FREE_FLAG else value

    def add(self, key: int) -> int:
        """Give ``key`` (non-zero, below 2^160) a leaf of weight 0: a free one if any, else a new one."""
        if self.free_head:
            leaf = self.free_head - 1
            self.free_head = self.slots.load(leaf_slot(leaf)) & ~FREE_FLAG
        else:
            leaf = self.leaves
            self.leaves += 1
            while self.depth == 0 or self.leaves > 1 << self.depth:
                self._grow()
        self.slots.store(leaf_slot(leaf), key)
        self._save_meta()
        return leaf

    def _grow(self) -> None:
        """Add a level above the root: the old tree becomes the new root's left half."""
        old_total = self.total()
        self.depth += 1
        if old_total:
            self.slots.store(node_slot(self.depth - 1, 0), old_total << WEIGHT_BITS)

    def remove(self, leaf: int) -> None:
        """Free ``leaf`` (its weight must already be 0) for the next key."""
        if self.weight(leaf):
            raise ValueError(f"leaf {leaf} still has weight {self.weight(leaf)}")
        self.slots.store(leaf_slot(leaf), FREE_FLAG | self.free_head)
        self.free_head = leaf + 1
        self._save_meta()

    def set_weight(self, leaf: int, weight: int) -> None:
        """Set ``leaf``'s weight, updating the one node per level above it."""
        if not 0 <= weight <= MAX_WEIGHT:
            raise ValueError(f"weight {weight} out of range")
        delta = weight - self.weight(leaf)
        if delta == 0:
            return
        for level in range(self.depth):
            index = leaf >> (level + 1)
            left, right = self.node(level, index)
            if (leaf >> level) & 1:
                right += delta
            else:
                left += delta
            self.slots.store(node_slot(level, index), left << WEIGHT_BITS | right)


class Sortition:
    """Weighted picks without replacement from a tree, with the picked weights taken out in memory only."""

    def __init__(self, tree: SumTree) -> None:
        self.tree = tree
        self._overlay: dict[tuple[int, int], tuple[int, int]] = {}

    def _node(self, level: int, index: int) -> tuple[int, int]:
        cached = self._overlay.get((level, index))
        return cached if cached is not None else self.tree.node(level, index)

    def remaining(self) -> int:
        """The weight not picked yet."""
        if self.tree.depth == 0:
            return 0
        left, right = self._node(self.tree.depth - 1, 0)
        return left + right

    def pick(self, point: int) -> tuple[int, int]:
        """The (leaf, weight) whose interval holds ``point`` (0 <= point < remaining()); it is taken out."""
        if not 0 <= point < self.remaining():
            raise ValueError(f"point {point} outside [0, {self.remaining()})")
        path: list[tuple[int, int, int, int, int]] = []
        index = 0
        for level in range(self.tree.depth - 1, -1, -1):
            left, right = self._node(level, index)
            side = 0 if point < left else 1
            point -= left * side
            path.append((level, index, left, right, side))
            index = 2 * index + side
        weight = path[-1][3] if path[-1][4] else path[-1][2]
        for level, node, left, right, side in path:
            self._overlay[(level, node)] = (left, right - weight) if side else (left - weight, right)
        return index, weight
