"""Transaction gossip between real p2p nodes on loopback, each with its own mempool."""
from __future__ import annotations

import asyncio
import itertools

import pytest
from eth_account import Account

from cybermiles_node.mempool import Mempool
from cybermiles_node.mempool import gossip as gossip_module
from cybermiles_node.mempool.gossip import (
    ADMIT_CHUNK,
    MalformedTxMessage,
    MempoolGossip,
    decode_txs,
    encode_txs,
)
from p2p.channels import MEMPOOL_CHANNEL
from p2p.config import P2PConfig
from p2p.keys import NodeKey
from p2p.switch import P2PNode
from tests.e2e.nodeproc import free_port_range
from vm.transactions import DecodeOutcome

CHAIN_ID = 15


class RichState:
    """Every account is funded and fresh."""

    def get_balance(self, address: bytes) -> int:
        return 10**24

    def get_nonce(self, address: bytes) -> int:
        return 0


#: Ports of a block found free below the ephemeral range (where other connections cannot take one first).
FREE_PORTS = itertools.count(free_port_range(64))


def free_port() -> int:
    """The next port of ``FREE_PORTS``."""
    return next(FREE_PORTS)


def signed(account, nonce: int, chain_id: int = CHAIN_ID) -> bytes:
    return bytes(account.sign_transaction({
        "to": "0x" + "11" * 20, "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1, "nonce": nonce, "chainId": chain_id,
    }).raw_transaction)


class GossipingNode:
    def __init__(self, persistent: list[str] = ()) -> None:
        self.key = NodeKey.generate()
        self.port = free_port()
        self.p2p = P2PNode(self.key, "127.0.0.1", self.port, "cmt-test", P2PConfig(), persistent_peers=persistent)
        self.mempool = Mempool(CHAIN_ID)
        self.gossip = MempoolGossip(self.p2p, MEMPOOL_CHANNEL, self.admit)
        self.p2p.register_channel(MEMPOOL_CHANNEL, self.gossip)

    def admit(self, raw: bytes, decoded: DecodeOutcome | None = None) -> bytes:
        return self.mempool.add(raw, RichState(), 10**9)

    @property
    def address(self) -> str:
        return f"{self.key.node_id}@127.0.0.1:{self.port}"


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


def test_transactions_reach_every_node_once_and_invalid_relays_are_punished() -> None:
    async def scenario() -> None:
        a = GossipingNode()
        b = GossipingNode([a.address])
        c = GossipingNode([b.address])
        for node in (a, b, c):
            await node.p2p.start()
        workers = [asyncio.create_task(node.gossip.run()) for node in (a, b, c)]
        try:
            await wait_for(lambda: b.p2p.is_connected(a.key.node_id) and c.p2p.is_connected(b.key.node_id))
            senders = [Account.create() for _ in range(5)]
            for nonce in range(50):
                for sender in senders:
                    raw = signed(sender, nonce)
                    a.admit(raw)
                    a.gossip.relay(raw)
            await wait_for(lambda: len(c.mempool) == 250)
            assert len(b.mempool) == 250
            for sender in senders:
                assert c.mempool.pending_nonce(bytes.fromhex(sender.address[2:]), RichState()) == 50

            # A relayed transaction signed for another chain is something no honest node relays.
            foreign = signed(Account.create(), 0, chain_id=1)
            a.p2p.send(b.key.node_id, MEMPOOL_CHANNEL, encode_txs([foreign]))
            await wait_for(lambda: b.p2p.is_banned(a.key.node_id))
            assert len(b.mempool) == len(c.mempool) == 250
        finally:
            for worker in workers:
                worker.cancel()
            for node in (a, b, c):
                await node.p2p.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("payload", [b"", b"\xc1", encode_txs([]) + b"x", b"\x92\x01\x02", b"\xa3abc"])
def test_malformed_messages_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedTxMessage):
        decode_txs(payload)


def test_batches_are_bounded() -> None:
    with pytest.raises(MalformedTxMessage):
        decode_txs(encode_txs([b"\x01"] * 257))
    assert decode_txs(encode_txs([b"\x01"] * 256)) == [b"\x01"] * 256


class RecordingNetwork:
    """The p2p side of gossip, recording what gossip asks of it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.reported: list[str] = []

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        self.sent.append((peer_id, payload))
        return True

    def connected_ids(self) -> list[str]:
        return ["peer-a", "peer-b"]

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        self.reported.append(peer_id)


def test_receiving_only_queues_and_admission_yields_between_chunks() -> None:
    """A peer's batch is queued at once; other tasks run while it is admitted chunk by chunk."""
    async def scenario() -> None:
        mempool = Mempool(CHAIN_ID)
        sizes: list[int] = []
        gossip = MempoolGossip(RecordingNetwork(), MEMPOOL_CHANNEL, lambda raw, decoded: mempool.add(raw, RichState(), 10**9))
        sender = Account.create()
        await gossip.receive("peer-a", encode_txs([signed(sender, nonce) for nonce in range(4 * ADMIT_CHUNK)]))
        assert len(mempool) == 0  # receiving admits nothing by itself

        async def observe() -> None:
            while len(mempool) < 4 * ADMIT_CHUNK:
                sizes.append(len(mempool))
                await asyncio.sleep(0)

        observer = asyncio.create_task(observe())
        worker = asyncio.create_task(gossip.run())
        await asyncio.wait_for(observer, 10)
        worker.cancel()
        assert [ADMIT_CHUNK, 2 * ADMIT_CHUNK, 3 * ADMIT_CHUNK] == sorted(set(sizes) - {0})

    asyncio.run(scenario())


def test_queued_batches_are_bounded_and_an_invalid_relay_drops_the_peers_queue(monkeypatch) -> None:
    monkeypatch.setattr(gossip_module, "MAX_QUEUED_BYTES", 1_850)

    async def scenario() -> None:
        mempool = Mempool(CHAIN_ID)
        network = RecordingNetwork()
        gossip = MempoolGossip(network, MEMPOOL_CHANNEL, lambda raw, decoded: mempool.add(raw, RichState(), 10**9))
        good, late = signed(Account.create(), 0), signed(Account.create(), 0)
        await gossip.receive("peer-a", encode_txs([signed(Account.create(), 0, chain_id=1), good]))
        await gossip.receive("peer-b", encode_txs([b"\x01" * 800]))
        await gossip.receive("peer-b", encode_txs([b"\x02" * 800]))
        await gossip.receive("peer-c", encode_txs([late]))  # no room left: dropped
        worker = asyncio.create_task(gossip.run())
        await wait_for(lambda: len(network.reported) == 2)
        await asyncio.sleep(0.1)
        # Each peer is reported at its first invalid transaction; the rest of what it sent is dropped.
        assert network.reported == ["peer-a", "peer-b"]
        assert len(mempool) == 0
        # Neither the transaction after the invalid one nor the one dropped for room was marked seen.
        await gossip.receive("peer-c", encode_txs([good, late]))
        await wait_for(lambda: len(mempool) == 2)
        worker.cancel()

    asyncio.run(scenario())
