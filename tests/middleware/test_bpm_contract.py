"""The workflow native contract on an executing chain: transactions, views, events, end-block timers, and a
Solidity escrow contract driving the order-escrow process through IWorkflow."""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import eth_abi
import pytest
import rlp
from eth.rlp.accounts import Account as AccountRlp
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector
from trie import HexaryTrie

from cybermiles_node.solc import CompiledContract, compile_file
from middleware.bpm.contract import MAX_TIMERS_PER_BLOCK, TRANSITIONED, WorkflowContract
from middleware.bpm.definition import minified, parse_definition
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import WORKFLOW_ADDRESS
from vm.native.framework import ERROR_SELECTOR

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bpm" / "order-escrow.json"
ETHER = 10**18
T0 = 1_700_000_100
WEEK = 604_800
BUYER, SELLER, ARBITER, ESCROW, OTHER = (Account.from_key(keccak(b"bpm %d" % n)) for n in range(5))
ZERO = "0x" + "00" * 20
TRANSITIONED_TOPIC = keccak(TRANSITIONED.encode())


def addr(account: Any) -> bytes:
    return bytes.fromhex(account.address[2:])


def calldata(signature: str, *values: Any) -> bytes:
    types = signature[signature.index("(") + 1 : -1]
    split = [t for t in types.split(",") if t]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(split, list(values))


class Driver:
    """Sends transactions and views to a memory chain running the workflow contract; keeps block time."""

    def __init__(self, chain: Any, sign_tx: Any) -> None:
        self.chain = chain
        self.sign_tx = sign_tx
        self.now = T0

    def block(self, txs: Sequence[Any] = (), *, at: int | None = None) -> Any:
        self.now = self.now + 1 if at is None else at
        return self.chain.execute(list(txs), strict=True, timestamp=self.now)

    def tx(self, account: Any, data: bytes, *, to: bytes | None = WORKFLOW_ADDRESS, value: int = 0,
           gas: int = 3_000_000, nonce_offset: int = 0) -> Any:
        nonce = self.chain.state.get_nonce(addr(account)) + nonce_offset
        return self.sign_tx(account, nonce=nonce, to=to, data=data, value=value, gas=gas)

    def send(self, account: Any, data: bytes, **options: Any) -> Any:
        at = options.pop("at", None)
        return self.block([self.tx(account, data, **options)], at=at).receipts[0]

    def view(self, signature: str, returns: Sequence[str], *values: Any, to: bytes = WORKFLOW_ADDRESS) -> Any:
        outcome = self.chain.call(CallMessage(sender=addr(OTHER), to=to, data=calldata(signature, *values)),
                                  timestamp=self.now)
        assert outcome.success, outcome
        decoded = eth_abi.decode(list(returns), outcome.output)
        return decoded[0] if len(decoded) == 1 else decoded

    def reason(self, account: Any, data: bytes, to: bytes = WORKFLOW_ADDRESS) -> str:
        outcome = self.chain.call(CallMessage(sender=addr(account), to=to, data=data), timestamp=self.now)
        assert not outcome.success and outcome.output[:4] == ERROR_SELECTOR
        return eth_abi.decode(["string"], outcome.output[4:])[0]

    def state(self, instance_id: int) -> str:
        return self.view("instanceState(uint256)", ["string", "bool", "uint256", "uint256"], instance_id)[0]

    def storage_root(self) -> bytes:
        encoded = HexaryTrie(self.chain.db, self.chain.root)[keccak(WORKFLOW_ADDRESS)]
        return rlp.decode(encoded, sedes=AccountRlp).storage_root


@pytest.fixture
def driver(memory_chain, sign_tx) -> Driver:
    accounts = [GenesisAccount(addr(a), balance=1_000 * ETHER) for a in (BUYER, SELLER, ARBITER, ESCROW, OTHER)]
    return Driver(memory_chain(accounts, natives=[WorkflowContract()]), sign_tx)


def deploy(driver: Driver, text: str) -> int:
    receipt = driver.send(OTHER, calldata("deployDefinition(string)", text))
    assert receipt.status == 1
    return driver.view("definitionCount()", ["uint256"])


ROLE_NAMES = ["buyer", "seller", "arbiter", "escrow"]
MEMBERS = [BUYER.address, SELLER.address, ARBITER.address, ESCROW.address]


