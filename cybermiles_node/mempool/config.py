"""Limits and prices that bound the transaction pool."""
from __future__ import annotations

from dataclasses import dataclass, field

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

    The defaults are sized so that a burst of 10,000 transfers from 100 senders, spread
    over the validators, is accepted whole (see docs/operations.md, "Pool sizing"). Each
    field is a setting of ``config.toml``'s ``[mempool]`` table but those the node takes
    from the genesis document (``"toml": None``); ``metadata["range"]`` bounds it there.
    """

    max_txs: int = field(default=20_000, metadata={"range": (1, 1_000_000)})
    max_bytes: int = field(default=32 * 1024 * 1024, metadata={"range": (1, 4 * 1024 * 1024 * 1024)})
    max_queued_per_sender: int = field(default=128, metadata={"toml": "max_per_sender", "range": (1, 100_000)})
    max_queued: int = field(default=10_000, metadata={"range": (1, 1_000_000)})
    max_tx_bytes: int = field(default=128 * 1024, metadata={"toml": None})
    block_gas_limit: int = field(default=30_000_000, metadata={"toml": None})
    max_tx_gas: int = field(default=30_000_000, metadata={"toml": None})
    min_gas_price: int = field(default=1, metadata={"toml": None})
    price_bump_percent: int = field(default=10, metadata={"range": (0, 1_000)})

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
