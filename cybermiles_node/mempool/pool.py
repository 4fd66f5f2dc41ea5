"""The transaction pool: admission, per-sender nonce order, replacement, eviction, block selection.

Threading: a ``Mempool`` is not thread-safe. The node calls every method from
its asyncio event-loop thread only; ``StateView`` reads happen inline.

Costs: ``add`` is O(log n) plus C-level list moves in one sender's nonce
list; ``reap`` is O(S + k log S) for S senders with pending
transactions and k chosen; ``update`` touches only the senders whose state a
committed block changed (see ``update``), plus an O(S) rebuild of the eviction
heaps when the base fee moved. Nothing rescans the whole pool per transaction.

Bounds (geth's legacypool): a sender's pending run is not capped, only the
pool (``max_txs``, ``max_bytes``); queued transactions lie at most
``max_queued_per_sender`` nonces beyond their sender's pending run, and at
most ``max_queued`` are held in total. Whatever must make room goes from the
tail of a sender's nonce list, cheapest first.

Determinism: every ordering (selection, eviction) is keyed by price and then
the arrival number ``seq``; addresses are visited in sorted order. No clock,
randomness or unordered iteration decides anything.
"""
from __future__ import annotations

from collections.abc import Iterable

from eth.abc import SignedTransactionAPI
from eth_hash.auto import keccak

from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.errors import (
    AlreadyKnownError,
    NonceTooLowError,
    PoolFullError,
    ReplacementUnderpricedError,
)
from cybermiles_node.mempool.eviction import Candidate, EvictionQueue
from cybermiles_node.mempool.model import MempoolStats, PooledTx, StateView
from cybermiles_node.mempool.selection import select_transactions
from cybermiles_node.mempool.sender import SenderTxs
from cybermiles_node.mempool.sponsored import SponsoredTxs
from cybermiles_node.mempool.validation import validate_transaction

# Stale eviction entries tolerated beyond one per sender before the heap is rebuilt.
_STALE_ENTRY_SLACK = 1024


