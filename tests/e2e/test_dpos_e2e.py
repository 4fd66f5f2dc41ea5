"""End to end: delegated proof of stake on a real 4-validator testnet plus one full node, driven by web3.py.

Every transaction is an ordinary EIP-1559 transaction built by web3.py from
the ABI that ``cybermiles_node.solc`` compiles from ``IStaking.sol`` and
``IGovernance.sol``. One network runs through, in order: a new candidate
elected in place of the weakest validator and signing blocks; downtime
jailing and re-activation; governance changing ``max_validators`` and paying
from the reserve; an unbonding paid exactly at maturity; a double sign
slashed. After the nodes stop, one node's database is audited at every
height (summed balances against the supply counters) and every node's blocks
are compared.
"""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.types import BlockIdentifier

from consensus.evidence import DuplicateVoteEvidence
from consensus.keys import ValidatorKey, address_of
from cybermiles_node.home import NodeHome
from cybermiles_node.solc import compile_file
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from tests.e2e.chain_audit import audit_chain
from tests.e2e.double_sign import conflicting_precommits, gossip_evidence
from tests.e2e.nodeproc import cmnode, dev_account, free_port_range
from tests.e2e.test_testnet_e2e import LocalTestnet
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHAIN_ID = 15
CMT = 10**18
ELECTION_INTERVAL = 5
MAX_SLASH_BLOCKS = 6
UNBONDING_PERIOD = 20
SLASH_RATIO_BP = 100
PARAMS = {
    "election_interval": ELECTION_INTERVAL, "max_validators": 4, "backup_validators": 1,
    "max_slash_blocks": MAX_SLASH_BLOCKS, "unbonding_period": UNBONDING_PERIOD, "slash_ratio_bp": SLASH_RATIO_BP,
    "proposal_expire_period": 120,
}
STAKING = Web3.to_checksum_address("0x" + STAKING_ADDRESS.hex())
GOVERNANCE = Web3.to_checksum_address("0x" + GOVERNANCE_ADDRESS.hex())
GRANTEE = Web3.to_checksum_address("0x00000000000000000000000000000000000C0FFE")
YES = 0
EXECUTED = 4

# dev accounts: 0..3 own the genesis validators (nodes 0..3), 5 the newcomer (node 4's consensus key)
NEWCOMER = 5
UNBONDER = 6
SUPPORTERS = (10, 11, 12)
NEWCOMER_BACKER = 13


class DposTestnet(LocalTestnet):
    """The loopback testnet of ``cmnode testnet`` with the short staking parameters of these tests."""

    def __init__(self, output: Path) -> None:
        args = ["testnet", "--validators", "4", "--full-nodes", "1", "--output", str(output),
                "--base-port", str(free_port_range(10)), "--json"]
        for name, value in PARAMS.items():
            args += ["--param", f"{name}={value}"]
        self.nodes = json.loads(cmnode(*args).stdout)
        self.processes: dict[int, subprocess.Popen] = {}
        self.output = output

    def home(self, index: int) -> Path:
        return Path(str(self.nodes[index]["home"]))

    def consensus_key(self, index: int) -> bytes:
        return ValidatorKey.load(NodeHome.resolve(self.home(index)).validator_key).public_key


def owner(index: int) -> ChecksumAddress:
    """The checksum address of dev account ``index``."""
    account: Any = dev_account(index)
    return Web3.to_checksum_address(account.address)


