"""A token bucket on the event loop's clock, used to throttle sends and police receives."""
from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, refilled up to ``burst``; consumption may run into debt.

    ``refill_busy`` refills for the time since the last call without the burst
    cap (up to ``burst + max_credit``): a receiver calls it after time spent
    busy, during which an honest sender's messages piled up in the socket
    buffers through no fault of the sender.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], max_credit: float = 0.0) -> None:
        self._rate = rate
        self._burst = burst
        self._ceiling = burst + max_credit
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def _refill(self, ceiling: float) -> None:
        now = self._clock()
        if self._tokens < ceiling:
            self._tokens = min(ceiling, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def consume(self, amount: float) -> float:
        """Take ``amount`` tokens; returns how many seconds to wait before the balance is non-negative again."""
        self._refill(self._burst)
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def refill_busy(self) -> None:
        """Refill for the time since the last call, beyond the burst if need be, up to the credit ceiling."""
        self._refill(self._ceiling)
