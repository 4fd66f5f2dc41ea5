"""One connected peer: bounded per-channel send queues, a writer and a reader task, rate limits, keepalive."""
from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from p2p.channels import KEEPALIVE_CHANNEL
from p2p.config import P2PConfig
from p2p.errors import ConnectionClosed, FrameTooLarge, RateLimitExceeded
from p2p.framing import ENVELOPE_OVERHEAD, decode_message, encode_message
from p2p.node_info import NodeInfo
from p2p.ratelimit import TokenBucket
from p2p.secret_connection import SecretConnection

# Frames written before waiting for the socket buffer to drain.
WRITE_BATCH_BYTES = 256 * 1024

Dispatch = Callable[["Peer", int, bytes], Awaitable[None]]


@dataclass(frozen=True)
class PeerInfo:
    """A snapshot of a connected peer, as reported by ``P2PNode.peers()``."""

    node_id: str
    outbound: bool
    persistent: bool
    remote_host: str
    listen_host: str
    listen_port: int
    chain_id: str
    software_version: str
    moniker: str
    channels: tuple[int, ...]
    connected_since: float
    queued_bytes: int


class Peer:
    """An authenticated connection to another node, from the handshake to the disconnect."""

    def __init__(
        self,
        connection: SecretConnection,
        info: NodeInfo,
        outbound: bool,
        persistent: bool,
        config: P2PConfig,
        dispatch: Dispatch,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.connection = connection
        self.info = info
        self.outbound = outbound
        self.persistent = persistent
        self._config = config
        self._dispatch = dispatch
        self._clock = loop.time
        self._since = loop.time()
        self._queues: dict[int, collections.deque[bytes]] = {}
        self._ready: collections.deque[int] = collections.deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        burst = config.burst_seconds
        self._send_bytes = TokenBucket(config.send_rate, config.send_rate * burst, self._clock)
        self._send_messages = TokenBucket(config.send_message_rate, config.send_message_rate * burst, self._clock)
        credit = config.max_busy_credit
        self._recv_bytes = TokenBucket(
            config.recv_rate, config.recv_rate * burst, self._clock, config.recv_rate * credit
        )
        self._recv_messages = TokenBucket(
            config.recv_message_rate, config.recv_message_rate * burst, self._clock, config.recv_message_rate * credit
        )
        self._closed = loop.create_future()

    @property
    def node_id(self) -> str:
        """The peer's authenticated node id."""
        return self.info.node_id

    @property
    def closed(self) -> asyncio.Future[BaseException | None]:
        """Resolves with the reason (``None`` for a local close) once the peer is disconnected."""
        return self._closed

    def snapshot(self) -> PeerInfo:
        """The public description of this peer."""
        return PeerInfo(
            node_id=self.info.node_id,
            outbound=self.outbound,
            persistent=self.persistent,
            remote_host=self.connection.remote_host,
            listen_host=self.info.listen_host,
            listen_port=self.info.listen_port,
            chain_id=self.info.chain_id,
            software_version=self.info.software_version,
            moniker=self.info.moniker,
            channels=self.info.channels,
            connected_since=self._since,
            queued_bytes=self._queued_bytes,
        )

    def enqueue(self, channel_id: int, payload: bytes) -> bool:
        """Queue ``payload`` for sending; ``False`` if the channel queue or the peer's byte budget is full."""
        if len(payload) + ENVELOPE_OVERHEAD > self._config.max_frame_size:
            raise FrameTooLarge(f"payload of {len(payload)} bytes exceeds the maximum frame size")
        if self._closed.done():
            return False
        queue = self._queues.setdefault(channel_id, collections.deque())
        if len(queue) >= self._config.send_queue_size or self._queued_bytes + len(payload) > self._config.send_queue_bytes:
            return False
        if not queue:
            self._ready.append(channel_id)
        queue.append(payload)
        self._queued_bytes += len(payload)
        self._wakeup.set()
        return True

    def _next_message(self) -> tuple[int, bytes]:
        """Pop one message, taking channels in turn so that no channel starves the others."""
        channel_id = self._ready.popleft()
        queue = self._queues[channel_id]
        payload = queue.popleft()
        if queue:
            self._ready.append(channel_id)
        self._queued_bytes -= len(payload)
        return channel_id, payload

    async def run(self) -> BaseException | None:
        """Serve the connection until it ends; returns why it ended (``None`` if closed locally)."""
        reader = asyncio.create_task(self._read_loop(), name=f"p2p-read-{self.node_id[:8]}")
        writer = asyncio.create_task(self._write_loop(), name=f"p2p-write-{self.node_id[:8]}")
        reason: BaseException | None = None
        try:
            done, _ = await asyncio.wait({reader, writer, self._closed}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, writer):
                if task in done and not task.cancelled():
                    reason = task.exception() or ConnectionClosed("connection ended")
                    break
        finally:
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(BaseException):
                    await task
            await self.connection.close()
            if not self._closed.done():
                self._closed.set_result(reason)
            self._queues.clear()
            self._ready.clear()
            self._queued_bytes = 0
        return reason

    def close(self) -> None:
        """Ask the peer to disconnect; ``run`` returns shortly after."""
        if not self._closed.done():
            self._closed.set_result(None)

    async def _write_loop(self) -> None:
        config = self._config
        while True:
            if not self._ready:
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(config.ping_interval):
                        await self._wakeup.wait()
                except TimeoutError:
                    self.connection.write(encode_message(KEEPALIVE_CHANNEL, b""))
                    await self._drain()
                    continue
            written = 0
            while self._ready and written < WRITE_BATCH_BYTES:
                channel_id, payload = self._next_message()
                delay = max(self._send_bytes.consume(len(payload) + ENVELOPE_OVERHEAD), self._send_messages.consume(1))
                if delay > 0:
                    await self._drain()
                    await asyncio.sleep(delay)
                written += self.connection.write(encode_message(channel_id, payload))
            await self._drain()

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self._config.write_timeout):
                await self.connection.drain()
        except TimeoutError as exc:
            raise ConnectionClosed("peer did not read its data within the write timeout") from exc

    async def _read_loop(self) -> None:
        """Receive, police the rate, dispatch.

        Over-rate messages are throttled (the peer is read more slowly); more
        than ``rate_strikes`` in a row is misbehaviour. The time from a
        message's arrival to the next read (throttling, the handler, a loaded
        event loop) refills the buckets beyond their burst, since an honest
        peer's messages pile up in the socket buffers meanwhile.
        """
        config = self._config
        strikes = 0
        while True:
            try:
                async with asyncio.timeout(config.idle_timeout):
                    plaintext = await self.connection.recv()
            except TimeoutError as exc:
                raise ConnectionClosed(f"nothing received for {config.idle_timeout} s") from exc
            channel_id, payload = decode_message(plaintext, config.max_frame_size)
            delay = max(self._recv_bytes.consume(len(plaintext)), self._recv_messages.consume(1))
            if delay > 0:
                strikes += 1
                if strikes > config.rate_strikes:
                    raise RateLimitExceeded(f"peer exceeded its receive rate {strikes} times in a row")
                await asyncio.sleep(delay)
            else:
                strikes = 0
            if channel_id != KEEPALIVE_CHANNEL:
                await self._dispatch(self, channel_id, payload)
            self._recv_bytes.refill_busy()
            self._recv_messages.refill_busy()
