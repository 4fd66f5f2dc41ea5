"""The IJury native contract: stakes, the draw, commit/reveal windows, payouts, and refusals that change nothing."""
from __future__ import annotations

import json
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, function_signature_to_4byte_selector

from middleware.jury.contract import UNBONDING_SECONDS, JuryContract, commitment_of
from middleware.randomness.contract import RandomnessContract
from tests.dpos.harness import address_of, revert_reason
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import JURY_ADDRESS

ETHER = 10**18
T0 = 1_700_000_010
REPO = Path(__file__).resolve().parents[2]
ABI = json.loads((REPO / "middleware" / "jury" / "IJury.abi.json").read_text())
JURORS = [Account.from_key(keccak(b"juror %d" % i)) for i in range(10)]
CREATOR = Account.from_key(keccak(b"jury case creator"))
OPEN = "openCase(uint32,uint256,uint64,uint64)"
COMMIT = "commitVote(uint256,uint32,bytes32)"
REVEAL = "revealVote(uint256,uint32,bool,bytes32)"


def calldata(signature: str, *values) -> bytes:
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))


class JuryChain:
    """A memory chain with the beacon and the jury, ten jurors and a case creator, one transaction per block."""

    def __init__(self, memory_chain, sign_tx) -> None:
        accounts = [GenesisAccount(address_of(a), balance=1_000 * ETHER) for a in [*JURORS, CREATOR]]
        natives = [RandomnessContract(lambda ctx, key: False), JuryContract()]
        self.chain = memory_chain(accounts, natives=natives)
        self.sign_tx = sign_tx
        self.nonces: dict[str, int] = {}
        self.time = T0

    def send(self, account, signature: str, *values, value: int = 0, advance: int = 1):
        nonce = self.nonces.get(account.address, 0)
        self.nonces[account.address] = nonce + 1
        tx = self.sign_tx(account, nonce=nonce, to=JURY_ADDRESS, data=calldata(signature, *values), value=value,
                          gas=3_000_000, maxFeePerGas=10**9, maxPriorityFeePerGas=0)
        receipt = self.chain.execute([tx], strict=True, timestamp=self.time, base_fee=10**9).receipts[0]
        self.time += advance
        return receipt

    def ok(self, account, signature: str, *values, value: int = 0, advance: int = 1):
        receipt = self.send(account, signature, *values, value=value, advance=advance)
        assert receipt.status == 1, self.reason(account, signature, *values, value=value)
        return receipt

    def call(self, signature: str, *values, sender=CREATOR, value: int = 0):
        return self.chain.call(CallMessage(sender=address_of(sender), to=JURY_ADDRESS, value=value,
                                           data=calldata(signature, *values)), timestamp=self.time)

    def reason(self, account, signature: str, *values, value: int = 0) -> str:
        outcome = self.call(signature, *values, sender=account, value=value)
        return "succeeded" if outcome.success else revert_reason(outcome.output)

    def view(self, signature: str, returns: list[str], *values):
        outcome = self.call(signature, *values)
        assert outcome.success, revert_reason(outcome.output)
        decoded = eth_abi.decode(returns, outcome.output)
        return decoded if len(returns) > 1 else decoded[0]

    def refused(self, account, signature: str, *values, value: int = 0) -> str:
        """The reason a call is refused; sent as a transaction it changes no storage or balance of the contract."""
        outcome = self.call(signature, *values, sender=account, value=value)
        assert not outcome.success
        before = self.contract_state()
        receipt = self.send(account, signature, *values, value=value, advance=0)
        assert receipt.status == 0 and not receipt.logs and self.contract_state() == before
        return revert_reason(outcome.output)

    def contract_state(self) -> tuple[bytes, int]:
        state = self.chain.state
        return state._get_storage_root(JURY_ADDRESS), state.get_balance(JURY_ADDRESS)

    def balance(self, account) -> int:
        return self.chain.state.get_balance(address_of(account))

    def juror(self, account) -> tuple[int, int, int]:
        return self.view("jurorOf(address)", ["uint256", "uint256", "uint64"], account.address)


@pytest.fixture
def jury(memory_chain, sign_tx) -> JuryChain:
    return JuryChain(memory_chain, sign_tx)


def stake_all(jury: JuryChain) -> None:
    for k, account in enumerate(JURORS):
        jury.ok(account, "stake()", value=(k + 1) * ETHER)


