"""The persistent outbox: deliveries waiting to be acknowledged, and the dead letters.

Deliveries are appended when a block commits, together with the height they come from
(the *cursor*), in one atomic write of the ``OutboxStore``: after a crash the node
re-scans the blocks after the cursor, so nothing committed is lost and nothing is
appended twice. An entry leaves the outbox when its receiver acknowledges it (2xx);
a failed attempt is counted and rescheduled by the ``RetryPolicy``; an entry that
exhausts its attempts moves to the dead-letter list, from where an operator may
retry it.

Bounds: at most ``max_pending`` entries wait. When the outbox is full a new delivery
goes straight to the dead letters (reason ``outbox full``) instead of blocking the
chain; at most ``max_dead`` dead letters are kept, the oldest dropped first (and logged).

Entries are numbered by a sequence that only grows; pending entries are delivered in
order of their next attempt time, then sequence.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from middleware.webhooks.errors import OutboxError
from middleware.webhooks.retry import RetryPolicy

log = logging.getLogger(__name__)

OUTBOX_FULL = "outbox full"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Delivery:
    """A body to POST to a subscription's URL."""

    subscription_id: str
    url: str
    idempotency_key: str
    body: bytes


@dataclass(frozen=True)
class OutboxEntry:
    """A delivery in the outbox: its number, attempts so far and when to try next (ms since the epoch)."""

    sequence: int
    delivery: Delivery
    attempts: int = 0
    next_attempt_ms: int = 0
    last_error: str = ""

    def encode(self) -> bytes:
        """The stored record (JSON; the body is ASCII JSON itself)."""
        return json.dumps({
            "subscription": self.delivery.subscription_id, "url": self.delivery.url,
            "key": self.delivery.idempotency_key, "body": self.delivery.body.decode("ascii"),
            "attempts": self.attempts, "next": self.next_attempt_ms, "error": self.last_error,
        }, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, sequence: int, record: bytes) -> OutboxEntry:
        """Inverse of ``encode``; ``OutboxError`` for a corrupt record."""
        try:
            item = json.loads(record)
            return cls(
                sequence,
                Delivery(str(item["subscription"]), str(item["url"]), str(item["key"]), item["body"].encode("ascii")),
                int(item["attempts"]), int(item["next"]), str(item["error"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OutboxError(f"outbox record {sequence} is corrupt: {exc}") from None

    def describe(self) -> dict[str, object]:
        """The entry as JSON for operators (without the body)."""
        return {
            "sequence": self.sequence, "subscription": self.delivery.subscription_id, "url": self.delivery.url,
            "idempotencyKey": self.delivery.idempotency_key, "attempts": self.attempts,
            "nextAttemptMs": self.next_attempt_ms, "lastError": self.last_error,
        }


@dataclass(frozen=True)
class OutboxSnapshot:
    """What an ``OutboxStore`` holds: pending and dead records by sequence, cursor and next sequence."""

    pending: Sequence[tuple[int, bytes]] = ()
    dead: Sequence[tuple[int, bytes]] = ()
    cursor: int | None = None
    next_sequence: int = 1


@dataclass
class OutboxChange:
    """One atomic change of an ``OutboxStore``."""

    put_pending: dict[int, bytes] = field(default_factory=dict)
    delete_pending: list[int] = field(default_factory=list)
    put_dead: dict[int, bytes] = field(default_factory=dict)
    delete_dead: list[int] = field(default_factory=list)
    position: tuple[int, int] | None = None  # new (cursor, next sequence); None: unchanged


class OutboxStore(Protocol):
    """Durable storage of the outbox (the node keeps it in its LevelDB)."""

    def load(self) -> OutboxSnapshot:
        """Everything stored, records in sequence order."""

    def apply(self, change: OutboxChange) -> None:
        """Apply ``change`` atomically: all of it survives a crash, or none of it."""


class Outbox:
    """Pending deliveries and dead letters over an ``OutboxStore`` (thread-safe)."""

    def __init__(self, store: OutboxStore, policy: RetryPolicy, *, max_pending: int = 10_000,
                 max_dead: int = 10_000) -> None:
        if max_pending < 1 or max_dead < 1:
            raise OutboxError("outbox bounds must be positive")
        self._store = store
        self._policy = policy
        self._max_pending = max_pending
        self._max_dead = max_dead
        self._lock = threading.Lock()
        snapshot = store.load()
        self._pending = {seq: OutboxEntry.decode(seq, record) for seq, record in snapshot.pending}
        self._dead = {seq: OutboxEntry.decode(seq, record) for seq, record in snapshot.dead}
        self._cursor = snapshot.cursor
        self._next_sequence = snapshot.next_sequence

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of failed attempts."""
        return self._policy

    @property
    def cursor(self) -> int | None:
        """The last block height whose logs were appended (None before the first)."""
        return self._cursor

    def append(self, deliveries: Sequence[Delivery], height: int, now_ms: int) -> list[OutboxEntry]:
        """Add ``deliveries`` (from block ``height``) and advance the cursor, atomically; returns them."""
        with self._lock:
            if self._cursor is not None and height <= self._cursor:
                raise OutboxError(f"block {height} was already appended (cursor at {self._cursor})")
            change = OutboxChange()
            added: list[OutboxEntry] = []
            sequence = self._next_sequence
            pending = dict(self._pending)
            dead = dict(self._dead)
            for delivery in deliveries:
                entry = OutboxEntry(sequence, delivery, next_attempt_ms=now_ms)
                sequence += 1
                if len(pending) < self._max_pending:
                    pending[entry.sequence] = entry
                    change.put_pending[entry.sequence] = entry.encode()
                    added.append(entry)
                else:
                    log.warning("webhook outbox full: delivery %s to %s goes to the dead letters",
                                delivery.idempotency_key, delivery.subscription_id)
                    self._bury(replace(entry, last_error=OUTBOX_FULL), dead, change)
            change.position = (height, sequence)
            self._store.apply(change)
            self._pending, self._dead = pending, dead
            self._cursor, self._next_sequence = height, sequence
            return added

    def _bury(self, entry: OutboxEntry, dead: dict[int, OutboxEntry], change: OutboxChange) -> None:
        """Add ``entry`` to ``dead`` (and ``change``), dropping the oldest dead letters beyond the bound."""
        dead[entry.sequence] = entry
        change.put_dead[entry.sequence] = entry.encode()
        while len(dead) > self._max_dead:
            oldest = min(dead)
            log.warning("webhook dead-letter list full: dropping %s", dead[oldest].delivery.idempotency_key)
            del dead[oldest]
            change.put_dead.pop(oldest, None)
            change.delete_dead.append(oldest)

    def pending(self) -> list[OutboxEntry]:
        """Pending entries in sequence order."""
        with self._lock:
            return [self._pending[seq] for seq in sorted(self._pending)]

    def dead_letters(self) -> list[OutboxEntry]:
        """Dead letters in sequence order."""
        with self._lock:
            return [self._dead[seq] for seq in sorted(self._dead)]

    def pending_count(self) -> int:
        """How many entries are pending."""
        return len(self._pending)

    def dead_count(self) -> int:
        """How many dead letters are kept."""
        return len(self._dead)

    def due(self, now_ms: int, exclude: Iterable[int] = (), limit: int = 100) -> list[OutboxEntry]:
        """Pending entries whose next attempt is due, earliest first, skipping ``exclude`` (in flight)."""
        skip = set(exclude)
        with self._lock:
            ready = [e for e in self._pending.values() if e.next_attempt_ms <= now_ms and e.sequence not in skip]
        return sorted(ready, key=lambda e: (e.next_attempt_ms, e.sequence))[:limit]

    def next_attempt_ms(self, exclude: Iterable[int] = ()) -> int | None:
        """When the earliest pending entry not in ``exclude`` is due (None if there is none)."""
        skip = set(exclude)
        with self._lock:
            times = [e.next_attempt_ms for e in self._pending.values() if e.sequence not in skip]
        return min(times) if times else None

    def acknowledge(self, sequence: int) -> None:
        """The receiver acknowledged entry ``sequence``: remove it."""
        with self._lock:
            if sequence not in self._pending:
                raise OutboxError(f"no pending delivery {sequence}")
            self._store.apply(OutboxChange(delete_pending=[sequence]))
            del self._pending[sequence]

    def record_failure(self, sequence: int, now_ms: int, error: str) -> OutboxEntry:
        """Count a failed attempt: reschedule the entry, or move it to the dead letters when exhausted."""
        with self._lock:
            entry = self._pending.get(sequence)
            if entry is None:
                raise OutboxError(f"no pending delivery {sequence}")
            attempts = entry.attempts + 1
            updated = replace(entry, attempts=attempts, last_error=error[:MAX_ERROR_LENGTH],
                              next_attempt_ms=now_ms + self._policy.delay_ms(attempts))
            change = OutboxChange()
            pending = dict(self._pending)
            dead = dict(self._dead)
            if self._policy.exhausted(attempts):
                del pending[sequence]
                change.delete_pending.append(sequence)
                self._bury(updated, dead, change)
            else:
                pending[sequence] = updated
                change.put_pending[sequence] = updated.encode()
            self._store.apply(change)
            self._pending, self._dead = pending, dead
            return updated

    def retry_dead(self, sequence: int, now_ms: int) -> OutboxEntry:
        """Move dead letter ``sequence`` back to the pending entries, due now, with its attempts reset."""
        with self._lock:
            entry = self._dead.get(sequence)
            if entry is None:
                raise OutboxError(f"no dead letter {sequence}")
            if len(self._pending) >= self._max_pending:
                raise OutboxError(f"outbox full ({self._max_pending} pending deliveries)")
            revived = replace(entry, attempts=0, next_attempt_ms=now_ms, last_error="")
            self._store.apply(OutboxChange(put_pending={sequence: revived.encode()}, delete_dead=[sequence]))
            del self._dead[sequence]
            self._pending[sequence] = revived
            return revived

    def discard_subscription(self, subscription_id: str) -> int:
        """Drop the pending entries and dead letters of a removed subscription; returns how many."""
        with self._lock:
            pending = sorted(s for s, e in self._pending.items() if e.delivery.subscription_id == subscription_id)
            dead = sorted(s for s, e in self._dead.items() if e.delivery.subscription_id == subscription_id)
            if pending or dead:
                self._store.apply(OutboxChange(delete_pending=pending, delete_dead=dead))
            for seq in pending:
                del self._pending[seq]
            for seq in dead:
                del self._dead[seq]
            return len(pending) + len(dead)
