"""Consensus gossip over the p2p channels.

``ConsensusGossip`` carries proposals (data channel) and votes (vote channel)
between drivers. Every message of the height in progress is kept (bounded)
and sent again to each peer every ``regossip_seconds`` and to every peer that
connects, so a peer that missed messages (drops, a partition that healed, a
restart) still completes the round: this is the catch-up of the votes of
earlier rounds, done by re-sending rather than by tracking each peer's state.
The messages of the height before are kept too and sent to a peer whose own
messages show it still on that height: a peer cut off (a partition) while the
others committed lacks the precommits that committed it, and block sync only
starts two heights behind.
``EvidenceGossip`` relays double-sign evidence on the evidence channel.
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from consensus.messages import Message, Proposal, encode_message
from p2p.channels import (
    CONSENSUS_DATA_CHANNEL,
    CONSENSUS_VOTE_CHANNEL,
    EVIDENCE_CHANNEL,
)

MAX_KEPT_MESSAGES = 512
REGOSSIP_SECONDS = 1.0


class Network(Protocol):
    """The part of the p2p node the reactors use."""

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        """Queue ``payload`` for one peer; False if its queue is full."""
        ...

    def broadcast(self, channel_id: int, payload: bytes) -> int:
        """Queue ``payload`` for every peer."""
        ...

    def connected_ids(self) -> list[str]:
        """Ids of connected peers."""
        ...

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        """Disconnect and ban a peer."""
        ...


class MessageSink(Protocol):
    """Where received consensus messages go (the driver)."""

    def deliver(self, payload: bytes, peer_id: str) -> None:
        """Handle a consensus message from a peer."""
        ...


def _channel_of(message: Message) -> int:
    return CONSENSUS_DATA_CHANNEL if isinstance(message, Proposal) else CONSENSUS_VOTE_CHANNEL


class ConsensusGossip:
    """Handler of the consensus data and vote channels; the driver's ``ConsensusNetwork``."""

    def __init__(self, network: Network, evidence: EvidenceGossip) -> None:
        self._network = network
        self._evidence = evidence
        self._sink: MessageSink | None = None
        self._height = 0
        self._kept: list[tuple[int, bytes]] = []
        self._previous: list[tuple[int, bytes]] = []  # of height ``_height - 1``
        self._caught_up_at: dict[str, float] = {}  # peer -> loop time of its last catch-up
        self._task: asyncio.Task[None] | None = None

    def attach(self, sink: MessageSink) -> None:
        """Deliver received messages to ``sink``."""
        self._sink = sink

    def broadcast_message(self, message: Message) -> None:
        """Gossip a proposal or vote now, and keep it for re-gossip while its height is in progress."""
        payload = encode_message(message)
        channel = _channel_of(message)
        if message.height > self._height:
            self._previous = self._kept if message.height == self._height + 1 else []
            self._height = message.height
            self._kept = []
            self._caught_up_at.clear()
        if message.height == self._height and len(self._kept) < MAX_KEPT_MESSAGES:
            self._kept.append((channel, payload))
        self._network.broadcast(channel, payload)

    def broadcast_evidence(self, payload: bytes) -> None:
        """Gossip encoded evidence (on the evidence channel)."""
        self._evidence.broadcast(payload)

    def peer_behind(self, peer_id: str, height: int) -> None:
        """Send ``peer_id``, one height behind, this node's messages of that height (at most once a period)."""
        if height != self._height - 1 or not self._previous:
            return
        now = asyncio.get_running_loop().time()
        if now - self._caught_up_at.get(peer_id, -REGOSSIP_SECONDS) < REGOSSIP_SECONDS:
            return
        self._caught_up_at[peer_id] = now
        self._send(peer_id, self._previous)

    def _send_kept(self, peer_id: str) -> None:
        self._send(peer_id, self._kept)

    def _send(self, peer_id: str, messages: list[tuple[int, bytes]]) -> None:
        for channel, payload in messages:
            if not self._network.send(peer_id, channel, payload):
                return

    async def regossip(self) -> None:
        """Re-send the messages of the height in progress to every peer, every ``REGOSSIP_SECONDS``."""
        while True:
            await asyncio.sleep(REGOSSIP_SECONDS)
            for peer_id in self._network.connected_ids():
                self._send_kept(peer_id)

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """A proposal or vote from a peer."""
        if self._sink is not None:
            self._sink.deliver(payload, peer_id)

    def peer_added(self, peer_id: str) -> None:
        """Bring a new peer up to date with the height in progress."""
        self._send_kept(peer_id)

    def peer_removed(self, peer_id: str) -> None:
        """Forget when the peer was last caught up."""
        self._caught_up_at.pop(peer_id, None)


class EvidenceSink(Protocol):
    """Where gossiped evidence goes (the driver)."""

    def deliver_evidence(self, payload: bytes, peer_id: str) -> None:
        """Handle encoded evidence from a peer."""
        ...


class EvidenceGossip:
    """Handler of the evidence channel."""

    def __init__(self, network: Network) -> None:
        self._network = network
        self._sink: EvidenceSink | None = None

    def attach(self, sink: EvidenceSink) -> None:
        """Deliver received evidence to ``sink``."""
        self._sink = sink

    def broadcast(self, payload: bytes) -> None:
        """Gossip encoded evidence to every peer."""
        self._network.broadcast(EVIDENCE_CHANNEL, payload)

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Evidence from a peer."""
        if self._sink is not None:
            self._sink.deliver_evidence(payload, peer_id)

    def peer_added(self, peer_id: str) -> None:
        """Nothing to do."""

    def peer_removed(self, peer_id: str) -> None:
        """Nothing to do."""

