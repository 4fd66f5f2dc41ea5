"""p2p nodes over real sockets on 127.0.0.1: handshake, refusals, bans, peer exchange, reconnects, bounds."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from p2p import NodeKey, P2PConfig, P2PNode, PeerIdMismatch, node_id_of
from p2p.errors import ConnectionClosed, FrameTooLarge
from p2p.framing import encode_message
from p2p.handshake import secret_handshake
from p2p.node_info import PROTOCOL_VERSION, NodeInfo
from p2p.secret_connection import SecretConnection

CHAIN = "cmt-test"
CHANNEL = 0x30
HOST = "127.0.0.1"
FAST = P2PConfig(
    pex_interval=0.3,
    backoff_base=0.05,
    backoff_max=0.3,
    handshake_timeout=2.0,
    dial_timeout=1.0,
    ping_interval=0.5,
    idle_timeout=5.0,
    address_ban_seconds=30.0,
    limit_loopback=True,  # the tests' strangers and peers come from distinct 127.x.y.z addresses
    ban_seconds=30.0,
)


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 30.0) -> None:
    """Run one async scenario in a fresh event loop, failing if it takes longer than ``timeout``."""
    asyncio.run(asyncio.wait_for(scenario(), timeout))


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until ``predicate()`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def stays(predicate: Callable[[], bool], duration: float) -> None:
    """Assert that ``predicate()`` holds throughout ``duration`` seconds."""
    deadline = asyncio.get_running_loop().time() + duration
    while asyncio.get_running_loop().time() < deadline:
        assert predicate()
        await asyncio.sleep(0.02)


class Recorder:
    """A channel handler that records what it sees; ``gate`` (when set) holds each receive until opened."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.gate: asyncio.Event | None = None

    async def receive(self, peer_id: str, payload: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if payload == b"boom":
            raise RuntimeError("handler failure on purpose")
        self.messages.append((peer_id, payload))

    def peer_added(self, peer_id: str) -> None:
        self.added.append(peer_id)

    def peer_removed(self, peer_id: str) -> None:
        self.removed.append(peer_id)

    def payloads(self) -> list[bytes]:
        return [payload for _, payload in self.messages]


@dataclasses.dataclass
class Node:
    """A p2p node under test and the recorder on its application channel."""

    p2p: P2PNode
    recorder: Recorder
    key: NodeKey

    @property
    def id(self) -> str:
        return self.p2p.node_id

    @property
    def address(self) -> str:
        return str(self.p2p.listen_address)


def make_node(
    chain: str = CHAIN,
    config: P2PConfig = FAST,
    key: NodeKey | None = None,
    port: int = 0,
    persistent: tuple[str, ...] = (),
    seeds: tuple[str, ...] = (),
) -> Node:
    key = key or NodeKey.generate()
    node = P2PNode(key, HOST, port, chain, config, persistent_peers=persistent, seeds=seeds)
    recorder = Recorder()
    node.register_channel(CHANNEL, recorder)
    return Node(node, recorder, key)


@contextlib.asynccontextmanager
async def started(*nodes: Node) -> AsyncIterator[None]:
    """Start ``nodes`` in order and stop them all at the end."""
    try:
        for node in nodes:
            await node.p2p.start()
        yield
    finally:
        for node in nodes:
            await node.p2p.stop()


def connected(a: Node, b: Node) -> bool:
    return a.p2p.is_connected(b.id) and b.p2p.is_connected(a.id)


async def raw_peer(target: Node, key: NodeKey | None = None, chain: str = CHAIN,
                   max_frame_size: int = 1 << 20, source: str = HOST) -> tuple[SecretConnection, NodeKey]:
    """A hand-driven peer: the real handshake and node-info exchange, after which the test sends what it likes.

    It connects from the loopback address ``source`` (any 127.x.y.z reaches the node).
    """
    key = key or NodeKey.generate()
    reader, writer = await asyncio.open_connection(HOST, target.p2p.listen_address.port, local_addr=(source, 0))
    connection = await secret_handshake(reader, writer, key, max_frame_size, target.id)
    info = NodeInfo(node_id=key.node_id, listen_host=HOST, listen_port=9, chain_id=chain,
                    protocol_version=PROTOCOL_VERSION, software_version="test", channels=(0, CHANNEL), moniker="raw")
    await connection.send(info.encode())
    NodeInfo.decode(await connection.recv())
    return connection, key


async def closed_by_remote(connection: SecretConnection, timeout: float = 5.0) -> bool:
    """Whether the remote side closes ``connection`` within ``timeout`` (messages it sends meanwhile are skipped)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await connection.recv()
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


# ----- handshake -------------------------------------------------------------------------------------------------------


def test_handshake_authenticates_both_sides_and_messages_flow() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b), what="a and b connected")
                [seen_by_a] = a.p2p.peers()
                [seen_by_b] = b.p2p.peers()
                assert seen_by_a.node_id == node_id_of(b.key.public_key) == b.id
                assert seen_by_b.node_id == a.id and seen_by_b.outbound and seen_by_b.persistent
                assert not seen_by_a.outbound and seen_by_a.chain_id == CHAIN
                assert b.p2p.send(a.id, CHANNEL, b"to a") and a.p2p.send(b.id, CHANNEL, b"to b")
                assert a.p2p.broadcast(CHANNEL, b"everyone") == 1
                await eventually(lambda: len(a.recorder.messages) == 1 and len(b.recorder.messages) == 2)
                assert a.recorder.messages == [(b.id, b"to a")]
                assert b.recorder.payloads() == [b"to b", b"everyone"]
                assert a.recorder.added == [b.id] and b.recorder.added == [a.id]
            await eventually(lambda: a.recorder.removed == [b.id], what="peer_removed on a")
            assert not a.p2p.send(b.id, CHANNEL, b"gone")

    run(scenario)


def test_dialing_with_the_wrong_expected_id_is_refused() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            impostor_id = NodeKey.generate().node_id
            reader, writer = await asyncio.open_connection(HOST, a.p2p.listen_address.port)
            with pytest.raises(PeerIdMismatch):
                await secret_handshake(reader, writer, NodeKey.generate(), 1 << 20, impostor_id)
            writer.close()
            port = a.p2p.listen_address.port
            b = make_node(persistent=(f"{impostor_id}@{HOST}:{port}",))
            async with started(b):
                await stays(lambda: not a.p2p.peers() and not b.p2p.peers(), 1.0)
            assert not a.p2p.address_bans()

    run(scenario)


def test_peer_of_another_chain_is_refused_without_a_ban() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            stranger = make_node(chain="another-chain", persistent=(a.address,))
            async with started(stranger):
                await stays(lambda: not a.p2p.peers() and not stranger.p2p.peers(), 1.0)
            assert not a.p2p.bans() and not a.p2p.address_bans()
            friend = make_node(persistent=(a.address,))
            async with started(friend):
                await eventually(lambda: connected(a, friend), what="same-chain peer admitted")

    run(scenario)


def test_self_and_duplicate_connections_are_avoided() -> None:
    async def scenario() -> None:
        key_a, key_b = NodeKey.generate(), NodeKey.generate()
        ports = []
        for _ in range(2):
            probe = await asyncio.start_server(lambda r, w: None, HOST, 0)
            ports.append(probe.sockets[0].getsockname()[1])
            probe.close()
            await probe.wait_closed()
        address_a = f"{key_a.node_id}@{HOST}:{ports[0]}"
        address_b = f"{key_b.node_id}@{HOST}:{ports[1]}"
        with pytest.raises(Exception, match="itself"):
            make_node(key=key_a, persistent=(address_a,))
        a = make_node(key=key_a, port=ports[0], persistent=(address_b,))
        b = make_node(key=key_b, port=ports[1], persistent=(address_a,))
        async with started(a, b):
            await eventually(lambda: connected(a, b), what="mutual persistent peers connected")
            await asyncio.sleep(0.5)
            assert [p.node_id for p in a.p2p.peers()] == [b.id] and [p.node_id for p in b.p2p.peers()] == [a.id]
            # Both ends agree on which of the two dials survived.
            assert a.p2p.peers()[0].outbound != b.p2p.peers()[0].outbound
            assert a.p2p.send(b.id, CHANNEL, b"still works")
            await eventually(lambda: b.recorder.payloads() == [b"still works"])

    run(scenario)


# ----- misbehaviour ----------------------------------------------------------------------------------------------------


class TamperingProxy:
    """A TCP relay between a dialer and a node that flips one bit of the next chunk it relays when armed."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.armed = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        node_reader, node_writer = await asyncio.open_connection(HOST, self.target_port)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tamper: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    if tamper and self.armed:
                        self.armed = False
                        data = data[:-1] + bytes([data[-1] ^ 0x01])
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pump(client_reader, node_writer, True), pump(node_reader, client_writer, False))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def test_tampered_ciphertext_closes_the_connection_and_is_never_delivered() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            proxy = TamperingProxy(a.p2p.listen_address.port)
            proxy_port = await proxy.start()
            b = make_node(persistent=(f"{a.id}@{HOST}:{proxy_port}",))
            async with started(b):
                await eventually(lambda: connected(a, b), what="connected through the proxy")
                assert b.p2p.send(a.id, CHANNEL, b"intact")
                await eventually(lambda: a.recorder.payloads() == [b"intact"])
                proxy.armed = True
                assert b.p2p.send(a.id, CHANNEL, b"will be tampered with")
                await eventually(lambda: not a.p2p.is_connected(b.id), what="a drops the tampered connection")
                assert a.recorder.payloads() == [b"intact"]
            await proxy.stop()

    run(scenario)


