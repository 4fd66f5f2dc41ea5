"""One sender's pooled transactions in nonce order, split into pending and queued.

Every held nonce is at least the sender's state nonce. The pending run is the
contiguous run of nonces starting at the state nonce (executable now, in that
order); the transactions after the first gap are queued. Queued nonces lie
within a window after the pending run (``resync`` drops those a shorter run
leaves beyond it); the pending run is bounded only by the pool's size, and the
list operations here are linear in one sender's transactions (C-level list
moves).
"""
from __future__ import annotations

from bisect import bisect_left, insort

from cybermiles_node.mempool.model import PooledTx


class SenderTxs:
    """The nonce-ordered transactions of one sender."""

    __slots__ = ("indexed_queued_tail", "indexed_tail", "nonces", "pending", "state_nonce", "txs")

    def __init__(self, state_nonce: int) -> None:
        """An empty queue for a sender whose committed nonce is ``state_nonce``."""
        self.state_nonce = state_nonce
        self.pending = 0
        self.txs: dict[int, PooledTx] = {}
        self.nonces: list[int] = []
        self.indexed_tail: bytes | None = None
        self.indexed_queued_tail: bytes | None = None

    def __len__(self) -> int:
        return len(self.nonces)

    @property
    def queued(self) -> int:
        """The number of transactions behind a nonce gap."""
        return len(self.nonces) - self.pending

    def get(self, nonce: int) -> PooledTx | None:
        """The transaction held at ``nonce``, if any."""
        return self.txs.get(nonce)

    def next_nonce(self) -> int:
        """The first nonce after the pending run."""
        return self.state_nonce + self.pending

    def is_pending(self, nonce: int) -> bool:
        """Whether a transaction at ``nonce`` is (or would be) executable now."""
        return nonce <= self.next_nonce()

    def tail(self, depth: int = 0) -> PooledTx | None:
        """The transaction with the highest nonce once the top ``depth`` ones are gone."""
        index = len(self.nonces) - 1 - depth
        return self.txs[self.nonces[index]] if index >= 0 else None

    def put(self, tx: PooledTx) -> PooledTx | None:
        """Insert ``tx`` (nonce >= state nonce); return the transaction it replaces, if any."""
        nonce = tx.nonce
        old = self.txs.get(nonce)
        self.txs[nonce] = tx
        if old is None:
            insort(self.nonces, nonce)
            if nonce == self.next_nonce():
                self._extend_pending()
        return old

    def remove(self, nonce: int) -> PooledTx:
        """Take out the transaction at ``nonce``; the ones after it lose their pending status."""
        tx = self.txs.pop(nonce)
        del self.nonces[bisect_left(self.nonces, nonce)]
        if nonce < self.next_nonce():
            self.pending = nonce - self.state_nonce
        return tx

    def resync(self, state_nonce: int, balance: int | None, queue_window: int) -> list[PooledTx]:
        """Adopt a new state nonce (and balance, if given); return the transactions that no longer fit.

        Drops every nonce below ``state_nonce`` and, with a balance, every
        transaction whose maximum cost exceeds it; then recounts the pending
        run and drops queued nonces more than ``queue_window`` beyond it.
        """
        cut = bisect_left(self.nonces, state_nonce)
        dropped = [self.txs.pop(nonce) for nonce in self.nonces[:cut]]
        del self.nonces[:cut]
        if balance is not None:
            unpayable = [nonce for nonce in self.nonces if self.txs[nonce].cost > balance]
            if unpayable:
                dropped.extend(self.txs.pop(nonce) for nonce in unpayable)
                self.nonces = [nonce for nonce in self.nonces if nonce in self.txs]
        self.state_nonce = state_nonce
        self.pending = 0
        self._extend_pending()
        limit = self.next_nonce() + queue_window
        while self.nonces and self.nonces[-1] > limit:
            dropped.append(self.txs.pop(self.nonces.pop()))
        return dropped

    def pending_txs(self) -> list[PooledTx]:
        """The executable transactions, in nonce order."""
        return [self.txs[nonce] for nonce in self.nonces[: self.pending]]

    def queued_txs(self) -> list[PooledTx]:
        """The transactions behind a nonce gap, in nonce order."""
        return [self.txs[nonce] for nonce in self.nonces[self.pending :]]

    def _extend_pending(self) -> None:
        next_nonce = self.next_nonce()
        while next_nonce in self.txs:
            self.pending += 1
            next_nonce += 1