def start(driver: Driver, definition_id: int, data: bytes = b"") -> int:
    receipt = driver.send(BUYER, calldata("startInstance(uint256,string[],address[],bytes)",
                                          definition_id, ROLE_NAMES, MEMBERS, data))
    assert receipt.status == 1
    return driver.view("instanceCount()", ["uint256"])


def transitions(logs: Sequence[Any]) -> list[tuple[int, str, str, str, str]]:
    """(instance id, from, to, cause, actor) of every Transitioned event, in order."""
    found = []
    for log in logs:
        if log.address == WORKFLOW_ADDRESS and log.topics[0] == TRANSITIONED_TOPIC:
            source, target, cause, actor = eth_abi.decode(["string", "string", "string", "address"], log.data)
            found.append((int.from_bytes(log.topics[1], "big"), source, target, cause, actor.lower()))
    return found


def test_an_instance_moves_through_tasks_and_records_its_history(driver: Driver) -> None:
    text = EXAMPLE.read_text()
    definition_id = deploy(driver, text)
    assert definition_id == 1
    name, version, stored = driver.view("getDefinition(uint256)", ["string", "uint256", "string"], 1)
    assert (name, version, stored) == ("order-escrow", 1, minified(text))

    receipt = driver.send(BUYER, calldata("startInstance(uint256,string[],address[],bytes)", 1, ROLE_NAMES, MEMBERS, b""))
    assert transitions(receipt.logs) == [(1, "", "created", "start", BUYER.address.lower())]
    assert driver.view("roleMember(uint256,string)", ["address"], 1, "seller") == SELLER.address.lower()

    receipt = driver.send(ESCROW, calldata("completeTask(uint256,string,bytes)", 1, "pay", eth_abi.encode(["int256"], [250])))
    assert receipt.status == 1
    assert transitions(receipt.logs) == [(1, "created", "paid", "pay", ESCROW.address.lower())]
    driver.send(SELLER, calldata("completeTask(uint256,string,bytes)", 1, "ship", eth_abi.encode(["string"], ["TRK-42"])))
    shipped_at = driver.now
    state, ended, entered, due = driver.view("instanceState(uint256)", ["string", "bool", "uint256", "uint256"], 1)
    assert (state, ended, entered, due) == ("shipped", False, shipped_at, shipped_at + WEEK)

    assert driver.view("getInt(uint256,string)", ["int256"], 1, "price") == 250
    assert driver.view("getString(uint256,string)", ["string"], 1, "tracking") == "TRK-42"
    assert driver.view("getBool(uint256,string)", ["bool"], 1, "refund_buyer") is False
    data = driver.view("instanceData(uint256)", ["bytes"], 1)
    assert eth_abi.decode(["int256", "string", "string", "bool"], data) == (250, "TRK-42", "", False)
    assert driver.reason(OTHER, calldata("getInt(uint256,string)", 1, "tracking")) == \
        "Workflow: field 'tracking' is string, not int"

    assert driver.view("historyLength(uint256)", ["uint256"], 1) == 3
    entry = driver.view("historyEntry(uint256,uint256)", ["string", "string", "string", "address", "uint256"], 1, 2)
    assert entry == ("paid", "shipped", "ship", SELLER.address.lower(), shipped_at)
    assert driver.reason(OTHER, calldata("historyEntry(uint256,uint256)", 1, 3)) == "Workflow: history entry 3 of 3"
    assert driver.view("instanceDefinition(uint256)", ["uint256"], 1) == 1