def open_and_draw(jury: JuryChain, jurors: int = 5, fee: int = 3 * ETHER, stake: int = ETHER) -> tuple[int, list]:
    receipt = jury.ok(CREATOR, OPEN, jurors, stake, 100, 100, value=fee)
    case_id = int.from_bytes(receipt.logs[-1].topics[1], "big")
    jury.chain.execute([], timestamp=jury.time)  # the beacon height: its value is readable from the next block
    jury.ok(CREATOR, "draw(uint256)", case_id)
    drawn = jury.view("jurors(uint256)", ["address[]"], case_id)
    by_address = {a.address.lower(): a for a in JURORS}
    return case_id, [by_address[a.lower()] for a in drawn]


def salt(index: int) -> bytes:
    return keccak(b"salt %d" % index)


def owed(jury: JuryChain, open_fees: int = 0) -> int:
    """What the contract owes: every juror's active and unbonding stake, and the fees of open cases."""
    return sum(sum(jury.juror(a)[:2]) for a in JURORS) + open_fees


def test_the_published_abi_matches_the_native_contract() -> None:
    functions = {function_abi_to_4byte_selector(e) for e in ABI if e["type"] == "function"}
    assert functions == {spec.selector for spec in JuryContract.methods()}
    assert len([e for e in ABI if e["type"] == "event"]) == 11
    assert all(event_abi_to_log_topic(e) for e in ABI if e["type"] == "event")


def test_a_case_is_drawn_votes_and_pays_the_majority_from_the_minority_silent_stakes_and_fee(jury) -> None:
    stake_all(jury)
    assert jury.view("totalStake()", ["uint256"]) == 55 * ETHER
    case_id, drawn = open_and_draw(jury)
    assert len({a.address for a in drawn}) == 5
    _, _, _, _, commit_ends, reveal_ends = jury.view(
        "caseInfo(uint256)", ["address", "uint8", "uint32", "uint32", "uint64", "uint64"], case_id)
    votes = [True, True, True, False, None]  # juror 4 stays silent
    for index, (account, vote) in enumerate(zip(drawn, votes, strict=True)):
        if vote is not None:
            commitment = commitment_of(case_id, address_of(account), vote, salt(index))
            jury.ok(account, COMMIT, case_id, index, commitment)
    assert jury.view("voteOf(uint256,uint32)", ["bool", "bool", "bool"], case_id, 0) == (True, False, False)
    jury.time = commit_ends + 1
    for index, (account, vote) in enumerate(zip(drawn, votes, strict=True)):
        if vote is not None:
            jury.ok(account, REVEAL, case_id, index, vote, salt(index))
    jury.time = reveal_ends + 1
    before = {a.address: (jury.balance(a), jury.juror(a)[0]) for a in [*drawn, CREATOR]}
    receipt = jury.ok(JURORS[0], "finalize(uint256)", case_id)
    assert jury.view("ruling(uint256)", ["uint8"], case_id) == 1
    assert jury.view("caseInfo(uint256)", ["address", "uint8", "uint32", "uint32", "uint64", "uint64"],
                     case_id)[1:4] == (1, 3, 1)
    pot = 3 * ETHER + 2 * ETHER  # the fee, the minority's and the silent juror's stake per juror
    share = pot // 3
    for account in drawn[:3]:
        balance, active = before[account.address]
        gas = 0 if account is not JURORS[0] else receipt.gas_used * 10**9
        assert jury.balance(account) == balance + share - gas and jury.juror(account)[0] == active
    for account in drawn[3:]:
        assert jury.juror(account)[0] == before[account.address][1] - ETHER
    assert jury.balance(CREATOR) == before[CREATOR.address][0] + pot - 3 * share
    assert jury.chain.state.get_balance(JURY_ADDRESS) == owed(jury)
    assert jury.refused(JURORS[1], "finalize(uint256)", case_id) == f"Jury: case {case_id} is already decided"


def test_a_tie_is_undecided_and_returns_the_fee_and_the_silent_forfeit_to_the_creator(jury) -> None:
    stake_all(jury)
    case_id, drawn = open_and_draw(jury, jurors=3, fee=ETHER)
    for index, vote in ((0, True), (1, False)):
        jury.ok(drawn[index], COMMIT, case_id, index, commitment_of(case_id, address_of(drawn[index]), vote,
                                                                    salt(index)))
    jury.time += 100
    for index, vote in ((0, True), (1, False)):
        jury.ok(drawn[index], REVEAL, case_id, index, vote, salt(index))
    jury.time += 100
    creator = jury.balance(CREATOR)
    stakes = [jury.juror(a)[0] for a in drawn]
    receipt = jury.ok(CREATOR, "finalize(uint256)", case_id)
    assert jury.view("ruling(uint256)", ["uint8"], case_id) == 3
    assert jury.balance(CREATOR) == creator + 2 * ETHER - receipt.gas_used * 10**9
    assert [jury.juror(a)[0] for a in drawn] == [stakes[0], stakes[1], stakes[2] - ETHER]  # revealers keep theirs
    assert jury.chain.state.get_balance(JURY_ADDRESS) == owed(jury)


