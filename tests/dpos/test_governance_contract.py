"""The governance native contract on an in-memory chain: proposals, votes, expiry, execution, queries, events."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

from consensus.dpos import governance_contract, governance_execution
from consensus.dpos.governance import MAX_EXECUTIONS_PER_BLOCK, Answer, Status
from consensus.dpos.governance_contract import GovernanceContract
from consensus.dpos.params import DposParams, load_params
from consensus.dpos.store import Member, StakingStore
from cybermiles_node.solc import compile_file
from tests.conftest import ETHER, GENESIS_TIME
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS
from vm.native.framework import CallContext, NativeContract

SEEDER = bytes.fromhex("00000000000000000000000000000000000c0ffe")
RESERVE = 100_000_000 * ETHER
EXPIRE = 3_600
KEYS = [Account.from_key(bytes([i]) * 32) for i in range(1, 6)]
ALICE, BOB, CAROL, DAVE, OUTSIDER = (bytes.fromhex(k.address[2:]) for k in KEYS)
POWERS = {ALICE: 40, BOB: 30, CAROL: 20, DAVE: 10}  # DAVE is a backup
PAYEE = b"\x77" * 20


class ElectedSet(NativeContract):
    """Writes an elected set into staking's storage at genesis, as an election would have."""

    address = SEEDER
    name = "ElectedSet"

    def __init__(self, members: Sequence[Member]) -> None:
        self.members = list(members)

    def init_chain(self, context: CallContext) -> None:
        StakingStore(context.for_contract(STAKING_ADDRESS)).put_elected(self.members)


class ParamsProbe(NativeContract):
    """Records at each block's end the max_validators in force, as staking would read it."""

    address = bytes.fromhex("00000000000000000000000000000000000c0ffd")
    name = "ParamsProbe"

    def end_block(self, context: CallContext, info: Any) -> Sequence[Any]:
        context.store(0, load_params(context).max_validators)
        return ()


def members() -> list[Member]:
    return [
        Member(index, owner, bytes([index + 1]) * 32, power, is_backup=owner == DAVE)
        for index, (owner, power) in enumerate(POWERS.items())
    ]


@pytest.fixture
def chain(memory_chain):
    accounts = [GenesisAccount(owner, balance=10 * ETHER) for owner in (ALICE, BOB, CAROL, DAVE, OUTSIDER)]
    accounts.append(GenesisAccount(GOVERNANCE_ADDRESS, balance=RESERVE))
    natives = [ElectedSet(members()), GovernanceContract(DposParams(proposal_expire_period=EXPIRE)), ParamsProbe()]
    return memory_chain(accounts, natives=natives)


def calldata(signature: str, types: list[str], args: list[Any]) -> bytes:
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, args)


class Driver:
    """Sends governance transactions from the test accounts, one block each, at chosen block times."""

    def __init__(self, chain: Any, sign_tx: Any) -> None:
        self.chain = chain
        self.sign_tx = sign_tx
        self.time = GENESIS_TIME + 10

    def block(self, txs: Sequence[tuple[Account, bytes]] = (), *, advance: int = 10) -> Any:
        self.time += advance
        nonces: dict[bytes, int] = {}
        signed = []
        for key, data in txs:
            sender = bytes.fromhex(key.address[2:])
            nonce = nonces.setdefault(sender, self.chain.state.get_nonce(sender))
            nonces[sender] += 1
            signed.append(self.sign_tx(key, nonce=nonce, to=GOVERNANCE_ADDRESS, data=data, gas=1_000_000))
        return self.chain.execute(signed, strict=True, timestamp=self.time)

    def send(self, key: Account, data: bytes, *, advance: int = 10) -> Any:
        result = self.block([(key, data)], advance=advance)
        return result.receipts[0], result

    def query(self, signature: str, types: list[str], args: list[Any], returns: list[str]) -> tuple[Any, ...]:
        outcome = self.chain.call(
            CallMessage(sender=OUTSIDER, to=GOVERNANCE_ADDRESS, data=calldata(signature, types, args)),
            timestamp=self.time + 1,
        )
        assert outcome.success, outcome.output
        return eth_abi.decode(returns, outcome.output)

    def revert_reason(self, receipt_data: bytes, key: Account) -> str:
        sender = bytes.fromhex(key.address[2:])
        outcome = self.chain.call(CallMessage(sender=sender, to=GOVERNANCE_ADDRESS, data=receipt_data),
                                  timestamp=self.time + 1)
        assert not outcome.success
        return eth_abi.decode(["string"], outcome.output[4:])[0]

    def proposal(self, proposal_id: int) -> tuple[Any, ...]:
        return self.query("getProposal(uint256)", ["uint256"], [proposal_id],
                          ["uint8", "address", "address", "uint256", "string", "string", "string", "uint8",
                           "uint256", "uint256", "uint256", "string"])

    def status(self, proposal_id: int) -> Status:
        return Status(self.proposal(proposal_id)[7])


def transfer(to: bytes, amount: int, reason: str = "grant") -> bytes:
    return calldata("proposeTransfer(address,uint256,string)", ["address", "uint256", "string"], [to, amount, reason])


def param(name: str, value: str, reason: str = "tune") -> bytes:
    return calldata("proposeParam(string,string,string)", ["string", "string", "string"], [name, value, reason])


def vote(proposal_id: int, answer: Answer) -> bytes:
    return calldata("vote(uint256,uint8)", ["uint256", "uint8"], [proposal_id, int(answer)])


def topic(signature: str) -> bytes:
    return keccak(signature.encode())


@pytest.fixture
def gov(chain, sign_tx) -> Driver:
    return Driver(chain, sign_tx)


def test_an_approved_transfer_pays_from_the_reserve_at_the_end_of_the_block(gov, chain) -> None:
    receipt, _ = gov.send(KEYS[0], transfer(PAYEE, 1_000 * ETHER, "audit"))
    assert receipt.status == 1
    [created] = receipt.logs
    assert created.topics[0] == topic("ProposalCreated(uint256,address,uint8,uint256)")
    assert eth_abi.decode(["uint8", "uint256"], created.data) == (0, gov.time + EXPIRE)
    assert gov.query("openProposals()", [], [], ["uint256[]"]) == ((0,),)

    receipt, _ = gov.send(KEYS[0], vote(0, Answer.YES))
    assert receipt.status == 1 and gov.status(0) == Status.PENDING  # 40 of 100
    assert chain.state.get_balance(PAYEE) == 0

    receipt, result = gov.send(KEYS[1], vote(0, Answer.YES))  # 70 of 100 >= 2/3
    assert receipt.status == 1
    assert [log.topics[0] for log in receipt.logs] == [
        topic("Voted(uint256,address,uint8,uint256)"), topic("ProposalDecided(uint256,uint8)"),
    ]
    assert chain.state.get_balance(PAYEE) == 1_000 * ETHER
    assert chain.state.get_balance(GOVERNANCE_ADDRESS) == RESERVE - 1_000 * ETHER
    assert [log.topics[0] for log in result.block_events] == [
        topic("ReserveTransferred(uint256,address,uint256)"), topic("ProposalExecuted(uint256,uint8,string)"),
    ]
    proposal = gov.proposal(0)
    assert proposal[:8] == (0, "0x" + ALICE.hex(), "0x" + PAYEE.hex(), 1_000 * ETHER, "", "", "audit",
                            int(Status.EXECUTED))
    assert gov.query("openProposals()", [], [], ["uint256[]"]) == ((),)
    assert gov.query("reserve()", [], [], ["uint256"]) == (RESERVE - 1_000 * ETHER,)
    voters, answers, powers = gov.query("getVotes(uint256)", ["uint256"], [0], ["address[]", "uint8[]", "uint256[]"])
    assert [bytes.fromhex(v[2:]) for v in voters] == [ALICE, BOB]
    assert (list(answers), list(powers)) == ([0, 0], [40, 30])


def test_an_approved_parameter_change_takes_effect_at_the_end_of_the_block(gov, chain) -> None:
    probe = ParamsProbe.address
    gov.block()
    assert chain.state.get_storage(probe, 0) == 19
    gov.send(KEYS[2], param("max_validators", "21"))
    gov.block([(KEYS[0], vote(0, Answer.YES)), (KEYS[1], vote(0, Answer.YES))])
    assert gov.status(0) == Status.EXECUTED
    # the probe runs after governance, so it sees the new value in the same block
    assert chain.state.get_storage(probe, 0) == 21
    assert gov.query("getParam(string)", ["string"], ["max_validators"], ["string"]) == ("21",)
    names, values = gov.query("getParams()", [], [], ["string[]", "string[]"])
    assert dict(zip(names, values))["max_validators"] == "21"


def test_two_thirds_no_rejects_and_nothing_executes(gov, chain) -> None:
    gov.send(KEYS[0], transfer(PAYEE, ETHER))
    gov.block([(KEYS[1], vote(0, Answer.NO)), (KEYS[2], vote(0, Answer.NO)), (KEYS[3], vote(0, Answer.NO))])
    assert gov.status(0) == Status.PENDING  # 60 of 100
    gov.send(KEYS[0], vote(0, Answer.NO))
    assert gov.status(0) == Status.REJECTED
    gov.block()
    assert chain.state.get_balance(PAYEE) == 0
    receipt, _ = gov.send(KEYS[0], vote(0, Answer.YES))
    assert receipt.status == 0
    assert gov.revert_reason(vote(0, Answer.YES), KEYS[0]) == "Governance: proposal 0 is already decided (rejected)"


def test_a_voter_may_change_its_vote_until_the_proposal_is_decided(gov) -> None:
    gov.send(KEYS[0], transfer(PAYEE, ETHER))
    gov.send(KEYS[0], vote(0, Answer.NO))
    gov.send(KEYS[1], vote(0, Answer.YES))
    gov.send(KEYS[0], vote(0, Answer.YES))  # 40 + 30 yes
    assert gov.status(0) == Status.EXECUTED
    voters, answers, _ = gov.query("getVotes(uint256)", ["uint256"], [0], ["address[]", "uint8[]", "uint256[]"])
    assert [bytes.fromhex(v[2:]) for v in voters] == [ALICE, BOB] and list(answers) == [0, 0]


def test_an_undecided_proposal_expires_by_block_time_and_is_never_executed(gov, chain) -> None:
    gov.send(KEYS[0], transfer(PAYEE, ETHER))
    created_at = gov.time
    gov.send(KEYS[0], vote(0, Answer.YES))
    gov.block(advance=created_at + EXPIRE - 1 - gov.time)
    assert gov.status(0) == Status.PENDING
    # a vote in the block that reaches the expiry time is refused: the proposal is already out of time
    receipt, result = gov.send(KEYS[1], vote(0, Answer.YES), advance=1)
    assert receipt.status == 0
    assert gov.status(0) == Status.EXPIRED
    assert topic("ProposalDecided(uint256,uint8)") in [log.topics[0] for log in result.block_events]
    gov.block()
    assert chain.state.get_balance(PAYEE) == 0


def test_only_validators_and_backups_may_propose_and_vote(gov) -> None:
    outsider = KEYS[4]
    receipt, _ = gov.send(outsider, transfer(PAYEE, ETHER))
    assert receipt.status == 0
    assert gov.revert_reason(transfer(PAYEE, ETHER), outsider) == (
        "Governance: only validators and backup validators may propose"
    )
    assert gov.revert_reason(param("max_validators", "0"), outsider) == (
        "Governance: only validators and backup validators may propose"
    )
    receipt, _ = gov.send(KEYS[3], transfer(PAYEE, ETHER))  # a backup may propose
    assert receipt.status == 1
    assert gov.revert_reason(vote(0, Answer.YES), outsider) == "Governance: only validators and backup validators may vote"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (param("max_validators", "0"), "max_validators: 0 is outside [1, 100]"),
        (param("max_validators", "nineteen"), "max_validators: expected decimal digits, got 'nineteen'"),
        (param("min_commission_bp", "9000"), "min_commission_bp (9000) is above max_commission_bp (5000)"),
        (param("block_size", "1"), "unknown parameter 'block_size'; known: backup_validators, "),
        (transfer(PAYEE, RESERVE + 1), f"Governance: amount must be from 1 to the reserve's {RESERVE} wei, got"),
        (transfer(PAYEE, 0), "Governance: amount must be from 1 to the reserve's"),
        (transfer(b"\x00" * 20, ETHER), "Governance: cannot transfer to the zero address"),
        (transfer(PAYEE, ETHER, "x" * 1_025), "Governance: reason longer than 1024 bytes"),
        (vote(5, Answer.YES), "Governance: no proposal 5"),
        (calldata("vote(uint256,uint8)", ["uint256", "uint8"], [0, 3]), "Governance: answer must be 0 (yes), 1 (no)"),
    ],
)
def test_bad_proposals_and_votes_revert_with_a_precise_reason(gov, data: bytes, reason: str) -> None:
    assert gov.revert_reason(data, KEYS[0]).startswith(reason)


def test_a_transfer_that_the_reserve_can_no_longer_cover_fails_without_effect(gov, chain) -> None:
    gov.send(KEYS[0], transfer(PAYEE, 60_000_000 * ETHER))
    gov.send(KEYS[0], transfer(PAYEE, 60_000_000 * ETHER))
    everyone_yes = [(KEYS[i], vote(p, Answer.YES)) for p in (0, 1) for i in (0, 1)]
    gov.block(everyone_yes)
    assert (gov.status(0), gov.status(1)) == (Status.EXECUTED, Status.FAILED)
    assert gov.proposal(1)[11] == f"the reserve holds {RESERVE - 60_000_000 * ETHER} wei, the transfer needs {60_000_000 * ETHER} wei"
    assert chain.state.get_balance(PAYEE) == 60_000_000 * ETHER


def test_executions_are_bounded_per_block_and_run_in_id_order(gov, chain) -> None:
    count = MAX_EXECUTIONS_PER_BLOCK + 2
    gov.block([(KEYS[0], transfer(PAYEE, ETHER)) for _ in range(count)])
    votes = [(KEYS[i], vote(p, Answer.YES)) for p in range(count) for i in (0, 1)]
    result = gov.block(votes)
    executed = [log for log in result.block_events if log.topics[0] == topic("ProposalExecuted(uint256,uint8,string)")]
    assert [int.from_bytes(log.topics[1], "big") for log in executed] == list(range(MAX_EXECUTIONS_PER_BLOCK))
    assert chain.state.get_balance(PAYEE) == MAX_EXECUTIONS_PER_BLOCK * ETHER
    gov.block()
    assert chain.state.get_balance(PAYEE) == count * ETHER
    assert {gov.status(p) for p in range(count)} == {Status.EXECUTED}


def test_parameters_are_stored_at_genesis(chain) -> None:
    outcome = chain.call(CallMessage(sender=OUTSIDER, to=GOVERNANCE_ADDRESS,
                                     data=calldata("getParam(string)", ["string"], ["proposal_expire_period"])))
    assert outcome.success and eth_abi.decode(["string"], outcome.output) == (str(EXPIRE),)


def _canonical(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(item['type'] for item in entry['inputs'])})"


def test_the_published_interface_matches_the_contract() -> None:
    source = Path(governance_contract.__file__).with_name("IGovernance.sol")
    abi = compile_file(source)["IGovernance"].abi
    functions = {_canonical(entry): entry for entry in abi if entry["type"] == "function"}
    assert set(functions) == {spec.signature for spec in GovernanceContract.methods()}
    for spec in GovernanceContract.methods():
        entry = functions[spec.signature]
        assert tuple(item["type"] for item in entry["outputs"]) == spec.output_types, spec.signature
        assert (entry["stateMutability"] == "view") == (not spec.mutates), spec.signature
    events = {_canonical(entry) for entry in abi if entry["type"] == "event"}
    assert events == {
        governance_contract.PROPOSAL_CREATED_EVENT, governance_contract.VOTED_EVENT,
        governance_contract.PROPOSAL_DECIDED_EVENT, governance_contract.PROPOSAL_EXECUTED_EVENT,
        governance_execution.RESERVE_TRANSFERRED_EVENT, governance_execution.PARAM_CHANGED_EVENT,
    }
