"""A node whose consensus messages queued up behind a pause catches up without a block interval per height."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consensus.application import AppInfo
from consensus.driver import ConsensusDriver, DriverConfig
from consensus.messages import Proposal, Vote, encode_message
from consensus.proposer import ProposerPriorities
from consensus.tendermint import PRECOMMIT, TimeoutConfig
from consensus.types import EMPTY_COMMIT, Block
from consensus.wal import WAL
from tests.test_driver_timeliness import CHAIN_ID, KEYS, NOW, VALIDATORS, Network, block_at

TIMEOUT_COMMIT_MS = 5_000
HEIGHTS = 4


class App:
    """Every block valid; remembers when each height was committed."""

    def __init__(self) -> None:
        self.committed_at: dict[int, float] = {}

    def info(self) -> AppInfo:
        return AppInfo(last_height=0, last_header=None)

    def validators_at(self, height: int) -> object:
        return VALIDATORS

    def process_proposal(self, block: Block) -> bool:
        return True

    def finalize_block(self, block: Block) -> None:
        return None

    def commit(self, block: Block, commit: object) -> None:
        self.committed_at[block.number] = time.monotonic()


def decided_messages(height: int, priorities: ProposerPriorities, decided_ms: int) -> list[bytes]:
    """The proposal of ``height`` and three precommits for it, signed ``decided_ms`` (in the past)."""
    proposer_address = priorities.incremented(0).proposer
    proposer = next(k for k in KEYS if k.address == proposer_address)
    header = block_at(int(NOW) - 60, proposer_address).header.copy(number=height)
    block = Block(header=header, transactions=[], last_commit=EMPTY_COMMIT, evidence=[])
    unsigned = Proposal(height, 0, -1, block, decided_ms, proposer_address)
    messages = [encode_message(unsigned.with_signature(proposer.sign(unsigned.sign_bytes(CHAIN_ID))))]
    for key in KEYS[:3]:
        vote = Vote(PRECOMMIT, height, 0, block.hash, decided_ms, key.address)
        messages.append(encode_message(vote.with_signature(key.sign(vote.sign_bytes(CHAIN_ID)))))
    return messages


def test_heights_decided_long_ago_are_committed_back_to_back(tmp_path: Path) -> None:
    app = App()
    driver = ConsensusDriver(
        app=app, txs=None, privval=None, wal=WAL(tmp_path / "wal"), network=Network(),  # type: ignore[arg-type]
        config=DriverConfig(chain_id=CHAIN_ID, timeouts=TimeoutConfig(), timeout_commit_ms=TIMEOUT_COMMIT_MS,
                            max_block_bytes=1 << 20),
        executor=ThreadPoolExecutor(1), on_commit=lambda block: None, clock=lambda: NOW,
    )
    priorities = ProposerPriorities.initial(VALIDATORS)
    backlog = []
    for height in range(1, HEIGHTS + 1):
        backlog += decided_messages(height, priorities, int(NOW * 1000) - 60_000 + height * 1000)
        priorities = priorities.next_height(VALIDATORS)

    async def scenario() -> float:
        running = asyncio.create_task(driver.run())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        for payload in backlog:
            driver.deliver(payload, "peer")
        deadline = started + HEIGHTS * TIMEOUT_COMMIT_MS / 1000
        while len(app.committed_at) < HEIGHTS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        driver.stop()
        await running
        return started

    started = asyncio.run(scenario())
    assert sorted(app.committed_at) == list(range(1, HEIGHTS + 1))
    # Queued behind a pause, the heights were decided by the network a minute ago: no block interval between them.
    assert app.committed_at[HEIGHTS] - started < TIMEOUT_COMMIT_MS / 1000