class Chain:
    """web3.py handles on one node: the two native contracts through their published ABIs, and transactions."""

    def __init__(self, w3: Web3, staking_abi: list[dict[str, Any]], governance_abi: list[dict[str, Any]]) -> None:
        self.w3 = w3
        self.staking = w3.eth.contract(address=STAKING, abi=staking_abi)
        self.governance = w3.eth.contract(address=GOVERNANCE, abi=governance_abi)

    def send(self, account_index: int, call: Any, value: int = 0) -> bytes:
        """Sign and send ``call`` from dev account ``account_index``; returns the transaction hash.

        The gas limit is the estimate plus a third, as wallets add: staking gas
        depends on state that changes every block (a pending reward to settle
        when the transaction lands, which the estimate may not have seen).
        """
        account: Any = dev_account(account_index)
        fields = {"from": account.address, "value": value, "chainId": CHAIN_ID,
                  "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
        tx = call.build_transaction({
            **fields, "gas": call.estimate_gas(fields) * 4 // 3,
            "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
        })
        return bytes(self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))

    def confirm(self, *hashes: bytes) -> list[Any]:
        """The receipts of ``hashes``, each required to have succeeded."""
        receipts = [self.w3.eth.wait_for_transaction_receipt(HexBytes(h), timeout=60) for h in hashes]
        assert [r["status"] for r in receipts] == [1] * len(receipts)
        return receipts

    def transact(self, account_index: int, call: Any, value: int = 0) -> Any:
        """Send and confirm one transaction; returns its receipt."""
        return self.confirm(self.send(account_index, call, value))[0]

    def height(self) -> int:
        return self.w3.eth.block_number

    def wait_height(self, height: int, timeout: float = 60) -> None:
        wait_until(lambda: self.height() >= height, timeout, f"height {height}")

    def candidate(self, address: str, block: BlockIdentifier = "latest") -> dict[str, Any]:
        return self._record("getCandidate", self.staking.functions.getCandidate(address).call(block_identifier=block))

    def validators(self, block: BlockIdentifier = "latest") -> list[str]:
        return [m[0] for m in self.staking.functions.getValidators().call(block_identifier=block)]

    def backups(self, block: BlockIdentifier = "latest") -> list[str]:
        return [m[0] for m in self.staking.functions.getBackups().call(block_identifier=block)]

    def delegations_to(self, address: str, block: BlockIdentifier = "latest") -> list[dict[str, Any]]:
        values = self.staking.functions.getCandidateDelegations(address).call(block_identifier=block)
        return [self._record("getCandidateDelegations", value) for value in values]

    def _record(self, function: str, value: tuple[Any, ...]) -> dict[str, Any]:
        """A struct returned by ``function``, keyed by the ABI's field names."""
        entry: dict[str, Any] = next(dict(e) for e in self.staking.abi if e.get("name") == function)
        return {field["name"]: item for field, item in zip(entry["outputs"][0]["components"], value, strict=True)}

    def first_height_where(self, start: int, predicate: Callable[[int], bool]) -> int:
        """The first height from ``start`` up to the head at which ``predicate`` holds."""
        for height in range(start, self.height() + 1):
            if predicate(height):
                return height
        raise AssertionError(f"no height from {start} to {self.height()} satisfies the condition")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (RPC errors of a busy node count as not yet) until it holds."""
    deadline = time.time() + timeout
    while True:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass
        if time.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.3)


def next_election(height: int) -> int:
    """The first election height at or after ``height``."""
    return -(-height // ELECTION_INTERVAL) * ELECTION_INTERVAL


@pytest.fixture(scope="module")
def abis() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ABIs compiled from the published Solidity interfaces."""
    staking = compile_file(REPO / "consensus" / "dpos" / "IStaking.sol")["IStaking"].abi
    governance = compile_file(REPO / "consensus" / "dpos" / "IGovernance.sol")["IGovernance"].abi
    return staking, governance


def test_testnet_param_overrides_are_checked_like_genesis(tmp_path: Path) -> None:
    bad = cmnode("testnet", "--output", str(tmp_path / "a"), "--param", "election_interval=0", check=False)
    assert bad.returncode != 0
    assert "dpos.params.election_interval: election_interval: 0 is outside [1, 1000000]" in bad.stderr
    unknown = cmnode("testnet", "--output", str(tmp_path / "b"), "--param", "max_validator=3", check=False)
    assert "unknown parameter 'max_validator'" in unknown.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_staking_election_downtime_governance_unbonding_and_double_sign(
        tmp_path: Path, abis: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    net = DposTestnet(tmp_path)
    chain = Chain(net.w3(0), *abis)
    genesis = json.loads((net.home(0) / "genesis.json").read_text())
    assert genesis["dpos"]["params"] == PARAMS
    try:
        for index in range(5):
            net.start(index)
        for index in range(5):
            net.wait_height(index, 2)
        assert sorted(chain.validators()) == sorted(owner(i) for i in range(4))
        # (height whose end-block changed the elected set, nodes whose keys form the new set)
        changes = [(_newcomer_replaces_the_weakest_validator_and_signs(net, chain), (0, 1, 2, 4))]
        unbonding = _withdraw_into_the_unbonding_queue(chain)
        jailed, returned = _downtime_jails_and_the_owner_reactivates(net, chain)
        changes += [(jailed, (0, 1, 3, 4)), (returned, (0, 1, 2, 4))]
        changes.append((_governance_changes_max_validators_and_pays_from_the_reserve(chain), (0, 1, 2, 3, 4)))
        _unbonding_is_paid_exactly_at_maturity(chain, *unbonding)
        slash_height = _double_sign_is_slashed_and_jailed(net, chain)
        changes.append((slash_height, (0, 2, 3, 4)))
        top = net.height(0)
        for index in range(5):
            net.wait_height(index, top)
        assert "Traceback" not in net.log_text()
    finally:
        net.stop_all()
    _audit(net, top, slash_height, changes)


def _newcomer_replaces_the_weakest_validator_and_signs(net: DposTestnet, chain: Chain) -> int:
    """Node 4's key declares, is backed past the weakest genesis validator, is elected and signs commits.

    Returns the election's height.
    """
    staking = chain.staking.functions
    # validators 0..2 gain delegations: validator 3 (1,000,000 CMT plus rewards) is the weakest
    sent = [chain.send(account, staking.delegate(owner(index)), 100_000 * CMT)
            for index, account in enumerate(SUPPORTERS)]
    sent.append(chain.send(NEWCOMER, staking.declareCandidacy(
        net.consensus_key(4), 5_000_000 * CMT, 1_000, "newcomer", "https://newcomer.example", "Earth",
        "ops@newcomer.example", "runs node 4"), 500_000 * CMT))
    chain.confirm(*sent)
    declared = chain.candidate(owner(NEWCOMER))
    assert declared["active"] and declared["selfStake"] == 500_000 * CMT and declared["pubKey"] == net.consensus_key(4)
    backed = chain.transact(NEWCOMER_BACKER, staking.delegate(owner(NEWCOMER)), 700_000 * CMT)
    [event] = chain.staking.events.Delegated().process_receipt(backed)
    assert (event.args.delegator, event.args.candidate, event.args.amount) == (
        owner(NEWCOMER_BACKER), owner(NEWCOMER), 700_000 * CMT)
    assert chain.candidate(owner(NEWCOMER), backed.blockNumber)["stake"] >= 1_200_000 * CMT  # plus any reward

    election = next_election(backed.blockNumber)
    chain.wait_height(election + 3)
    weakest = min(range(4), key=lambda i: chain.candidate(owner(i), election - 1)["stake"])
    assert weakest == 3
    assert sorted(chain.validators(election)) == sorted([owner(0), owner(1), owner(2), owner(NEWCOMER)])
    assert chain.backups(election) == [owner(3)]
    assert chain.candidate(owner(3), election)["state"] == 2

    # the newcomer signs: awards go only to the signers of the previous block's commit
    def newcomer_awarded() -> bool:
        infos = chain.staking.functions.getAwardInfos().call()
        return any(address == owner(NEWCOMER) and amount > 0 for address, amount in infos)
    wait_until(newcomer_awarded, 30, "an award to the newcomer for signing")
    return election


def _withdraw_into_the_unbonding_queue(chain: Chain) -> tuple[int, int]:
    """Dev account 6 delegates 2,000 CMT and withdraws 1,000: returns (withdraw block, amount)."""
    staking = chain.staking.functions
    chain.transact(UNBONDER, staking.delegate(owner(0)), 2_000 * CMT)
    receipt = chain.transact(UNBONDER, staking.withdraw(owner(0), 1_000 * CMT))
    return receipt.blockNumber, 1_000 * CMT


def _downtime_jails_and_the_owner_reactivates(net: DposTestnet, chain: Chain) -> tuple[int, int]:
    """Validator 2 stopped past max_slash_blocks is jailed, the chain goes on, and it returns by transaction.

    Returns the heights of the jailing and of the election that brings it back.
    """
    net.stop(2)
    stopped = chain.height()
    wait_until(lambda: chain.candidate(owner(2))["jailed"], 60, "validator 2 jailed for downtime")
    jailed = chain.first_height_where(stopped, lambda h: chain.candidate(owner(2), h)["jailed"])
    assert jailed - stopped >= MAX_SLASH_BLOCKS - 1
    record = chain.candidate(owner(2), jailed)
    assert not record["active"] and record["stake"] >= chain.candidate(owner(2), stopped)["stake"]  # not slashed
    assert owner(2) not in chain.validators(jailed)
    assert owner(3) in chain.validators(jailed)  # the backup takes the seat
    chain.wait_height(jailed + 5)  # the remaining validators keep committing

    net.start(2)
    net.wait_height(2, chain.height(), timeout=90)
    receipt = chain.transact(2, chain.staking.functions.activateCandidacy())
    record = chain.candidate(owner(2), receipt.blockNumber)
    assert record["active"] and not record["jailed"] and record["missedBlocks"] == 0
    election = next_election(receipt.blockNumber)
    chain.wait_height(election)
    assert owner(2) not in chain.validators(election - 1)
    assert sorted(chain.validators(election)) == sorted([owner(0), owner(1), owner(2), owner(NEWCOMER)])
    return jailed, election


def _governance_changes_max_validators_and_pays_from_the_reserve(chain: Chain) -> int:
    """The validators vote max_validators to 5 (the backup joins at the next election) and a reserve grant.

    Returns the height of the election that seats five validators.
    """
    gov = chain.governance.functions
    param = chain.transact(0, gov.proposeParam("max_validators", "5", "seat the backup"))
    grant = chain.transact(1, gov.proposeTransfer(GRANTEE, 12_345 * CMT, "community grant"))
    param_id = chain.governance.events.ProposalCreated().process_receipt(param)[0].args.id
    grant_id = chain.governance.events.ProposalCreated().process_receipt(grant)[0].args.id
    reserve_before = gov.reserve().call()
    # Validators vote yes until each proposal passes 2/3 of the voting power (four of them at most; three
    # suffice when a validator's power is not counted at this height). One vote at a time, so that each estimate
    # sees the votes before it: the vote that decides a proposal costs more gas than the others.
    for voter in (0, 1, 2, NEWCOMER):
        for proposal in (param_id, grant_id):
            if gov.getProposal(proposal).call()[7] != EXECUTED:
                chain.transact(voter, gov.vote(proposal, YES))
    wait_until(lambda: gov.getProposal(grant_id).call()[7] == EXECUTED, 30, "the grant executed")
    assert gov.getProposal(param_id).call()[7] == EXECUTED
    assert gov.getParam("max_validators").call() == "5"
    assert chain.w3.eth.get_balance(GRANTEE) == 12_345 * CMT
    assert gov.reserve().call() == reserve_before - 12_345 * CMT

    executed = chain.first_height_where(param.blockNumber, lambda h: gov.getParam("max_validators").call(
        block_identifier=h) == "5")
    election = next_election(executed)  # governance's end-block hook runs before staking's: the same block counts
    chain.wait_height(election)
    assert len(chain.validators(executed - 1)) == 4
    assert sorted(chain.validators(election)) == sorted(owner(i) for i in (0, 1, 2, 3, NEWCOMER))
    assert chain.backups(election) == []
    return election


def _unbonding_is_paid_exactly_at_maturity(chain: Chain, withdrawn_at: int, amount: int) -> None:
    """The withdrawn stake is paid in the first block whose time reaches withdraw time + unbonding_period."""
    maturity = chain.w3.eth.get_block(withdrawn_at)["timestamp"] + UNBONDING_PERIOD
    queued = chain.staking.functions.getUnbondings(owner(UNBONDER)).call(block_identifier=withdrawn_at)
    assert [(entry[2], entry[3]) for entry in queued] == [(amount, maturity)]
    wait_until(lambda: chain.w3.eth.get_block("latest")["timestamp"] >= maturity, 60, "the unbonding's maturity")
    paid = chain.first_height_where(withdrawn_at, lambda h: chain.w3.eth.get_block(h)["timestamp"] >= maturity)
    balance = chain.w3.eth.get_balance
    assert balance(owner(UNBONDER), paid - 1) == balance(owner(UNBONDER), withdrawn_at)
    assert balance(owner(UNBONDER), paid) == balance(owner(UNBONDER), paid - 1) + amount
    assert chain.staking.functions.getUnbondings(owner(UNBONDER)).call(block_identifier=paid) == []


def _double_sign_is_slashed_and_jailed(net: DposTestnet, chain: Chain) -> int:
    """Conflicting precommits of validator 1, gossiped by a peer, slash and jail it; returns the slashing height."""
    height = chain.height() - 1
    evidence = conflicting_precommits(str(net.home(1)), CHAIN_ID, height, chain.w3.eth.get_block(height)["timestamp"] * 1000)
    gossip_evidence(str(net.home(0)), str(net.nodes[0]["p2p"]), evidence)
    wait_until(lambda: chain.candidate(owner(1))["jailed"], 60, "validator 1 jailed for double signing")
    slashed = chain.first_height_where(height, lambda h: chain.candidate(owner(1), h)["jailed"])
    gov = chain.governance.functions
    cuts = 0
    for delegation in chain.delegations_to(owner(1), slashed):
        before = delegation["amount"] + delegation["slashed"]
        assert delegation["slashed"] == before * SLASH_RATIO_BP // 10_000 > 0
        cuts += delegation["slashed"]
    assert gov.reserve().call(block_identifier=slashed) - gov.reserve().call(block_identifier=slashed - 1) == cuts
    record = chain.candidate(owner(1), slashed)
    assert not record["active"] and record["stake"] < chain.candidate(owner(1), slashed - 1)["stake"]
    assert owner(1) not in chain.validators(slashed)
    chain.wait_height(slashed + 4)  # the others go on without it
    return slashed


def _audit(net: DposTestnet, top: int, slash_height: int, changes: list[tuple[int, tuple[int, ...]]]) -> None:
    """Node 0's database at every height: balances sum to the supply; every node holds the same blocks.

    Each change of the elected set reaches consensus two heights later, and
    every commit is signed only by members of the set in force at its height.
    """
    audit = audit_chain(net.home(0))
    assert len(audit.heights) > top
    genesis_supply = audit.heights[0].balances
    for entry in audit.heights:
        s = entry.supply
        assert entry.balances == s.total == genesis_supply + s.minted - s.burned, entry.height
        assert entry.staking_balance == s.bonded + s.unbonding + s.rewards, entry.height
    assert audit.heights[-1].supply.minted > 0 and audit.heights[-1].supply.burned > 0

    # the newcomer's signature is in block commits; validator 1's double sign is evidence in a block
    newcomer = address_of(net.consensus_key(4))
    assert any(sig.validator_address == newcomer for block in audit.blocks for sig in block.last_commit.signatures)
    convicted = [DuplicateVoteEvidence.decode(item) for block in audit.blocks for item in block.evidence]
    assert [e.validator_address for e in convicted] == [address_of(net.consensus_key(1))]
    assert audit.blocks[slash_height].evidence

    def keys(height: int) -> set[bytes]:
        return {v.pub_key for v in audit.validator_sets[height].validators}
    for decided, nodes in changes:
        assert keys(decided + 2) == {net.consensus_key(i) for i in nodes}, decided
        assert keys(decided + 1) != keys(decided + 2), decided
    for height, block in enumerate(audit.blocks[2:top + 1], start=2):
        signers = {sig.validator_address for sig in block.last_commit.signatures}
        assert signers <= {address_of(key) for key in keys(height - 1)}, height

    reference = [entry.block_hash for entry in audit.heights[:top + 1]]
    for index in range(1, 5):
        db = LevelDB(NodeHome.resolve(net.home(index)).database)
        try:
            store = ChainStore(db)
            assert [store.get_hash_by_number(h) for h in range(top + 1)] == reference, f"node {index}"
        finally:
            db.close()

