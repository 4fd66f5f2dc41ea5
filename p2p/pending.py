"""The table of inbound connections still in their handshake, and who gives way when it is full (sans-IO).

A connection is pending from its accept until the peer is admitted (the
encrypted handshake and the node-info exchange), at most ``handshake_timeout``
seconds. Connections are counted per source (``address.source_of``: an IPv4
address, or an IPv6 /64 network; the node makes each loopback connection a
source of its own unless ``limit_loopback`` is set), and the rule is:

1. A source holds at most ``per_source`` pending connections; one more is refused.
2. While the table holds fewer than ``capacity`` connections, a new one enters.
3. When it is full, the victim source is the one holding the most pending
   connections (ties: the most strikes, then the oldest connection). If it holds
   more than the newcomer's source, its oldest pending connection is closed and
   the newcomer enters; otherwise the newcomer is refused.

So one address renewing idle sockets holds at most ``per_source`` slots, and
when many addresses fill the table, a new address still gets in at the expense
of the largest holder: an honest peer is refused only when every source in the
table holds no more pending connections than its own.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from p2p.errors import PeerLimitReached


@dataclass(eq=False)
class PendingConnection:
    """One connection in its handshake: its source, when it arrived and how to close it."""

    source: str
    started: float
    close: Callable[[], None] = field(repr=False)


class PendingHandshakes:
    """Pending inbound connections, bounded in all and per source, with eviction by the rule above."""

    def __init__(self, capacity: int, per_source: int, clock: Callable[[], float],
                 strikes_of: Callable[[str], int]) -> None:
        self._capacity = capacity
        self._per_source = per_source
        self._clock = clock
        self._strikes_of = strikes_of
        self._by_source: dict[str, list[PendingConnection]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def count(self, source: str) -> int:
        """How many pending connections ``source`` holds."""
        return len(self._by_source.get(source, ()))

    def admit(self, source: str, close: Callable[[], None]) -> PendingConnection:
        """Enter a new connection from ``source`` (``close`` aborts it if it is evicted later).

        Raises ``PeerLimitReached`` if it is refused; may close another source's oldest
        pending connection to make room.
        """
        held = self.count(source)
        if held >= self._per_source:
            raise PeerLimitReached(f"{source} already has {held} handshakes in progress")
        if self._size >= self._capacity:
            victim = self._victim(source)
            if victim is None or self.count(victim.source) <= held:
                raise PeerLimitReached(f"{self._size} handshakes in progress, none from a larger holder than {source}")
            self.release(victim)
            victim.close()
        entry = PendingConnection(source, self._clock(), close)
        self._by_source.setdefault(source, []).append(entry)
        self._size += 1
        return entry

    def release(self, entry: PendingConnection) -> None:
        """Remove ``entry`` (its handshake ended one way or another); idempotent."""
        entries = self._by_source.get(entry.source)
        if entries is None or entry not in entries:
            return
        entries.remove(entry)
        self._size -= 1
        if not entries:
            del self._by_source[entry.source]

    def _victim(self, newcomer: str) -> PendingConnection | None:
        """The oldest pending connection of the largest (then most struck, then oldest) other source."""
        candidates = [entries for source, entries in self._by_source.items() if source != newcomer]
        if not candidates:
            return None
        largest = max(candidates, key=lambda entries: (len(entries), self._strikes_of(entries[0].source),
                                                       -entries[0].started))
        return largest[0]
