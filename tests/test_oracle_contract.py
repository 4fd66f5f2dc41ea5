"""Oracle quorum: the IOracle native contract's m-of-n logic, its errors, events and its ABI."""
from __future__ import annotations

import json
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, function_signature_to_4byte_selector

from middleware.oracle.contract import REQUESTED_TOPIC, OracleContract, fraction_threshold
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import ORACLE_ADDRESS
from vm.native.framework import ERROR_SELECTOR

ETHER = 10**18
T0 = 1_700_000_010  # block time of the first block (tests.conftest GENESIS_TIME + 10)
REPO = Path(__file__).resolve().parents[1]
ORACLES = [Account.from_key(keccak(b"oracle %d" % i)) for i in range(4)]
CLIENT = Account.from_key(keccak(b"oracle client"))
ABI = json.loads((REPO / "middleware" / "oracle" / "IOracle.abi.json").read_text())
INFO_TYPE = "(uint256,address,uint8,uint256,uint64,uint32,address[],bytes,address[],bytes32[])"


def address_of(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def calldata(signature: str, *values) -> bytes:
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))


class OracleChain:
    """A memory chain with the oracle contract, four oracle accounts and a client; explicit nonces per account."""

    def __init__(self, memory_chain, sign_tx) -> None:
        accounts = [GenesisAccount(address_of(a), balance=ETHER) for a in [*ORACLES, CLIENT]]
        self.chain = memory_chain(accounts, natives=[OracleContract(lambda ctx: [address_of(a) for a in ORACLES])])
        self.sign_tx = sign_tx
        self.nonces: dict[str, int] = {}
        self.time = T0

    def send(self, account, signature: str, *values, advance: int = 1):
        nonce = self.nonces.get(account.address, 0)
        self.nonces[account.address] = nonce + 1
        tx = self.sign_tx(account, nonce=nonce, to=ORACLE_ADDRESS, data=calldata(signature, *values), gas=1_000_000)
        receipt = self.chain.execute([tx], strict=True, timestamp=self.time).receipts[0]
        self.time += advance
        return receipt

    def call(self, signature: str, *values, sender=CLIENT):
        return self.chain.call(CallMessage(sender=address_of(sender), to=ORACLE_ADDRESS,
                                           data=calldata(signature, *values)), timestamp=self.time)

    def view(self, signature: str, returns: list[str], *values):
        outcome = self.call(signature, *values)
        assert outcome.success, revert_reason(outcome.output)
        return eth_abi.decode(returns, outcome.output)

    def refused(self, account, signature: str, *values) -> str:
        """The revert reason of a call that must fail; sent as a transaction too, it leaves the contract unchanged."""
        outcome = self.call(signature, *values, sender=account)
        assert not outcome.success
        storage = self.storage_root()
        receipt = self.send(account, signature, *values, advance=0)
        assert receipt.status == 0 and not receipt.logs and self.storage_root() == storage
        return revert_reason(outcome.output)

    def storage_root(self) -> bytes:
        return self.chain.state._get_storage_root(ORACLE_ADDRESS)

    def info(self, request_id: int) -> tuple:
        return self.view("getRequest(uint256)", [INFO_TYPE], request_id)[0]


def revert_reason(output: bytes) -> str:
    assert output[:4] == ERROR_SELECTOR
    return eth_abi.decode(["string"], output[4:])[0]


@pytest.fixture
def oracle(memory_chain, sign_tx) -> OracleChain:
    return OracleChain(memory_chain, sign_tx)


def define_explicit(oracle: OracleChain, threshold: int = 3) -> int:
    receipt = oracle.send(CLIENT, "defineSet(address[],uint256)", [a.address for a in ORACLES], threshold)
    assert receipt.status == 1
    return int.from_bytes(receipt.logs[0].topics[1], "big")


def make_request(oracle: OracleChain, set_id: int, window: int = 60, max_bytes: int = 32) -> int:
    receipt = oracle.send(CLIENT, "request(uint256,string,bytes,uint64,uint32)", set_id, "price.cmt-usd", b"\x01",
                          oracle.time + window, max_bytes)
    assert receipt.status == 1, "request failed"
    assert receipt.logs[0].topics[0] == REQUESTED_TOPIC
    return int.from_bytes(receipt.logs[0].topics[1], "big")


