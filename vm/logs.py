"""Ethereum logs where they sit in the chain, and the one filter that selects them.

``BlockLog`` is a log of a committed block with its position: a transaction's log has
its transaction's hash and index and is numbered among all transaction logs of the
block (as ``eth_getLogs`` numbers them); a *block event* (emitted by a native
contract's begin/end-block hook) has neither and is numbered among the block's events.

``LogFilter`` has Ethereum's matching rules: a set of addresses (empty: any address)
and up to four topic positions, each ``None`` (any topic) or a tuple of alternatives; a
log with fewer topics than the filter has positions does not match. It can also rule a
whole block out from the block's logs bloom alone, before any receipt is read. The RPC
(``eth_getLogs``, filters, ``logs`` subscriptions), the chain store's log scan and the
webhook subscriptions all match with it.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from eth_bloom import BloomFilter

from vm.errors import InvalidLogFilter
from vm.receipts import Log, Receipt

MAX_TOPIC_POSITIONS = 4
ADDRESS_SIZE = 20
TOPIC_SIZE = 32

TopicPositions = tuple[tuple[bytes, ...] | None, ...]


@dataclass(frozen=True)
class BlockLog:
    """A committed log and where it is: block, transaction (None for a block event) and index."""

    block_number: int
    block_hash: bytes
    tx_hash: bytes | None
    tx_index: int | None
    log_index: int
    log: Log


def receipt_logs(block_number: int, block_hash: bytes, receipt: Receipt, first_log_index: int) -> list[BlockLog]:
    """The logs of one transaction; ``first_log_index`` is the block-wide index of its first log."""
    return [BlockLog(block_number, block_hash, receipt.tx_hash, receipt.tx_index, first_log_index + offset, log)
            for offset, log in enumerate(receipt.logs)]


def transaction_logs(block_number: int, block_hash: bytes, receipts: Sequence[Receipt]) -> list[BlockLog]:
    """Every transaction log of a block, numbered across the block."""
    found: list[BlockLog] = []
    for receipt in receipts:
        found.extend(receipt_logs(block_number, block_hash, receipt, len(found)))
    return found


def block_event_logs(block_number: int, block_hash: bytes, events: Sequence[Log]) -> list[BlockLog]:
    """The events of a block's hooks, numbered among themselves (as ``cmt_getBlockEvents`` numbers them)."""
    return [BlockLog(block_number, block_hash, None, None, index, event) for index, event in enumerate(events)]


def _bloom_mask(item: bytes) -> int:
    return int(BloomFilter.from_iterable([item]))


def _may_contain_any(bloom: int, masks: Sequence[int]) -> bool:
    return any(bloom & mask == mask for mask in masks)


@dataclass(frozen=True)
class LogFilter:
    """Addresses (empty: any) and topic positions (None: any; else any of the alternatives)."""

    addresses: tuple[bytes, ...] = ()
    topics: TopicPositions = ()

    def __post_init__(self) -> None:
        if len(self.topics) > MAX_TOPIC_POSITIONS:
            raise InvalidLogFilter(
                f"a log filter has at most {MAX_TOPIC_POSITIONS} topic positions, got {len(self.topics)}")
        for address in self.addresses:
            if len(address) != ADDRESS_SIZE:
                raise InvalidLogFilter(f"log filter address must be {ADDRESS_SIZE} bytes, got {len(address)}")
        for choices in self.topics:
            for topic in choices or ():
                if len(topic) != TOPIC_SIZE:
                    raise InvalidLogFilter(f"log filter topic must be {TOPIC_SIZE} bytes, got {len(topic)}")

    def matches(self, address: bytes, topics: Sequence[bytes]) -> bool:
        """Whether a log emitted by ``address`` with ``topics`` passes this filter."""
        addresses, positions = self._sets
        if addresses and address not in addresses:
            return False
        if len(topics) < len(positions):
            return False
        return all(choices is None or topic in choices for choices, topic in zip(positions, topics))

    def matches_log(self, log: Log) -> bool:
        """Whether ``log`` passes this filter."""
        return self.matches(log.address, log.topics)

    def bloom_may_match(self, bloom: int) -> bool:
        """False only if no log of a block with this logs bloom can match."""
        address_masks, topic_masks = self._masks
        if address_masks and not _may_contain_any(bloom, address_masks):
            return False
        return all(_may_contain_any(bloom, masks) for masks in topic_masks)

    @functools.cached_property
    def _sets(self) -> tuple[frozenset[bytes], tuple[frozenset[bytes] | None, ...]]:
        return frozenset(self.addresses), tuple(frozenset(choices) if choices else None for choices in self.topics)

    @functools.cached_property
    def _masks(self) -> tuple[list[int], list[list[int]]]:
        return ([_bloom_mask(address) for address in self.addresses],
                [[_bloom_mask(topic) for topic in choices] for choices in self.topics if choices])
