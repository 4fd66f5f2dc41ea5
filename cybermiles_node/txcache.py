"""Decoded transactions shared between admission and block execution.

The mempool decodes every transaction it admits and recovers its sender. When
a proposal made by another validator carries the same transactions, checking
it would decode and ecrecover them all again. ``DecodedTxCache`` keeps the
decoded objects of recently admitted transactions by hash, bounded, for the
execution thread to reuse; it is filled on the event loop, hence the lock.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

DEFAULT_CAPACITY = 50_000


class DecodedTxCache:
    """A bounded, thread-safe map from transaction hash to its decoded transaction."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._items: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, tx_hash: bytes, tx: Any) -> None:
        """Remember a decoded transaction (the oldest entry goes when full)."""
        with self._lock:
            self._items[tx_hash] = tx
            self._items.move_to_end(tx_hash)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, tx_hash: bytes) -> Any | None:
        """The decoded transaction, if it was admitted recently."""
        with self._lock:
            return self._items.get(tx_hash)
