"""Decoded transactions shared between admission and block execution.

The mempool decodes every transaction it admits and recovers its sender. When
a proposal made by another validator carries the same transactions, checking
it would decode and ecrecover them all again. ``DecodedTxCache`` keeps the
decoded objects of recently admitted transactions by hash, bounded, for the
execution thread to reuse; it is filled on the event loop, hence the lock.
A committed block's transactions are dropped from it at once: they are checked
and will not be checked again, so the cache holds what waits in the pool, not
the last 50,000 transactions the node ever saw.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from eth.abc import SignedTransactionAPI

DEFAULT_CAPACITY = 50_000


class DecodedTxCache:
    """A bounded, thread-safe map from transaction hash to its decoded transaction."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._items: OrderedDict[bytes, SignedTransactionAPI] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, tx_hash: bytes, tx: SignedTransactionAPI) -> None:
        """Remember a decoded transaction (the oldest entry goes when full)."""
        with self._lock:
            self._items[tx_hash] = tx
            self._items.move_to_end(tx_hash)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        """The decoded transaction, if it was admitted recently."""
        with self._lock:
            return self._items.get(tx_hash)

    def discard(self, tx_hashes: Iterable[bytes]) -> None:
        """Forget the transactions of a committed block."""
        with self._lock:
            for tx_hash in tx_hashes:
                self._items.pop(tx_hash, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
