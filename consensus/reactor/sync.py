"""Block sync and state sync over the p2p block-sync channel.

``BlockSyncService`` answers peers' block-sync and state-sync requests from
the chain store and, whenever peers report heights at least ``lag_threshold``
above this node, fetches the missing blocks through a ``BlockSyncPool`` (which
verifies their commits) and hands them to ``apply`` in order.

Fast sync (given a ``FastSyncApp``): first the blocks up to a pivot,
``pivot_margin`` below the best peer's height, come with their receipts; the
application checks each block's payload (transactions and receipts against
the header), several blocks at a time in a pipeline, and stores them without
executing them. Then the state trie of the pivot is fetched through a
``StateSyncScheduler``, and the blocks after the pivot are synced as above,
re-executed. A sender whose payload fails the check is reported and the
blocks after the last stored one are fetched again.
"""
from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from consensus.blocksync import (
    BlockRequest,
    BlockResponse,
    BlockSource,
    BlockSyncDecodeError,
    BlockSyncPool,
    Misbehaviour,
    NoBlockResponse,
    StatusRequest,
    StatusResponse,
    SyncedBlock,
    answer_request,
)
from consensus.blocksync import decode_message as decode_sync_message
from consensus.blocksync import encode_message as encode_sync_message
from consensus.errors import InvalidBlock
from consensus.reactor.gossip import Network
from consensus.statesync import (
    STATE_SYNC_TAGS,
    FetchedNode,
    NodeDataRequest,
    NodeDataResponse,
    StateSyncDecodeError,
    StateSyncScheduler,
    answer_node_data,
)
from consensus.statesync import decode_message as decode_state_message
from consensus.statesync import encode_message as encode_state_message
from consensus.validators import ValidatorSet
from p2p.channels import (
    BLOCKSYNC_CHANNEL,
)

log = logging.getLogger(__name__)

STATUS_SECONDS = 1.0
SYNC_TICK_SECONDS = 0.05
DEFAULT_PIVOT_MARGIN = 2  # every node keeps all states, so the pivot can be close to the tip
PIPELINE_DEPTH = 32  # fast-synced blocks whose payload checks run at once
FSYNC_EVERY = 64  # fast-synced blocks per fsynced batch
PIVOT_GRACE_MS = 2_000  # how long to wait for a peer ahead before giving up on fast sync
MAX_STALE_REQUESTS = 1024  # requests of replaced pools whose answers are dropped without blame
DEFAULT_NODE_DATA_BYTES = 2 * 1024 * 1024


class FastSyncApp(Protocol):
    """The application side of fast sync: checks and stores blocks without executing them, and the state."""

    @property
    def root_tag(self) -> int:
        """The tag of a state root in the state-sync scheduler."""
        ...

    async def verify(self, synced: SyncedBlock) -> object:
        """Check a block's payload (transactions, receipts) against its header; ``InvalidBlock`` if it lies."""
        ...

    async def store(self, blocks: list[tuple[SyncedBlock, object]], durable: bool) -> None:
        """Store verified blocks (in order) with what ``verify`` returned for each; fsync the last if ``durable``."""
        ...

    def children(self, node: FetchedNode) -> list[tuple[bytes, int]]:
        """The records a fetched state record refers to, with their tags."""
        ...

    async def store_state(self, nodes: list[FetchedNode]) -> None:
        """Store fetched state records."""
        ...

    async def finish(self, pivot: int) -> None:
        """The state of block ``pivot`` is complete: record it and let the node execute from there."""
        ...


class ChainSource(BlockSource, Protocol):
    """What the service serves peers from (the chain store)."""

    def get_state_node(self, key: bytes) -> bytes | None:
        """A state record by its keccak hash."""
        ...

    def fast_sync_in_progress(self) -> bool:
        """Whether blocks were stored without state (fast sync must finish before anything else)."""
        ...


class SyncPhase(enum.Enum):
    """Where a syncing node is."""

    FAST_BLOCKS = "fast sync of blocks"
    STATE = "state sync"
    FULL = "full sync"


