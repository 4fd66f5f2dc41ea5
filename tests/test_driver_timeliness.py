"""A validator does not accept a proposed block timed too far ahead of its clock (block time drives rewards)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consensus.application import AppInfo
from consensus.driver import ConsensusDriver, DriverConfig
from consensus.keys import ValidatorKey
from consensus.messages import NIL, Proposal, encode_message
from consensus.privval import PrivValidator
from consensus.proposer import ProposerPriorities
from consensus.tendermint import PREVOTE, TimeoutConfig
from consensus.types import EMPTY_COMMIT, ZERO_HASH32, Block, Header
from consensus.validators import Validator, ValidatorSet
from consensus.wal import WAL

CHAIN_ID = 15
NOW = 1_700_000_000.0
KEYS = [ValidatorKey(seed=bytes([i + 1]) * 32) for i in range(4)]
VALIDATORS = ValidatorSet.of([Validator(k.public_key, 10, bytes([i + 1]) * 20) for i, k in enumerate(KEYS)])


class App:
    """Height 0, every block valid: only the driver's own time check can refuse one."""

    def __init__(self) -> None:
        self.checked: list[int] = []

    def info(self) -> AppInfo:
        return AppInfo(last_height=0, last_header=None)

    def validators_at(self, height: int) -> ValidatorSet:
        return VALIDATORS

    def process_proposal(self, block: Block) -> bool:
        self.checked.append(block.header.timestamp)
        return True


class Network:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def broadcast_message(self, message: object) -> None:
        self.sent.append(message)

    def broadcast_evidence(self, payload: bytes) -> None: ...

    def peer_behind(self, peer_id: str, height: int) -> None: ...


def block_at(timestamp: int, proposer: bytes) -> Block:
    header = Header(
        parent_hash=ZERO_HASH32, ommers_hash=ZERO_HASH32, coinbase=b"\x00" * 20, state_root=ZERO_HASH32,
        transactions_root=ZERO_HASH32, receipts_root=ZERO_HASH32, logs_bloom=0, difficulty=0, number=1,
        gas_limit=1, gas_used=0, timestamp=timestamp, extra_data=b"", mix_hash=ZERO_HASH32, nonce=b"\x00" * 8,
        base_fee_per_gas=0, chain_id=CHAIN_ID, proposer_address=proposer, validators_hash=VALIDATORS.hash,
        next_validators_hash=VALIDATORS.hash, last_commit_hash=EMPTY_COMMIT.hash, evidence_hash=ZERO_HASH32,
        randao_reveal=b"\x00" * 32,
    )
    return Block(header=header, transactions=[], last_commit=EMPTY_COMMIT, evidence=[])


def prevote_for(tmp_path: Path, block_time: int) -> tuple[bytes | None, list[int]]:
    """Run a validator that is not the proposer; deliver the proposer's block; return its prevote and checks."""
    proposer_address = ProposerPriorities.initial(VALIDATORS).proposer
    proposer = next(k for k in KEYS if k.address == proposer_address)
    me = next(k for k in KEYS if k.address != proposer_address)
    app, network = App(), Network()
    driver = ConsensusDriver(
        app=app, txs=None, privval=PrivValidator(me, tmp_path / "last_signed.json"),  # type: ignore[arg-type]
        wal=WAL(tmp_path / "wal"), network=network,
        config=DriverConfig(chain_id=CHAIN_ID, timeouts=TimeoutConfig(), timeout_commit_ms=1000,
                            max_block_bytes=1 << 20, max_future_drift_ms=10_000),
        executor=ThreadPoolExecutor(1), on_commit=lambda block: None, clock=lambda: NOW,
    )
    unsigned = Proposal(1, 0, -1, block_at(block_time, proposer_address), int(NOW * 1000), proposer_address)
    proposal = unsigned.with_signature(proposer.sign(unsigned.sign_bytes(CHAIN_ID)))

    async def scenario() -> None:
        running = asyncio.create_task(driver.run())
        await asyncio.sleep(0.1)
        driver.deliver(encode_message(proposal), "peer")
        for _ in range(50):
            await asyncio.sleep(0.02)
            if any(getattr(m, "type", None) == PREVOTE for m in network.sent):
                break
        driver.stop()
        await running

    asyncio.run(scenario())
    prevotes = [m for m in network.sent if getattr(m, "type", None) == PREVOTE and m.validator_address == me.address]
    assert len(prevotes) == 1
    return prevotes[0].block_hash, app.checked


def test_a_block_timed_within_the_drift_gets_a_prevote(tmp_path: Path) -> None:
    value, checked = prevote_for(tmp_path, int(NOW) + 5)
    assert value == block_at(int(NOW) + 5, ProposerPriorities.initial(VALIDATORS).proposer).hash
    assert checked == [int(NOW) + 5]


def test_a_block_timed_far_ahead_gets_a_nil_prevote_without_execution(tmp_path: Path) -> None:
    value, checked = prevote_for(tmp_path, int(NOW) + 3600)
    assert value == NIL
    assert checked == []
