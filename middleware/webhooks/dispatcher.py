"""Delivery of outbox entries: asyncio, aiohttp, bounded concurrency, backoff from the retry policy.

The dispatcher POSTs every due outbox entry to its subscription's URL with the body
signed by the subscription's secret (``signing.sign``) and these headers::

    Content-Type: application/json
    X-CMT-Signature: t=<unix seconds>,v1=<hex>
    X-CMT-Idempotency-Key: 0x<tx hash>-<log index>
    X-CMT-Delivery-Attempt: <1, 2, ...>

A 2xx answer acknowledges the entry, which leaves the outbox. Anything else (another
status, a refused connection, a timeout) counts a failed attempt and reschedules it.
At most ``max_concurrency`` deliveries are in flight; each entry has at most one.
Entries are durable, so a restarted node resumes where it stopped: delivery is
at-least-once, and a receiver sees a body twice only when an attempt was not
acknowledged (deduplicate on the idempotency key). The wall clock is used here, as
delivery never touches chain state.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiohttp

from middleware.webhooks.errors import OutboxError
from middleware.webhooks.outbox import Outbox, OutboxEntry
from middleware.webhooks.signing import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    sign,
)

log = logging.getLogger(__name__)

USER_AGENT = "cmnode-webhooks/1"
REMOVED = "subscription removed"


def wall_clock_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class DeliveryDispatcher:
    """POSTs due outbox entries until stopped; ``secret_of(subscription id)`` signs (None: removed)."""

    def __init__(self, outbox: Outbox, secret_of: Callable[[str], bytes | None], *, max_concurrency: int = 4,
                 timeout_seconds: float = 10.0, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._outbox = outbox
        self._secret_of = secret_of
        self._max_concurrency = max_concurrency
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock_ms = clock_ms
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.delivered = 0  # acknowledged deliveries since start (monitoring)
        self.failed_attempts = 0  # attempts that failed and were rescheduled or dead-lettered

    def notify(self) -> None:
        """New entries may be due: wake the dispatcher (safe from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        """Deliver until ``stop``; deliveries in flight at that moment are cancelled (and retried later)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        async with aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT}) as session:
            try:
                while not self._stopping:
                    self._start_due(session)
                    await self._sleep()
            finally:
                for task in list(self._in_flight.values()):
                    task.cancel()
                for task in list(self._in_flight.values()):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def stop(self) -> None:
        """Ask ``run`` to return."""
        self._stopping = True
        self.notify()

    def _start_due(self, session: aiohttp.ClientSession) -> None:
        free = self._max_concurrency - len(self._in_flight)
        if free <= 0:
            return
        for entry in self._outbox.due(self._clock_ms(), exclude=self._in_flight, limit=free):
            self._in_flight[entry.sequence] = asyncio.create_task(self._deliver(session, entry))

    async def _sleep(self) -> None:
        assert self._wake is not None
        timeout: float | None = None
        if len(self._in_flight) < self._max_concurrency:
            due = self._outbox.next_attempt_ms(exclude=self._in_flight)
            if due is not None:
                timeout = max(0.0, (due - self._clock_ms()) / 1000)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _deliver(self, session: aiohttp.ClientSession, entry: OutboxEntry) -> None:
        try:
            error = await self._post(session, entry)
            self._settle(entry, error)
        finally:
            self._in_flight.pop(entry.sequence, None)
            if self._wake is not None:
                self._wake.set()

    async def _post(self, session: aiohttp.ClientSession, entry: OutboxEntry) -> str | None:
        """POST one entry; None when acknowledged, else why not."""
        delivery = entry.delivery
        secret = self._secret_of(delivery.subscription_id)
        if secret is None:
            return REMOVED
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, self._clock_ms() // 1000, delivery.body),
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            ATTEMPT_HEADER: str(entry.attempts + 1),
        }
        try:
            async with session.post(delivery.url, data=delivery.body, headers=headers,
                                    allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except TimeoutError:
            return "timed out"
        except (aiohttp.ClientError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"

    def _settle(self, entry: OutboxEntry, error: str | None) -> None:
        key = entry.delivery.idempotency_key
        try:
            if error is None:
                self._outbox.acknowledge(entry.sequence)
                self.delivered += 1
                log.debug("webhook %s delivered to %s", key, entry.delivery.subscription_id)
            elif error == REMOVED:
                self._outbox.discard_subscription(entry.delivery.subscription_id)
            else:
                updated = self._outbox.record_failure(entry.sequence, self._clock_ms(), error)
                self.failed_attempts += 1
                log.info("webhook %s to %s failed (attempt %d): %s", key, entry.delivery.subscription_id,
                         updated.attempts, error)
        except OutboxError as exc:  # the entry was discarded meanwhile (subscription removed)
            log.debug("webhook %s settled after removal: %s", key, exc)
