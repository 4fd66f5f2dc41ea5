"""Bounded tables of temporarily banned keys (node ids or source addresses) and of strikes against them."""
from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable


class BanList:
    """Keys banned until a deadline on ``clock``; holds at most ``capacity`` entries."""

    def __init__(self, capacity: int, clock: Callable[[], float]) -> None:
        self._capacity = capacity
        self._clock = clock
        self._until: dict[str, tuple[float, str]] = {}

    def ban(self, key: str, seconds: float, reason: str) -> None:
        """Ban ``key`` for ``seconds`` (extending, never shortening, an existing ban)."""
        now = self._clock()
        until = now + seconds
        current = self._until.get(key)
        if current is not None and current[0] >= until:
            return
        self._until[key] = (until, reason)
        if len(self._until) > self._capacity:
            self._prune(now)
        if len(self._until) > self._capacity:
            soonest = min(self._until, key=lambda k: self._until[k][0])
            del self._until[soonest]

    def _prune(self, now: float) -> None:
        for key in [k for k, (until, _) in self._until.items() if until <= now]:
            del self._until[key]

    def remaining(self, key: str) -> float:
        """Seconds left on ``key``'s ban (0 if it is not banned)."""
        entry = self._until.get(key)
        if entry is None:
            return 0.0
        left = entry[0] - self._clock()
        if left <= 0:
            del self._until[key]
            return 0.0
        return left

    def is_banned(self, key: str) -> bool:
        """Whether ``key`` is currently banned."""
        return self.remaining(key) > 0

    def reason(self, key: str) -> str:
        """Why ``key`` is banned ("" if it is not)."""
        return self._until[key][1] if self.is_banned(key) else ""

    def snapshot(self) -> dict[str, tuple[float, str]]:
        """Current bans: key -> (seconds left, reason), in key order."""
        now = self._clock()
        self._prune(now)
        return {key: (until - now, reason) for key, (until, reason) in sorted(self._until.items())}


class StrikeCounter:
    """Strikes against keys within a sliding ``window`` of seconds on ``clock``; at most ``capacity`` keys.

    Only the latest ``threshold`` strikes of a key are kept (enough to tell whether
    the threshold is reached); when the table is full, the key struck least
    recently is forgotten.
    """

    def __init__(self, threshold: int, window: float, capacity: int, clock: Callable[[], float]) -> None:
        self._threshold = threshold
        self._window = window
        self._capacity = capacity
        self._clock = clock
        self._strikes: OrderedDict[str, deque[float]] = OrderedDict()

    def strike(self, key: str) -> bool:
        """Record a strike against ``key``; whether it now holds ``threshold`` strikes within the window.

        When it does, its strikes are cleared (the caller bans it).
        """
        times = self._strikes.pop(key, None) or deque(maxlen=self._threshold)
        times.append(self._clock())
        if self._within_window(times) >= self._threshold:
            return True
        self._strikes[key] = times
        if len(self._strikes) > self._capacity:
            self._strikes.popitem(last=False)
        return False

    def count(self, key: str) -> int:
        """How many strikes ``key`` holds within the window."""
        times = self._strikes.get(key)
        return 0 if times is None else self._within_window(times)

    def _within_window(self, times: deque[float]) -> int:
        since = self._clock() - self._window
        return sum(1 for stamp in times if stamp > since)
