"""Byte encodings of the records the chain store keeps (all RLP).

Headers and commits use their own ``rlp.Serializable`` definitions from
``consensus.types``; a body is the block without its header; a receipt is the RLP
of ``Receipt.to_storage()``. A record that does not decode raises
``DatabaseCorrupted``: it was written by this code, so a failure means damaged data.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import rlp
from rlp.sedes import CountableList, List, big_endian_int, binary

from consensus.errors import InvalidValidatorUpdate
from consensus.types import Block, Commit, Header
from consensus.validators import ValidatorSet
from cybermiles_node.storage.errors import DatabaseCorrupted
from vm.receipts import Log, Receipt

_LOG_SEDES = List([binary, CountableList(binary), binary])
_RECEIPT_SEDES = List([
    binary,  # tx hash
    big_endian_int,  # tx index
    big_endian_int,  # tx type
    binary,  # sender
    binary,  # to (empty for a contract creation)
    binary,  # contract address (empty unless a creation)
    big_endian_int,  # status
    big_endian_int,  # gas used
    big_endian_int,  # cumulative gas used
    big_endian_int,  # effective gas price
    CountableList(_LOG_SEDES),  # logs
])
_RECEIPT_TX_HASH = 0
_RECEIPT_LOGS = 10
_TX_LOCATION_SEDES = List([big_endian_int] * 5)
_LEGACY_TX_LOCATION_SEDES = List([big_endian_int, big_endian_int])

class Body(rlp.Serializable):
    """Everything of a block but its header."""

    fields = [
        ("transactions", CountableList(binary)),
        ("last_commit", Commit),
        ("evidence", CountableList(binary)),
    ]


class RawLog(NamedTuple):
    """A stored log, undecoded beyond its three parts."""

    address: bytes
    topics: list[bytes]
    data: bytes


def _decode(data: bytes, sedes: Any, what: str) -> Any:
    try:
        return rlp.decode(data, sedes=sedes)
    except (rlp.DecodingError, rlp.DeserializationError) as error:
        raise DatabaseCorrupted(f"stored {what} cannot be decoded: {error}") from None


def encode_header(header: Header) -> bytes:
    """RLP of a header."""
    return rlp.encode(header)


def decode_header(data: bytes) -> Header:
    """Inverse of ``encode_header``."""
    header: Header = _decode(data, Header, "header")
    return header


def encode_body(block: Block) -> bytes:
    """RLP of the transactions, last commit and evidence of a block."""
    return rlp.encode(
        Body(transactions=block.transactions, last_commit=block.last_commit, evidence=block.evidence)
    )


def decode_block(header: Header, body_data: bytes) -> Block:
    """The block made of ``header`` and a body stored by ``encode_body``."""
    body: Body = _decode(body_data, Body, "block body")
    return Block(
        header=header,
        transactions=body.transactions,
        last_commit=body.last_commit,
        evidence=body.evidence,
    )


def encode_commit(commit: Commit) -> bytes:
    """RLP of a commit."""
    return rlp.encode(commit)


def decode_commit(data: bytes) -> Commit:
    """Inverse of ``encode_commit``."""
    commit: Commit = _decode(data, Commit, "commit")
    return commit


def encode_receipt(receipt: Receipt) -> bytes:
    """RLP of ``receipt.to_storage()``."""
    return rlp.encode(receipt.to_storage(), sedes=_RECEIPT_SEDES)


def decode_receipt(data: bytes) -> Receipt:
    """Inverse of ``encode_receipt``."""
    return Receipt.from_storage(_decode(data, _RECEIPT_SEDES, "receipt"))


def decode_receipt_logs(data: bytes) -> tuple[bytes, list[RawLog]]:
    """The transaction hash and logs of a stored receipt, without building a ``Receipt``.

    Cheaper than ``decode_receipt`` (no integer fields are converted), for log scans.
    """
    item = _decode(data, None, "receipt")
    try:
        logs = [RawLog(address, topics, log_data) for address, topics, log_data in item[_RECEIPT_LOGS]]
        return item[_RECEIPT_TX_HASH], logs
    except (IndexError, TypeError, ValueError) as error:
        raise DatabaseCorrupted(f"stored receipt has a malformed log list: {error}") from None


def encode_block_events(events: list[Log] | tuple[Log, ...]) -> bytes:
    """RLP list of ``[address, topics, data]`` of a block's hook events."""
    return rlp.encode([[e.address, list(e.topics), e.data] for e in events], sedes=CountableList(_LOG_SEDES))


def decode_block_events(data: bytes) -> tuple[Log, ...]:
    """Inverse of ``encode_block_events``."""
    items = _decode(data, CountableList(_LOG_SEDES), "block events")
    return tuple(Log(address=address, topics=tuple(topics), data=log_data) for address, topics, log_data in items)


def decode_validator_set(data: bytes) -> ValidatorSet:
    """A stored validator set (``ValidatorSet.encode``)."""
    try:
        return ValidatorSet.decode(data)
    except InvalidValidatorUpdate as error:
        raise DatabaseCorrupted(f"stored validator set cannot be decoded: {error}") from None


class StoredTxLocation(NamedTuple):
    """Where a transaction sits: enough to read it and its receipt without touching the rest of its block.

    ``first_log_index`` is the block-wide index of its receipt's first log and
    ``span`` the (offset, length) of its encoding inside the stored block body;
    both are None in records written before they were kept.
    """

    height: int
    index: int
    first_log_index: int | None
    span: tuple[int, int] | None


def encode_tx_location(height: int, index: int, first_log_index: int, span: tuple[int, int]) -> bytes:
    """RLP of ``[height, index, first log index, body offset, length]``."""
    return rlp.encode([height, index, first_log_index, *span], sedes=_TX_LOCATION_SEDES)


def decode_tx_location(data: bytes) -> StoredTxLocation:
    """Inverse of ``encode_tx_location``; also reads the older ``[height, index]`` records."""
    try:
        height, index, first_log_index, offset, length = rlp.decode(data, sedes=_TX_LOCATION_SEDES)
    except (rlp.DecodingError, rlp.DeserializationError):
        height, index = _decode(data, _LEGACY_TX_LOCATION_SEDES, "transaction location")
        return StoredTxLocation(height, index, None, None)
    return StoredTxLocation(height, index, first_log_index, (offset, length))


def transaction_spans(body: bytes) -> list[tuple[int, int]]:
    """The (offset, length) of each transaction's bytes inside a body encoded by ``encode_body``.

    Read from the encoding's own length prefixes, so a transaction can later be
    sliced out of the stored body without decoding the others.
    """
    try:
        _, _, _, position = rlp.codec.consume_length_prefix(body, 0)  # the body list
        _, _, length, position = rlp.codec.consume_length_prefix(body, position)  # its transaction list
        end = position + length
        spans = []
        while position < end:
            _, _, length, start = rlp.codec.consume_length_prefix(body, position)
            spans.append((start, length))
            position = start + length
    except rlp.DecodingError as error:
        raise DatabaseCorrupted(f"block body cannot be decoded: {error}") from None
    return spans


def transaction_at(body: bytes, span: tuple[int, int]) -> bytes:
    """The transaction bytes ``span`` names inside ``body``."""
    offset, length = span
    if offset + length > len(body):
        raise DatabaseCorrupted("a transaction location points past the end of its block body")
    return body[offset:offset + length]
