"""Zero-price transactions to sponsored contracts: admission against the sponsor's bounds, and those already held.

A sponsored transaction pays nothing itself, so the pool holds its sponsor to
account instead (``vm.sponsorship.rule`` states the bounds, the same that block
execution checks again): the sponsored transactions the pool already holds for
a target count against its deposit (``gas limit x base fee`` each) and against
each sender's window, so a thousand queued transactions cannot promise more
than the deposit can pay.
"""
from __future__ import annotations

from eth.abc import SignedTransactionAPI

from cybermiles_node.mempool.errors import SponsorshipError
from cybermiles_node.mempool.model import PooledTx, StateView
from vm.native.addresses import SPONSOR_ADDRESS
from vm.sponsorship.records import load_sponsorship, load_window
from vm.sponsorship.rule import no_sponsorship_message, sponsorship_problem


class SponsoredTxs:
    """The pool's sponsored transactions, counted per target (gas limits) and per target and sender."""

    def __init__(self) -> None:
        self._gas: dict[bytes, int] = {}
        self._txs: dict[tuple[bytes, bytes], int] = {}

    def add(self, tx: PooledTx) -> None:
        """Count ``tx`` if it is sponsored."""
        if tx.sponsor is not None:
            self._gas[tx.sponsor] = self._gas.get(tx.sponsor, 0) + tx.gas
            key = (tx.sponsor, tx.sender)
            self._txs[key] = self._txs.get(key, 0) + 1

    def discard(self, tx: PooledTx) -> None:
        """Stop counting ``tx`` (it left the pool)."""
        if tx.sponsor is None:
            return
        gas = self._gas[tx.sponsor] - tx.gas
        if gas:
            self._gas[tx.sponsor] = gas
        else:
            del self._gas[tx.sponsor]
        key = (tx.sponsor, tx.sender)
        if self._txs[key] > 1:
            self._txs[key] -= 1
        else:
            del self._txs[key]

    def held_gas(self, target: bytes) -> int:
        """The gas limits of the held transactions ``target`` sponsors."""
        return self._gas.get(target, 0)

    def held_txs(self, target: bytes, sender: bytes) -> int:
        """How many held transactions of ``sender`` ``target`` sponsors."""
        return self._txs.get((target, sender), 0)


def admit_sponsored(tx: SignedTransactionAPI, target: bytes, state: StateView, base_fee: int,
                    held: SponsoredTxs) -> bytes | None:
    """The sponsor of the zero-price ``tx`` to ``target``; raise ``SponsorshipError`` if it may not be admitted.

    None when ``target`` has no sponsorship and the base fee is 0 (the
    transaction is then an ordinary one that pays nothing).
    """
    def read(slot: int) -> int:
        return state.get_storage(SPONSOR_ADDRESS, slot)

    sponsorship = load_sponsorship(read, target)
    if sponsorship is None:
        if base_fee == 0:
            return None
        raise SponsorshipError(no_sponsorship_message(target))
    problem = sponsorship_problem(
        target, sponsorship, sender=tx.sender, gas=tx.gas, value=tx.value, base_fee=base_fee,
        now=state.block_time(), window=load_window(read, target, tx.sender),
        held_gas=held.held_gas(target), held_txs=held.held_txs(target, tx.sender),
    )
    if problem is not None:
        raise SponsorshipError(problem)
    return target
