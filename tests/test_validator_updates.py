"""Validator-set updates from native contracts reach consensus two heights later, through the application."""
from __future__ import annotations

from collections.abc import Sequence

import eth_abi
import pytest
import rlp
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from consensus.keys import ValidatorKey
from consensus.validators import Validator, ValidatorSet
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.beacon import key_reveals
from cybermiles_node.natives import native_contracts
from cybermiles_node.storage import ChainStore, LevelDB
from tests.conftest import VALIDATOR_SEED
from tests.test_application import CHAIN_ID, GWEI, Proposer
from vm.execution import ChainExecutor
from vm.native.framework import CallContext, NativeContract, method
from vm.native.hooks import ConsensusInfo, ValidatorUpdate

ELECTOR = bytes.fromhex("00000000000000000000000000000000000c0eee")
NEWCOMER = ValidatorKey(seed=b"\x31" * 32)
NEWCOMER_OWNER = b"\x77" * 20


class Elector(NativeContract):
    """Queues validator updates from transactions and returns them at the end of the block.

    Its begin-block hook records how many of the parent's validators signed and were absent.
    """

    address = ELECTOR
    name = "Elector"

    @method("schedule(bytes32,uint256)", gas=1_000)
    def schedule(self, context: CallContext, pub_key: bytes, power: int) -> None:
        queued = rlp.decode(context.load_bytes(b"queue") or rlp.encode([]))
        queued.append([pub_key, power])
        context.store_bytes(b"queue", rlp.encode(queued))

    def begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        context.store(1, len(info.signed))
        context.store(2, len(info.absent))
        context.store(3, int.from_bytes(info.proposer, "big"))

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        queued = rlp.decode(context.load_bytes(b"queue") or rlp.encode([]))
        context.delete_bytes(b"queue")
        return tuple(ValidatorUpdate(bytes(key), int.from_bytes(power, "big"), NEWCOMER_OWNER) for key, power in queued)


class ElectorNode:
    """A node whose chain has the Elector installed beside the chain's own native contracts."""

    def __init__(self, path, genesis) -> None:
        self.db = LevelDB(path)
        self.app = CyberMilesApp(ChainStore(self.db), genesis, executor=ChainExecutor(native_contracts(genesis) + [Elector()]))
        self.app.reveals = key_reveals(ValidatorKey(VALIDATOR_SEED), genesis.chain_id)

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def open_elector(tmp_path, genesis):
    opened: list[ElectorNode] = []

    def make(name: str) -> ElectorNode:
        node = ElectorNode(tmp_path / name, genesis)
        opened.append(node)
        return node

    yield make
    for node in opened:
        if not node.db.closed:
            node.close()


def schedule_tx(dev_keys, nonce: int, pub_key: bytes, power: int) -> bytes:
    data = function_signature_to_4byte_selector("schedule(bytes32,uint256)") + eth_abi.encode(
        ["bytes32", "uint256"], [pub_key, power]
    )
    tx = {"nonce": nonce, "to": to_checksum_address(ELECTOR), "value": 0, "gas": 200_000, "data": data,
          "maxFeePerGas": 5 * GWEI, "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}
    return bytes(dev_keys[3].sign_transaction(tx).raw_transaction)


def test_an_update_at_height_h_governs_height_h_plus_2(open_elector, validator_key, genesis, dev_keys) -> None:
    node, other = open_elector("a"), open_elector("b")
    proposer = Proposer(node, validator_key, genesis)
    genesis_set = node.app.validators_at(1)
    proposer.decide(proposer.propose(), other)
    block2 = proposer.propose([schedule_tx(dev_keys, 0, NEWCOMER.public_key, 1)])
    assert node.app.finalize_block(block2).validator_updates == (Validator(NEWCOMER.public_key, 1, NEWCOMER_OWNER),)
    proposer.decide(block2, other)
    grown = genesis_set.updated([(NEWCOMER.public_key, 1, NEWCOMER_OWNER)])
    for app in (node.app, other.app):
        assert app.validators_at(2) == genesis_set
        assert app.validators_at(3) == genesis_set
        assert app.validators_at(4) == grown
    block3 = proposer.propose()
    assert block3.header.validators_hash == genesis_set.hash
    assert block3.header.next_validators_hash == grown.hash
    proposer.decide(block3, other)
    block4 = proposer.propose()
    assert block4.header.validators_hash == grown.hash
    proposer.decide(block4, other)  # the old key still holds +2/3 of the grown set
    proposer.decide(proposer.propose())  # block 5's hooks see block 4's commit: the newcomer did not sign
    state = node.app.account_db(node.app.latest_header.state_root)
    assert state.get_storage(ELECTOR, 1) == 1
    assert state.get_storage(ELECTOR, 2) == 1


def test_validator_sets_survive_a_restart(open_elector, validator_key, genesis, dev_keys) -> None:
    node = open_elector("a")
    proposer = Proposer(node, validator_key, genesis)
    proposer.decide(proposer.propose([schedule_tx(dev_keys, 0, NEWCOMER.public_key, 1)]))
    expected = node.app.validators_at(3)
    node.close()
    reopened = open_elector("a")
    assert reopened.app.validators_at(3) == expected
    assert reopened.app.validators_at(2) == reopened.app.validators_at(1) != expected


def test_updates_that_would_empty_the_set_are_ignored(open_elector, validator_key, genesis, dev_keys) -> None:
    node = open_elector("a")
    proposer = Proposer(node, validator_key, genesis)
    proposer.decide(proposer.propose([schedule_tx(dev_keys, 0, validator_key.public_key, 0)]))
    assert node.app.validators_at(3) == node.app.validators_at(1)
    assert node.app.latest_header.number == 1


def test_a_header_naming_the_wrong_next_set_is_rejected(open_elector, validator_key, genesis, dev_keys) -> None:
    node, other = open_elector("a"), open_elector("b")
    proposer = Proposer(node, validator_key, genesis)
    block = proposer.propose()
    forged = block.__class__(
        header=block.header.copy(next_validators_hash=ValidatorSet.of([Validator(NEWCOMER.public_key, 1, NEWCOMER_OWNER)]).hash),
        transactions=list(block.transactions), last_commit=block.last_commit, evidence=list(block.evidence),
    )
    assert not other.app.process_proposal(forged)
    assert other.app.process_proposal(block)


def test_the_set_of_a_height_beyond_the_lag_is_unknown(open_elector) -> None:
    node = open_elector("a")
    assert node.app.validators_at(2) == node.app.validators_at(1)
    with pytest.raises(Exception, match="not known yet"):
        node.app.validators_at(3)