class Mempool:
    """Pending and queued transactions of one chain, bounded by a ``MempoolConfig``."""

    def __init__(self, chain_id: int, config: MempoolConfig | None = None) -> None:
        """An empty pool accepting transactions signed for ``chain_id``."""
        self.chain_id = chain_id
        self.config = config if config is not None else MempoolConfig()
        self._by_hash: dict[bytes, PooledTx] = {}
        self._senders: dict[bytes, SenderTxs] = {}
        self._bytes = 0
        self._next_seq = 0
        self._queued = 0
        self._eviction = EvictionQueue(base_fee=0)
        self._queued_eviction = EvictionQueue(base_fee=0)
        self._sponsored = SponsoredTxs()  # held sponsored transactions, counted against their sponsors

    # ------------------------------------------------------------------ admission

    def check_tx(self, raw: bytes, state: StateView, base_fee: int) -> PooledTx:
        """Validate ``raw`` for admission without changing the pool.

        Checks, in order: already known, size, decoding (type, chain id,
        signature, tip <= fee cap), gas caps, init-code size, intrinsic and
        floor gas, minimum price, base fee, nonce (not used, at most
        ``max_queued_per_sender`` beyond the sender's pending run) and balance for gas * max fee + value. Replacement and pool capacity
        depend on the pool's contents and are checked by ``add``. The
        returned ``seq`` is the number ``add`` would give it now.
        Raises a ``MempoolError`` subclass with geth's wording.
        """
        return self._validate(raw, state, base_fee, None)[0]

    def add(self, raw: bytes, state: StateView, base_fee: int, decoded: SignedTransactionAPI | None = None) -> bytes:
        """Validate and insert ``raw``; return its transaction hash.

        ``decoded`` is ``raw`` already decoded (and its sender recovered) off
        the event loop, when the caller did that work there.

        A transaction with the nonce of one already held from the same sender
        replaces it only if it raises both the fee cap and the tip by at least
        ``price_bump_percent``. When the pool is full the cheapest evictable
        transactions (a sender's highest nonce, lowest effective tip, newest
        first) make room, if the new one pays strictly more than each of them;
        a transaction that would be queued never evicts a pending one, and
        nobody evicts their own transactions. A new queued transaction when
        ``max_queued`` are queued must likewise outbid the cheapest queued
        tail of another sender, which it evicts. Otherwise "txpool is full".
        A sender whose state nonce moved since the pool last looked (a block
        this pool was not told about) is resynced first.
        """
        tx, state_nonce = self._validate(raw, state, base_fee, decoded)
        if base_fee != self._eviction.base_fee:
            self._rebuild_eviction(base_fee)
        sender = self._senders.get(tx.sender)
        if sender is not None and state_nonce > sender.state_nonce:
            self._resync(tx.sender, sender, state_nonce, None)
            sender = self._senders.get(tx.sender)
        elif sender is not None and tx.nonce < sender.state_nonce:
            # ``state`` is older than the block the pool last saw.
            raise NonceTooLowError(f"nonce too low: next nonce {sender.state_nonce}, tx nonce {tx.nonce}")
        old = sender.get(tx.nonce) if sender is not None else None
        if old is not None:
            self._check_replacement(old, tx)
        will_be_pending = sender.is_pending(tx.nonce) if sender is not None else tx.nonce == state_nonce
        queue_victims = []
        if not will_be_pending and old is None and self._queued >= self.config.max_queued:
            queue_victims.append(self._plan_queue_eviction(tx))
        try:
            victims = self._plan_eviction(
                tx,
                will_be_pending,
                extra_count=(0 if old is not None else 1) - len(queue_victims),
                extra_bytes=tx.size - (old.size if old is not None else 0) - sum(v.size for v in queue_victims),
                evicted_per_sender={victim.sender: 1 for victim in queue_victims},
            )
        except PoolFullError:
            for victim in queue_victims:
                self._eviction.push(self._eviction.candidate(victim))
                self._queued_eviction.push(self._queued_eviction.candidate(victim))
            raise
        for victim in [*queue_victims, *victims]:
            self._remove(victim)
        self._insert(tx, state_nonce)
        self._compact_eviction()
        return tx.hash

    def _validate(self, raw: bytes, state: StateView, base_fee: int,
                  decoded: SignedTransactionAPI | None) -> tuple[PooledTx, int]:
        tx_hash = keccak(raw)
        if tx_hash in self._by_hash:
            raise AlreadyKnownError("already known")
        return validate_transaction(
            raw,
            tx_hash,
            self._next_seq,
            chain_id=self.chain_id,
            config=self.config,
            state=state,
            base_fee=base_fee,
            run_end=self._run_end,
            decoded=decoded,
            sponsored=self._sponsored,
        )

    def _check_replacement(self, old: PooledTx, new: PooledTx) -> None:
        """Require both fee cap and tip to rise by ``price_bump_percent`` (geth's rule and rounding)."""
        factor = 100 + self.config.price_bump_percent
        if (
            new.max_fee <= old.max_fee
            or new.tip <= old.tip
            or new.max_fee < old.max_fee * factor // 100
            or new.tip < old.tip * factor // 100
        ):
            raise ReplacementUnderpricedError("replacement transaction underpriced")

    def _plan_queue_eviction(self, new: PooledTx) -> PooledTx:
        """The queued tail to evict so that queued ``new`` fits ``max_queued``; raise ``PoolFullError`` if none may go."""
        new_tip = new.effective_tip(self._queued_eviction.base_fee)
        kept: list[Candidate] = []
        try:
            while (entry := self._queued_eviction.pop()) is not None:
                tx = self._by_hash.get(entry.hash)
                if tx is None or not self._is_queued_tail(tx):
                    continue
                kept.append(entry)
                if tx.sender == new.sender:
                    continue
                if new_tip <= entry.tip:
                    break
                kept.pop()
                return tx
            raise PoolFullError("txpool is full")
        finally:
            for entry in kept:
                self._queued_eviction.push(entry)

    def _is_queued_tail(self, tx: PooledTx) -> bool:
        """Whether ``tx`` is its sender's highest nonce and behind a gap."""
        sender = self._senders[tx.sender]
        return sender.tail() is tx and not sender.is_pending(tx.nonce)

    def _plan_eviction(
        self,
        new: PooledTx,
        will_be_pending: bool,
        extra_count: int,
        extra_bytes: int,
        evicted_per_sender: dict[bytes, int],
    ) -> list[PooledTx]:
        """The transactions to evict so that ``new`` fits; raise ``PoolFullError`` if it may not.

        ``evicted_per_sender`` counts transactions already planned to go from the tail of each sender.
        """
        count_over = len(self._by_hash) + extra_count - self.config.max_txs
        bytes_over = self._bytes + extra_bytes - self.config.max_bytes
        if count_over <= 0 and bytes_over <= 0:
            return []
        new_tip = new.effective_tip(self._eviction.base_fee)
        victims: list[PooledTx] = []
        unused: list[Candidate] = []
        while count_over > 0 or bytes_over > 0:
            entry = self._eviction.pop()
            if entry is None:
                break
            candidate = self._current_top(entry, evicted_per_sender)
            if candidate is None:
                continue
            unused.append(entry)
            if candidate.sender == new.sender:
                continue
            sender = self._senders[candidate.sender]
            if new_tip <= entry.tip or (not will_be_pending and sender.is_pending(candidate.nonce)):
                break
            unused.pop()
            victims.append(candidate)
            depth = evicted_per_sender.get(candidate.sender, 0) + 1
            evicted_per_sender[candidate.sender] = depth
            count_over -= 1
            bytes_over -= candidate.size
            below = sender.tail(depth)
            if below is not None:
                self._eviction.push(self._eviction.candidate(below))
        for entry in unused:
            self._eviction.push(entry)
        if count_over > 0 or bytes_over > 0:
            for victim in victims:
                self._eviction.push(self._eviction.candidate(victim))
            raise PoolFullError("txpool is full")
        return victims

    def _current_top(self, entry: Candidate, evicted_per_sender: dict[bytes, int]) -> PooledTx | None:
        """The transaction of ``entry`` if it is its sender's top once planned evictions are done."""
        tx = self._by_hash.get(entry.hash)
        if tx is None:
            return None
        top = self._senders[tx.sender].tail(evicted_per_sender.get(tx.sender, 0))
        return tx if top is tx else None

    # ------------------------------------------------------------------ block life

    def reap(self, max_gas: int, max_bytes: int, base_fee: int) -> list[PooledTx]:
        """The transactions for the next block, in execution order.

        Only pending transactions; highest effective tip at ``base_fee`` first
        across senders, each sender in nonce order, ties by arrival. A sender
        whose next transaction cannot pay ``base_fee`` or does not fit the gas
        or byte budget left is skipped. The pool is not changed.
        """
        return select_transactions(self._senders.values(), max_gas, max_bytes, base_fee)

    def update(
        self,
        committed_tx_hashes: Iterable[bytes],
        state: StateView,
        base_fee: int,
        senders: Iterable[bytes] = (),
    ) -> None:
        """Bring the pool up to date after a committed block.

        Removes the committed transactions. Then, for each affected sender,
        reads nonce and balance from ``state``: drops nonces below the state
        nonce and transactions whose maximum cost the balance no longer
        covers, promotes queued transactions that became contiguous and
        demotes those behind a new gap.

        Finally, if more than ``max_queued`` transactions are queued (a
        demotion queues a whole run), the cheapest queued tails go.

        Affected senders are the senders of committed transactions held here
        plus ``senders`` (pass the senders of committed transactions this
        pool never saw, e.g. from another validator's block). Only its own
        transactions lower an account's nonce-and-balance position (there are
        no set-code accounts), so every other sender is left untouched: the
        re-check is O(affected senders), not O(pool). A sender whose nonce
        moved without being named here is also resynced on its next ``add``.
        """
        affected = set(senders)
        for tx_hash in committed_tx_hashes:
            tx = self._by_hash.get(tx_hash)
            if tx is not None:
                affected.add(tx.sender)
                self._remove(tx)
        for address in sorted(affected):
            sender = self._senders.get(address)
            if sender is not None:
                self._resync(address, sender, state.get_nonce(address), state.get_balance(address))
        if base_fee != self._eviction.base_fee:
            self._rebuild_eviction(base_fee)
        self._truncate_queue()
        self._compact_eviction()

    def _truncate_queue(self) -> None:
        """Evict the cheapest queued tails until at most ``max_queued`` transactions are queued."""
        while self._queued > self.config.max_queued and (entry := self._queued_eviction.pop()) is not None:
            tx = self._by_hash.get(entry.hash)
            if tx is not None and self._is_queued_tail(tx):
                self._remove(tx)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: bytes) -> PooledTx | None:
        """The pooled transaction with this hash, if held."""
        return self._by_hash.get(tx_hash)

    def pending_nonce(self, address: bytes, state: StateView) -> int:
        """The next nonce ``address`` would use: state nonce plus its contiguous pooled run."""
        return self._run_end(address, state.get_nonce(address))

    def _run_end(self, address: bytes, state_nonce: int) -> int:
        """The first nonce after the run of pooled nonces of ``address`` that starts at ``state_nonce``."""
        sender = self._senders.get(address)
        if sender is None:
            return state_nonce
        if sender.state_nonce == state_nonce:
            return sender.next_nonce()
        nonce = state_nonce
        while sender.get(nonce) is not None:
            nonce += 1
        return nonce

    def content(self, only: bytes | None = None) -> dict[str, dict[bytes, dict[int, PooledTx]]]:
        """``{"pending": {sender: {nonce: tx}}, "queued": {...}}``, senders and nonces ascending.

        With ``only``, just that sender's transactions.
        """
        pending: dict[bytes, dict[int, PooledTx]] = {}
        queued: dict[bytes, dict[int, PooledTx]] = {}
        addresses = sorted(self._senders) if only is None else [only] if only in self._senders else []
        for address in addresses:
            sender = self._senders[address]
            if sender.pending:
                pending[address] = {tx.nonce: tx for tx in sender.pending_txs()}
            if sender.queued:
                queued[address] = {tx.nonce: tx for tx in sender.queued_txs()}
        return {"pending": pending, "queued": queued}

    def stats(self) -> MempoolStats:
        """Counts of pending and queued transactions, bytes held and senders."""
        return MempoolStats(
            pending=len(self._by_hash) - self._queued,
            queued=self._queued,
            size_bytes=self._bytes,
            senders=len(self._senders),
        )

    # ------------------------------------------------------------------ bookkeeping

    def _insert(self, tx: PooledTx, state_nonce: int) -> None:
        """Store ``tx``, replacing the sender's transaction at the same nonce if there is one."""
        sender = self._senders.get(tx.sender)
        if sender is None:
            sender = self._senders[tx.sender] = SenderTxs(state_nonce)
        queued_before = sender.queued
        old = sender.put(tx)
        self._queued += sender.queued - queued_before
        if old is not None:
            del self._by_hash[old.hash]
            self._bytes -= old.size
            self._sponsored.discard(old)
        self._sponsored.add(tx)
        self._by_hash[tx.hash] = tx
        self._bytes += tx.size
        self._next_seq += 1
        self._index_top(sender)

    def _remove(self, tx: PooledTx) -> None:
        sender = self._senders[tx.sender]
        queued_before = sender.queued
        sender.remove(tx.nonce)
        self._queued += sender.queued - queued_before
        del self._by_hash[tx.hash]
        self._bytes -= tx.size
        self._sponsored.discard(tx)
        if len(sender):
            self._index_top(sender)
        else:
            del self._senders[tx.sender]

    def _resync(self, address: bytes, sender: SenderTxs, state_nonce: int, balance: int | None) -> None:
        queued_before = sender.queued
        for tx in sender.resync(state_nonce, balance, self.config.max_queued_per_sender):
            del self._by_hash[tx.hash]
            self._bytes -= tx.size
            self._sponsored.discard(tx)
        self._queued += sender.queued - queued_before
        if len(sender):
            self._index_top(sender)
        else:
            del self._senders[address]

    def _index_top(self, sender: SenderTxs) -> None:
        """Make the sender's current top transaction an eviction candidate (of the queue too, if queued)."""
        top = sender.tail()
        if top is None:
            return
        if top.hash != sender.indexed_tail:
            self._eviction.push(self._eviction.candidate(top))
            sender.indexed_tail = top.hash
        if not sender.queued:
            sender.indexed_queued_tail = None
        elif top.hash != sender.indexed_queued_tail:
            self._queued_eviction.push(self._queued_eviction.candidate(top))
            sender.indexed_queued_tail = top.hash

    def _rebuild_eviction(self, base_fee: int) -> None:
        tops = []
        queued_tops = []
        for address in sorted(self._senders):
            sender = self._senders[address]
            top = sender.tail()
            if top is not None:
                tops.append(top)
                sender.indexed_tail = top.hash
                sender.indexed_queued_tail = top.hash if sender.queued else None
                if sender.queued:
                    queued_tops.append(top)
        self._eviction.rebuild(tops, base_fee)
        self._queued_eviction.rebuild(queued_tops, base_fee)

    def _compact_eviction(self) -> None:
        limit = 2 * len(self._senders) + _STALE_ENTRY_SLACK
        if len(self._eviction) > limit or len(self._queued_eviction) > limit:
            self._rebuild_eviction(self._eviction.base_fee)
