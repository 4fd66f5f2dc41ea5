"""The randomness beacon: hash chains, the contract's reveal checks, mixing, storage of values, missed slots."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import eth_abi
import pytest
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

from consensus.application import AppInfo
from consensus.dpos.events import JAILED
from consensus.driver import ConsensusDriver, DriverConfig
from consensus.errors import ProposalUnavailable
from consensus.keys import ValidatorKey
from consensus.privval import PrivValidator
from consensus.proposer import ProposerPriorities
from consensus.tendermint import TimeoutConfig
from consensus.types import Block
from consensus.validators import ValidatorSet
from consensus.wal import WAL
from cybermiles_node.beacon import ProposerSlots
from cybermiles_node.natives import genesis_accounts, native_contracts
from cybermiles_node.solc import compile_file
from cybermiles_node.storage.schema import MetaName
from middleware.randomness import contract, records
from middleware.randomness.contract import MAX_MISSES_PER_WINDOW, RandomnessContract
from middleware.randomness.hashchain import CHAIN_LENGTH, HashChain, hash_times
from vm.errors import BlockExecutionError, NativeContractError
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import RANDOMNESS_ADDRESS
from vm.native.framework import ERROR_SELECTOR
from vm.native.hooks import ConsensusInfo

PROPOSER = keccak(b"beacon proposer key")
OTHER = keccak(b"another validator key")
CALLER = b"\x77" * 20
REPO = Path(__file__).resolve().parents[2]


def chain_of(key_seed: bytes, epoch: int = 0) -> HashChain:
    return HashChain(ValidatorKey(key_seed).beacon_seed(15, epoch))


# -- hash chains ---------------------------------------------------------------------


def test_every_reveal_hashes_to_the_element_before_it() -> None:
    chain = HashChain(keccak(b"seed"), length=1_000, interval=64)
    commitment = chain.anchor
    for remaining in range(1_000, 0, -1):
        reveal = chain.reveal_after(remaining)
        assert keccak(reveal) == commitment
        commitment = reveal
    assert commitment == keccak(b"seed")  # the last reveal is the seed itself


@pytest.mark.parametrize("times", [0, 1, 255, 256, 257, 40_000, CHAIN_LENGTH - 1, CHAIN_LENGTH])
def test_checkpoints_give_the_same_elements_as_plain_hashing(times: int) -> None:
    seed = keccak(b"another seed")
    assert HashChain(seed).hashed(times) == hash_times(seed, times)


def test_chains_differ_by_key_epoch_and_chain_id() -> None:
    key = ValidatorKey(PROPOSER)
    seeds = {key.beacon_seed(15, 0), key.beacon_seed(15, 1), key.beacon_seed(16, 0),
             ValidatorKey(OTHER).beacon_seed(15, 0)}
    assert len(seeds) == 4 and all(len(seed) == 32 for seed in seeds)


# -- the contract --------------------------------------------------------------------


class Beacon:
    """A memory chain with the randomness contract; blocks proposed by ``PROPOSER`` with its correct reveals."""

    def __init__(self, memory_chain, accounts=()) -> None:
        self.penalised: list[bytes] = []

        def penalise(context, pub_key: bytes) -> bool:
            self.penalised.append(pub_key)
            return True

        self.chain = memory_chain(list(accounts), natives=[RandomnessContract(penalise)])
        self.hash_chain = chain_of(PROPOSER)

    def block(self, reveal: bytes | None = None, txs=(), **info):
        """Execute the next block with ``reveal`` (default: the proposer's correct next reveal or anchor)."""
        consensus = ConsensusInfo(proposer=PROPOSER, reveal=self.next_reveal() if reveal is None else reveal, **info)
        return self.chain.execute(list(txs), strict=True, consensus=consensus)

    def next_reveal(self) -> bytes:
        remaining = self.view("validatorOf(bytes32)", ["bytes32", "uint64", "uint64", "uint64"], PROPOSER)[1]
        return self.hash_chain.anchor if remaining == 0 else self.hash_chain.reveal_after(remaining)

    def call(self, signature: str, *values):
        types = [t for t in signature[signature.index("(") + 1: -1].split(",") if t]
        data = function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))
        return self.chain.call(CallMessage(sender=CALLER, to=RANDOMNESS_ADDRESS, data=data))

    def view(self, signature: str, returns: list[str], *values):
        outcome = self.call(signature, *values)
        assert outcome.success, reason(outcome.output)
        decoded = eth_abi.decode(returns, outcome.output)
        return decoded if len(returns) > 1 else decoded[0]

    def value(self, height: int) -> bytes:
        return self.view("valueAt(uint64)", ["bytes32"], height)

    def storage_root(self) -> bytes:
        return self.chain.state._get_storage_root(RANDOMNESS_ADDRESS)


