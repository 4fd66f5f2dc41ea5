"""Limits and prices that bound the transaction pool."""
from __future__ import annotations

from dataclasses import dataclass

from cybermiles_node.mempool.errors import MempoolConfigError


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    """Bounds of the pool. Every limit is an integer; all are checked on construction.

    max_txs: transactions held in total (pending and queued).
    max_bytes: encoded bytes held in total.
    max_queued_per_sender: queued slots of one sender (geth's account queue,
        64): a nonce may lie at most this far beyond the sender's pending run
        (further is "nonce too high"). Pending transactions of a sender are
        bounded only by ``max_txs`` and ``max_bytes``.
    max_queued: queued (future-nonce) transactions held in total (geth's
        global queue, 1024); beyond it a queued newcomer must outbid the
        cheapest queued transaction of another sender.
    max_tx_bytes: largest encoded transaction accepted (geth: 128 KiB).
    block_gas_limit: gas limit of a block; no transaction may ask for more.
    max_tx_gas: gas cap of a single transaction (at most ``block_gas_limit``).
    min_gas_price: lowest maximum fee per gas (gas price for legacy) accepted, in wei.
    price_bump_percent: fee bump a replacement needs on both its fee cap and tip.
    """

    max_txs: int = 10_000
    max_bytes: int = 32 * 1024 * 1024
    max_queued_per_sender: int = 64
    max_queued: int = 1024
    max_tx_bytes: int = 128 * 1024
    block_gas_limit: int = 30_000_000
    max_tx_gas: int = 30_000_000
    min_gas_price: int = 1
    price_bump_percent: int = 10

    def __post_init__(self) -> None:
        for name in (
            "max_txs", "max_bytes", "max_queued_per_sender", "max_queued", "max_tx_bytes", "block_gas_limit",
            "max_tx_gas",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise MempoolConfigError(f"mempool.{name}: must be a positive integer, got {value!r}")
        for name in ("min_gas_price", "price_bump_percent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise MempoolConfigError(f"mempool.{name}: must be a non-negative integer, got {value!r}")
        if self.max_tx_bytes > self.max_bytes:
            raise MempoolConfigError(
                f"mempool.max_tx_bytes: {self.max_tx_bytes} exceeds mempool.max_bytes {self.max_bytes}"
            )
        if self.max_tx_gas > self.block_gas_limit:
            raise MempoolConfigError(
                f"mempool.max_tx_gas: {self.max_tx_gas} exceeds mempool.block_gas_limit {self.block_gas_limit}"
            )
