"""Simulated time and network: one event queue, seeded delays, drops, reordering, partitions, crashes.

All randomness comes from the ``random.Random`` handed in, and simultaneous
events run in scheduling order, so a seed determines a run completely.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Deliver = Callable[[int, object], None]
"""Delivery of a message to a node: ``deliver(sender, message)``."""

MessageFilter = Callable[[int, int, object, int], bool]
"""``keep(sender, receiver, message, now_ms)``: False drops the message (targeted scenarios)."""


class Clock:
    """Simulated milliseconds and the queue of things to happen."""

    def __init__(self) -> None:
        self.now_ms = 0
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = 0

    def schedule(self, delay_ms: int, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay_ms`` from now."""
        self._sequence += 1
        heapq.heappush(self._queue, (self.now_ms + max(0, delay_ms), self._sequence, action))

    def run_until(self, deadline_ms: int, done: Callable[[], bool]) -> None:
        """Run queued actions in time order until ``done()`` or the deadline."""
        while self._queue and not done():
            at, _, action = self._queue[0]
            if at > deadline_ms:
                break
            heapq.heappop(self._queue)
            self.now_ms = at
            action()
        if not done():
            self.now_ms = max(self.now_ms, deadline_ms)


@dataclass(frozen=True)
class Partition:
    """Between ``start_ms`` and ``heal_ms`` only nodes of the same group reach each other."""

    start_ms: int
    heal_ms: int
    groups: tuple[frozenset[int], ...]

    def separates(self, a: int, b: int, now_ms: int) -> bool:
        """Whether a message from ``a`` to ``b`` is cut at ``now_ms``."""
        if not self.start_ms <= now_ms < self.heal_ms:
            return False
        return not any(a in group and b in group for group in self.groups)


@dataclass
class NetworkConditions:
    """Message delay range (uniform), drop probability, partitions, and a targeted filter."""

    min_delay_ms: int = 5
    max_delay_ms: int = 40
    drop_rate_percent: int = 0
    partitions: Sequence[Partition] = ()
    keep: MessageFilter | None = None
    lossy_until_ms: int = 0
    """Drops happen only before this time (the network stabilises after it); 0 means never drop."""


@dataclass
class Network:
    """Delivers messages between nodes with the given conditions; nodes that are down receive nothing."""

    clock: Clock
    rng: random.Random
    conditions: NetworkConditions
    deliver: dict[int, Deliver] = field(default_factory=dict)
    down: set[int] = field(default_factory=set)
    sent: int = 0

    def send(self, sender: int, receiver: int, message: object) -> None:
        """Send one message; it may be delayed, reordered (independent delays) or dropped."""
        now = self.clock.now_ms
        conditions = self.conditions
        if sender in self.down or any(p.separates(sender, receiver, now) for p in conditions.partitions):
            return
        if conditions.keep is not None and not conditions.keep(sender, receiver, message, now):
            return
        if now < conditions.lossy_until_ms and self.rng.randrange(100) < conditions.drop_rate_percent:
            return
        self.sent += 1
        delay = self.rng.randint(conditions.min_delay_ms, conditions.max_delay_ms)
        self.clock.schedule(delay, lambda: self._arrive(sender, receiver, message))

    def _arrive(self, sender: int, receiver: int, message: object) -> None:
        if receiver in self.down:
            return
        if any(p.separates(sender, receiver, self.clock.now_ms) for p in self.conditions.partitions):
            return
        self.deliver[receiver](sender, message)

    def broadcast(self, sender: int, receivers: Sequence[int], message: object) -> None:
        """Send ``message`` to each of ``receivers`` except the sender."""
        for receiver in receivers:
            if receiver != sender:
                self.send(sender, receiver, message)