def reason(output: bytes) -> str:
    assert output[:4] == ERROR_SELECTOR
    return eth_abi.decode(["string"], output[4:])[0]


@pytest.fixture
def beacon(memory_chain) -> Beacon:
    return Beacon(memory_chain)


def test_an_anchor_is_stored_without_mixing_then_reveals_are_mixed(beacon: Beacon) -> None:
    beacon.block()  # block 1: the proposer's anchor
    genesis_value = beacon.chain.hashes[1]  # block 1's PREVRANDAO (a memory chain's: block 0's hash)
    assert beacon.value(0) == genesis_value
    assert beacon.value(1) == genesis_value
    commitment, remaining, epoch, missed = beacon.view(
        "validatorOf(bytes32)", ["bytes32", "uint64", "uint64", "uint64"], PROPOSER)
    assert (commitment, remaining, epoch, missed) == (beacon.hash_chain.anchor, CHAIN_LENGTH, 0, 0)
    reveal = beacon.hash_chain.reveal_after(CHAIN_LENGTH)
    beacon.block(reveal)
    assert beacon.value(2) == keccak(genesis_value + reveal)
    reveal3 = beacon.hash_chain.reveal_after(CHAIN_LENGTH - 1)
    beacon.block(reveal3)
    assert beacon.value(3) == keccak(keccak(genesis_value + reveal) + reveal3)
    assert beacon.view("latestHeight()", ["uint64"]) == 3


@pytest.mark.parametrize("bad", ["wrong", "replayed", "missing", "other chain"])
def test_a_bad_reveal_makes_the_block_invalid(beacon: Beacon, bad: str) -> None:
    beacon.block()
    beacon.block()
    stored = beacon.view("validatorOf(bytes32)", ["bytes32", "uint64", "uint64", "uint64"], PROPOSER)[0]
    reveal = {"wrong": keccak(b"guess"), "replayed": stored, "missing": b"\x00" * 32,
              "other chain": chain_of(OTHER).reveal_after(CHAIN_LENGTH - 1)}[bad]
    root, number = beacon.chain.root, beacon.chain.number
    with pytest.raises(BlockExecutionError, match="randomness reveal"):
        beacon.block(reveal)
    assert (beacon.chain.root, beacon.chain.number) == (root, number)


def test_value_of_the_current_or_a_future_height_reverts_with_the_reason(beacon: Beacon) -> None:
    beacon.block()
    outcome = beacon.call("valueAt(uint64)", 2)  # the call runs in block 2
    assert not outcome.success
    assert reason(outcome.output) == ("Randomness: randomness of height 2 is not available yet "
                                      "(block 2; readable from block 3)")
    assert beacon.view("isAvailable(uint64)", ["bool"], 2) is False
    assert beacon.view("isAvailable(uint64)", ["bool"], 1) is True


