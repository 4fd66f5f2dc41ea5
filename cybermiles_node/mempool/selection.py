"""Choosing the transactions of the next block from the pending runs.

A heap holds each sender's next executable transaction, keyed by effective tip
at the block's base fee (highest first) and then by arrival number (earliest
first), so the order is total and deterministic. Taking a sender's transaction
puts its next nonce on the heap. A sender whose next transaction cannot pay the
base fee, or does not fit in the gas or byte budget left, is passed over with
all its later nonces (they cannot run before it), as geth's miner does; the
others continue to fill the block. Cost: O(S + k log S) for S senders and k
chosen transactions.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable

from eth.constants import GAS_TX

from cybermiles_node.mempool.model import PooledTx
from cybermiles_node.mempool.sender import SenderTxs


def select_transactions(
    senders: Iterable[SenderTxs], max_gas: int, max_bytes: int, base_fee: int
) -> list[PooledTx]:
    """The best executable transactions whose gas limits and sizes fit ``max_gas`` and ``max_bytes``."""
    heap: list[tuple[int, int, int, SenderTxs]] = []
    for sender in senders:
        if sender.pending:
            first = sender.txs[sender.state_nonce]
            heap.append((-first.effective_tip(base_fee), first.seq, 0, sender))
    heapq.heapify(heap)
    chosen: list[PooledTx] = []
    gas_left = max_gas
    bytes_left = max_bytes
    while heap and gas_left >= GAS_TX:
        _, _, offset, sender = heapq.heappop(heap)
        tx = sender.txs[sender.state_nonce + offset]
        if tx.effective_tip(base_fee) < 0 or tx.gas > gas_left or tx.size > bytes_left:
            continue
        chosen.append(tx)
        gas_left -= tx.gas
        bytes_left -= tx.size
        offset += 1
        if offset < sender.pending:
            nxt = sender.txs[sender.state_nonce + offset]
            heapq.heappush(heap, (-nxt.effective_tip(base_fee), nxt.seq, offset, sender))
    return chosen
