"""Fast sync on the node's side: payload checks against real blocks, storing without execution, the pivot's state."""
from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import rlp
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from consensus.application import ProposalRequest
from consensus.blocksync import SyncedBlock
from consensus.errors import InvalidBlock
from consensus.keys import ValidatorKey
from consensus.statesync import FetchedNode, NodeDataResponse, StateSyncScheduler
from consensus.types import (
    EMPTY_COMMIT,
    PRECOMMIT,
    Block,
    Commit,
    CommitSig,
    vote_sign_bytes,
)
from cybermiles_node.fastsync import FastSync, RecordTag, record_children
from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend, StateUnavailable
from vm.native.addresses import VESTING_ADDRESS
from vm.syncpayload import HeaderCommitments, check_payload
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9
RECIPIENT = bytes.fromhex("ab" * 20)
# Init code: LOG1 of 32 zero bytes with topic 0x2a, then deploy the one-byte code 0x00 (at offset 0x13).
LOGGING_DEPLOYER = bytes.fromhex("602a" "6020" "6000" "a1" "6001" "6013" "6000" "39" "6001" "6000" "f3" "00")


class Chain:
    """A source node building blocks the way consensus does (one validator)."""

    def __init__(self, node, key: ValidatorKey, genesis) -> None:
        self.node, self.key, self.genesis = node, key, genesis
        self.last_commit = EMPTY_COMMIT

    def add_block(self, txs: list[bytes]) -> tuple[Block, Commit]:
        app = self.node.app
        parent = app.latest_header
        block = app.prepare_proposal(ProposalRequest(
            height=parent.number + 1, timestamp=parent.timestamp + 1, proposer_address=self.key.address,
            proposer_owner=self.genesis.validators[0].owner, last_commit=self.last_commit,
            txs=[decode_transaction(raw, CHAIN_ID) for raw in txs], max_bytes=4 * 1024 * 1024,
        ))
        assert len(block.transactions) == len(txs)
        timestamp_ms = block.header.timestamp * 1000
        sign_bytes = vote_sign_bytes(CHAIN_ID, PRECOMMIT, block.number, 0, block.hash, timestamp_ms)
        commit = Commit(height=block.number, round=0, block_hash=block.hash,
                        signatures=[CommitSig(self.key.address, timestamp_ms, self.key.sign(sign_bytes))])
        app.finalize_block(block)
        app.commit(block, commit)
        self.last_commit = commit
        return block, commit

    def synced(self, height: int) -> SyncedBlock:
        """Block ``height`` as block sync hands it over: with the receipt records its peer serves."""
        store = self.node.store
        block = store.get_block_by_number(height)
        commit = store.get_seen_commit(height)
        assert block is not None and commit is not None
        return SyncedBlock(block, commit, "peer", tuple(store.get_receipt_records(block.hash)), None)


@pytest.fixture
def chain(open_node, validator_key, genesis, dev_keys) -> Chain:
    """Three blocks: EIP-1559, legacy and access-list transfers, then a contract creation that logs."""
    source = Chain(open_node("source"), validator_key, genesis)
    nonces = [0] * len(dev_keys)

    def sign(index: int, **fields) -> bytes:
        tx = {"nonce": nonces[index], "to": to_checksum_address(RECIPIENT), "value": 1 + index, "gas": 21_000,
              "chainId": CHAIN_ID, **fields}
        if "gasPrice" not in tx:
            tx.setdefault("maxFeePerGas", 5 * GWEI)
            tx.setdefault("maxPriorityFeePerGas", GWEI)
        if tx["to"] is None:
            del tx["to"]
        nonces[index] += 1
        return bytes(dev_keys[index].sign_transaction(tx).raw_transaction)

    source.add_block([sign(i) for i in range(4, 8)])
    source.add_block([sign(4, gasPrice=3 * GWEI), sign(5, gasPrice=2 * GWEI, accessList=[]), sign(6)])
    source.add_block([sign(7, to=None, data=LOGGING_DEPLOYER, gas=200_000), sign(8)])
    return source