def test_the_published_abi_matches_the_native_contract() -> None:
    functions = {function_abi_to_4byte_selector(e) for e in ABI if e["type"] == "function"}
    assert functions == {spec.selector for spec in OracleContract.methods()}
    topics = {event_abi_to_log_topic(e) for e in ABI if e["type"] == "event"}
    assert REQUESTED_TOPIC in topics and len(topics) == 5


def test_three_of_four_agreeing_resolve_and_a_conflicting_value_is_recorded(oracle) -> None:
    request_id = make_request(oracle, define_explicit(oracle))
    good, bad = b"price=42", b"price=99"
    assert oracle.send(ORACLES[0], "attest(uint256,bytes)", request_id, good).status == 1
    tampered = oracle.send(ORACLES[1], "attest(uint256,bytes)", request_id, bad)
    assert tampered.status == 1 and eth_abi.decode(["bytes32", "bytes"], tampered.logs[0].data) == (keccak(bad), bad)
    assert oracle.view("result(uint256)", ["uint8", "bytes"], request_id) == (1, b"")
    assert oracle.send(ORACLES[2], "attest(uint256,bytes)", request_id, good).status == 1
    assert oracle.view("result(uint256)", ["uint8", "bytes"], request_id) == (1, b"")
    last = oracle.send(ORACLES[3], "attest(uint256,bytes)", request_id, good)
    assert len(last.logs) == 2  # Attested, then Resolved with the agreeing members
    value_hash, value, attesters = eth_abi.decode(["bytes32", "bytes", "address[]"], last.logs[1].data)
    agreeing = [ORACLES[i].address.lower() for i in (0, 2, 3)]
    assert (value_hash, value, list(attesters)) == (keccak(good), good, agreeing)
    assert oracle.view("result(uint256)", ["uint8", "bytes"], request_id) == (2, good)
    info = oracle.info(request_id)
    assert info[2:4] == (2, 3) and info[7] == good
    assert list(info[8]) == [ORACLES[i].address.lower() for i in range(4)]
    assert list(info[9]) == [keccak(good), keccak(bad), keccak(good), keccak(good)]


def test_validator_sets_are_resolved_at_request_time_with_a_fractional_threshold(oracle) -> None:
    receipt = oracle.send(CLIENT, "defineValidatorSet(uint256,uint256)", 2, 3)
    set_id = int.from_bytes(receipt.logs[0].topics[1], "big")
    owner, validators, members, threshold, numerator, denominator = oracle.view(
        "getSet(uint256)", ["address", "bool", "address[]", "uint256", "uint256", "uint256"], set_id)
    assert (owner, validators, list(members), threshold, numerator, denominator) == (
        CLIENT.address.lower(), True, [], 0, 2, 3)
    request_id = make_request(oracle, set_id)
    info = oracle.info(request_id)
    assert info[3] == 3 and list(info[6]) == [a.address.lower() for a in ORACLES]
    assert [fraction_threshold(n, 2, 3) for n in (1, 3, 4, 7)] == [1, 2, 3, 5]


def test_late_duplicate_outsider_and_oversized_attestations_are_refused_without_state_change(oracle) -> None:
    request_id = make_request(oracle, define_explicit(oracle), window=10, max_bytes=4)
    assert oracle.send(ORACLES[0], "attest(uint256,bytes)", request_id, b"ok").status == 1
    root_before = oracle.info(request_id)
    assert oracle.refused(ORACLES[0], "attest(uint256,bytes)", request_id, b"ok") == (
        f"Oracle: {ORACLES[0].address.lower()} already attested request {request_id}")
    assert oracle.refused(CLIENT, "attest(uint256,bytes)", request_id, b"ok") == (
        f"Oracle: {CLIENT.address.lower()} is not an oracle of request {request_id}")
    assert oracle.refused(ORACLES[1], "attest(uint256,bytes)", request_id, b"12345") == (
        f"Oracle: answer of 5 bytes; request {request_id} takes 1 to 4 bytes")
    assert oracle.refused(ORACLES[1], "attest(uint256,bytes)", 99, b"ok") == "Oracle: no request 99"
    assert oracle.info(request_id) == root_before
    deadline = root_before[4]
    oracle.time = deadline + 1
    assert oracle.refused(ORACLES[1], "attest(uint256,bytes)", request_id, b"ok") == (
        f"Oracle: request {request_id} closed at its deadline {deadline} (block time {deadline + 1})")
    assert oracle.info(request_id)[2] == 3  # timed out as soon as block time passes the deadline
    assert oracle.view("result(uint256)", ["uint8", "bytes"], request_id) == (3, b"")


