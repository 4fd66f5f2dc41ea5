"""The latest transactions admitted to the mempool, for pending-transaction filters.

One bounded ring, numbered by arrival, serves every
``eth_newPendingTransactionFilter``: a filter keeps only the number of the
next transaction it has not reported. Memory is the ring's, whatever the
number of filters; a filter polled so rarely that the ring moved past its
cursor gets the transactions still held (the oldest ones are lost, as for a
slow subscriber).
"""
from __future__ import annotations

from collections import deque
from itertools import islice

from eth.abc import SignedTransactionAPI


class PendingLog:
    """A ring of the last ``capacity`` admitted transactions, numbered from 0."""

    def __init__(self, capacity: int) -> None:
        """An empty ring holding at most ``capacity`` transactions."""
        self._txs: deque[SignedTransactionAPI] = deque(maxlen=capacity)
        self._next = 0

    @property
    def next_number(self) -> int:
        """The number the next appended transaction will get."""
        return self._next

    def append(self, tx: SignedTransactionAPI) -> None:
        """Record a newly admitted transaction."""
        self._txs.append(tx)
        self._next += 1

    def since(self, number: int) -> list[SignedTransactionAPI]:
        """The transactions numbered ``number`` and later that the ring still holds, oldest first."""
        first_held = self._next - len(self._txs)
        return list(islice(self._txs, max(number, first_held) - first_held, None))