def commitments(block: Block) -> HeaderCommitments:
    header = block.header
    return HeaderCommitments(CHAIN_ID, header.base_fee_per_gas, header.transactions_root, header.receipts_root,
                             header.gas_used, header.logs_bloom)


def forged(records: tuple[bytes, ...], index: int, field: int, value: object) -> tuple[bytes, ...]:
    """``records`` with one field of one stored receipt replaced."""
    item = rlp.decode(records[index])
    item[field] = value
    return records[:index] + (rlp.encode(item),) + records[index + 1:]


# -- payload checks -------------------------------------------------------------------------


def test_honest_payloads_check_and_name_their_transactions(chain: Chain) -> None:
    for height in (1, 2, 3):
        synced = chain.synced(height)
        verdict = check_payload(commitments(synced.block), synced.block.transactions, synced.receipts)
        assert verdict.problem is None
        assert verdict.tx_hashes == tuple(keccak(raw) for raw in synced.block.transactions)
    logged = chain.node.store.get_receipts(chain.synced(3).block.hash)[0]
    assert logged.logs and logged.contract_address is not None  # the creation's receipt was covered too


@pytest.mark.parametrize("field, value, problem", [
    (3, b"\x11" * 20, "sender that did not sign"),
    (0, b"\x22" * 32, "another transaction"),
    (7, 22_000, "gas used"),
    (9, 7 * GWEI, "effective gas price"),
    (4, b"\x33" * 20, "another recipient"),
])
def test_receipt_fields_the_root_does_not_cover_are_checked_against_the_transaction(
        chain: Chain, field: int, value: object, problem: str) -> None:
    synced = chain.synced(1)
    verdict = check_payload(commitments(synced.block), synced.block.transactions,
                            forged(synced.receipts, 1, field, value))
    assert verdict.problem is not None and problem in verdict.problem


def test_receipts_that_do_not_match_the_receipts_root_are_rejected(chain: Chain) -> None:
    synced = chain.synced(3)
    item = rlp.decode(synced.receipts[0])
    item[10][0][2] = b"\x01" * 32  # another log payload: same gas, same bloom, another receipts root
    receipts = (rlp.encode(item),) + synced.receipts[1:]
    verdict = check_payload(commitments(synced.block), synced.block.transactions, receipts)
    assert verdict.problem == "receipts do not match the header's receipts root"
    status_flipped = forged(chain.synced(1).receipts, 0, 6, b"")
    verdict = check_payload(commitments(chain.synced(1).block), chain.synced(1).block.transactions, status_flipped)
    assert verdict.problem == "receipts do not match the header's receipts root"


def test_transactions_that_do_not_match_the_root_and_missing_receipts_are_rejected(chain: Chain) -> None:
    one, two = chain.synced(1), chain.synced(2)
    verdict = check_payload(commitments(one.block), two.block.transactions, two.receipts)
    assert verdict.problem == "transactions do not match the header's transactions root"
    verdict = check_payload(commitments(one.block), one.block.transactions, one.receipts[:-1])
    assert verdict.problem == f"{len(one.receipts) - 1} receipts for {len(one.receipts)} transactions"
    verdict = check_payload(commitments(one.block), one.block.transactions, (b"\xc0",) + one.receipts[1:])
    assert verdict.problem == "receipt 0: malformed receipt"


# -- storing without execution, then the state -------------------------------------------------


def fetch_state(root: bytes, serve: Callable[[bytes], bytes | None], store: Callable[[dict[bytes, bytes]], None]) -> int:
    """Run a scheduler against one peer serving ``serve``; return the records fetched."""
    scheduler = StateSyncScheduler(root, RecordTag.ACCOUNT_NODE, max_hashes_per_request=16)
    scheduler.add_peer("peer")
    while not scheduler.done:
        for peer_id, request in scheduler.next_requests(0):
            values = tuple(value for value in map(serve, request.hashes) if value is not None)
            fetched, fault = scheduler.on_response(peer_id, NodeDataResponse(values))
            assert fault is None
            store({node.hash: node.value for node in fetched})
            for node in fetched:
                scheduler.schedule(record_children(node))
    return scheduler.fetched_nodes