def test_values_expire_from_the_ring_unless_requested(memory_chain, monkeypatch) -> None:
    monkeypatch.setattr(records, "RING_SIZE", 8)
    beacon = Beacon(memory_chain)
    for _ in range(12):
        beacon.block()
    outcome = beacon.call("valueAt(uint64)", 3)
    assert not outcome.success
    assert reason(outcome.output).startswith("Randomness: randomness of height 3 has expired")
    assert beacon.view("isAvailable(uint64)", ["bool"], 4) is False
    assert [beacon.view("isAvailable(uint64)", ["bool"], h) for h in range(5, 13)] == [True] * 8


def test_a_requested_height_stays_readable_after_the_ring_moves_on(memory_chain, monkeypatch, sign_tx,
                                                                     dev_keys) -> None:
    monkeypatch.setattr(records, "RING_SIZE", 8)
    sender = dev_keys[0]
    beacon = Beacon(memory_chain, [GenesisAccount(bytes.fromhex(sender.address[2:]), balance=10**18)])
    root = beacon.storage_root()
    refused = beacon.call("request(uint64)", 1)  # the call runs in block 1: not in the future
    assert not refused.success and reason(refused.output) == "Randomness: height 1 is not in the future (block 1)"
    data = function_signature_to_4byte_selector("request(uint64)") + eth_abi.encode(["uint64"], [4])
    receipt = beacon.block(txs=[sign_tx(sender, nonce=0, to=RANDOMNESS_ADDRESS, data=data, gas=200_000)]).receipts[0]
    assert receipt.status == 1 and len(receipt.logs) == 1  # RandomnessRequested
    assert beacon.storage_root() != root
    assert beacon.view("isRequested(uint64)", ["bool"], 4) is True
    for _ in range(4):
        beacon.block()
    kept = beacon.value(4)
    for _ in range(12):
        beacon.block()
    assert beacon.value(4) == kept
    assert beacon.view("isAvailable(uint64)", ["bool"], 3) is False


def test_missed_proposer_slots_are_counted_and_penalised_at_the_limit(beacon: Beacon) -> None:
    beacon.block()
    for count in range(1, MAX_MISSES_PER_WINDOW + 1):
        result = beacon.block(missed_proposers=(OTHER,))
        assert beacon.view("validatorOf(bytes32)", ["bytes32", "uint64", "uint64", "uint64"], OTHER)[3] == count
        assert any(log.topics[1] == OTHER for log in result.block_events)
    assert beacon.penalised == [OTHER]
    beacon.block(missed_proposers=(OTHER,))  # the window count starts again after a penalty
    assert beacon.penalised == [OTHER]


def test_the_chain_jails_a_validator_that_misses_its_slots(memory_chain, genesis) -> None:
    chain = memory_chain(genesis_accounts(genesis), natives=native_contracts(genesis))
    validator = genesis.validators[0].pub_key
    reveals = chain_of(PROPOSER)
    jailed = []
    for number in range(MAX_MISSES_PER_WINDOW):
        reveal = reveals.anchor if number == 0 else reveals.reveal_after(CHAIN_LENGTH - number + 1)
        result = chain.execute([], consensus=ConsensusInfo(proposer=PROPOSER, reveal=reveal,
                                                           missed_proposers=(validator,)))
        jailed += [log for log in result.block_events if log.topics[0] == keccak(JAILED.encode())]
    assert len(jailed) == 1 and jailed[0].topics[2] == validator


def test_proposals_carry_reveals_and_one_with_a_bad_reveal_is_rejected(open_node, validator_key, genesis) -> None:
    from tests.test_application import Proposer

    node, other = open_node("a"), open_node("b")
    proposer = Proposer(node, validator_key, genesis)
    genesis_hash = node.app.latest_header.hash
    first = proposer.propose()
    assert first.header.mix_hash == keccak(genesis_hash)  # PREVRANDAO of block 1: the genesis value
    assert first.header.randao_reveal == chain_of(validator_key.seed).anchor
    proposer.decide(first, other)
    second = proposer.propose()
    assert keccak(second.header.randao_reveal) == first.header.randao_reveal
    forged = Block(header=second.header.copy(randao_reveal=keccak(b"chosen")), transactions=second.transactions,
                   last_commit=second.last_commit, evidence=second.evidence)
    assert other.app.process_proposal(forged) is False
    assert other.app.process_proposal(second) is True
    proposer.decide(second, other)
    third = proposer.propose()
    assert third.header.mix_hash == keccak(keccak(genesis_hash) + second.header.randao_reveal)


