"""Consensus and block-sync gossip over the p2p channels.

``ConsensusGossip`` carries proposals (data channel) and votes (vote channel)
between drivers. Every message of the height in progress is kept (bounded)
and sent again to each peer every ``regossip_seconds`` and to every peer that
connects, so a peer that missed messages (drops, a partition that healed, a
restart) still completes the round: this is the catch-up of the votes of
earlier rounds, done by re-sending rather than by tracking each peer's state.

``BlockSyncService`` answers peers' block-sync requests from the chain store
and, whenever peers report heights at least ``lag_threshold`` above this node,
fetches the missing blocks through a ``BlockSyncPool`` (which verifies their
commits) and hands them to ``apply`` in order.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Protocol

from consensus.blocksync import (
    BlockRequest,
    BlockResponse,
    BlockSource,
    BlockSyncDecodeError,
    BlockSyncPool,
    NoBlockResponse,
    StatusRequest,
    StatusResponse,
    answer_request,
)
from consensus.blocksync import decode_message as decode_sync_message
from consensus.blocksync import encode_message as encode_sync_message
from consensus.messages import Message, Proposal, encode_message
from consensus.types import Block, Commit
from consensus.validators import ValidatorSet
from p2p.channels import (
    BLOCKSYNC_CHANNEL,
    CONSENSUS_DATA_CHANNEL,
    CONSENSUS_VOTE_CHANNEL,
    EVIDENCE_CHANNEL,
)

log = logging.getLogger(__name__)

MAX_KEPT_MESSAGES = 512
REGOSSIP_SECONDS = 1.0
STATUS_SECONDS = 1.0
SYNC_TICK_SECONDS = 0.05


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
        self._task: asyncio.Task[None] | None = None

    def attach(self, sink: MessageSink) -> None:
        """Deliver received messages to ``sink``."""
        self._sink = sink

    def broadcast_message(self, message: Message) -> None:
        """Gossip a proposal or vote now, and keep it for re-gossip while its height is in progress."""
        payload = encode_message(message)
        channel = _channel_of(message)
        if message.height > self._height:
            self._height = message.height
            self._kept = []
        if message.height == self._height and len(self._kept) < MAX_KEPT_MESSAGES:
            self._kept.append((channel, payload))
        self._network.broadcast(channel, payload)

    def broadcast_evidence(self, payload: bytes) -> None:
        """Gossip encoded evidence (on the evidence channel)."""
        self._evidence.broadcast(payload)

    def _send_kept(self, peer_id: str) -> None:
        for channel, payload in self._kept:
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
        """Nothing kept per peer."""


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


class BlockSyncService:
    """Handler of the block-sync channel: serves blocks and catches this node up when it is behind."""

    def __init__(
        self,
        network: Network,
        source: BlockSource,
        chain_id: int,
        validators_at: Callable[[int], ValidatorSet],
        apply: Callable[[Block, Commit], Awaitable[None]],
        lag_threshold: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._network = network
        self._source = source
        self._chain_id = chain_id
        self._validators_at = validators_at
        self._apply = apply
        self._lag_threshold = lag_threshold
        self._clock = clock
        self._peer_heights: dict[str, tuple[int, int]] = {}
        self._pool: BlockSyncPool | None = None
        self._started_ms = self._now_ms()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def set_apply(self, apply: Callable[[Block, Commit], Awaitable[None]]) -> None:
        """Change where fetched blocks go (the application first, the consensus driver later)."""
        self._apply = apply

    @property
    def max_peer_height(self) -> int:
        """The highest committed height a peer reported, -1 if none did."""
        return max((height for _, height in self._peer_heights.values()), default=-1)

    def caught_up(self, grace_ms: int) -> bool:
        """Whether no peer is ``lag_threshold`` heights ahead (after ``grace_ms`` for statuses to arrive)."""
        if self._now_ms() - self._started_ms < grace_ms:
            return False
        return self.max_peer_height < self._source.latest_height() + self._lag_threshold

    # -- the channel ---------------------------------------------------------------

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Answer requests; record statuses; pass blocks to the pool."""
        try:
            message = decode_sync_message(payload)
        except BlockSyncDecodeError as exc:
            self._network.report_misbehavior(peer_id, f"malformed block-sync message: {exc}")
            return
        if isinstance(message, (StatusRequest, BlockRequest)):
            answer = answer_request(message, self._source)
            self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_sync_message(answer))
        elif isinstance(message, StatusResponse):
            self._peer_heights[peer_id] = (message.base, message.height)
            if self._pool is not None:
                self._report(self._pool.set_peer_range(peer_id, message.base, message.height))
        elif isinstance(message, BlockResponse) and self._pool is not None:
            self._report(self._pool.add_block(peer_id, message.block, message.commit))
        elif isinstance(message, NoBlockResponse) and self._pool is not None:
            self._report(self._pool.no_block(peer_id, message.height))

    def peer_added(self, peer_id: str) -> None:
        """Ask a new peer for its status."""
        self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_sync_message(StatusRequest()))

    def peer_removed(self, peer_id: str) -> None:
        """Forget a peer."""
        self._peer_heights.pop(peer_id, None)
        if self._pool is not None:
            self._pool.remove_peer(peer_id)

    def _report(self, misbehaviour: object) -> None:
        if misbehaviour is not None:
            self._network.report_misbehavior(misbehaviour.peer_id, misbehaviour.reason)  # type: ignore[attr-defined]

    # -- catching up ---------------------------------------------------------------

    async def run(self) -> None:
        """Ask peers for their status every second; fetch and apply blocks while behind."""
        last_status = 0.0
        while True:
            now = self._clock()
            if now - last_status >= STATUS_SECONDS:
                last_status = now
                self._network.broadcast(BLOCKSYNC_CHANNEL, encode_sync_message(StatusRequest()))
            await self._sync_step()
            await asyncio.sleep(SYNC_TICK_SECONDS)

    async def _sync_step(self) -> None:
        latest = self._source.latest_height()
        if self.max_peer_height < latest + self._lag_threshold:
            self._pool = None
            return
        if self._pool is None or self._pool.height != latest + 1:
            parent = self._source.get_block_by_number(latest)
            if parent is None:
                return  # the store is between writes of its latest block; try on the next tick
            self._pool = BlockSyncPool(
                latest + 1, parent.hash, chain_id=self._chain_id, validators_at=self._validators_at,
                now_ms=self._now_ms(),
            )
            for peer_id, (base, height) in sorted(self._peer_heights.items()):
                self._report(self._pool.set_peer_range(peer_id, base, height))
        for peer_id, height in self._pool.next_requests(self._now_ms()):
            self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_sync_message(BlockRequest(height)))
        ready = self._pool.next_to_apply()
        while ready is not None:
            block, commit = ready
            await self._apply(block, commit)
            ready = self._pool.next_to_apply() if self._pool is not None else None
        for misbehaviour in self._pool.take_misbehaviours() if self._pool is not None else []:
            self._report(misbehaviour)