def test_oversized_frame_disconnects_and_bans_the_sender() -> None:
    async def scenario() -> None:
        a = make_node(config=dataclasses.replace(FAST, max_frame_size=64 * 1024))
        async with started(a):
            connection, key = await raw_peer(a, max_frame_size=1 << 20)
            await eventually(lambda: a.p2p.is_connected(key.node_id))
            await connection.send(encode_message(CHANNEL, b"x" * (100 * 1024)))
            assert await closed_by_remote(connection)
            assert a.p2p.is_banned(key.node_id) and not a.recorder.messages
            with pytest.raises(ConnectionClosed):  # refused right after the key is authenticated
                await raw_peer(a, key=key)
            assert not a.p2p.is_connected(key.node_id)

    run(scenario)


async def send_garbage(target: Node, source: str = HOST) -> None:
    """Connect from ``source``, send bytes that are no handshake, and wait until the node hangs up."""
    reader, writer = await asyncio.open_connection(HOST, target.p2p.listen_address.port, local_addr=(source, 0))
    writer.write(b"GET / HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n" + os.urandom(64))
    await writer.drain()
    await asyncio.wait_for(reader.read(), 5)  # returns once the node closes the connection
    writer.close()


def test_one_garbage_packet_does_not_lock_out_an_honest_peer_behind_the_same_address() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            await send_garbage(a)
            assert a.p2p.address_strikes(HOST) == 1 and not a.p2p.address_bans()
            b = make_node(persistent=(a.address,))  # dials from the same address
            async with started(b):
                await eventually(lambda: connected(a, b), what="honest peer behind the struck address admitted")

    run(scenario)