def test_unstaked_jurors_are_not_drawn_and_withdraw_after_unbonding(jury) -> None:
    stake_all(jury)
    for account in JURORS[2:]:
        jury.ok(account, "requestUnstake(uint256)", jury.juror(account)[0])
    assert jury.view("totalStake()", ["uint256"]) == 3 * ETHER
    case_id, drawn = open_and_draw(jury, jurors=2)
    assert {a.address for a in drawn} == {JURORS[0].address, JURORS[1].address}
    account = JURORS[9]
    active, unbonding, available_at = jury.juror(account)
    assert (active, unbonding) == (0, 10 * ETHER) and available_at == T0 + 10 + 7 + UNBONDING_SECONDS
    assert jury.refused(account, "withdraw()") == (
        f"Jury: the unbonding stake can be withdrawn at {available_at} (block time {jury.time})")
    jury.time = available_at
    balance = jury.balance(account)
    receipt = jury.ok(account, "withdraw()")
    assert jury.balance(account) == balance + 10 * ETHER - receipt.gas_used * 10**9
    assert jury.juror(account) == (0, 0, 0)
    assert jury.chain.state.get_balance(JURY_ADDRESS) == owed(jury, open_fees=3 * ETHER)
    # its leaf is reused by the next juror to stake: the tree does not grow
    jury.ok(account, "stake()", value=2 * ETHER)
    assert jury.view("totalStake()", ["uint256"]) == 5 * ETHER


def test_jurors_below_the_stake_per_juror_are_skipped_or_the_draw_is_refused(jury) -> None:
    stake_all(jury)
    case_id, drawn = open_and_draw(jury, jurors=4, stake=7 * ETHER)
    assert {a.address for a in drawn} == {a.address for a in JURORS[6:]}
    jury.ok(CREATOR, OPEN, 5, 7 * ETHER, 100, 100)
    jury.chain.execute([], timestamp=jury.time)
    assert jury.refused(CREATOR, "draw(uint256)", case_id + 1) == (
        f"Jury: only 4 jurors have at least {7 * ETHER} wei active stake; case {case_id + 1} needs 5")


def test_the_creator_cancels_a_case_too_few_jurors_qualify_for_and_gets_its_fee_back(jury) -> None:
    stake_all(jury)
    receipt = jury.ok(CREATOR, OPEN, 3, 20 * ETHER, 100, 100, value=2 * ETHER)
    case_id = int.from_bytes(receipt.logs[-1].topics[1], "big")
    jury.chain.execute([], timestamp=jury.time)
    assert jury.refused(CREATOR, "draw(uint256)", case_id).startswith("Jury: only 0 jurors have at least")
    assert jury.refused(JURORS[0], "cancelCase(uint256)", case_id) == (
        f"Jury: only the creator of case {case_id} ({CREATOR.address.lower()}) may cancel it")
    balance = jury.balance(CREATOR)
    receipt = jury.ok(CREATOR, "cancelCase(uint256)", case_id)
    assert jury.balance(CREATOR) == balance + 2 * ETHER - receipt.gas_used * 10**9
    assert jury.view("ruling(uint256)", ["uint8"], case_id) == 3
    assert jury.refused(CREATOR, "cancelCase(uint256)", case_id) == f"Jury: case {case_id} is already decided"
    assert jury.refused(CREATOR, "draw(uint256)", case_id) == f"Jury: case {case_id} was cancelled"
    assert jury.refused(CREATOR, "finalize(uint256)", case_id) == f"Jury: case {case_id} is already decided"
    drawn_case, _ = open_and_draw(jury, jurors=2)
    assert jury.refused(CREATOR, "cancelCase(uint256)", drawn_case) == (
        f"Jury: case {drawn_case} is drawn: it is decided by its jurors")
    assert jury.chain.state.get_balance(JURY_ADDRESS) == owed(jury, open_fees=3 * ETHER)


