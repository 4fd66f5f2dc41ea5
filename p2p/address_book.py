"""A bounded book of known peer addresses with dial bookkeeping (attempts, failures, backoff)."""
from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass

from p2p.address import NetAddress


@dataclass
class _Entry:
    address: NetAddress
    pinned: bool
    failures: int = 0
    last_attempt: float = float("-inf")


class AddressBook:
    """Known addresses, at most ``capacity``; pinned entries (seeds, persistent peers) are never dropped."""

    def __init__(
        self,
        own_id: str,
        capacity: int,
        max_failures: int,
        backoff_base: float,
        backoff_max: float,
        clock: Callable[[], float],
    ) -> None:
        self._own_id = own_id
        self._capacity = capacity
        self._max_failures = max_failures
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def addresses(self) -> list[NetAddress]:
        """All known addresses, in node-id order."""
        return [self._entries[key].address for key in sorted(self._entries)]

    def add(self, address: NetAddress, pinned: bool = False) -> bool:
        """Record ``address`` (replacing the host/port known for its node id); ``False`` if not kept."""
        if address.node_id == self._own_id:
            return False
        entry = self._entries.get(address.node_id)
        if entry is not None:
            if not entry.pinned or pinned:
                entry.address = address
            entry.pinned = entry.pinned or pinned
            return True
        if len(self._entries) >= self._capacity and not self._evict_one():
            return False
        self._entries[address.node_id] = _Entry(address, pinned)
        return True

    def _evict_one(self) -> bool:
        unpinned = [entry for entry in self._entries.values() if not entry.pinned]
        if not unpinned:
            return False
        worst = max(unpinned, key=lambda entry: (entry.failures, random.random()))
        del self._entries[worst.address.node_id]
        return True

    def remove(self, node_id: str) -> None:
        """Forget ``node_id`` unless it is pinned."""
        entry = self._entries.get(node_id)
        if entry is not None and not entry.pinned:
            del self._entries[node_id]

    def mark_attempt(self, node_id: str) -> None:
        """A dial to ``node_id`` is starting."""
        entry = self._entries.get(node_id)
        if entry is not None:
            entry.last_attempt = self._clock()

    def mark_success(self, node_id: str) -> None:
        """A connection to ``node_id`` was established."""
        entry = self._entries.get(node_id)
        if entry is not None:
            entry.failures = 0

    def mark_failure(self, node_id: str) -> None:
        """A dial to ``node_id`` failed; unpinned addresses are dropped after too many failures."""
        entry = self._entries.get(node_id)
        if entry is None:
            return
        entry.failures += 1
        if entry.failures >= self._max_failures and not entry.pinned:
            del self._entries[node_id]

    def sample(self, count: int, exclude: Collection[str]) -> list[NetAddress]:
        """Up to ``count`` random addresses whose node ids are not in ``exclude``."""
        pool = [entry.address for key, entry in sorted(self._entries.items()) if key not in exclude]
        return random.sample(pool, min(count, len(pool)))

    def dial_candidates(self, count: int, exclude: Collection[str]) -> list[NetAddress]:
        """Up to ``count`` addresses due for a dial (past their failure backoff), fewest failures first."""
        now = self._clock()
        due = [
            entry
            for key, entry in self._entries.items()
            if key not in exclude
            and now - entry.last_attempt >= min(self._backoff_max, self._backoff_base * 2 ** min(entry.failures, 30))
        ]
        random.shuffle(due)
        due.sort(key=lambda entry: entry.failures)
        return [entry.address for entry in due[:count]]