def test_a_timed_out_request_is_recorded_by_expire_once_and_only_after_its_deadline(oracle) -> None:
    request_id = make_request(oracle, define_explicit(oracle, threshold=1), window=5)
    deadline = oracle.info(request_id)[4]
    assert oracle.refused(CLIENT, "expire(uint256)", request_id) == (
        f"Oracle: request {request_id} is open until {deadline} (block time {oracle.time})")
    oracle.time = deadline + 1
    expired = oracle.send(CLIENT, "expire(uint256)", request_id)
    assert expired.status == 1 and eth_abi.decode(["uint64"], expired.logs[0].data) == (deadline,)
    assert oracle.refused(CLIENT, "expire(uint256)", request_id) == f"Oracle: request {request_id} is already timed out"
    resolved = make_request(oracle, 1)
    assert oracle.send(ORACLES[3], "attest(uint256,bytes)", resolved, b"v").status == 1
    assert oracle.refused(ORACLES[2], "attest(uint256,bytes)", resolved, b"w") == (
        f"Oracle: request {resolved} is already resolved")
    assert oracle.refused(CLIENT, "expire(uint256)", resolved) == f"Oracle: request {resolved} is already resolved"


@pytest.mark.parametrize(
    ("signature", "values", "reason"),
    [
        ("defineSet(address[],uint256)", ([], 1), "Oracle: a set has 1 to 32 members, got 0"),
        ("defineSet(address[],uint256)", (["0x" + "11" * 20] * 33, 1), "Oracle: a set has 1 to 32 members, got 33"),
        ("defineSet(address[],uint256)", (["0x" + "11" * 20, "0x" + "11" * 20], 1),
         "Oracle: member 1 (0x" + "11" * 20 + ") is listed twice"),
        ("defineSet(address[],uint256)", (["0x" + "00" * 20], 1), "Oracle: member 0 is the zero address"),
        ("defineSet(address[],uint256)", (["0x" + "11" * 20], 2),
         "Oracle: threshold must be 1 to 1 (the number of members), got 2"),
        ("defineSet(address[],uint256)", (["0x" + "11" * 20], 0),
         "Oracle: threshold must be 1 to 1 (the number of members), got 0"),
        ("defineValidatorSet(uint256,uint256)", (3, 2),
         "Oracle: fraction must satisfy 0 < numerator <= denominator <= 10000, got 3/2"),
        ("defineValidatorSet(uint256,uint256)", (0, 1),
         "Oracle: fraction must satisfy 0 < numerator <= denominator <= 10000, got 0/1"),
        ("request(uint256,string,bytes,uint64,uint32)", (7, "t", b"", T0 + 60, 8), "Oracle: no oracle set 7"),
        ("request(uint256,string,bytes,uint64,uint32)", (1, "two words", b"", T0 + 60, 8),
         "Oracle: topic must be 1 to 64 printable ASCII characters without spaces"),
        ("request(uint256,string,bytes,uint64,uint32)", (1, "t", b"\x00" * 4097, T0 + 60, 8),
         "Oracle: payload too large (4097 bytes, limit 4096)"),
        ("request(uint256,string,bytes,uint64,uint32)", (1, "t", b"", T0, 8),
         f"Oracle: deadline {T0} must be after block time {T0} and at most 604800 s later"),
        ("request(uint256,string,bytes,uint64,uint32)", (1, "t", b"", T0 + 604801, 8),
         f"Oracle: deadline {T0 + 604801} must be after block time {T0} and at most 604800 s later"),
        ("request(uint256,string,bytes,uint64,uint32)", (1, "t", b"", T0 + 60, 1025),
         "Oracle: maxResponseBytes must be 1 to 1024, got 1025"),
        ("getRequest(uint256)", (5,), "Oracle: no request 5"),
        ("getSet(uint256)", (5,), "Oracle: no oracle set 5"),
    ],
    ids=["no-members", "too-many", "twice", "zero", "threshold-high", "threshold-zero", "fraction-over",
         "fraction-zero", "unknown-set", "topic", "payload", "deadline-now", "deadline-far", "response-bound",
         "unknown-request", "unknown-set-view"],
)
def test_invalid_definitions_and_requests_revert_with_precise_errors(oracle, signature, values, reason) -> None:
    before = oracle.chain.root
    outcome = oracle.call(signature, *values)
    assert not outcome.success and revert_reason(outcome.output) == reason
    assert oracle.chain.root == before


