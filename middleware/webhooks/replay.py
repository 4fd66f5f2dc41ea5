"""A bounded memory of accepted inbound callbacks, to refuse replays within the timestamp window.

Each key (a caller's signature, or a caller's request id) is kept until its signature
would be stale anyway (signature timestamp + window). When the cache holds
``capacity`` unexpired keys, new callbacks are refused (``CallbackBusy``) rather than
forgetting a key early, which would let its replay through.
"""
from __future__ import annotations

import heapq

from middleware.webhooks.errors import CallbackBusy, ReplayedCallback


class ReplayCache:
    """Keys seen recently, each with an expiry time (seconds)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._expiry: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: int) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires:
                del self._expiry[key]

    def reserve(self, keys: list[str], expires: int, now: int) -> None:
        """Record ``keys`` until ``expires``; ``ReplayedCallback`` if any is already known."""
        self._purge(now)
        for key in keys:
            if key in self._expiry:
                raise ReplayedCallback("callback already received (same signature or id)")
        if len(self._expiry) + len(keys) > self._capacity:
            raise CallbackBusy("too many recent callbacks; retry later")
        for key in keys:
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))

    def release(self, keys: list[str]) -> None:
        """Forget ``keys`` (their callback was not carried out, so the caller may send it again)."""
        for key in keys:
            self._expiry.pop(key, None)
