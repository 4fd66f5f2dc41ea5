"""A bounded list of temporarily banned keys (node ids or IP addresses)."""
from __future__ import annotations

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
