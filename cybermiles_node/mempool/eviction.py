"""Eviction candidates: a min-heap of senders' highest-nonce transactions, cheapest first.

Only a sender's highest-nonce transaction may be evicted, so that eviction
never opens a gap inside a nonce run. Candidates are ordered by effective tip
at a reference base fee, then newest first (an earlier arrival outlives a later
one at the same price). The heap is lazy: when a sender's top transaction
changes, the pool pushes the new one and leaves the old entry in place; the
pool discards entries that are no longer current when it pops them, and
rebuilds the heap when stale entries pile up or the base fee changes.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import NamedTuple

from cybermiles_node.mempool.model import PooledTx


class Candidate(NamedTuple):
    """A heap entry: (effective tip, minus arrival number, transaction hash)."""

    tip: int
    neg_seq: int
    hash: bytes


class EvictionQueue:
    """Lazy min-heap of eviction candidates, keyed at one reference base fee."""

    __slots__ = ("_heap", "base_fee")

    def __init__(self, base_fee: int) -> None:
        """An empty queue keyed at ``base_fee``."""
        self.base_fee = base_fee
        self._heap: list[Candidate] = []

    def __len__(self) -> int:
        return len(self._heap)

    def candidate(self, tx: PooledTx) -> Candidate:
        """The heap entry of ``tx`` at the reference base fee."""
        return Candidate(tx.effective_tip(self.base_fee), -tx.seq, tx.hash)

    def push(self, entry: Candidate) -> None:
        """Add an entry (a new top transaction, or one popped and not used)."""
        heapq.heappush(self._heap, entry)

    def pop(self) -> Candidate | None:
        """Remove and return the cheapest entry, or None when empty."""
        return heapq.heappop(self._heap) if self._heap else None

    def rebuild(self, tops: Iterable[PooledTx], base_fee: int) -> None:
        """Replace every entry by the current top transactions keyed at ``base_fee``."""
        self.base_fee = base_fee
        self._heap = [self.candidate(tx) for tx in tops]
        heapq.heapify(self._heap)
