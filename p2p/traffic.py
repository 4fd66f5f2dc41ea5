"""Counts of channel messages and payload bytes a p2p node sent and received, and of the bans it made.

Plain integers updated on the event loop; monitoring reads ``snapshot()``. The keys are bounded:
two directions times the registered channels.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChannelCount:
    """Messages and payload bytes of one direction ("sent" or "received") on one channel."""

    messages: int
    payload_bytes: int


@dataclass
class TrafficCounters:
    """Running totals since the node started."""

    bans: int = 0
    _channels: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def record(self, direction: str, channel_id: int, payload_bytes: int) -> None:
        """Count one message of ``payload_bytes`` on ``channel_id`` ("sent" or "received")."""
        entry = self._channels.setdefault((direction, channel_id), [0, 0])
        entry[0] += 1
        entry[1] += payload_bytes

    def snapshot(self) -> dict[tuple[str, int], ChannelCount]:
        """Totals by (direction, channel id)."""
        return {key: ChannelCount(messages, size) for key, (messages, size) in self._channels.items()}
