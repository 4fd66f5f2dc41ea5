"""A token bucket on the event loop's clock, used to throttle sends and police receives."""
from __future__ import annotations

from typing import Callable


class TokenBucket:
    """``rate`` tokens per second with a capacity of ``burst``; consumption may run into debt."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def consume(self, amount: float) -> float:
        """Take ``amount`` tokens; returns how many seconds to wait before the balance is non-negative again."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate
