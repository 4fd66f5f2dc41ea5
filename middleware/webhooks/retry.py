"""When a failed delivery is tried again: exponential backoff with a cap, then the dead-letter list."""
from __future__ import annotations

from dataclasses import dataclass

from middleware.webhooks.errors import WebhookError


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt ``n`` (1-based) that fails waits ``min(max_delay_ms, initial_delay_ms * 2**(n-1))``.

    After ``max_attempts`` failed attempts the delivery becomes a dead letter. The
    defaults retry after 1 s, 2 s, 4 s, ... 256 s and give up after the tenth attempt
    (about 8.5 minutes after the first).
    """

    max_attempts: int = 10
    initial_delay_ms: int = 1_000
    max_delay_ms: int = 600_000

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_delay_ms < 1 or self.max_delay_ms < self.initial_delay_ms:
            raise WebhookError("retry policy: need max_attempts >= 1 and 1 <= initial_delay_ms <= max_delay_ms")

    def delay_ms(self, attempts: int) -> int:
        """The wait after ``attempts`` failed attempts (``attempts`` >= 1)."""
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 ms is beyond any cap; keeps the integer small
        return min(self.max_delay_ms, self.initial_delay_ms << exponent)

    def exhausted(self, attempts: int) -> bool:
        """Whether a delivery that failed ``attempts`` times goes to the dead letters."""
        return attempts >= self.max_attempts
