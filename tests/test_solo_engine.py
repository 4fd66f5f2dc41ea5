"""Tests of single-validator block production over a real application and LevelDB."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from consensus.errors import ConsensusError, DoubleSignRefused
from consensus.keys import ValidatorKey, verify
from consensus.privval import STEP_PRECOMMIT, PrivValidator
from consensus.solo import EngineConfig, SingleValidatorEngine
from consensus.types import EMPTY_COMMIT, PRECOMMIT, Block, vote_sign_bytes
from consensus.validators import Validator, ValidatorSet
from cybermiles_node.application import genesis_validator_set
from vm.native.addresses import STAKING_ADDRESS
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9


class ListSource:
    """Transactions offered to the proposer: whatever was added, once.

    Like the node's mempool source, it offers decoded transactions (senders cached).
    """

    def __init__(self) -> None:
        self.pending: list[Any] = []

    def add(self, raw: bytes) -> None:
        """Offer a signed transaction."""
        self.pending.append(decode_transaction(raw, CHAIN_ID))

    def reap(self, max_bytes: int) -> list[Any]:
        """Hand out everything waiting."""
        taken, self.pending = self.pending, []
        return taken

    def has_txs(self) -> bool:
        """Whether anything waits."""
        return bool(self.pending)


class StepClock:
    """A clock that advances one second per reading."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


class Harness:
    """An engine with its node, privval file, transaction source and the blocks it reported."""

    def __init__(self, node, key: ValidatorKey, privval_path: Path, executor, genesis, **config) -> None:
        self.node = node
        self.txs = ListSource()
        self.committed: list[Block] = []
        self.privval = PrivValidator(key, privval_path)
        self.engine = SingleValidatorEngine(
            node.app, self.txs, self.privval,
            EngineConfig(chain_id=CHAIN_ID, **config), executor, self.committed.append,
            clock=StepClock(genesis.genesis_time + 100 * (node.app.latest_header.number + 1)),
        )

    def produce(self, count: int = 1) -> list[Block]:
        async def run() -> list[Block]:
            return [await self.engine.produce_block() for _ in range(count)]

        return asyncio.run(run())


@pytest.fixture
def harness(open_node, validator_key, tmp_path, executor, genesis):
    def make(name: str = "node", **config) -> Harness:
        return Harness(open_node(name), validator_key, tmp_path / f"{name}_last_signed.json", executor, genesis, **config)

    return make


def assert_commit_signed(store, block: Block, key: ValidatorKey, expected_round: int = 0) -> None:
    commit = store.get_seen_commit(block.number)
    assert commit.height == block.number and commit.block_hash == block.hash and commit.round == expected_round
    (signature,) = commit.signatures
    assert signature.validator_address == key.address
    sign_bytes = vote_sign_bytes(CHAIN_ID, PRECOMMIT, block.number, commit.round, block.hash, signature.timestamp_ms)
    assert verify(key.public_key, sign_bytes, signature.signature)


def test_blocks_are_linked_signed_and_carry_the_last_commit(harness, validator_key, genesis) -> None:
    h = harness()
    store = h.node.store
    genesis_header = store.get_header_by_number(0)
    blocks = h.produce(3)
    assert [b.number for b in blocks] == [1, 2, 3] == [b.number for b in h.committed]
    assert store.latest_height() == 3
    parent = genesis_header
    for block in blocks:
        assert store.get_block_by_number(block.number).hash == block.hash
        assert block.header.parent_hash == parent.hash
        assert block.header.timestamp >= parent.timestamp
        assert block.header.proposer_address == validator_key.address
        assert block.header.coinbase == STAKING_ADDRESS  # fees fund the staking rewards
        assert block.header.validators_hash == block.header.next_validators_hash == genesis_validator_set(genesis).hash
        assert_commit_signed(store, block, validator_key)
        parent = block.header
    assert blocks[0].last_commit == EMPTY_COMMIT
    for previous, block in zip(blocks, blocks[1:]):
        commit = store.get_seen_commit(previous.number)
        assert block.last_commit == commit
        assert block.header.last_commit_hash == commit.hash