def test_role_data_and_guard_violations_revert_with_reasons_and_change_nothing(driver: Driver) -> None:
    deploy(driver, EXAMPLE.read_text())
    start(driver, 1)
    before = driver.storage_root()
    pay = lambda payload: calldata("completeTask(uint256,string,bytes)", 1, "pay", payload)
    cases = [
        (SELLER, pay(eth_abi.encode(["int256"], [5])),
         "Workflow: task 'pay' may only be completed by the member bound to role 'escrow'"),
        (ESCROW, pay(eth_abi.encode(["int256"], [0])), "Workflow: task 'pay' in state 'created': no transition's guard holds"),
        (ESCROW, pay(eth_abi.encode(["string"], ["5"])), "Workflow: data is not the ABI encoding of (int256 price)"),
        (ESCROW, pay(b"\x01" * 31), "Workflow: data is not the ABI encoding of (int256 price)"),
        (ESCROW, pay(eth_abi.encode(["int256"], [5]) + b"\x00" * 32), "Workflow: data is not the ABI encoding of (int256 price): it has extra"),
        (SELLER, calldata("completeTask(uint256,string,bytes)", 1, "ship", b""), "Workflow: state 'created' has no task 'ship'"),
        (ESCROW, calldata("completeTask(uint256,string,bytes)", 9, "pay", b""), "Workflow: no instance 9"),
    ]
    for account, data, reason in cases:
        assert driver.reason(account, data).startswith(reason)
        assert driver.send(account, data).status == 0
    assert driver.storage_root() == before
    assert driver.state(1) == "created"


def test_start_instance_checks_role_bindings_and_data(driver: Driver) -> None:
    deploy(driver, EXAMPLE.read_text())
    start_call = lambda roles, members, data=b"": calldata(
        "startInstance(uint256,string[],address[],bytes)", 1, roles, members, data)
    assert driver.reason(BUYER, start_call(ROLE_NAMES[:3], MEMBERS[:3])) == "Workflow: role 'escrow' is not bound to an address"
    assert driver.reason(BUYER, start_call(ROLE_NAMES, MEMBERS[:3])) == "Workflow: 4 roles but 3 members"
    assert driver.reason(BUYER, start_call(ROLE_NAMES + ["buyer"], MEMBERS + [OTHER.address])) == \
        "Workflow: role 'buyer' bound twice"
    assert driver.reason(BUYER, start_call(ROLE_NAMES, MEMBERS[:3] + [ZERO])).endswith("non-zero 20-byte address")
    assert driver.reason(BUYER, calldata("startInstance(uint256,string[],address[],bytes)", 7, ROLE_NAMES, MEMBERS, b"")) == \
        "Workflow: no definition 7"
    initial = eth_abi.encode(["int256", "string", "string", "bool"], [7, "pre", "", True])
    instance_id = start(driver, 1, initial)
    assert driver.view("instanceData(uint256)", ["bytes"], instance_id) == initial


def test_a_malformed_definition_reverts_with_a_precise_reason_and_changes_nothing(driver: Driver) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["states"]["shipped"]["transitions"][1]["guard"] = "dispute_reasn != \"\""
    bad = json.dumps(document)
    before = driver.storage_root()
    assert driver.reason(OTHER, calldata("deployDefinition(string)", bad)) == \
        "Workflow: states.shipped.transitions[1].guard: unknown field 'dispute_reasn'"
    assert driver.reason(OTHER, calldata("deployDefinition(string)", "{\"name\": ")) == \
        "Workflow: line 1, column 10: Expecting value"
    assert driver.send(OTHER, calldata("deployDefinition(string)", bad)).status == 0
    assert driver.storage_root() == before
    assert driver.view("definitionCount()", ["uint256"]) == 0


def test_a_timer_fires_in_end_block_by_block_time(driver: Driver) -> None:
    deploy(driver, EXAMPLE.read_text())
    start(driver, 1)
    driver.send(ESCROW, calldata("completeTask(uint256,string,bytes)", 1, "pay", eth_abi.encode(["int256"], [1])))
    driver.send(SELLER, calldata("completeTask(uint256,string,bytes)", 1, "ship", eth_abi.encode(["string"], ["t"])))
    deadline = driver.now + WEEK
    assert transitions(driver.block(at=deadline - 1).block_events) == []
    assert driver.state(1) == "shipped"
    result = driver.block(at=deadline)
    assert transitions(result.block_events) == [(1, "shipped", "refunded", "timer", ZERO)]
    assert driver.view("instanceState(uint256)", ["string", "bool", "uint256", "uint256"], 1) == ("refunded", True, deadline, 0)
    assert driver.view("historyEntry(uint256,uint256)", ["string", "string", "string", "address", "uint256"], 1, 3) == \
        ("shipped", "refunded", "timer", ZERO, deadline)
    assert transitions(driver.block(at=deadline + WEEK).block_events) == []


