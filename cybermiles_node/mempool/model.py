"""The values the pool works with: pooled transactions, the state view it reads, its statistics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from vm.transactions import effective_tip


class StateView(Protocol):
    """Read access to the latest committed state, supplied by the node."""

    def get_balance(self, address: bytes) -> int:
        """Balance in wei of a 20-byte address."""
        ...

    def get_nonce(self, address: bytes) -> int:
        """Nonce of a 20-byte address (the next nonce it may use)."""
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
    """

    tx: Any
    raw: bytes
    hash: bytes
    sender: bytes
    nonce: int
    gas: int
    max_fee: int
    tip: int
    size: int
    seq: int

    @property
    def cost(self) -> int:
        """The most the transaction can take from its sender: gas * max fee + value."""
        return self.gas * self.max_fee + self.tx.value

    def effective_tip(self, base_fee: int) -> int:
        """The priority fee per gas paid at ``base_fee`` (negative if the max fee is below it)."""
        return effective_tip(self.tx, base_fee)


@dataclass(frozen=True, slots=True)
class MempoolStats:
    """Counts for monitoring and ``txpool_status``."""

    pending: int
    queued: int
    size_bytes: int
    senders: int
