"""Tests of the CyberMiles application over LevelDB: genesis, proposals, verification by a second node, restarts."""
from __future__ import annotations

import eth_abi
import pytest
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from consensus.application import ProposalRequest
from consensus.keys import ValidatorKey
from consensus.types import (
    EMPTY_COMMIT,
    PRECOMMIT,
    Block,
    Commit,
    CommitSig,
    vote_sign_bytes,
)
from cybermiles_node.natives import local_chain_genesis
from genesis.distribution import GENESIS_SUPPLY
from genesis.document import DposGenesis
from tests.conftest import GENESIS_TIME, Node
from vm.errors import BlockExecutionError
from vm.execution import CallMessage
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS, VESTING_ADDRESS
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9
RECIPIENT = bytes.fromhex("ab" * 20)
# Returns BLOCKHASH(calldata[0]).
BLOCKHASH_VIEW = bytes.fromhex("600035" "40" "600052" "6020" "6000" "f3")
BLOCKHASH_DEPLOYER = bytes.fromhex("600c" "600c" "6000" "39" "600c" "6000" "f3") + BLOCKHASH_VIEW


class Proposer:
    """Builds, commits and signs blocks on one node the way the engine does."""

    def __init__(self, node, key: ValidatorKey, genesis) -> None:
        self.node, self.key, self.genesis = node, key, genesis
        self.last_commit = EMPTY_COMMIT

    def propose(self, txs=(), *, timestamp: int | None = None) -> Block:
        app = self.node.app
        parent = app.latest_header
        return app.prepare_proposal(ProposalRequest(
            height=parent.number + 1,
            timestamp=parent.timestamp + 1 if timestamp is None else timestamp,
            proposer_address=self.key.address,
            proposer_owner=self.genesis.validators[0].owner,
            last_commit=self.last_commit,
            txs=[decode_transaction(raw, CHAIN_ID) for raw in txs],
            max_bytes=4 * 1024 * 1024,
        ))

    def commit_of(self, block: Block) -> Commit:
        timestamp_ms = block.header.timestamp * 1000
        sign_bytes = vote_sign_bytes(CHAIN_ID, PRECOMMIT, block.number, 0, block.hash, timestamp_ms)
        return Commit(height=block.number, round=0, block_hash=block.hash,
                      signatures=[CommitSig(self.key.address, timestamp_ms, self.key.sign(sign_bytes))])

    def decide(self, block: Block, *others) -> Commit:
        """Commit ``block`` on this node and on ``others`` (which must accept it first)."""
        commit = self.commit_of(block)
        for node in (self.node, *others):
            assert node.app.process_proposal(block)
            node.app.finalize_block(block)
            node.app.commit(block, commit)
        self.last_commit = commit
        return commit


@pytest.fixture
def proposer(open_node, validator_key, genesis) -> Proposer:
    return Proposer(open_node("a"), validator_key, genesis)