TICK = """{"name": "tick", "version": 1, "roles": ["buyer", "seller", "arbiter", "escrow"], "start": "waiting",
  "states": {"waiting": {"tasks": {"stop": {"role": "buyer"}},
                         "transitions": [{"to": "stopped", "on": "stop"}, {"to": "rang", "on": {"after": %d}}]},
             "rang": {"end": true}, "stopped": {"end": true}}}"""


def test_timers_fire_at_most_64_per_block_in_due_time_then_id_order(driver: Driver) -> None:
    slow, fast = deploy(driver, TICK % 20), deploy(driver, TICK % 5)
    start_slow = [calldata("startInstance(uint256,string[],address[],bytes)", slow, ROLE_NAMES, MEMBERS, b"")] * 40
    start_fast = [calldata("startInstance(uint256,string[],address[],bytes)", fast, ROLE_NAMES, MEMBERS, b"")] * 30
    begin = driver.now + 1
    driver.block([driver.tx(BUYER, data, nonce_offset=i) for i, data in enumerate(start_slow)], at=begin)  # ids 1-40, due +20
    driver.block([driver.tx(BUYER, data, nonce_offset=i) for i, data in enumerate(start_fast)], at=begin + 1)  # 41-70, due +6
    driver.send(BUYER, calldata("completeTask(uint256,string,bytes)", 2, "stop", b""), at=begin + 2)  # its timer goes stale
    first = transitions(driver.block(at=begin + 30).block_events)
    assert len(first) == MAX_TIMERS_PER_BLOCK
    expected_order = list(range(41, 71)) + [1] + list(range(3, 41))
    assert [event[0] for event in first] == expected_order[:MAX_TIMERS_PER_BLOCK]
    assert all(event[1:4] == ("waiting", "rang", "timer") for event in first)
    second = transitions(driver.block().block_events)
    assert [event[0] for event in second] == expected_order[MAX_TIMERS_PER_BLOCK:]
    assert transitions(driver.block().block_events) == []
    assert driver.state(2) == "stopped" and driver.state(40) == "rang"


# -- the order-escrow Solidity contract ------------------------------------------------------------


@pytest.fixture(scope="module")
def order_escrow(tmp_path_factory) -> CompiledContract:
    """examples/contracts/OrderEscrow.sol compiled against the shipped IWorkflow.sol."""
    workdir = tmp_path_factory.mktemp("bpm-solidity")
    shutil.copy(REPO / "examples" / "contracts" / "OrderEscrow.sol", workdir)
    shutil.copy(REPO / "middleware" / "bpm" / "IWorkflow.sol", workdir)
    return compile_file(workdir / "OrderEscrow.sol")["OrderEscrow"]


def open_escrow(driver: Driver, contract: CompiledContract, price: int) -> tuple[bytes, int]:
    definition_id = deploy(driver, EXAMPLE.read_text())
    constructor = eth_abi.encode(["uint256", "address", "address"], [definition_id, SELLER.address, ARBITER.address])
    receipt = driver.send(BUYER, contract.bytecode + constructor, to=None, gas=5_000_000)
    assert receipt.status == 1
    escrow = receipt.contract_address
    instance_id = driver.view("instanceId()", ["uint256"], to=escrow)
    assert driver.view("roleMember(uint256,string)", ["address"], instance_id, "escrow") == "0x" + escrow.hex()
    assert driver.view("state()", ["string"], to=escrow) == "created"
    assert driver.send(BUYER, calldata("pay()"), to=escrow, value=price).status == 1
    assert driver.state(instance_id) == "paid"
    assert driver.chain.state.get_balance(escrow) == price
    return escrow, instance_id


def complete(driver: Driver, account: Any, instance_id: int, task: str, types: list[str] = (), values: list = ()) -> None:
    data = eth_abi.encode(list(types), list(values)) if types else b""
    assert driver.send(account, calldata("completeTask(uint256,string,bytes)", instance_id, task, data)).status == 1