class BlockSyncService:
    """Handler of the block-sync channel: serves blocks and state, and catches this node up when it is behind."""

    def __init__(
        self,
        network: Network,
        source: ChainSource,
        chain_id: int,
        validators_at: Callable[[int], ValidatorSet],
        apply: Callable[[SyncedBlock], Awaitable[None]],
        lag_threshold: int = 2,
        clock: Callable[[], float] = time.monotonic,
        *,
        fast: FastSyncApp | None = None,
        pivot_margin: int = DEFAULT_PIVOT_MARGIN,
        max_message_bytes: int | None = None,
    ) -> None:
        """Serve and sync; with ``fast``, fast-sync first (``pivot_margin`` blocks below the best peer).

        ``max_message_bytes``: the largest message the network carries; a block
        response that would exceed it is answered as a missing block.
        """
        self._network = network
        self._source = source
        self._chain_id = chain_id
        self._validators_at = validators_at
        self._apply = apply
        self._lag_threshold = lag_threshold
        self._clock = clock
        self._fast = fast
        self._pivot_margin = pivot_margin
        self._max_message_bytes = max_message_bytes
        self._phase = SyncPhase.FULL if fast is None else SyncPhase.FAST_BLOCKS
        self._pivot: int | None = None
        self._peer_heights: dict[str, tuple[int, int]] = {}
        self._pool: BlockSyncPool | None = None
        self._stale: set[tuple[str, int]] = set()
        self._pipeline: deque[tuple[SyncedBlock, asyncio.Task[object]]] = deque()
        self._state: StateSyncScheduler | None = None
        self._fetched: list[FetchedNode] = []
        self._wake = asyncio.Event()  # set when a response arrives, to end the sync loop's idle wait early
        self._applying = asyncio.Lock()  # held while a block is applied; see ``hand_over``
        self._started_ms = self._now_ms()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def set_apply(self, apply: Callable[[SyncedBlock], Awaitable[None]]) -> None:
        """Change where fetched blocks go (the application first, the consensus driver later)."""
        self._apply = apply

    def hand_over(self) -> asyncio.Lock:
        """A lock to hold while consensus takes over: no block is being applied while it is held.

        The node holds it from reading the application's height to ``set_apply``,
        so a block applied by sync cannot slip in between and leave consensus one
        height behind the application.
        """
        return self._applying

    @property
    def phase(self) -> SyncPhase:
        """Fast sync of blocks, state sync, or full sync (also once caught up)."""
        return self._phase

    @property
    def pivot(self) -> int | None:
        """The fast-sync pivot once chosen."""
        return self._pivot

    @property
    def max_peer_height(self) -> int:
        """The highest committed height a peer reported, -1 if none did."""
        return max((height for _, height in self._peer_heights.values()), default=-1)

    def caught_up(self, grace_ms: int) -> bool:
        """Whether no peer is ``lag_threshold`` heights ahead (after ``grace_ms`` for statuses to arrive).

        A node that is caught up before fast sync started never fast-syncs afterwards.
        """
        if self._now_ms() - self._started_ms < grace_ms:
            return False
        if self._phase is SyncPhase.FAST_BLOCKS and self._pivot is None:
            ahead = self.max_peer_height >= self._source.latest_height() + self._lag_threshold
            if not ahead and not self._source.fast_sync_in_progress():
                self._phase = SyncPhase.FULL
        if self._phase is not SyncPhase.FULL:
            return False
        return self.max_peer_height < self._source.latest_height() + self._lag_threshold

    # -- the channel ---------------------------------------------------------------

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Answer requests; record statuses; pass blocks to the pool and state records to the scheduler."""
        if payload[:1] and payload[0] in STATE_SYNC_TAGS:
            self._receive_state(peer_id, payload)
            return
        try:
            message = decode_sync_message(payload)
        except BlockSyncDecodeError as exc:
            self._network.report_misbehavior(peer_id, f"malformed block-sync message: {exc}")
            return
        if isinstance(message, (StatusRequest, BlockRequest)):
            self._send(peer_id, answer_request(message, self._source), message)
        elif isinstance(message, StatusResponse):
            self._peer_heights[peer_id] = (message.base, message.height)
            if self._pool is not None:
                self._report(self._pool.set_peer_range(peer_id, message.base, message.height))
            if self._state is not None:
                self._state.add_peer(peer_id)
        elif isinstance(message, BlockResponse):
            if self._pool is not None and not self._is_stale(peer_id, message.block.number):
                self._report(self._pool.add_block(peer_id, message.block, message.commit, message.receipts,
                                                  message.next_validators))
                self._feed_pipeline()
                self._wake.set()
        elif (isinstance(message, NoBlockResponse) and self._pool is not None
              and not self._is_stale(peer_id, message.height)):
            self._report(self._pool.no_block(peer_id, message.height))

    def _is_stale(self, peer_id: str, height: int) -> bool:
        """Whether this answers a request of a replaced pool (dropped: the peer did nothing wrong).

        When the current pool asked the same peer for the same height, the first
        answer serves it and the second one is the stale one.
        """
        if (peer_id, height) not in self._stale:
            return False
        if self._pool is not None and self._pool.is_outstanding(peer_id, height):
            return False
        self._stale.discard((peer_id, height))
        return True

    def _drop_pool(self) -> None:
        """Forget the pool; answers to its outstanding requests will be dropped without blame."""
        if self._pool is not None:
            if len(self._stale) > MAX_STALE_REQUESTS:
                self._stale.clear()
            self._stale.update(self._pool.outstanding_requests())
        self._pool = None

    def _send(self, peer_id: str, answer: object, request: object) -> None:
        payload = encode_sync_message(answer)  # type: ignore[arg-type]
        if self._max_message_bytes is not None and len(payload) > self._max_message_bytes:
            assert isinstance(request, BlockRequest)
            payload = encode_sync_message(NoBlockResponse(request.height))
        self._network.send(peer_id, BLOCKSYNC_CHANNEL, payload)

    def _receive_state(self, peer_id: str, payload: bytes) -> None:
        try:
            message = decode_state_message(payload)
        except StateSyncDecodeError as exc:
            self._network.report_misbehavior(peer_id, f"malformed state-sync message: {exc}")
            return
        if isinstance(message, NodeDataRequest):
            limit = self._max_message_bytes or DEFAULT_NODE_DATA_BYTES
            answer = answer_node_data(message, self._source.get_state_node, limit // 2)
            self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_state_message(answer))
        elif isinstance(message, NodeDataResponse):
            if self._state is None:
                return  # an answer that arrives after the state was complete
            fetched, fault = self._state.on_response(peer_id, message)
            self._report(fault)
            self._fetched.extend(fetched)
            self._wake.set()

    def peer_added(self, peer_id: str) -> None:
        """Ask a new peer for its status."""
        self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_sync_message(StatusRequest()))

    def peer_removed(self, peer_id: str) -> None:
        """Forget a peer."""
        self._peer_heights.pop(peer_id, None)
        if self._pool is not None:
            self._pool.remove_peer(peer_id)
        if self._state is not None:
            self._state.remove_peer(peer_id)

    def _report(self, misbehaviour: Misbehaviour | None) -> None:
        if misbehaviour is not None:
            self._network.report_misbehavior(misbehaviour.peer_id, misbehaviour.reason)

    # -- catching up ---------------------------------------------------------------

    async def run(self) -> None:
        """Ask peers for their status every second; fetch and apply blocks (and state) while behind."""
        last_status = 0.0
        while True:
            now = self._clock()
            if now - last_status >= STATUS_SECONDS:
                last_status = now
                self._network.broadcast(BLOCKSYNC_CHANNEL, encode_sync_message(StatusRequest()))
            try:
                progressed = await self._step()
            except Exception:  # a failed step must not end syncing: log it, start the step over
                log.exception("block sync (%s) failed; retrying", self._phase.value)
                self._restart_fast_blocks()
                progressed = False
            if not progressed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), SYNC_TICK_SECONDS)
                self._wake.clear()

    async def _step(self) -> bool:
        if self._phase is SyncPhase.FAST_BLOCKS:
            return await self._fast_blocks_step()
        if self._phase is SyncPhase.STATE:
            return await self._state_step()
        return await self._sync_step()

    def _new_pool(self, latest: int, **options: object) -> BlockSyncPool | None:
        parent = self._source.get_block_by_number(latest)
        if parent is None:
            return None  # the store is between writes of its latest block; try on the next tick
        pool = BlockSyncPool(latest + 1, parent.hash, chain_id=self._chain_id, validators_at=self._validators_at,
                             now_ms=self._now_ms(), **options)  # type: ignore[arg-type]
        for peer_id, (base, height) in sorted(self._peer_heights.items()):
            self._report(pool.set_peer_range(peer_id, base, height))
        return pool

    def _send_block_requests(self, pool: BlockSyncPool) -> None:
        for peer_id, height in pool.next_requests(self._now_ms()):
            request = BlockRequest(height, with_receipts=pool.require_receipts)
            self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_sync_message(request))

    async def _sync_step(self) -> bool:
        """Full sync: fetch, verify and apply (re-execute) blocks while a peer is ahead."""
        latest = self._source.latest_height()
        if self.max_peer_height < latest + self._lag_threshold:
            self._drop_pool()
            return False
        if self._pool is None or self._pool.height != latest + 1:
            self._drop_pool()
            self._pool = self._new_pool(latest)
            if self._pool is None:
                return False
        self._send_block_requests(self._pool)
        applied = False
        ready = self._pool.next_to_apply()
        while ready is not None:
            async with self._applying:
                await self._apply(ready)
            applied = True
            ready = self._pool.next_to_apply() if self._pool is not None else None
        for misbehaviour in self._pool.take_misbehaviours() if self._pool is not None else []:
            self._report(misbehaviour)
        return applied

    # -- fast sync -------------------------------------------------------------------

    def _choose_pivot(self) -> bool:
        """Pick the pivot once a peer's status is known; without one worth fast-syncing to, go to full sync."""
        if self._pivot is not None:
            return True
        if not self._peer_heights:
            return False
        latest = self._source.latest_height()
        pivot = self.max_peer_height - self._pivot_margin
        if pivot <= latest and self._now_ms() - self._started_ms < PIVOT_GRACE_MS:
            return False  # nobody ahead yet: give the other peers' statuses time to arrive
        if pivot <= latest:
            if latest > 0:  # blocks stored without state earlier: fetch the state of the last one
                pivot = latest
            else:
                log.info("fast sync: the chain is too short to be worth it; full sync")
                self._phase = SyncPhase.FULL
                return False
        self._pivot = pivot
        log.info("fast sync: blocks %d..%d without execution, then the state at %d", latest + 1, pivot, pivot)
        return True

    async def _fast_blocks_step(self) -> bool:
        """Fetch blocks with receipts up to the pivot, check their payloads in a pipeline, store them in order."""
        assert self._fast is not None
        if not self._choose_pivot():
            return False
        assert self._pivot is not None
        latest = self._source.latest_height()
        if latest >= self._pivot and not self._pipeline:
            self._begin_state_sync()
            return True
        if self._pool is None:
            self._pool = self._new_pool(latest, require_receipts=True, stop_height=self._pivot)
            if self._pool is None:
                return False
        self._feed_pipeline()
        if not self._pipeline:
            return False
        await asyncio.wait([self._pipeline[0][1]], timeout=SYNC_TICK_SECONDS)
        checked: list[tuple[SyncedBlock, object]] = []
        while self._pipeline and self._pipeline[0][1].done():
            synced, check = self._pipeline.popleft()
            try:
                checked.append((synced, check.result()))
            except InvalidBlock as exc:
                self._report(Misbehaviour(synced.sender, f"block {synced.block.number}: {exc}"))
                self._restart_fast_blocks()
                break
        if not checked:
            return False
        first, last = checked[0][0].block.number, checked[-1][0].block.number
        await self._fast.store(checked, durable=last // FSYNC_EVERY > (first - 1) // FSYNC_EVERY
                               or last == self._pivot)
        self._feed_pipeline()
        return True

    def _feed_pipeline(self) -> None:
        """Start the payload checks of the blocks the fast pool verified, and ask for more blocks.

        Called on every block response as well as by the sync loop, so that requests
        and checks keep flowing while the loop waits for the oldest check.
        """
        pool = self._pool
        if pool is None or self._fast is None or self._phase is not SyncPhase.FAST_BLOCKS:
            return
        while len(self._pipeline) < PIPELINE_DEPTH and (ready := pool.next_to_apply()) is not None:
            self._pipeline.append((ready, asyncio.ensure_future(self._fast.verify(ready))))
        for misbehaviour in pool.take_misbehaviours():
            self._report(misbehaviour)
        if self._pool is pool:
            self._send_block_requests(pool)

    def _restart_fast_blocks(self) -> None:
        """Drop the blocks not stored yet; they are fetched again (the liar was reported)."""
        for _, check in self._pipeline:
            check.cancel()
        self._pipeline.clear()
        self._drop_pool()

    def _begin_state_sync(self) -> None:
        assert self._fast is not None and self._pivot is not None
        header = self._source.get_block_by_number(self._pivot)
        assert header is not None
        self._drop_pool()
        self._state = StateSyncScheduler(header.header.state_root, self._fast.root_tag)
        for peer_id in sorted(self._peer_heights):
            self._state.add_peer(peer_id)
        self._phase = SyncPhase.STATE
        log.info("fast sync: blocks stored up to %d; fetching its state 0x%s", self._pivot,
                 header.header.state_root.hex())

    async def _state_step(self) -> bool:
        """Ask for state records, store those fetched and schedule what they refer to; finish when complete."""
        assert self._fast is not None and self._state is not None and self._pivot is not None
        for peer_id, request in self._state.next_requests(self._now_ms()):
            self._network.send(peer_id, BLOCKSYNC_CHANNEL, encode_state_message(request))
        if not self._fetched:
            if not self._state.done:
                return False
            await self._fast.finish(self._pivot)
            log.info("fast sync: state at %d complete (%d records, %d bytes); full sync from there",
                     self._pivot, self._state.fetched_nodes, self._state.fetched_bytes)
            self._state = None
            self._phase = SyncPhase.FULL
            return True
        fetched, self._fetched = self._fetched, []
        for node in fetched:
            self._state.schedule(self._fast.children(node))
        await self._fast.store_state(fetched)
        return True
