"""Receipts and logs as the node stores and serves them.

A ``Receipt`` carries everything the RPC needs to answer
``eth_getTransactionReceipt`` without re-reading the transaction. The
consensus-critical part (status, cumulative gas, bloom, logs) is encoded the
Ethereum way (EIP-2718 typed receipt) to build the header's receipts root.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_bloom import BloomFilter
from rlp.codec import encode_raw
from rlp.sedes import big_endian_int


@dataclass(frozen=True)
class Log:
    """One EVM log entry."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Receipt:
    """The outcome of one transaction in a committed block."""

    tx_hash: bytes
    tx_index: int
    tx_type: int
    sender: bytes
    to: bytes | None
    contract_address: bytes | None
    status: int
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int
    logs: tuple[Log, ...]

    @property
    def bloom(self) -> int:
        """The 2048-bit logs bloom of this receipt."""
        return logs_bloom(self.logs)

    def consensus_encoding(self) -> bytes:
        """The EIP-2718 receipt encoding that goes into the receipts trie."""
        payload = encode_raw(
            [
                big_endian_int.serialize(self.status),
                big_endian_int.serialize(self.cumulative_gas_used),
                self.bloom.to_bytes(256, "big"),
                [[log.address, list(log.topics), log.data] for log in self.logs],
            ]
        )
        return payload if self.tx_type == 0 else bytes([self.tx_type]) + payload

    def to_storage(self) -> list[Any]:
        """A plain list for storage encoding."""
        return [
            self.tx_hash,
            self.tx_index,
            self.tx_type,
            self.sender,
            self.to or b"",
            self.contract_address or b"",
            self.status,
            self.gas_used,
            self.cumulative_gas_used,
            self.effective_gas_price,
            [[log.address, list(log.topics), log.data] for log in self.logs],
        ]

    @classmethod
    def from_storage(cls, item: list[Any]) -> Receipt:
        """Inverse of ``to_storage``."""
        (tx_hash, tx_index, tx_type, sender, to, created, status, gas_used,
         cumulative, price, logs) = item
        return cls(
            tx_hash=bytes(tx_hash),
            tx_index=int(tx_index),
            tx_type=int(tx_type),
            sender=bytes(sender),
            to=bytes(to) or None,
            contract_address=bytes(created) or None,
            status=int(status),
            gas_used=int(gas_used),
            cumulative_gas_used=int(cumulative),
            effective_gas_price=int(price),
            logs=tuple(Log(bytes(a), tuple(bytes(t) for t in topics), bytes(d)) for a, topics, d in logs),
        )


def logs_bloom(logs: tuple[Log, ...] | list[Log]) -> int:
    """The bloom filter of a sequence of logs, as an int."""
    bloom = BloomFilter()
    for log in logs:
        bloom.add(log.address)
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom)