def test_repeated_garbage_bans_the_address_and_the_node_keeps_serving() -> None:
    async def scenario() -> None:
        a = make_node()
        attacker = "127.0.0.3"
        async with started(a):
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                for _ in range(FAST.address_strikes):
                    await send_garbage(a, attacker)
                assert list(a.p2p.address_bans()) == [attacker]
                assert "bad handshake" in a.p2p.address_bans()[attacker][1]
                # The banned address is turned away at once ...
                reader, writer = await asyncio.open_connection(HOST, a.p2p.listen_address.port,
                                                               local_addr=(attacker, 0))
                assert await asyncio.wait_for(reader.read(), 5) == b""
                writer.close()
                # ... while the established peer is unaffected.
                assert b.p2p.send(a.id, CHANNEL, b"still here")
                await eventually(lambda: a.recorder.payloads() == [b"still here"])
                assert connected(a, b)

    run(scenario)


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda c: c._writer.write(os.urandom(4000)), id="random-bytes-after-handshake"),  # unsealed
        pytest.param(lambda c: c.write(b"not msgpack \xc1"), id="undecodable-message"),
        pytest.param(lambda c: c.write(encode_message(0x99, b"hello")), id="unknown-channel"),
        pytest.param(lambda c: c.write(b"\x92\x30\xa5hello"), id="payload-not-bin"),
    ],
)
def test_invalid_data_after_the_handshake_bans_the_peer_only(attack: Callable[[SecretConnection], object]) -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            good = make_node(persistent=(a.address,))
            async with started(good):
                await eventually(lambda: connected(a, good))
                connection, key = await raw_peer(a)
                await eventually(lambda: a.p2p.is_connected(key.node_id))
                attack(connection)
                await connection.drain()
                assert await closed_by_remote(connection)
                assert a.p2p.is_banned(key.node_id) and not a.p2p.address_bans()
                assert not a.p2p.is_banned(good.id) and connected(a, good)
                assert good.p2p.send(a.id, CHANNEL, b"fine")
                await eventually(lambda: a.recorder.payloads() == [b"fine"])

    run(scenario)


