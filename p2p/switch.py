"""The p2p node: listens and dials, admits authenticated peers, routes channel messages, bans misbehaviour.

Peers are admitted after the encrypted handshake and the node-info check
(same chain, same protocol version). Inbound connections wait for admission in
a bounded table (``p2p.pending``: per source address, eviction of the largest
holder). Bytes that break a handshake, handshake time-outs and evictions, and
bans of node ids, are strikes against the source address; enough strikes within a window ban the
address for a while. Misbehaviour after authentication bans the node id. A node never connects to itself and keeps
one connection per node id: when two nodes dial each other at once, both keep
the connection dialed by the node with the smaller id. Persistent peers are
redialed forever with capped exponential backoff; other addresses come from
seeds and peer exchange and fill the outbound slots.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Coroutine, Iterable
from typing import Any

from p2p.address import NetAddress, is_loopback, source_of
from p2p.address_book import AddressBook
from p2p.bans import BanList, StrikeCounter
from p2p.channels import KEEPALIVE_CHANNEL, PEX_CHANNEL, ChannelHandler
from p2p.config import P2PConfig
from p2p.errors import (
    AuthenticationError,
    ConnectionClosed,
    DuplicatePeer,
    FrameTooLarge,
    HandshakeError,
    HandshakeTimeout,
    IncompatiblePeer,
    P2PConfigError,
    P2PError,
    PeerBanned,
    PeerIdMismatch,
    PeerLimitReached,
    ProtocolViolation,
    SelfConnection,
)
from p2p.framing import ENVELOPE_OVERHEAD
from p2p.handshake import secret_handshake
from p2p.keys import NodeKey, node_id_of
from p2p.node_info import MAX_NODE_INFO_SIZE, PROTOCOL_VERSION, NodeInfo
from p2p.peer import Peer, PeerInfo
from p2p.pending import PendingHandshakes
from p2p.pex import PexReactor
from p2p.secret_connection import SecretConnection
from p2p.traffic import TrafficCounters

log = logging.getLogger(__name__)

# Errors that show the remote side sent bytes no honest node sends.
MISBEHAVIOUR = (AuthenticationError, FrameTooLarge, ProtocolViolation)
# Bytes of an established connection that fail to authenticate or to frame may have been damaged on the
# path (anyone on it can alter them): a persistent peer's connection is then dropped and redialed, not banned.
STREAM_DAMAGE = (AuthenticationError, FrameTooLarge)
UNSPECIFIED_HOSTS = ("", "0.0.0.0", "::")


def _as_address(value: NetAddress | str) -> NetAddress:
    return value if isinstance(value, NetAddress) else NetAddress.parse(value)


class P2PNode:
    """An authenticated, encrypted p2p endpoint with channels, peer management and bounds."""

    def __init__(
        self,
        node_key: NodeKey,
        listen_host: str,
        listen_port: int,
        chain_id: str,
        config: P2PConfig | None = None,
        persistent_peers: Iterable[NetAddress | str] = (),
        seeds: Iterable[NetAddress | str] = (),
    ) -> None:
        self.config = config or P2PConfig()
        self.config.validate()
        if not chain_id or len(chain_id) > 64 or not chain_id.isprintable():
            raise P2PConfigError("chain id must be 1..64 printable characters")
        self._key = node_key
        self.node_id = node_key.node_id
        self.chain_id = chain_id
        self._listen_host = listen_host
        self._listen_port = listen_port
        self._persistent = {a.node_id: a for a in map(_as_address, persistent_peers)}
        self._seeds = [_as_address(seed) for seed in seeds]
        if self.node_id in self._persistent or any(seed.node_id == self.node_id for seed in self._seeds):
            raise P2PConfigError("a node cannot list itself as a persistent peer or seed")
        clock = time.monotonic
        self._bans = BanList(self.config.max_bans, clock)
        self._address_bans = BanList(self.config.max_bans, clock)
        self._strikes = StrikeCounter(
            self.config.address_strikes, self.config.strike_window, self.config.max_bans, clock
        )
        self._pending = PendingHandshakes(
            self.config.max_pending_handshakes, self.config.max_pending_per_source, clock, self._strikes.count
        )
        self._book = AddressBook(
            self.node_id, self.config.address_book_size, self.config.max_dial_failures,
            self.config.backoff_base, self.config.backoff_max, clock,
        )
        self._pex = PexReactor(self, self._book, self.config.pex_interval, self.config.pex_max_addresses, clock)
        self._channels: dict[int, ChannelHandler] = {PEX_CHANNEL: self._pex}
        self._peers: dict[str, Peer] = {}
        self._dialing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._wakeup: asyncio.Event | None = None
        self._running = False
        self.traffic = TrafficCounters()  # messages, payload bytes and bans, for monitoring

    # ----- public API -------------------------------------------------------------------------------------------

    def register_channel(self, channel_id: int, handler: ChannelHandler) -> None:
        """Route messages of ``channel_id`` (1..254; 0 is PEX) to ``handler``; call before ``start``."""
        if self._running:
            raise P2PConfigError("channels must be registered before the node starts")
        if not 0 <= channel_id < KEEPALIVE_CHANNEL or channel_id in self._channels:
            raise P2PConfigError(f"channel id {channel_id} is reserved, out of range or already registered")
        self._channels[channel_id] = handler

    @property
    def max_payload_size(self) -> int:
        """The largest payload ``send`` accepts (larger data must be split by the channel's protocol)."""
        return self.config.max_frame_size - ENVELOPE_OVERHEAD

    @property
    def listen_address(self) -> NetAddress:
        """This node's address as advertised to peers (with the bound port once started)."""
        return NetAddress(self.node_id, self._advertised_host(), self._listen_port)

    @property
    def node_info(self) -> NodeInfo:
        """The description this node sends to its peers."""
        return NodeInfo(
            node_id=self.node_id,
            listen_host=self._advertised_host(),
            listen_port=self._listen_port,
            chain_id=self.chain_id,
            protocol_version=PROTOCOL_VERSION,
            software_version=self.config.software_version,
            channels=tuple(sorted(self._channels)),
            moniker=self.config.moniker,
        )

    async def start(self) -> None:
        """Listen, then dial persistent peers and seeds and start peer exchange."""
        if self._running:
            return
        self._server = await asyncio.start_server(
            self._on_inbound, self._listen_host, self._listen_port, limit=2 * 65536
        )
        self._listen_port = self._server.sockets[0].getsockname()[1]
        self._running = True
        self._wakeup = asyncio.Event()
        for seed in self._seeds:
            self._book.add(seed, pinned=True)
        for address in self._persistent.values():
            self._spawn(self._keep_connected(address), f"p2p-persistent-{address.node_id[:8]}")
        self._spawn(self._maintain(), "p2p-maintain")
        log.info("p2p node %s listening on %s:%d", self.node_id, self._listen_host, self._listen_port)

    async def stop(self) -> None:
        """Close the listener and every connection; handlers get ``peer_removed`` for each peer."""
        if not self._running:
            return
        self._running = False
        assert self._server is not None
        self._server.close()
        for peer in list(self._peers.values()):
            peer.close()
        tasks = list(self._tasks)
        for task in tasks:
            if not task.get_name().startswith("p2p-serve"):
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self._server.wait_closed()

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        """Queue ``payload`` to ``peer_id`` on ``channel_id`` without blocking.

        ``False`` if the peer is not connected, does not serve the channel, or its
        queue is full. Raises ``FrameTooLarge`` if the payload can never fit a frame.
        """
        peer = self._peers.get(peer_id)
        if peer is None or channel_id not in peer.info.channels:
            return False
        queued = peer.enqueue(channel_id, payload)
        if queued:
            self.traffic.record("sent", channel_id, len(payload))
        return queued

    def broadcast(self, channel_id: int, payload: bytes) -> int:
        """Queue ``payload`` to every connected peer serving ``channel_id``; returns how many accepted it."""
        return sum(self.send(peer_id, channel_id, payload) for peer_id in sorted(self._peers))

    def peers(self) -> list[PeerInfo]:
        """The connected peers, in node-id order."""
        return [self._peers[peer_id].snapshot() for peer_id in sorted(self._peers)]

    def connected_ids(self) -> list[str]:
        """The node ids of the connected peers, sorted."""
        return sorted(self._peers)

    def is_connected(self, peer_id: str) -> bool:
        """Whether ``peer_id`` is a connected peer."""
        return peer_id in self._peers

    def ban(self, peer_id: str, seconds: float, reason: str) -> None:
        """Disconnect ``peer_id`` and refuse it (inbound and outbound) for ``seconds``.

        A connected peer's source address collects a strike too.
        """
        peer = self._peers.get(peer_id)
        self._ban_node(peer_id, seconds, reason, peer.connection.remote_host if peer is not None else "")

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        """Ban ``peer_id`` for the configured ``ban_seconds`` (for handlers that receive invalid data)."""
        self.ban(peer_id, self.config.ban_seconds, reason)

    def is_banned(self, peer_id: str) -> bool:
        """Whether ``peer_id`` is currently banned."""
        return self._bans.is_banned(peer_id)

    def bans(self) -> dict[str, tuple[float, str]]:
        """Banned node ids -> (seconds left, reason)."""
        return self._bans.snapshot()

    def address_bans(self) -> dict[str, tuple[float, str]]:
        """Banned source addresses (that collected too many strikes) -> (seconds left, reason)."""
        return self._address_bans.snapshot()

    def address_strikes(self, host: str) -> int:
        """How many strikes the source of the IP address ``host`` holds within the strike window."""
        return self._strikes.count(source_of(host))

    def known_addresses(self) -> list[NetAddress]:
        """The addresses in the address book."""
        return self._book.addresses()

    def addresses_learned(self) -> None:
        """Wake the dialer: new addresses are known."""
        if self._wakeup is not None:
            self._wakeup.set()

    # ----- connections ------------------------------------------------------------------------------------------

    def _advertised_host(self) -> str:
        return self.config.external_host or self._listen_host

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        remote_host = str(peername[0]) if peername else ""
        source = f"{remote_host} port {peername[1]}" if self._exempt(remote_host) else source_of(remote_host)
        if not self._running or self._address_bans.is_banned(source):
            writer.close()
            return

        def evict() -> None:
            log.debug("closing the pending connection of %s to admit another address", remote_host)
            writer.transport.abort()
            self._strike(remote_host, "a pending handshake was evicted to admit another address")

        try:
            pending = self._pending.admit(source, evict)
        except PeerLimitReached as exc:
            log.debug("refusing %s: %s", remote_host, exc)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            await self._establish(reader, writer, outbound=False, expected=None)
        except asyncio.CancelledError:
            # The node is stopping. This task belongs to the server, which (Python 3.11) reports a
            # cancelled connection task as an unhandled error: end it quietly instead.
            return
        finally:
            self._pending.release(pending)

    async def _dial(self, address: NetAddress) -> bool:
        """Dial ``address``; whether a peer was admitted."""
        self._dialing.add(address.node_id)
        try:
            try:
                async with asyncio.timeout(self.config.dial_timeout):
                    reader, writer = await asyncio.open_connection(address.host, address.port, limit=2 * 65536)
            except (OSError, TimeoutError) as exc:
                log.debug("dial %s failed: %s", address, exc)
                return False
            return await self._establish(reader, writer, outbound=True, expected=address)
        finally:
            self._dialing.discard(address.node_id)

    async def _establish(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        outbound: bool,
        expected: NetAddress | None,
    ) -> bool:
        """Handshake, exchange node info and admit the peer (all within ``handshake_timeout``); whether it was admitted.

        Until the peer's key is authenticated, what goes wrong is a strike against the
        source address of an inbound connection; afterwards, misbehaviour bans the node id.
        """
        peername = writer.get_extra_info("peername")
        remote_host = str(peername[0]) if peername else ""
        connection: SecretConnection | None = None
        remote_id = ""
        try:
            try:
                async with asyncio.timeout(self.config.handshake_timeout):
                    connection = await secret_handshake(
                        reader, writer, self._key, self.config.max_frame_size, expected.node_id if expected else None
                    )
                    remote_id = node_id_of(connection.remote_public_key)
                    self._check_identity(remote_id)
                    info = await self._exchange_info(connection)
                info.check_compatible(self.node_info, remote_id)
            except TimeoutError as exc:
                phase = "node info exchange" if connection is not None else "handshake"
                if not outbound:
                    self._strike(remote_host, f"{phase} timed out")
                raise HandshakeTimeout(f"{phase} timed out") from exc
            except (HandshakeError, *MISBEHAVIOUR) as exc:
                if connection is None and not outbound and not isinstance(exc, PeerIdMismatch):
                    self._strike(remote_host, f"bad handshake: {exc}")
                elif connection is not None and isinstance(exc, MISBEHAVIOUR) and not (
                        remote_id in self._persistent and isinstance(exc, STREAM_DAMAGE)):
                    self._ban_node(remote_id, self.config.ban_seconds, f"bad node info: {exc}", remote_host)
                raise
            if info.listen_host in UNSPECIFIED_HOSTS:
                info = dataclasses.replace(info, listen_host=remote_host)
            peer = Peer(connection, info, outbound, remote_id in self._persistent, self.config, self._dispatch)
            self._admit(peer)
        except (P2PError, OSError) as exc:
            level = logging.INFO if isinstance(exc, (IncompatiblePeer, PeerIdMismatch, *MISBEHAVIOUR)) else logging.DEBUG
            log.log(level, "%s connection with %s refused: %s", "outbound" if outbound else "inbound", remote_host, exc)
            if connection is not None:
                await connection.close()
            else:
                writer.close()
            return False
        except asyncio.CancelledError:
            writer.close()
            raise
        self._spawn(self._serve(peer), f"p2p-serve-{peer.node_id[:8]}")
        return True

    def _check_identity(self, remote_id: str) -> None:
        if remote_id == self.node_id:
            raise SelfConnection("connected to ourselves")
        if self._bans.is_banned(remote_id):
            raise PeerBanned(f"peer {remote_id} is banned: {self._bans.reason(remote_id)}")
        if not self._running:
            raise ConnectionClosed("node is stopping")

    async def _exchange_info(self, connection: SecretConnection) -> NodeInfo:
        await connection.send(self.node_info.encode())
        return NodeInfo.decode(await connection.recv(MAX_NODE_INFO_SIZE))

    def _ban_node(self, peer_id: str, seconds: float, reason: str, remote_host: str) -> None:
        """Ban ``peer_id`` (closing its connection) and strike the address it connected from, if known."""
        log.warning("banning peer %s for %.0f s: %s", peer_id, seconds, reason)
        self._bans.ban(peer_id, seconds, reason)
        self.traffic.bans += 1
        peer = self._peers.get(peer_id)
        if peer is not None:
            peer.close()
        if remote_host:
            self._strike(remote_host, f"peer {peer_id} banned: {reason}")

    def _exempt(self, remote_host: str) -> bool:
        """Whether ``remote_host`` is a loopback address exempt from per-source limits, strikes and bans."""
        return not self.config.limit_loopback and is_loopback(remote_host)

    def _strike(self, remote_host: str, reason: str) -> None:
        """A strike against the source of ``remote_host``; enough of them within the window ban the source."""
        seconds = self.config.address_ban_seconds
        if seconds <= 0 or self._exempt(remote_host):
            return
        source = source_of(remote_host)
        if self._strikes.strike(source):
            window = self.config.strike_window
            reason = f"{self.config.address_strikes} strikes within {window:.0f} s, the last: {reason}"
            log.warning("banning address %s for %.0f s: %s", source, seconds, reason)
            self._address_bans.ban(source, seconds, reason)

    def _admit(self, peer: Peer) -> None:
        """Register ``peer``, applying the limits and the one-connection-per-node rule."""
        peer_id = peer.node_id
        self._check_identity(peer_id)
        existing = self._peers.get(peer_id)
        if existing is not None:
            # Both ends keep the connection dialed by the smaller node id; a second dial by the same node
            # means it lost the first connection, so the newer one wins.
            kept_dialer, new_dialer = self._dialer(existing), self._dialer(peer)
            if kept_dialer < new_dialer:
                raise DuplicatePeer(f"already connected to {peer_id}")
            self._remove(existing)
            existing.close()
        elif not peer.persistent:
            same_direction = sum(1 for p in self._peers.values() if p.outbound == peer.outbound and not p.persistent)
            limit = self.config.max_outbound_peers if peer.outbound else self.config.max_inbound_peers
            if same_direction >= limit:
                raise PeerLimitReached(f"{'outbound' if peer.outbound else 'inbound'} peer limit {limit} reached")
        self._peers[peer_id] = peer
        self._book.add(NetAddress(peer_id, peer.info.listen_host, peer.info.listen_port), pinned=peer.persistent)
        self._book.mark_success(peer_id)
        log.info("peer %s connected (%s, %s)", peer_id, "outbound" if peer.outbound else "inbound", peer.info.moniker)
        for channel_id, handler in sorted(self._channels.items()):
            try:
                handler.peer_added(peer_id)
            except Exception:
                log.exception("channel %#x handler failed in peer_added(%s)", channel_id, peer_id)

    def _dialer(self, peer: Peer) -> str:
        return self.node_id if peer.outbound else peer.node_id

    def _remove(self, peer: Peer) -> None:
        if self._peers.get(peer.node_id) is not peer:
            return
        del self._peers[peer.node_id]
        for channel_id, handler in sorted(self._channels.items()):
            try:
                handler.peer_removed(peer.node_id)
            except Exception:
                log.exception("channel %#x handler failed in peer_removed(%s)", channel_id, peer.node_id)
        if self._wakeup is not None:
            self._wakeup.set()

    async def _serve(self, peer: Peer) -> None:
        reason = await peer.run()
        self._remove(peer)
        if isinstance(reason, MISBEHAVIOUR) and not (peer.persistent and isinstance(reason, STREAM_DAMAGE)):
            self._ban_node(peer.node_id, self.config.ban_seconds, f"{type(reason).__name__}: {reason}",
                           peer.connection.remote_host)
        log.info("peer %s disconnected: %s", peer.node_id, reason or "closed locally")

    async def _dispatch(self, peer: Peer, channel_id: int, payload: bytes) -> None:
        handler = self._channels.get(channel_id)
        if handler is None:
            raise ProtocolViolation(f"message on unknown channel {channel_id:#x}")
        if self._peers.get(peer.node_id) is not peer:
            return  # a connection being replaced or closed: its handlers already saw peer_removed
        self.traffic.record("received", channel_id, len(payload))
        try:
            await handler.receive(peer.node_id, payload)
        except Exception:
            log.exception("channel %#x handler failed on a message from %s", channel_id, peer.node_id)

    # ----- dialing ----------------------------------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** min(failures, 30))
        jittered: float = delay * random.uniform(0.75, 1.0)
        return jittered

    async def _keep_connected(self, address: NetAddress) -> None:
        """Keep a connection to a persistent peer, redialing with capped exponential backoff."""
        failures = 0
        while self._running:
            peer = self._peers.get(address.node_id)
            if peer is not None:
                await asyncio.wait({peer.closed})
                failures = 0
                await asyncio.sleep(self._backoff(0))
                continue
            banned_for = self._bans.remaining(address.node_id)
            if banned_for > 0:
                await asyncio.sleep(banned_for)
                continue
            if address.node_id not in self._dialing and await self._dial(address):
                failures = 0
                continue
            await asyncio.sleep(self._backoff(failures))
            failures += 1

    async def _maintain(self) -> None:
        """Fill outbound slots from the address book and ask peers for addresses, every ``pex_interval``."""
        assert self._wakeup is not None
        while self._running:
            self._dial_from_book()
            self._pex.request_round()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.pex_interval):
                    await self._wakeup.wait()
            self._wakeup.clear()

    def _dial_from_book(self) -> None:
        outbound = sum(1 for p in self._peers.values() if p.outbound and not p.persistent)
        dialing = len(self._dialing - set(self._persistent))
        slots = self.config.max_outbound_peers - outbound - dialing
        if slots <= 0:
            return
        exclude = set(self._peers) | self._dialing | set(self._persistent)
        for address in self._book.dial_candidates(slots, exclude):
            if not self._bans.is_banned(address.node_id):
                self._book.mark_attempt(address.node_id)
                self._spawn(self._dial_book_address(address), f"p2p-dial-{address.node_id[:8]}")

    async def _dial_book_address(self, address: NetAddress) -> None:
        if await self._dial(address):
            return
        self._book.mark_failure(address.node_id)
