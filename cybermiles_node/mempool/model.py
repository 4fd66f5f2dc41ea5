"""The values the pool works with: pooled transactions, the state view it reads, its statistics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eth.abc import SignedTransactionAPI

from vm.transactions import effective_tip


class StateView(Protocol):
    """Read access to the latest committed state, supplied by the node."""

    def get_balance(self, address: bytes) -> int:
        """Balance in wei of a 20-byte address."""
        ...

    def get_nonce(self, address: bytes) -> int:
        """Nonce of a 20-byte address (the next nonce it may use)."""
        ...

    def get_storage(self, address: bytes, slot: int) -> int:
        """A storage slot of a 20-byte address (the sponsor contract's records)."""
        ...

    def block_time(self) -> int:
        """The timestamp of the block this state is the result of."""
        ...


@dataclass(frozen=True, slots=True)
class PooledTx:
    """A validated transaction as the pool holds it.

    tx: the decoded py-evm transaction, its sender already recovered and cached.
    raw: the canonical encoding (what goes into a block and over the wire).
    hash: keccak-256 of ``raw``, the transaction hash.
    max_fee / tip: maximum fee and priority fee per gas (both the gas price for
        legacy and access-list transactions).
    size: ``len(raw)``.
    seq: arrival order in this pool; breaks every price tie.
    sponsor: the sponsored contract whose deposit pays the fee (gas price 0), else None.
    """

    tx: SignedTransactionAPI
    raw: bytes
    hash: bytes
    sender: bytes
    nonce: int
    gas: int
    max_fee: int
    tip: int
    size: int
    seq: int
    sponsor: bytes | None = None

    @property
    def cost(self) -> int:
        """The most the transaction can take from its sender: gas * max fee + value."""
        return self.gas * self.max_fee + self.tx.value

    def effective_tip(self, base_fee: int) -> int:
        """The priority fee per gas paid at ``base_fee`` (negative if the max fee is below it; 0 when sponsored)."""
        return 0 if self.sponsor is not None else effective_tip(self.tx, base_fee)


@dataclass(frozen=True, slots=True)
class MempoolStats:
    """Counts for monitoring and ``txpool_status``."""

    pending: int
    queued: int
    size_bytes: int
    senders: int