def test_handler_exception_does_not_disconnect_or_crash() -> None:
    async def scenario() -> None:
        a = make_node()
        async with started(a):
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                for payload in (b"before", b"boom", b"after"):
                    assert b.p2p.send(a.id, CHANNEL, payload)
                await eventually(lambda: a.recorder.payloads() == [b"before", b"after"])
                assert connected(a, b) and not a.p2p.bans()

    run(scenario)


# ----- peer discovery and reconnection -------------------------------------------------------------------------------


def test_three_nodes_find_each_other_through_a_seed() -> None:
    async def scenario() -> None:
        seed = make_node()
        async with started(seed):
            b = make_node(seeds=(seed.address,))
            c = make_node(seeds=(seed.address,))
            async with started(b, c):
                await eventually(lambda: connected(b, c), timeout=10, what="b and c connected via PEX")
                await asyncio.sleep(1.0)  # if b and c dialed each other at once, one of the two connections closes
                await eventually(lambda: connected(b, c), what="b and c still connected")
                assert {p.node_id for p in c.p2p.peers()} == {seed.id, b.id}
                assert b.p2p.send(c.id, CHANNEL, b"found you")
                await eventually(lambda: c.recorder.messages == [(b.id, b"found you")])

    run(scenario)


def test_persistent_peer_reconnects_after_the_remote_restarts() -> None:
    async def scenario() -> None:
        b = make_node()
        async with started(b):
            port = b.p2p.listen_address.port
            a = make_node(persistent=(b.address,))
            async with started(a):
                await eventually(lambda: connected(a, b))
                await b.p2p.stop()
                await eventually(lambda: not a.p2p.peers(), what="a notices b is gone")
                await asyncio.sleep(0.5)  # a keeps dialing a closed port meanwhile
                restarted = make_node(key=b.key, port=port)
                async with started(restarted):
                    await eventually(lambda: connected(a, restarted), timeout=5, what="reconnected")
                    assert a.p2p.send(restarted.id, CHANNEL, b"welcome back")
                    await eventually(lambda: restarted.recorder.payloads() == [b"welcome back"])
                assert a.recorder.added == [b.id, b.id] and a.recorder.removed[0] == b.id

    run(scenario)


def test_inbound_peer_limit() -> None:
    async def scenario() -> None:
        a = make_node(config=dataclasses.replace(FAST, max_inbound_peers=1))
        async with started(a):
            first, first_key = await raw_peer(a)
            await eventually(lambda: a.p2p.is_connected(first_key.node_id))
            second, second_key = await raw_peer(a)
            assert await closed_by_remote(second)
            assert [p.node_id for p in a.p2p.peers()] == [first_key.node_id]
            assert not a.p2p.is_banned(second_key.node_id)
            await first.close()

    run(scenario)


# ----- bounds --------------------------------------------------------------------------------------------------------


def test_send_queue_is_bounded_by_count_and_bytes() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, send_queue_size=10, send_queue_bytes=64 * 1024)
        a = make_node(config=config)
        async with started(a):
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                # No await between sends: the writer cannot drain the queue meanwhile.
                accepted = [a.p2p.send(b.id, CHANNEL, b"%d" % i) for i in range(15)]
                assert accepted == [True] * 10 + [False] * 5
                await eventually(lambda: len(b.recorder.messages) == 10)
                assert [a.p2p.send(b.id, CHANNEL, b"k" * 20_000) for _ in range(4)] == [True, True, True, False]

    run(scenario)


def test_the_largest_payload_goes_through_and_a_larger_one_is_refused_at_the_sender() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, max_frame_size=64 * 1024)
        a = make_node(config=config)
        async with started(a):
            b = make_node(config=config, persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                largest = bytes(range(256)) * (b.p2p.max_payload_size // 256) + b"x" * (b.p2p.max_payload_size % 256)
                assert b.p2p.send(a.id, CHANNEL, largest)
                with pytest.raises(FrameTooLarge):
                    b.p2p.send(a.id, CHANNEL, largest + b"x")
                await eventually(lambda: a.recorder.payloads() == [largest])
                assert connected(a, b)

    run(scenario)


def test_a_stalled_receiver_cannot_grow_the_senders_memory() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, send_queue_bytes=512 * 1024, write_timeout=30.0, idle_timeout=30.0)
        a = make_node(config=config)
        async with started(a):
            b = make_node(config=config, persistent=(a.address,))
            b.recorder.gate = asyncio.Event()  # b's handler never returns until opened: b stops reading
            async with started(b):
                await eventually(lambda: connected(a, b))
                chunk = b"z" * 60_000
                refused = 0
                for _ in range(400):
                    if not a.p2p.send(b.id, CHANNEL, chunk):
                        refused += 1
                    assert a.p2p.peers()[0].queued_bytes <= config.send_queue_bytes
                    await asyncio.sleep(0.002)
                assert refused > 0
                assert b.recorder.gate is not None
                b.recorder.gate.set()
                await eventually(lambda: len(b.recorder.messages) == 400 - refused, timeout=10)
                assert connected(a, b)

    run(scenario)


def test_receive_rate_is_throttled_for_a_modest_excess() -> None:
    async def scenario() -> None:
        slow = dataclasses.replace(FAST, recv_message_rate=100, send_message_rate=100, burst_seconds=0.1,
                                   rate_strikes=1000)
        a = make_node(config=slow)
        async with started(a):
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                start = asyncio.get_running_loop().time()
                for i in range(60):
                    assert b.p2p.send(a.id, CHANNEL, b"%d" % i)
                await asyncio.sleep(0.2)
                assert len(a.recorder.messages) <= 10 + 100 * 0.35
                await eventually(lambda: len(a.recorder.messages) == 60)
                assert asyncio.get_running_loop().time() - start >= 0.4
                assert connected(a, b) and not a.p2p.bans()

    run(scenario)


def test_a_peer_flooding_past_its_rate_limit_is_banned() -> None:
    async def scenario() -> None:
        strict = dataclasses.replace(FAST, recv_message_rate=50, send_message_rate=50, burst_seconds=0.2,
                                     rate_strikes=5)
        a = make_node(config=strict)
        async with started(a):
            flooder = make_node(persistent=(a.address,))
            async with started(flooder):
                await eventually(lambda: connected(a, flooder))
                for i in range(300):
                    flooder.p2p.send(a.id, CHANNEL, b"%d" % i)
                await eventually(lambda: a.p2p.is_banned(flooder.id), what="flooder banned")
                assert not a.p2p.is_connected(flooder.id)
                assert len(a.recorder.messages) < 50

    run(scenario)


def test_messages_piled_up_while_the_receiver_was_busy_do_not_get_an_honest_peer_banned() -> None:
    async def scenario() -> None:
        receiver_config = dataclasses.replace(FAST, recv_message_rate=100, send_message_rate=80, burst_seconds=0.1,
                                              rate_strikes=5)
        sender_config = dataclasses.replace(FAST, send_message_rate=80, burst_seconds=0.1)
        a = make_node(config=receiver_config)
        a.recorder.gate = asyncio.Event()
        async with started(a):
            b = make_node(config=sender_config, persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b))
                for i in range(100):
                    assert b.p2p.send(a.id, CHANNEL, b"%d" % i)
                await asyncio.sleep(1.0)  # a's handler is stuck meanwhile; b keeps sending at its rate
                assert a.recorder.gate is not None
                a.recorder.gate.set()
                await eventually(lambda: len(a.recorder.messages) == 100, what="all messages delivered")
                assert connected(a, b) and not a.p2p.bans()

    run(scenario)
