"""A persistent peer whose stream is damaged on the path is reconnected, not banned."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from p2p.framing import pack
from p2p.handshake import EPHEMERAL_KEY_SIZE
from p2p.keys import NodeKey
from p2p.secret_connection import FrameSealer
from tests.e2e.nodeproc import free_port
from tests.test_p2p_network import (
    CHANNEL,
    HOST,
    Node,
    TamperingProxy,
    connected,
    eventually,
    make_node,
    run,
    started,
)

# Where the dialer's node-info frame starts: its ephemeral key, then its sealed [public key, signature].
NODE_INFO_OFFSET = EPHEMERAL_KEY_SIZE + len(FrameSealer(bytes(32), 1 << 16).seal(pack([bytes(32), bytes(64)])))


class NodeInfoDamagingProxy:
    """A relay that flips one byte inside the dialer's node-info frame of the first connection only."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        damage_at = NODE_INFO_OFFSET + 8 if self.connections == 1 else -1
        node_reader, node_writer = await asyncio.open_connection(HOST, self.target_port)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, damage_at: int) -> None:
            offset = 0
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    if offset <= damage_at < offset + len(data):
                        index = damage_at - offset
                        data = data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]
                    offset += len(data)
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pump(client_reader, node_writer, damage_at), pump(node_reader, client_writer, -1))


class Relay(Protocol):
    """A relay in front of a node's p2p port."""

    async def start(self) -> int: ...


@contextlib.asynccontextmanager
async def persistent_peers_through(relay_for: Callable[[int], Relay]) -> AsyncIterator[tuple[Node, Node, Relay]]:
    """Nodes a and b, each the other's persistent peer, b dialing a through a relay (a's dials go nowhere)."""
    b_key = NodeKey.generate()
    a = make_node(persistent=(f"{b_key.node_id}@{HOST}:{free_port()}",))
    async with started(a):
        relay = relay_for(a.p2p.listen_address.port)
        relay_port = await relay.start()
        b = make_node(key=b_key, persistent=(f"{a.id}@{HOST}:{relay_port}",))
        async with started(b):
            yield a, b, relay


def test_a_persistent_peer_whose_stream_was_damaged_reconnects_without_a_ban() -> None:
    async def scenario() -> None:
        async with persistent_peers_through(TamperingProxy) as (a, b, relay):
            assert isinstance(relay, TamperingProxy)
            await eventually(lambda: connected(a, b), what="connected through the proxy")
            relay.armed = True
            assert b.p2p.send(a.id, CHANNEL, b"damaged on the way")
            await eventually(lambda: not a.p2p.is_connected(b.id), what="a drops the damaged connection")
            await eventually(lambda: connected(a, b), what="b redials a")
            assert not a.p2p.is_banned(b.id)
            assert b.p2p.send(a.id, CHANNEL, b"intact")
            await eventually(lambda: b"intact" in a.recorder.payloads())
            assert b"damaged on the way" not in a.recorder.payloads()
        await relay.stop()

    run(scenario)


def test_a_persistent_peer_whose_node_info_was_damaged_reconnects_without_a_ban() -> None:
    async def scenario() -> None:
        async with persistent_peers_through(NodeInfoDamagingProxy) as (a, b, relay):
            assert isinstance(relay, NodeInfoDamagingProxy)
            await eventually(lambda: connected(a, b), what="b redials a after the damaged node info")
            assert relay.connections >= 2 and not a.p2p.is_banned(b.id)
        relay.server.close()

    run(scenario)