def test_invalid_definitions_and_malformed_calls_are_refused_with_precise_errors_and_no_state_change(jury) -> None:
    juror, other = JURORS[0], JURORS[1]
    assert jury.refused(juror, "stake()") == "Jury: stake needs a value (msg.value is 0)"
    assert jury.refused(juror, "stake()", value=ETHER - 1) == (
        "Jury: an active stake must be at least 1 CMT (10^18 wei), got 999999999999999999 wei")
    stake_all(jury)
    assert jury.refused(juror, "requestUnstake(uint256)", 0) == "Jury: the amount to unstake must be positive"
    assert jury.refused(juror, "requestUnstake(uint256)", 2 * ETHER) == (
        f"Jury: cannot unstake {2 * ETHER} wei: the active stake is {ETHER} wei")
    assert jury.refused(other, "requestUnstake(uint256)", ETHER + 1) == (
        f"Jury: the active stake left ({ETHER - 1} wei) must be 0 or at least 1 CMT (10^18 wei)")
    assert jury.refused(juror, "withdraw()") == "Jury: nothing to withdraw"
    assert jury.refused(CREATOR, OPEN, 0, ETHER, 10, 10) == "Jury: jurors must be 1 to 128, got 0"
    assert jury.refused(CREATOR, OPEN, 129, ETHER, 10, 10) == "Jury: jurors must be 1 to 128, got 129"
    assert jury.refused(CREATOR, OPEN, 3, 0, 10, 10) == "Jury: stakePerJuror must be positive"
    assert jury.refused(CREATOR, OPEN, 3, ETHER, 0, 10) == "Jury: commitSeconds must be 1 to 604800, got 0"
    assert jury.refused(CREATOR, OPEN, 3, ETHER, 10, 604_801) == (
        "Jury: revealSeconds must be 1 to 604800, got 604801")
    assert jury.refused(CREATOR, "draw(uint256)", 1) == "Jury: case 1 does not exist"
    assert jury.refused(CREATOR, "jurors(uint256)", 0) == "Jury: case 0 does not exist"
    # a uint32 argument out of range, and a call too short to decode
    bad = function_signature_to_4byte_selector(OPEN) + eth_abi.encode(
        ["uint256", "uint256", "uint64", "uint64"], [2**32, ETHER, 10, 10])
    outcome = jury.chain.call(CallMessage(sender=address_of(CREATOR), to=JURY_ADDRESS, data=bad))
    assert not outcome.success and revert_reason(outcome.output) == "Jury: malformed arguments"
    outcome = jury.chain.call(CallMessage(sender=address_of(CREATOR), to=JURY_ADDRESS, data=b"\x01\x02"))
    assert not outcome.success and revert_reason(outcome.output) == "Jury: unknown method"

    receipt = jury.ok(CREATOR, OPEN, 3, ETHER, 100, 100, value=ETHER, advance=0)
    case_id = int.from_bytes(receipt.logs[-1].topics[1], "big")
    height = jury.chain.number + 1
    assert jury.refused(CREATOR, "draw(uint256)", case_id) == (
        f"Jury: the beacon of height {height} is not committed yet")
    assert jury.refused(juror, COMMIT, case_id, 0, b"\x01" * 32) == f"Jury: case {case_id} is not drawn yet"
    assert jury.refused(juror, "finalize(uint256)", case_id) == f"Jury: case {case_id} is not drawn yet"
    jury.chain.execute([], timestamp=jury.time)
    jury.ok(CREATOR, "draw(uint256)", case_id)
    assert jury.refused(CREATOR, "draw(uint256)", case_id) == f"Jury: case {case_id} is already drawn"
    drawn = jury.view("jurors(uint256)", ["address[]"], case_id)
    seat = next(a for a in JURORS if a.address.lower() == drawn[0].lower())
    stranger = next(a for a in JURORS if a.address.lower() not in {d.lower() for d in drawn})
    assert jury.refused(seat, COMMIT, case_id, 3, b"\x01" * 32) == (
        f"Jury: juror index 3 is out of range (case {case_id} has 3 jurors)")
    assert jury.refused(stranger, COMMIT, case_id, 0, b"\x01" * 32) == (
        f"Jury: {stranger.address.lower()} is not juror 0 of case {case_id}")
    assert jury.refused(seat, COMMIT, case_id, 0, bytes(32)) == "Jury: the commitment must not be zero"
    assert jury.refused(seat, REVEAL, case_id, 0, True, salt(0)).startswith(
        f"Jury: the reveal window of case {case_id} opens after ")
    jury.ok(seat, COMMIT, case_id, 0, commitment_of(case_id, address_of(seat), True, salt(0)))
    assert jury.refused(seat, COMMIT, case_id, 0, b"\x02" * 32) == f"Jury: juror 0 of case {case_id} already committed"
    assert jury.refused(seat, "finalize(uint256)", case_id).startswith(f"Jury: case {case_id} can be finalized after ")
    jury.time += 100
    assert jury.refused(seat, COMMIT, case_id, 0, b"\x02" * 32).startswith(
        f"Jury: the commit window of case {case_id} closed at ")
    assert jury.refused(seat, REVEAL, case_id, 0, False, salt(0)) == (
        "Jury: the vote and salt do not match juror 0's commitment")
    second = next(a for a in JURORS if a.address.lower() == drawn[1].lower())
    assert jury.refused(second, REVEAL, case_id, 1, True, salt(1)) == f"Jury: juror 1 of case {case_id} did not commit"
    jury.ok(seat, REVEAL, case_id, 0, True, salt(0))
    assert jury.refused(seat, REVEAL, case_id, 0, True, salt(0)) == f"Jury: juror 0 of case {case_id} already revealed"
    jury.time += 100
    assert jury.refused(seat, REVEAL, case_id, 0, True, salt(0)).startswith(
        f"Jury: the reveal window of case {case_id} closed at ")
    assert jury.refused(juror, "stake()", value=0) == "Jury: stake needs a value (msg.value is 0)"
    assert jury.refused(juror, "caseCount()", value=1) == "Jury: method is not payable"