@pytest.fixture
def signer(dev_keys):
    nonces: dict[int, int] = {}

    def sign(index: int = 4, **fields) -> bytes:
        nonce = nonces.get(index, 0)
        nonces[index] = nonce + 1
        tx = {"nonce": nonce, "to": to_checksum_address(RECIPIENT), "value": 1, "gas": 21_000,
              "maxFeePerGas": 5 * GWEI, "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID, **fields}
        if tx["to"] is None:
            del tx["to"]
        return bytes(dev_keys[index].sign_transaction(tx).raw_transaction)

    return sign


def tampered(block: Block, *, transactions=None, **header_fields) -> Block:
    """``block`` with some header fields or its transaction list replaced."""
    return Block(
        header=block.header.copy(**header_fields),
        transactions=list(block.transactions if transactions is None else transactions),
        last_commit=block.last_commit,
        evidence=list(block.evidence),
    )


# -- genesis -----------------------------------------------------------------------------


def test_the_block_gas_limit_is_the_governed_one_once_set_else_the_genesis_one(tmp_path, validator_key,
                                                                               genesis) -> None:
    plain = Node(tmp_path / "plain", genesis)
    governed_genesis = local_chain_genesis(validator_key.public_key, genesis_time=GENESIS_TIME, chain_id=CHAIN_ID,
                                           dpos=DposGenesis(params=(("block_gas_limit", 150_000_000),)))
    governed = Node(tmp_path / "governed", governed_genesis)
    try:
        assert Proposer(plain, validator_key, genesis).propose().header.gas_limit == genesis.params.gas_limit
        proposer = Proposer(governed, validator_key, governed_genesis)
        block = proposer.propose()
        assert block.header.gas_limit == 150_000_000 != governed_genesis.params.gas_limit
        proposer.decide(block)  # checking the block computes the same limit
        assert governed.app.gas_limit_after(governed.app.latest_header) == 150_000_000
    finally:
        plain.close()
        governed.close()


def test_genesis_state_holds_the_whole_supply(proposer, genesis) -> None:
    app = proposer.node.app
    header = app.latest_header
    assert header.number == 0 and header.timestamp == genesis.genesis_time
    accounts = app.account_db(header.state_root)
    allocated = sum(accounts.get_balance(a.address) for a in genesis.alloc)
    locked = accounts.get_balance(VESTING_ADDRESS)
    reserve = accounts.get_balance(GOVERNANCE_ADDRESS)
    staked = accounts.get_balance(STAKING_ADDRESS)
    assert locked == sum(v.amount for v in genesis.vesting)
    assert reserve == genesis.params.foundation_reserve
    assert staked == sum(v.stake for v in genesis.validators) > 0
    assert allocated + locked + reserve + staked == GENESIS_SUPPLY == genesis.total_supply()


def test_two_nodes_from_one_genesis_start_identical(proposer, open_node) -> None:
    other = open_node("b")
    assert other.app.latest_header.hash == proposer.node.app.latest_header.hash


# -- proposals checked by a second node --------------------------------------------------------


def test_a_second_node_accepts_and_reaches_the_same_state(proposer, open_node, signer) -> None:
    other = open_node("b")
    for _ in range(3):
        block = proposer.propose([signer(), signer(5), signer(index=6, to=None, data=BLOCKHASH_DEPLOYER, gas=200_000)])
        assert len(block.transactions) == 3
        proposer.decide(block, other)
        assert other.app.latest_header.hash == proposer.node.app.latest_header.hash == block.hash
        assert other.store.get_receipts(block.hash) == proposer.node.store.get_receipts(block.hash)
    root = proposer.node.app.latest_header.state_root
    assert other.app.account_db(root).get_balance(RECIPIENT) == 6


def test_a_block_nobody_checked_is_verified_at_commit(proposer, open_node, signer) -> None:
    other = open_node("b")
    block = proposer.propose([signer()])
    other.app.commit(block, proposer.commit_of(block))
    assert other.app.latest_header.hash == block.hash


@pytest.mark.parametrize(
    "change",
    ["state_root", "receipts_root", "transactions_root", "gas_used", "logs_bloom", "coinbase", "base_fee_per_gas",
     "gas_limit", "parent_hash", "number", "chain_id", "last_commit_hash", "evidence_hash"],
)
def test_a_tampered_header_is_rejected(proposer, open_node, signer, change: str) -> None:
    other = open_node("b")
    block = proposer.propose([signer()])
    header = block.header
    value = getattr(header, change)
    if isinstance(value, bytes):
        replacement = bytes([value[0] ^ 1]) + value[1:] if value else b"\x01" * 20
    else:
        replacement = value + 1
    forged = tampered(block, **{change: replacement})
    assert not other.app.process_proposal(forged)
    assert not proposer.node.app.process_proposal(forged)  # the proposer checks what it did not build itself
    with pytest.raises(BlockExecutionError):
        other.app.finalize_block(forged)
    assert other.app.process_proposal(block)


def test_a_tampered_transaction_list_is_rejected(proposer, open_node, signer) -> None:
    other = open_node("b")
    first, second = signer(), signer()
    block = proposer.propose([first, second])
    assert not other.app.process_proposal(tampered(block, transactions=[first]))
    assert not other.app.process_proposal(tampered(block, transactions=[second, first]))
    assert not other.app.process_proposal(tampered(block, transactions=[first, second, signer()]))
    assert not other.app.process_proposal(tampered(block, transactions=[first, b"\x02garbage"]))
    assert not other.app.process_proposal(tampered(block, transactions=[first, first]))
    assert other.app.process_proposal(block)


def test_a_block_timed_before_its_parent_is_rejected(proposer, open_node, genesis) -> None:
    other = open_node("b")
    early = proposer.propose(timestamp=genesis.genesis_time - 1)
    assert not other.app.process_proposal(early)
    same_second = proposer.propose(timestamp=genesis.genesis_time)
    assert other.app.process_proposal(same_second)


def test_a_block_on_another_parent_is_rejected(proposer, open_node, signer) -> None:
    other = open_node("b")
    proposer.decide(proposer.propose([signer()]), other)
    stale = proposer.propose([signer()])
    proposer.decide(stale, other)
    replay = tampered(stale)  # height and parent no longer follow the last block
    assert not other.app.process_proposal(replay)


# -- block environment -----------------------------------------------------------------------


def test_blockhash_in_the_evm_equals_the_stored_block_hashes(proposer, signer) -> None:
    app = proposer.node.app
    deployed = proposer.propose([signer(index=7, to=None, data=BLOCKHASH_DEPLOYER, gas=200_000)])
    proposer.decide(deployed)
    probe = proposer.node.store.get_receipts(deployed.hash)[0].contract_address
    for _ in range(3):
        proposer.decide(proposer.propose())
    parent = app.latest_header
    env = app.block_env(parent, parent.number + 1, parent.timestamp + 1, bytes(20))
    for number in range(parent.number + 2):
        outcome = app.executor.call(
            proposer.node.store.state_db(), parent.state_root, env,
            CallMessage(sender=bytes(20), to=probe, data=eth_abi.encode(["uint256"], [number])),
        )
        expected = proposer.node.store.get_hash_by_number(number) or bytes(32)
        assert outcome.success and outcome.output == expected


def test_base_fee_follows_the_parent_block(proposer, signer, genesis) -> None:
    app = proposer.node.app
    assert app.next_base_fee() == genesis.params.initial_base_fee
    block = proposer.propose([signer()])
    assert block.header.base_fee_per_gas == genesis.params.initial_base_fee
    proposer.decide(block)
    receipt_price = proposer.node.store.get_receipts(block.hash)[0].effective_gas_price
    assert receipt_price == genesis.params.initial_base_fee + GWEI
    # a nearly empty block lowers the fee, but never under the minimum gas price
    assert app.next_base_fee() == max(genesis.params.min_gas_price, genesis.params.initial_base_fee * 7 // 8)


# -- restart ---------------------------------------------------------------------------------


def test_reopening_resumes_the_same_chain(proposer, open_node, signer) -> None:
    for _ in range(2):
        proposer.decide(proposer.propose([signer()]))
    header = proposer.node.app.latest_header
    proposer.node.close()

    reopened = open_node("a")
    assert reopened.app.latest_header.hash == header.hash
    assert reopened.app.latest_header.state_root == header.state_root
    info = reopened.app.info()
    assert info.last_height == 2 and info.last_header.hash == header.hash
    assert reopened.app.account_db(header.state_root).get_balance(RECIPIENT) == 2
    # and it keeps building on it
    proposer.node = reopened
    block = proposer.propose([signer()])
    proposer.decide(block)
    assert reopened.store.latest_height() == 3 and block.header.parent_hash == header.hash


def test_a_block_whose_last_commit_is_forged_is_rejected(proposer, open_node, signer) -> None:
    follower = open_node("follower")
    proposer.decide(proposer.propose(), follower)
    forger = ValidatorKey(seed=b"\x07" * 32)
    honest = proposer.last_commit
    forged_signature = forger.sign(
        vote_sign_bytes(CHAIN_ID, PRECOMMIT, honest.height, 0, honest.block_hash, honest.signatures[0].timestamp_ms)
    )
    proposer.last_commit = Commit(
        height=honest.height, round=0, block_hash=honest.block_hash,
        signatures=[CommitSig(honest.signatures[0].validator_address, honest.signatures[0].timestamp_ms, forged_signature)],
    )
    assert not follower.app.process_proposal(proposer.propose())
    proposer.last_commit = Commit(height=honest.height, round=0, block_hash=honest.block_hash, signatures=[])
    assert not follower.app.process_proposal(proposer.propose())
    proposer.last_commit = honest
    assert follower.app.process_proposal(proposer.propose())


def test_a_transaction_above_the_per_transaction_gas_cap_is_left_out(proposer, signer, genesis) -> None:
    cap = genesis.params.max_gas_per_tx
    too_big = signer(0, to=RECIPIENT, value=1, gas=cap + 1)
    fits = signer(1, to=RECIPIENT, value=1, gas=21_000)
    block = proposer.propose([too_big, fits])
    assert len(block.transactions) == 1
    assert decode_transaction(block.transactions[0], CHAIN_ID).gas == 21_000


def _double_sign(key: ValidatorKey, height: int) -> bytes:
    from consensus.evidence import DuplicateVoteEvidence
    from consensus.messages import Vote

    votes = []
    for block_hash in (b"\x01" * 32, b"\x02" * 32):
        vote = Vote(PRECOMMIT, height, 0, block_hash, 1_000, key.address)
        votes.append(vote.with_signature(key.sign(vote.sign_bytes(CHAIN_ID))))
    return DuplicateVoteEvidence.of(*votes).encode()


def test_a_block_carries_verified_double_sign_evidence(proposer, open_node, validator_key) -> None:
    follower = open_node("follower")
    proposer.decide(proposer.propose(), follower)
    evidence = _double_sign(validator_key, 1)
    app = proposer.node.app
    parent = app.latest_header
    request = dict(
        height=parent.number + 1, timestamp=parent.timestamp + 1, proposer_address=validator_key.address,
        proposer_owner=proposer.genesis.validators[0].owner, last_commit=proposer.last_commit, txs=[],
        max_bytes=1 << 20,
    )
    with_evidence = app.prepare_proposal(ProposalRequest(**request, evidence=[evidence]))
    assert list(with_evidence.evidence) == [evidence]
    assert follower.app.process_proposal(with_evidence)

    outsider = ValidatorKey(seed=b"\x09" * 32)
    forged = app.prepare_proposal(ProposalRequest(**request, evidence=[_double_sign(outsider, 1)]))
    assert not follower.app.process_proposal(forged)
    repeated = app.prepare_proposal(ProposalRequest(**request, evidence=[evidence, evidence]))
    assert not follower.app.process_proposal(repeated)


def test_transactions_lent_by_the_mempool_are_forgotten_once_committed(proposer, open_node, signer) -> None:
    other = open_node("b")
    raws = [signer(), signer(5)]
    waiting = signer(6)
    for raw in (*raws, waiting):  # as admission lends them
        other.app.decoded_txs.put(keccak(raw), decode_transaction(raw, CHAIN_ID))
    block = proposer.propose(raws)
    proposer.decide(block, other)
    assert len(other.app.decoded_txs) == 1
    assert other.app.decoded_txs.get(keccak(waiting)) is not None