def test_a_solidity_contract_requests_a_future_height_and_draws_from_it(memory_chain, sign_tx, dev_keys) -> None:
    draw_contract = compile_file(REPO / "examples" / "contracts" / "RandomDraw.sol")["RandomDraw"]
    players = dev_keys[:3]
    beacon = Beacon(memory_chain, [GenesisAccount(bytes.fromhex(p.address[2:]), balance=10**18) for p in players])
    organiser = players[0]
    deploy = sign_tx(organiser, nonce=0, to=None, data=draw_contract.bytecode, gas=2_000_000)
    address = beacon.block(txs=[deploy]).receipts[0].contract_address

    def call(player, nonce: int, name: str):
        data = function_signature_to_4byte_selector(f"{name}()")
        return sign_tx(player, nonce=nonce, to=address, data=data, gas=300_000)

    assert all(r.status == 1 for r in beacon.block(txs=[call(p, 1 if p is organiser else 0, "enter")
                                                        for p in players]).receipts)
    closed = beacon.block(txs=[call(organiser, 2, "close")]).receipts[0]
    assert closed.status == 1
    draw_height = beacon.chain.number + 1
    assert beacon.view("isRequested(uint64)", ["bool"], draw_height) is True
    early = beacon.block(txs=[call(players[1], 1, "draw")]).receipts[0]  # in the draw height itself
    assert early.status == 0
    drawn = beacon.block(txs=[call(players[1], 2, "draw")]).receipts[0]
    assert drawn.status == 1
    value = beacon.value(draw_height)
    winner = players[int.from_bytes(value, "big") % 3].address
    assert eth_abi.decode(["address", "bytes32"], drawn.logs[0].data) == (winner.lower(), value)


def test_missed_slots_name_the_proposers_the_driver_chose_for_each_round(open_node, tmp_path) -> None:
    from tests.test_driver_priorities import VALIDATORS, driver_at

    grown = VALIDATORS.updated([(ValidatorKey(b"\x09" * 32).public_key, 500, b"\x09" * 20)])

    def schedule(height: int) -> ValidatorSet:
        return VALIDATORS if height < 6 else grown

    store = open_node("slots").store
    for height in (3, 9, 14):
        driver = driver_at(tmp_path, height - 1, None, schedule)  # the driver's state of ``height``
        expected = tuple(schedule(height).by_address(driver.priorities.incremented(r).proposer).pub_key
                         for r in range(5))
        assert ProposerSlots(store, schedule).missed(height, 5) == expected
    assert ProposerSlots(store, schedule).missed(14, 0) == ()
    assert store.get_meta(MetaName.BEACON_PRIORITIES)[:8] == (14).to_bytes(8, "big")  # resumed from, not replayed


def test_a_validator_without_its_reveal_skips_its_proposal_and_keeps_running(tmp_path, caplog) -> None:
    from tests.test_driver_timeliness import CHAIN_ID, KEYS, NOW, VALIDATORS, Network

    me = next(key for key in KEYS if key.address == ProposerPriorities.initial(VALIDATORS).proposer)

    class NoReveal:
        def info(self) -> AppInfo:
            return AppInfo(last_height=0, last_header=None)

        def validators_at(self, height: int) -> ValidatorSet:
            return VALIDATORS

        def prepare_proposal(self, request) -> Block:
            raise ProposalUnavailable("the remote signer gave no seed of randomness epoch 0")

    class NoTxs:
        def reap(self, max_bytes: int) -> list:
            return []

    driver = ConsensusDriver(
        app=NoReveal(), txs=NoTxs(), privval=PrivValidator(me, tmp_path / "last_signed.json"),  # type: ignore[arg-type]
        wal=WAL(tmp_path / "wal"), network=Network(),
        config=DriverConfig(chain_id=CHAIN_ID, timeouts=TimeoutConfig(), timeout_commit_ms=1000,
                            max_block_bytes=1 << 20),
        executor=ThreadPoolExecutor(1), on_commit=lambda block: None, clock=lambda: NOW,
    )

    async def scenario() -> bool:
        running = asyncio.create_task(driver.run())
        await asyncio.sleep(0.5)
        alive = not running.done()
        running.cancel()
        return alive

    with caplog.at_level("ERROR"):
        assert asyncio.run(scenario())
    assert "not proposing at 1/0: the remote signer gave no seed of randomness epoch 0" in caplog.text