JURY_USER = """
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {IJury} from "./IJury.sol";

contract JuryUser {
    IJury constant JURY = IJury(0x0000000000000000000000000000000000000C15);
    uint256 public caseId;
    uint8 public decided;

    function open(uint32 jurors) external payable {
        caseId = JURY.openCase{value: msg.value}(jurors, 1 ether, 100, 100);
    }

    function settle() external {
        decided = JURY.ruling(caseId);
        require(decided != 0, "JuryUser: still pending");
    }

    receive() external payable {
        revert("JuryUser: no code runs when the jury pays");
    }
}
"""


def test_a_solidity_contract_opens_a_case_reads_the_ruling_and_is_paid_without_running_code(jury, tmp_path) -> None:
    from cybermiles_node.solc import compile_file

    (tmp_path / "IJury.sol").write_text((REPO / "middleware" / "jury" / "IJury.sol").read_text())
    (tmp_path / "JuryUser.sol").write_text(JURY_USER)
    compiled = compile_file(tmp_path / "JuryUser.sol")["JuryUser"]
    nonce = jury.nonces.get(CREATOR.address, 0)
    jury.nonces[CREATOR.address] = nonce + 1
    created = jury.chain.execute([jury.sign_tx(CREATOR, nonce=nonce, to=None, data=compiled.bytecode,
                                               gas=3_000_000)], strict=True, timestamp=jury.time).receipts[0]
    user = created.contract_address
    assert created.status == 1

    def user_tx(signature: str, value: int = 0, *values):
        nonce = jury.nonces[CREATOR.address]
        jury.nonces[CREATOR.address] = nonce + 1
        tx = jury.sign_tx(CREATOR, nonce=nonce, to=user, data=calldata(signature, *values), gas=1_000_000,
                          value=value)
        return jury.chain.execute([tx], strict=True, timestamp=jury.time).receipts[0]

    stake_all(jury)
    assert user_tx("open(uint32)", ETHER, 3).status == 1
    case_id = eth_abi.decode(["uint256"], jury.chain.call(CallMessage(
        sender=address_of(CREATOR), to=user, data=calldata("caseId()"))).output)[0]
    jury.chain.execute([], timestamp=jury.time)
    jury.ok(CREATOR, "draw(uint256)", case_id)
    assert user_tx("settle()").status == 0  # pending: the contract's own require
    jury.time += 250  # nobody votes: undecided, every juror forfeits to the creator
    jury.ok(CREATOR, "finalize(uint256)", case_id)
    assert user_tx("settle()").status == 1
    read = jury.chain.call(CallMessage(sender=address_of(CREATOR), to=user, data=calldata("decided()")))
    assert eth_abi.decode(["uint8"], read.output)[0] == 3
    # the fee and the three forfeits reached the contract although its receive() always reverts
    assert jury.chain.state.get_balance(user) == 4 * ETHER
    assert jury.chain.state.get_balance(JURY_ADDRESS) == owed(jury)
