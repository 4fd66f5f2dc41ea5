"""Log filters with Ethereum's matching rules, and the shape of a log query's results.

A filter names a set of addresses (empty: any address) and up to four topic
positions. At each position ``None`` or an empty list is a wildcard and a list
matches any of its topics; a log with fewer topics than the filter has positions
does not match. A filter can also rule a whole block out from the block's logs
bloom alone, before any receipt is read.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eth_bloom import BloomFilter

from cybermiles_node.storage.errors import InvalidLogQuery
from vm.receipts import Log

MAX_TOPIC_POSITIONS = 4
ADDRESS_SIZE = 20
TOPIC_SIZE = 32


class LogMatch(NamedTuple):
    """A log found by a query, with where it sits in the chain."""

    block_number: int
    block_hash: bytes
    tx_hash: bytes
    tx_index: int
    log_index: int
    """Position of the log among all logs of its block."""
    log: Log


def _bloom_mask(item: bytes) -> int:
    return int(BloomFilter.from_iterable([item]))


def _may_contain_any(bloom: int, masks: Sequence[int]) -> bool:
    return any(bloom & mask == mask for mask in masks)


class LogFilter:
    """A validated address/topic filter."""

    def __init__(self, addresses: Sequence[bytes], topics: Sequence[Sequence[bytes] | None]) -> None:
        """Check sizes and build the bloom masks; raise ``InvalidLogQuery`` on a malformed filter."""
        if len(topics) > MAX_TOPIC_POSITIONS:
            raise InvalidLogQuery(
                f"a log filter has at most {MAX_TOPIC_POSITIONS} topic positions, got {len(topics)}"
            )
        for address in addresses:
            if len(address) != ADDRESS_SIZE:
                raise InvalidLogQuery(f"log filter address must be {ADDRESS_SIZE} bytes, got {len(address)}")
        positions: list[frozenset[bytes] | None] = []
        for choices in topics:
            if not choices:
                positions.append(None)
                continue
            for topic in choices:
                if len(topic) != TOPIC_SIZE:
                    raise InvalidLogQuery(f"log filter topic must be {TOPIC_SIZE} bytes, got {len(topic)}")
            positions.append(frozenset(choices))
        self._addresses = frozenset(addresses)
        self._topics = positions
        self._address_masks = [_bloom_mask(address) for address in addresses]
        self._topic_masks = [
            [_bloom_mask(topic) for topic in choices] for choices in topics if choices
        ]

    def bloom_may_match(self, bloom: int) -> bool:
        """False only if no log of a block with this logs bloom can match."""
        if self._address_masks and not _may_contain_any(bloom, self._address_masks):
            return False
        return all(_may_contain_any(bloom, masks) for masks in self._topic_masks)

    def matches(self, address: bytes, topics: Sequence[bytes]) -> bool:
        """Whether a log with this address and these topics matches."""
        if self._addresses and address not in self._addresses:
            return False
        if len(topics) < len(self._topics):
            return False
        return all(
            choices is None or topic in choices for choices, topic in zip(self._topics, topics)
        )