def test_order_escrow_pays_the_seller_once_the_order_completes(driver: Driver, order_escrow) -> None:
    price = 3 * ETHER
    escrow, instance_id = open_escrow(driver, order_escrow, price)
    assert driver.reason(OTHER, calldata("settle()"), to=escrow) == "OrderEscrow: the order is not finished"
    assert driver.reason(BUYER, calldata("completeTask(uint256,string,bytes)", instance_id, "pay",
                                         eth_abi.encode(["int256"], [1]))).startswith("Workflow: state 'paid' has no task")
    complete(driver, SELLER, instance_id, "ship", ["string"], ["TRK-7"])
    complete(driver, BUYER, instance_id, "confirm_delivery")
    complete(driver, BUYER, instance_id, "accept")
    assert driver.view("state()", ["string"], to=escrow) == "completed"
    seller_before = driver.chain.state.get_balance(addr(SELLER))
    assert driver.send(OTHER, calldata("settle()"), to=escrow).status == 1
    assert driver.chain.state.get_balance(addr(SELLER)) == seller_before + price
    assert driver.chain.state.get_balance(escrow) == 0
    assert driver.reason(OTHER, calldata("settle()"), to=escrow) == "OrderEscrow: already settled"
    causes = [driver.view("historyEntry(uint256,uint256)", ["string", "string", "string", "address", "uint256"],
                          instance_id, i)[2] for i in range(driver.view("historyLength(uint256)", ["uint256"], instance_id))]
    assert causes == ["start", "pay", "ship", "confirm_delivery", "accept"]


def test_order_escrow_refunds_the_buyer_when_the_delivery_deadline_passes(driver: Driver, order_escrow) -> None:
    price = 2 * ETHER
    escrow, instance_id = open_escrow(driver, order_escrow, price)
    complete(driver, SELLER, instance_id, "ship", ["string"], ["TRK-8"])
    result = driver.block(at=driver.now + WEEK)
    assert transitions(result.block_events) == [(instance_id, "shipped", "refunded", "timer", ZERO)]
    assert driver.view("state()", ["string"], to=escrow) == "refunded"
    buyer_before = driver.chain.state.get_balance(addr(BUYER))
    assert driver.send(OTHER, calldata("settle()"), to=escrow).status == 1
    assert driver.chain.state.get_balance(addr(BUYER)) == buyer_before + price


def test_order_escrow_dispute_is_decided_by_the_arbiter(driver: Driver, order_escrow) -> None:
    escrow, instance_id = open_escrow(driver, order_escrow, ETHER)
    complete(driver, SELLER, instance_id, "ship", ["string"], ["TRK-9"])
    complete(driver, BUYER, instance_id, "dispute", ["string"], ["box arrived empty"])
    assert driver.reason(BUYER, calldata("completeTask(uint256,string,bytes)", instance_id, "resolve",
                                         eth_abi.encode(["bool"], [True]))).endswith("role 'arbiter'")
    complete(driver, ARBITER, instance_id, "resolve", ["bool"], [True])
    assert driver.view("state()", ["string"], to=escrow) == "refunded"
    assert driver.view("getString(uint256,string)", ["string"], instance_id, "dispute_reason") == "box arrived empty"


def test_the_stored_definition_parses_to_the_deployed_one(driver: Driver) -> None:
    text = EXAMPLE.read_text()
    deploy(driver, text)
    stored = driver.view("getDefinition(uint256)", ["string", "uint256", "string"], 1)[2]
    assert parse_definition(stored) == parse_definition(text)


def test_two_chains_running_the_same_calls_reach_the_same_state_roots(memory_chain, sign_tx) -> None:
    def scenario() -> list[bytes]:
        accounts = [GenesisAccount(addr(a), balance=1_000 * ETHER) for a in (BUYER, SELLER, ARBITER, ESCROW, OTHER)]
        driver = Driver(memory_chain(accounts, natives=[WorkflowContract()]), sign_tx)
        deploy(driver, EXAMPLE.read_text())
        start(driver, 1)
        start(driver, 1)
        complete(driver, ESCROW, 1, "pay", ["int256"], [4])
        complete(driver, ESCROW, 2, "pay", ["int256"], [5])
        complete(driver, SELLER, 1, "ship", ["string"], ["a"])
        complete(driver, SELLER, 2, "ship", ["string"], ["b"])
        roots = [driver.chain.root]
        events = transitions(driver.block(at=driver.now + WEEK).block_events)
        assert [event[0] for event in events] == [1, 2]
        return roots + [driver.chain.root]

    assert scenario() == scenario()