def test_a_fast_synced_node_stores_blocks_then_the_state_and_executes_from_the_pivot(
        chain: Chain, open_node, dev_keys) -> None:
    follower = open_node("follower")
    execution = ThreadPoolExecutor(max_workers=1)
    workers = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    fast = FastSync(follower.app, execution, workers)

    async def sync_blocks() -> None:
        for height in (1, 2, 3):
            synced = chain.synced(height)
            verified = await fast.verify(synced)
            await fast.store([(synced, verified)], durable=height == 3)
        bad = chain.synced(1)
        with pytest.raises(InvalidBlock, match="sender that did not sign"):
            await fast.verify(SyncedBlock(bad.block, bad.commit, "liar", forged(bad.receipts, 0, 3, b"\x11" * 20),
                                          None))

    try:
        asyncio.run(sync_blocks())
    finally:
        workers.shutdown()
    source_store, store = chain.node.store, follower.store
    assert store.latest_height() == 3 and follower.app.latest_header == chain.node.app.latest_header
    for height in (1, 2, 3):
        block_hash = source_store.get_hash_by_number(height)
        assert store.get_receipts(block_hash) == source_store.get_receipts(block_hash)
        for index, raw in enumerate(source_store.get_block_by_number(height).transactions):
            location = store.get_tx_location(keccak(raw))
            assert location[:4] == source_store.get_tx_location(keccak(raw))[:4]
            assert location[:3] == (block_hash, height, index)
            assert store.get_transaction(location) == raw
    assert store.find_logs(0, 3, [], [], 10) == source_store.find_logs(0, 3, [], [], 10)
    assert store.fast_sync_in_progress()

    backend = NodeBackend(follower.app, Mempool(CHAIN_ID, MempoolConfig()), lambda raw: None)
    with pytest.raises(StateUnavailable, match="fast-syncing"):
        asyncio.run(backend.get_balance(RECIPIENT, 3))

    pivot = chain.node.app.latest_header
    fetched = fetch_state(pivot.state_root, source_store.get_state_node, store.put_state_nodes)
    assert fetched > 10
    asyncio.run(fast.finish(3))
    assert not store.fast_sync_in_progress() and store.state_base() == 3
    assert asyncio.run(backend.get_balance(RECIPIENT, 3)) == asyncio.run(
        NodeBackend(chain.node.app, Mempool(CHAIN_ID, MempoolConfig()), lambda raw: None).get_balance(RECIPIENT, 3))
    with pytest.raises(StateUnavailable, match="historical state unavailable: this node's state starts at block 3"):
        asyncio.run(backend.get_balance(RECIPIENT, 2))
    accounts = follower.app.account_db(pivot.state_root)
    source_accounts = chain.node.app.account_db(pivot.state_root)
    created = chain.node.store.get_receipts(source_store.get_hash_by_number(3))[0].contract_address
    assert accounts.get_code(created) == source_accounts.get_code(created) == b"\x00"
    for slot in range(4):
        assert accounts.get_storage(VESTING_ADDRESS, slot) == source_accounts.get_storage(VESTING_ADDRESS, slot)

    # The follower executes the next block on the fetched state and reaches the source's header.
    tx = bytes(dev_keys[9].sign_transaction({
        "nonce": 0, "to": to_checksum_address(RECIPIENT), "value": 5, "gas": 21_000, "maxFeePerGas": 5 * GWEI,
        "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}).raw_transaction)
    block, commit = chain.add_block([tx])
    assert follower.app.process_proposal(block)
    follower.app.finalize_block(block)
    follower.app.commit(block, commit)
    assert follower.app.latest_header.state_root == chain.node.app.latest_header.state_root
    execution.shutdown()


def test_state_records_name_storage_tries_and_code_of_accounts(chain: Chain) -> None:
    root = chain.node.app.latest_header.state_root
    node = chain.node.store.get_state_node(root)
    assert node is not None
    children = record_children(FetchedNode(root, node, RecordTag.ACCOUNT_NODE))
    assert children and all(tag == RecordTag.ACCOUNT_NODE for _, tag in children)
    assert record_children(FetchedNode(keccak(b"\x00"), b"\x00", RecordTag.CODE)) == []
    assert record_children(FetchedNode(keccak(b"junk"), b"\xff\xff", RecordTag.STORAGE_NODE)) == []


# -- the block-sync service in fast mode, over an in-memory network ------------------------------


class LoopbackNetwork:
    """Peers answering from chain stores (one of them may forge receipts); records reported peers."""

    def __init__(self, peers: dict[str, object], forge_receipts: set[str]) -> None:
        self.peers = peers
        self.forge = forge_receipts
        self.service = None
        self.reported: dict[str, str] = {}

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        if peer_id in self.reported:
            return False
        asyncio.get_running_loop().call_soon(self._answer, peer_id, payload)
        return True

    def broadcast(self, channel_id: int, payload: bytes) -> int:
        for peer_id in self.connected_ids():
            self.send(peer_id, channel_id, payload)
        return len(self.connected_ids())

    def connected_ids(self) -> list[str]:
        return [peer for peer in self.peers if peer not in self.reported]

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        self.reported[peer_id] = reason
        self.service.peer_removed(peer_id)

    def _answer(self, peer_id: str, payload: bytes) -> None:
        from consensus import blocksync, statesync
        store = self.peers[peer_id]
        if payload[0] in statesync.STATE_SYNC_TAGS:
            answer = statesync.encode_message(statesync.answer_node_data(statesync.decode_message(payload),
                                                                         store.get_state_node))
        else:
            response = blocksync.answer_request(blocksync.decode_message(payload), store)
            if peer_id in self.forge and isinstance(response, blocksync.BlockResponse) and response.block.transactions:
                response = blocksync.BlockResponse(response.block, response.commit,
                                                   forged(response.receipts, 0, 3, b"\x11" * 20),
                                                   response.next_validators)
            answer = blocksync.encode_message(response)
        asyncio.ensure_future(self.service.receive(peer_id, answer))


def test_the_service_fast_syncs_reports_a_peer_forging_receipts_and_executes_after_the_pivot(
        chain: Chain, open_node) -> None:
    from consensus.reactor.sync import BlockSyncService, SyncPhase
    follower = open_node("follower")
    execution = ThreadPoolExecutor(max_workers=1)
    fast = FastSync(follower.app, execution, ThreadPoolExecutor(max_workers=2))
    network = LoopbackNetwork({"honest": chain.node.store, "liar": chain.node.store}, forge_receipts={"liar"})
    executed: list[int] = []

    async def apply(synced: SyncedBlock) -> None:
        assert follower.app.process_proposal(synced.block)
        follower.app.finalize_block(synced.block)
        follower.app.commit(synced.block, synced.commit)
        executed.append(synced.block.number)

    async def sync() -> None:
        service = BlockSyncService(network, follower.store, CHAIN_ID, follower.app.validators_at, apply, 1,
                                   fast=fast, pivot_margin=1)
        network.service = service
        for peer in network.peers:
            service.peer_added(peer)
        task = asyncio.create_task(service.run())
        try:
            for _ in range(400):
                await asyncio.sleep(0.02)
                if service.caught_up(0) and follower.store.latest_height() == 3:
                    break
        finally:
            task.cancel()
        assert service.phase is SyncPhase.FULL and service.pivot == 2

    asyncio.run(sync())
    execution.shutdown()
    assert "sender that did not sign" in network.reported.get("liar", "")
    assert "honest" not in network.reported
    assert follower.store.state_base() == 2 and not follower.store.fast_sync_in_progress()
    assert executed == [3]  # blocks 1 and 2 stored without execution, block 3 executed on the fetched state
    assert follower.app.latest_header == chain.node.app.latest_header
