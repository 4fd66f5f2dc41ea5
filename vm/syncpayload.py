"""Checking a fast-synced block's payload against its header, without executing it.

A block fetched by fast sync is proven by its commit, which signs the header;
this module proves the rest from the header, so that the block's transactions
and receipts can be stored as if this node had executed them:

* the transactions hash to the header's transactions root;
* each receipt record (``Receipt.to_storage()``, the stored form a peer sends)
  names the transaction it belongs to: its hash, index, type, recipient; its
  sender is recovered from the transaction's signature, its created contract
  address derived from sender and nonce, its gas used from the cumulative gas,
  its effective gas price from the transaction's fees and the header's base fee;
* the receipts' consensus encodings (status, cumulative gas, bloom, logs, as in
  ``Receipt.consensus_encoding``) hash to the header's receipts root; the last
  cumulative gas is the header's gas used and the blooms OR to its logs bloom.

The work is CPU-bound (signature recovery, trie roots), so ``check_payload``
is a plain function of bytes and integers that a process pool runs for several
blocks at once; transactions are read with ``vm.transactions.read_fields``
(plain RLP, no py-evm objects).
Its verdict is a ``PayloadCheck``: the transaction hashes, or what is wrong.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak
from rlp.codec import (
    encode_raw,  # RLP of bytes and lists as decoded: no per-item type inference
)

from vm.errors import InvalidTransaction, VMError
from vm.receipts import Log, logs_bloom
from vm.transactions import SignedFields, read_fields, rlp_uint
from vm.trie_root import ordered_trie_root

RECEIPT_FIELDS = 11
EMPTY_BLOOM = bytes(256)


class PayloadError(VMError):
    """A transaction or receipt that does not match what the header commits to."""


@dataclass(frozen=True)
class HeaderCommitments:
    """What a header commits to about its payload (plain values, cheap to send to a worker process)."""

    chain_id: int
    base_fee: int
    transactions_root: bytes
    receipts_root: bytes
    gas_used: int
    logs_bloom: int


@dataclass(frozen=True)
class PayloadCheck:
    """The verdict: the transaction hashes in block order, or the problem found."""

    tx_hashes: tuple[bytes, ...] = ()
    problem: str | None = None


def _contract_address(sender: bytes, nonce: int) -> bytes:
    return keccak(rlp.encode([sender, nonce]))[12:]


def _logs(item: Any) -> tuple[Log, ...]:
    if not isinstance(item, list):
        raise PayloadError("logs are not a list")
    logs = []
    for entry in item:
        if (not isinstance(entry, list) or len(entry) != 3 or not isinstance(entry[0], bytes) or len(entry[0]) != 20
                or not isinstance(entry[1], list) or not isinstance(entry[2], bytes)
                or any(not isinstance(topic, bytes) or len(topic) != 32 for topic in entry[1])):
            raise PayloadError("malformed log")
        logs.append(Log(entry[0], tuple(entry[1]), entry[2]))
    return tuple(logs)


def _check_receipt(record: bytes, index: int, raw: bytes, tx: SignedFields, previous_gas: int,
                   base_fee: int) -> tuple[int, bytes, int]:
    """The receipt's cumulative gas, consensus encoding and bloom, once its fields match the transaction."""
    try:
        item = rlp.decode(record)
    except rlp.exceptions.RLPException as exc:
        raise PayloadError(f"undecodable receipt: {exc}") from None
    if not isinstance(item, list) or len(item) != RECEIPT_FIELDS or any(
            not isinstance(field, bytes) for field in item[:10]):
        raise PayloadError("malformed receipt")
    tx_hash, tx_index, tx_type, sender, to, created, status, gas_used, cumulative, price, raw_logs = item
    cumulative_gas = rlp_uint(cumulative, "cumulative gas")
    expected_created = _contract_address(tx.sender, tx.nonce) if not tx.to else b""
    checks = (
        (tx_hash == keccak(raw), "names another transaction"),
        (rlp_uint(tx_index, "index") == index, "has another index"),
        (rlp_uint(tx_type, "type") == tx.tx_type, "has another transaction type"),
        (sender == tx.sender, "names a sender that did not sign the transaction"),
        (to == tx.to, "names another recipient"),
        (created == expected_created, "names another created contract"),
        (status in (b"", b"\x01"), "has an invalid status"),
        (rlp_uint(gas_used, "gas used") == cumulative_gas - previous_gas > 0, "has gas used that does not add up"),
        (rlp_uint(price, "gas price") == tx.effective_gas_price(base_fee), "has another effective gas price"),
    )
    for ok, problem in checks:
        if not ok:
            raise PayloadError(problem)
    logs = _logs(raw_logs)
    bloom = logs_bloom(logs).to_bytes(256, "big") if logs else EMPTY_BLOOM
    payload = encode_raw([status, cumulative, bloom, raw_logs])
    encoding = payload if tx.tx_type == 0 else bytes([tx.tx_type]) + payload
    return cumulative_gas, encoding, int.from_bytes(bloom, "big")


def check_payload(header: HeaderCommitments, transactions: Sequence[bytes],
                  receipts: Sequence[bytes]) -> PayloadCheck:
    """Check a block's transactions and receipt records against its header (see the module docstring)."""
    if len(receipts) != len(transactions):
        return PayloadCheck(problem=f"{len(receipts)} receipts for {len(transactions)} transactions")
    if ordered_trie_root(list(transactions)) != header.transactions_root:
        return PayloadCheck(problem="transactions do not match the header's transactions root")
    encodings: list[bytes] = []
    hashes: list[bytes] = []
    gas = 0
    bloom = 0
    for index, (raw, record) in enumerate(zip(transactions, receipts)):
        try:
            tx = read_fields(raw, header.chain_id)
            gas, encoding, receipt_bloom = _check_receipt(record, index, raw, tx, gas, header.base_fee)
        except (PayloadError, InvalidTransaction) as exc:
            return PayloadCheck(problem=f"receipt {index}: {exc}")
        encodings.append(encoding)
        hashes.append(keccak(raw))
        bloom |= receipt_bloom
    if ordered_trie_root(encodings) != header.receipts_root:
        return PayloadCheck(problem="receipts do not match the header's receipts root")
    if gas != header.gas_used or bloom != header.logs_bloom:
        return PayloadCheck(problem="receipts do not add up to the header's gas used and logs bloom")
    return PayloadCheck(tx_hashes=tuple(hashes))