def test_a_penalty_staking_cannot_apply_is_skipped_and_the_block_stands(memory_chain) -> None:
    def refuse(context, pub_key: bytes) -> bool:
        context.store(7, 1)  # a change the failed penalty must not leave behind
        raise NativeContractError("Staking: native contract balance too low")

    chain = memory_chain([], natives=[RandomnessContract(refuse)])
    reveals = chain_of(PROPOSER)
    for number in range(MAX_MISSES_PER_WINDOW):
        reveal = reveals.anchor if number == 0 else reveals.reveal_after(CHAIN_LENGTH - number + 1)
        result = chain.execute([], consensus=ConsensusInfo(proposer=PROPOSER, reveal=reveal, missed_proposers=(OTHER,)))
    assert len(result.block_events) == 1  # ProposerSlotMissed only: no ProposerPenalised
    assert chain.state.get_storage(RANDOMNESS_ADDRESS, 7) == 0


def test_malformed_calls_revert_with_the_reason(beacon: Beacon) -> None:
    beacon.block()
    selector = function_signature_to_4byte_selector("request(uint64)")
    for data, expected in [(selector + b"\x01\x02", "Randomness: malformed arguments"),
                           (b"\xde\xad\xbe\xef", "Randomness: unknown method"),
                           (selector + (2**64).to_bytes(32, "big"), "Randomness: malformed arguments")]:
        outcome = beacon.chain.call(CallMessage(sender=CALLER, to=RANDOMNESS_ADDRESS, data=data))
        assert not outcome.success and reason(outcome.output) == expected


def test_an_exhausted_chain_is_followed_by_the_next_epochs_anchor(memory_chain, monkeypatch) -> None:
    monkeypatch.setattr(contract, "CHAIN_LENGTH", 3)
    chain = memory_chain([], natives=[RandomnessContract(lambda context, pub_key: True)])
    key = ValidatorKey(PROPOSER)
    first, second = (HashChain(key.beacon_seed(15, epoch), length=3) for epoch in (0, 1))

    def propose(reveal: bytes) -> tuple:
        chain.execute([], consensus=ConsensusInfo(proposer=PROPOSER, reveal=reveal))
        data = function_signature_to_4byte_selector("validatorOf(bytes32)") + PROPOSER
        outcome = chain.call(CallMessage(sender=CALLER, to=RANDOMNESS_ADDRESS, data=data))
        return eth_abi.decode(["bytes32", "uint64", "uint64", "uint64"], outcome.output)

    assert propose(first.anchor) == (first.anchor, 3, 0, 0)
    for remaining in (3, 2, 1):
        assert propose(first.reveal_after(remaining)) == (first.reveal_after(remaining), remaining - 1, 0, 0)
    assert propose(second.anchor) == (second.anchor, 3, 1, 0)  # used up: the next block anchors epoch 1
    assert propose(second.reveal_after(3)) == (second.reveal_after(3), 2, 1, 0)
    with pytest.raises(BlockExecutionError):  # and the old chain's elements are refused from then on
        chain.execute([], consensus=ConsensusInfo(proposer=PROPOSER, reveal=first.reveal_after(1)))