def test_offered_transactions_are_included_and_bad_ones_left_out(harness, dev_keys) -> None:
    h = harness()
    sender = dev_keys[4]
    fields = {"to": to_checksum_address("0x" + "ab" * 20), "value": 3, "gas": 21_000, "maxFeePerGas": 5 * GWEI,
              "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}
    good = bytes(sender.sign_transaction({**fields, "nonce": 0}).raw_transaction)
    gap = bytes(sender.sign_transaction({**fields, "nonce": 7}).raw_transaction)
    h.txs.add(good)
    h.txs.add(gap)
    (block,) = h.produce()
    assert list(block.transactions) == [good]
    receipts = h.node.store.get_receipts(block.hash)
    assert len(receipts) == 1 and receipts[0].status == 1
    assert h.node.app.account_db(block.header.state_root).get_balance(bytes.fromhex("ab" * 20)) == 3


def test_after_a_crash_between_signing_and_commit_the_next_round_is_used(harness, validator_key, tmp_path) -> None:
    h = harness()
    h.produce(2)
    # a precommit for height 3 was signed (and recorded), then the node died before committing the block
    h.privval.sign(3, 0, STEP_PRECOMMIT, b"a block that was never committed")
    h.node.close()

    restarted = harness()
    assert restarted.node.app.latest_header.number == 2
    with pytest.raises(DoubleSignRefused):
        restarted.privval.sign(3, 0, STEP_PRECOMMIT, b"something else")
    (block,) = restarted.produce()
    assert block.number == 3
    assert_commit_signed(restarted.node.store, block, validator_key, expected_round=1)
    (block,) = restarted.produce()
    assert_commit_signed(restarted.node.store, block, validator_key, expected_round=0)


def test_restart_resumes_the_chain_and_its_last_commit(harness) -> None:
    h = harness()
    blocks = h.produce(2)
    h.node.close()

    restarted = harness()
    last_commit = restarted.node.store.get_seen_commit(2)
    restarted.engine.resume_commit(last_commit)
    (block,) = restarted.produce()
    assert block.number == 3
    assert block.header.parent_hash == blocks[-1].hash
    assert block.header.last_commit_hash == last_commit.hash


def test_a_key_without_two_thirds_of_the_power_cannot_run_the_engine(open_node, tmp_path, executor, genesis, validator_key) -> None:
    outsider = ValidatorKey(seed=b"\x07" * 32)
    node = open_node("node")
    with pytest.raises(ConsensusError, match=r"\+2/3"):
        SingleValidatorEngine(
            node.app, ListSource(), PrivValidator(outsider, tmp_path / "ls.json"),
            EngineConfig(chain_id=CHAIN_ID), executor, lambda block: None,
        )
    shared = ValidatorSet.of([
        Validator(validator_key.public_key, 2, bytes(20)), Validator(outsider.public_key, 1, bytes(20)),
    ])
    node.app.validators_at = lambda height: shared  # a set this key no longer dominates
    with pytest.raises(ConsensusError, match=r"\+2/3"):
        SingleValidatorEngine(
            node.app, ListSource(), PrivValidator(validator_key, tmp_path / "ls.json"),
            EngineConfig(chain_id=CHAIN_ID), executor, lambda block: None,
        )


def test_run_waits_for_transactions_when_empty_blocks_are_off(harness, dev_keys) -> None:
    h = harness(block_interval_ms=10, create_empty_blocks=False)
    tx = bytes(dev_keys[6].sign_transaction({
        "to": to_checksum_address("0x" + "cd" * 20), "value": 1, "gas": 21_000, "maxFeePerGas": 5 * GWEI,
        "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID, "nonce": 0,
    }).raw_transaction)

    async def scenario() -> None:
        task = asyncio.create_task(h.engine.run())
        await asyncio.sleep(0.1)  # ten intervals without transactions
        assert h.committed == []
        h.txs.add(tx)
        h.engine.notify_tx()
        for _ in range(500):
            if h.committed:
                break
            await asyncio.sleep(0.01)
        h.engine.stop()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())
    assert [list(b.transactions) for b in h.committed] == [[tx]]
