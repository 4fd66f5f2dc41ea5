"""Consensus gossip catches up a peer left one height behind (a partition healed after the others committed)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consensus.driver import ConsensusDriver, DriverConfig
from consensus.messages import Vote, encode_message
from consensus.privval import PrivValidator
from consensus.proposer import ProposerPriorities
from consensus.reactor.gossip import ConsensusGossip, EvidenceGossip
from consensus.tendermint import TimeoutConfig
from consensus.types import PRECOMMIT, PREVOTE
from consensus.wal import WAL
from tests.test_driver_timeliness import CHAIN_ID, KEYS, NOW, VALIDATORS, App
from tests.test_driver_timeliness import Network as RecordingDriverNetwork

ME = next(k for k in KEYS if k.address != ProposerPriorities.initial(VALIDATORS).proposer)  # never proposes


class Peers:
    """The p2p node as the gossip sees it: two connected peers, every send recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        self.sent.append((peer_id, payload))
        return True

    def broadcast(self, channel_id: int, payload: bytes) -> int:
        return 2

    def connected_ids(self) -> list[str]:
        return ["a", "b"]

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        raise AssertionError(reason)


def vote(kind: int, height: int) -> Vote:
    return Vote(kind, height, 0, b"\x11" * 32, 1, ME.address, b"\x01" * 64)


def test_a_peer_one_height_behind_gets_what_this_node_signed_there_once_a_period() -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        peers = Peers()
        gossip = ConsensusGossip(peers, EvidenceGossip(peers))
        committed = [vote(PREVOTE, 6), vote(PRECOMMIT, 6)]
        for message in [*committed, vote(PREVOTE, 7)]:
            gossip.broadcast_message(message)
        gossip.peer_behind("a", 6)
        gossip.peer_behind("a", 6)  # again within the period: nothing more
        gossip.peer_behind("b", 5)  # two heights behind: block sync's job
        caught_up = list(peers.sent)
        assert caught_up == [("a", encode_message(m)) for m in committed]
        gossip.peer_removed("a")
        gossip.peer_behind("a", 6)  # reconnected: caught up again
        assert peers.sent[len(caught_up):] == caught_up
        gossip.broadcast_message(vote(PREVOTE, 8))  # height 7 becomes the one kept for catching up
        peers.sent.clear()
        gossip.peer_behind("b", 6)
        return peers.sent

    assert asyncio.run(scenario()) == []


class BehindRecorder(RecordingDriverNetwork):
    def __init__(self) -> None:
        super().__init__()
        self.behind: list[tuple[str, int]] = []

    def peer_behind(self, peer_id: str, height: int) -> None:
        self.behind.append((peer_id, height))


def test_the_driver_reports_a_peer_whose_message_is_below_its_height(tmp_path: Path) -> None:
    network = BehindRecorder()
    driver = ConsensusDriver(
        app=App(), txs=None, privval=PrivValidator(ME, tmp_path / "last_signed.json"),  # type: ignore[arg-type]
        wal=WAL(tmp_path / "wal"), network=network,
        config=DriverConfig(chain_id=CHAIN_ID, timeouts=TimeoutConfig(), timeout_commit_ms=1000,
                            max_block_bytes=1 << 20, max_future_drift_ms=10_000),
        executor=ThreadPoolExecutor(1), on_commit=lambda block: None, clock=lambda: NOW,
    )

    async def scenario() -> None:
        running = asyncio.create_task(driver.run())
        await asyncio.sleep(0.1)
        driver.deliver(encode_message(vote(PRECOMMIT, 0)), "late peer")
        driver.deliver(encode_message(vote(PREVOTE, 1)), "current peer")
        await asyncio.sleep(0.05)
        driver.stop()
        await running

    asyncio.run(scenario())
    assert network.behind == [("late peer", 0)]