def test_malformed_call_data_is_refused(oracle) -> None:
    selector = function_signature_to_4byte_selector("attest(uint256,bytes)")
    outcome = oracle.chain.call(CallMessage(sender=address_of(CLIENT), to=ORACLE_ADDRESS, data=selector + b"\x01"))
    assert revert_reason(outcome.output) == "Oracle: malformed arguments"
    outcome = oracle.chain.call(CallMessage(sender=address_of(CLIENT), to=ORACLE_ADDRESS, data=b"\xde\xad\xbe\xef"))
    assert revert_reason(outcome.output) == "Oracle: unknown method"


CONSUMER = """
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {IOracle} from "./IOracle.sol";

contract PriceConsumer {
    IOracle constant ORACLE = IOracle(0x0000000000000000000000000000000000000c13);
    uint256 public setId;
    uint256 public requestId;
    bytes public price;
    bool public failed;

    constructor(address[] memory oracles) { setId = ORACLE.defineSet(oracles, 2); }

    function ask(uint64 window) external {
        requestId = ORACLE.request(setId, "price.cmt-usd", "", uint64(block.timestamp) + window, 32);
    }

    function settle() external {
        (uint8 status, bytes memory value) = ORACLE.result(requestId);
        require(status != 1, "PriceConsumer: still pending");
        if (status == 2) price = value;
        else failed = true;
    }
}
"""


def test_a_solidity_contract_requests_a_value_and_handles_resolution_and_timeout(oracle, tmp_path) -> None:
    from cybermiles_node.solc import compile_file

    (tmp_path / "IOracle.sol").write_text((REPO / "middleware" / "oracle" / "IOracle.sol").read_text())
    (tmp_path / "PriceConsumer.sol").write_text(CONSUMER)
    compiled = compile_file(tmp_path / "PriceConsumer.sol")["PriceConsumer"]
    deploy = compiled.bytecode + eth_abi.encode(["address[]"], [[ORACLES[0].address, ORACLES[1].address]])
    nonce = oracle.nonces.get(CLIENT.address, 0)
    oracle.nonces[CLIENT.address] = nonce + 1
    created = oracle.chain.execute([oracle.sign_tx(CLIENT, nonce=nonce, to=None, data=deploy, gas=3_000_000)],
                                   strict=True, timestamp=oracle.time).receipts[0]
    consumer = created.contract_address
    assert created.status == 1

    def consumer_tx(signature: str, *values):
        nonce = oracle.nonces[CLIENT.address]
        oracle.nonces[CLIENT.address] = nonce + 1
        tx = oracle.sign_tx(CLIENT, nonce=nonce, to=consumer, data=calldata(signature, *values), gas=1_000_000)
        return oracle.chain.execute([tx], strict=True, timestamp=oracle.time).receipts[0]

    def read(signature: str, returns: str):
        outcome = oracle.chain.call(CallMessage(sender=address_of(CLIENT), to=consumer, data=calldata(signature)),
                                    timestamp=oracle.time)
        return eth_abi.decode([returns], outcome.output)[0]

    assert consumer_tx("ask(uint64)", 30).status == 1
    assert consumer_tx("settle()").status == 0  # still pending: the contract's own require
    for account in ORACLES[:2]:
        assert oracle.send(account, "attest(uint256,bytes)", read("requestId()", "uint256"), b"0.0123").status == 1
    assert consumer_tx("settle()").status == 1
    assert read("price()", "bytes") == b"0.0123" and read("failed()", "bool") is False

    assert consumer_tx("ask(uint64)", 5).status == 1
    oracle.time += 10  # nobody answers before the deadline
    assert consumer_tx("settle()").status == 1 and read("failed()", "bool") is True
