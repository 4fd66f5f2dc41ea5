"""End to end: the middleware (rules engine, workflows, callback requests) on real ``cmnode`` processes.

A development node runs a Solidity shop whose discounts are business rules and an escrow driven through the
order-escrow process, timer included; malformed definitions sent by transaction revert with their precise
reason. A validator and a full node that re-executes every block agree on every block and state root after
the same middleware calls.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError

from cybermiles_node.solc import CompiledContract, compile_file
from middleware.bpm.contract import DEFINITION_COUNT_SLOT
from middleware.rules.contract import COUNT_SLOT, OWNER_MAPPING
from tests.e2e.nodeproc import NodeProcess, dev_account, free_port_range
from vm.native.addresses import RULES_ADDRESS, WEBHOOKS_ADDRESS, WORKFLOW_ADDRESS
from vm.native.framework import blob_slot, mapping_slot

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHAIN_ID = 15
ETHER = 10**18
ZERO = "0x" + "00" * 20
RULES = Web3.to_checksum_address(RULES_ADDRESS)
WORKFLOW = Web3.to_checksum_address(WORKFLOW_ADDRESS)
WEBHOOKS = Web3.to_checksum_address(WEBHOOKS_ADDRESS)
DISCOUNT_RULES = (REPO / "examples" / "rules" / "discount.rules").read_text()
ORDER_ESCROW = (REPO / "examples" / "bpm" / "order-escrow.json").read_text()
DEADLINE_S = 3  # the delivery deadline of the short-deadline copy of the order-escrow process
BAD_RULES = """template Order { amount: int; }
rule "big" when {
  $o: Order(amount > 10 then { }
"""


def short_deadline_escrow() -> str:
    """The order-escrow process with a delivery deadline of ``DEADLINE_S`` seconds (version 2)."""
    definition = json.loads(ORDER_ESCROW)
    definition["version"] = 2
    (timer,) = [t for t in definition["states"]["shipped"]["transitions"] if isinstance(t["on"], dict)]
    timer["on"] = {"after": DEADLINE_S}
    return json.dumps(definition)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompiledContract]:
    """The example contracts compiled next to copies of the interfaces they import, and the interfaces."""
    workdir = tmp_path_factory.mktemp("middleware-solidity")
    for source in (REPO / "examples" / "contracts" / "DiscountShop.sol",
                   REPO / "examples" / "contracts" / "OrderEscrow.sol",
                   REPO / "middleware" / "rules" / "IRules.sol",
                   REPO / "middleware" / "bpm" / "IWorkflow.sol"):
        shutil.copy(source, workdir)
    compiled = {name: compile_file(workdir / f"{name}.sol")[name]
                for name in ("DiscountShop", "OrderEscrow", "IRules", "IWorkflow")}
    compiled["IWebhooks"] = compile_file(REPO / "middleware" / "webhooks" / "IWebhooks.sol")["IWebhooks"]
    return compiled


def transact(w3: Web3, account: LocalAccount, call: ContractFunction | None = None, *, value: int = 0,
             gas: int | None = None, nonce: int | None = None, data: bytes = b"") -> Any:
    """Sign and send ``call`` (or a contract creation with ``data``) from ``account``; its transaction hash."""
    options: dict[str, Any] = {"from": account.address, "value": value, "chainId": CHAIN_ID,
                               "nonce": w3.eth.get_transaction_count(account.address, "pending")
                               if nonce is None else nonce}
    if gas is not None:
        options["gas"] = gas
    if call is None:
        options |= {"data": data, "gas": gas or 8_000_000,
                    "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}
        tx = options
    else:
        tx = call.build_transaction(options)
    return w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)


def mined(w3: Web3, tx_hash: Any) -> Any:
    """The receipt of ``tx_hash`` once it is in a block."""
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)


def succeed(w3: Web3, account: LocalAccount, call: ContractFunction | None = None, **options: Any) -> Any:
    """Send and mine a transaction that must succeed; its receipt."""
    receipt = mined(w3, transact(w3, account, call, **options))
    assert receipt.status == 1, receipt
    return receipt


def events(contract: Contract, name: str, receipt: Any) -> list[dict[str, Any]]:
    """The arguments of every ``name`` event ``contract`` emitted in ``receipt``, in log order."""
    event = contract.events[name]()
    return [dict(event.process_log(log).args) for log in receipt.logs
            if log.address == contract.address and log.topics[0] == bytes.fromhex(event.topic[2:])]


def transitions(workflow: Contract, receipt: Any) -> list[tuple[int, str, str, str, str]]:
    """(instance, from, to, cause, actor) of the Transitioned events of ``receipt``."""
    return [(e["instanceId"], e["from"], e["to"], e["cause"], e["actor"])
            for e in events(workflow, "Transitioned", receipt)]


def test_a_shop_contract_computes_discounts_through_the_rules_engine(node: NodeProcess, w3: Web3, artifacts) -> None:
    owner, buyer = dev_account(3), dev_account(4)
    rules = w3.eth.contract(address=RULES, abi=artifacts["IRules"].abi)
    shop_artifact = artifacts["DiscountShop"]
    constructor = eth_abi.encode(["string"], [DISCOUNT_RULES])
    created = succeed(w3, owner, data=shop_artifact.bytecode + constructor)
    shop = w3.eth.contract(address=created.contractAddress, abi=shop_artifact.abi)
    rule_set = shop.functions.ruleSet().call()
    assert events(rules, "RuleSetRegistered", created) == [{"ruleSet": rule_set, "owner": shop.address}]
    assert rules.functions.ruleSetOwner(rule_set).call() == shop.address

    def quote(tier: str, amount: int) -> tuple[int, int, list[tuple[str, tuple]]]:
        """Quote an order: the discount (checked against eth_call's answer), rules fired and rule events."""
        simulated = shop.functions.quote(tier, amount).call({"from": buyer.address})
        receipt = succeed(w3, buyer, shop.functions.quote(tier, amount))
        (quoted,) = events(shop, "Quoted", receipt)
        assert quoted["buyer"] == buyer.address and quoted["amount"] == amount
        assert quoted["price"] == amount - amount * quoted["discountPercent"] // 100
        assert quoted["discountPercent"] == simulated
        (fired,) = events(rules, "RulesFired", receipt)
        granted = [(e["name"], eth_abi.decode(["int256", "address", "int256"], e["data"]))
                   for e in events(rules, "RuleEvent", receipt)]
        assert fired["ruleSet"] == rule_set
        return quoted["discountPercent"], fired["fired"], granted

    assert quote("silver", 500) == (0, 0, [])
    assert quote("silver", 5_000) == (5, 1, [])  # large order
    assert quote("gold", 500) == (10, 1, [("DiscountGranted", (3, buyer.address.lower(), 10))])
    succeed(w3, owner, shop.functions.setCampaign(True))
    # large order, then the campaign rule, whose update takes the plain gold rule's match away
    assert quote("gold", 5_000) == (15, 2, [("DiscountGranted", (4, buyer.address.lower(), 15))])
    with pytest.raises(ContractLogicError) as refused:
        shop.functions.setCampaign(False).call({"from": buyer.address})
    assert refused.value.message == "execution reverted: DiscountShop: not the owner"

    # The rule events are indexed like any log: a filter by rule set finds the two grants.
    logs = w3.eth.get_logs({"address": RULES, "fromBlock": created.blockNumber, "toBlock": "latest",
                            "topics": [rules.events.RuleEvent().topic, "0x" + rule_set.to_bytes(32, "big").hex()]})
    assert [rules.events.RuleEvent().process_log(log).args["name"] for log in logs] == ["DiscountGranted"] * 2
    # Each quote retracted its facts: only the campaign fact is left, and nothing waits to fire.
    assert rules.functions.factIds(rule_set).call() == [shop.functions.campaignFact().call()]
    assert rules.functions.pendingActivations(rule_set).call() == 0


@pytest.fixture(scope="module")
def workflow(w3: Web3, artifacts) -> Contract:
    """The workflow engine's native contract."""
    return w3.eth.contract(address=WORKFLOW, abi=artifacts["IWorkflow"].abi)


def deploy_definition(w3: Web3, workflow: Contract, text: str) -> int:
    """Deploy a process definition from dev account 5; its id (from the DefinitionDeployed event)."""
    receipt = succeed(w3, dev_account(5), workflow.functions.deployDefinition(text))
    (deployed,) = events(workflow, "DefinitionDeployed", receipt)
    assert deployed["name"] == "order-escrow" and deployed["deployer"] == dev_account(5).address
    return deployed["definitionId"]


def open_escrow(w3: Web3, workflow: Contract, artifact: CompiledContract, definition_id: int,
                parties: tuple[LocalAccount, LocalAccount, LocalAccount], price: int) -> tuple[Contract, int, list]:
    """The buyer deploys an OrderEscrow and pays ``price`` into it; the escrow, its instance and transitions."""
    buyer, seller, arbiter = parties
    constructor = eth_abi.encode(["uint256", "address", "address"], [definition_id, seller.address, arbiter.address])
    created = succeed(w3, buyer, data=artifact.bytecode + constructor)
    escrow = w3.eth.contract(address=created.contractAddress, abi=artifact.abi)
    instance = escrow.functions.instanceId().call()
    (started,) = events(workflow, "InstanceStarted", created)
    assert started == {"instanceId": instance, "definitionId": definition_id, "starter": escrow.address}
    paid = succeed(w3, buyer, escrow.functions.pay(), value=price)
    assert w3.eth.get_balance(escrow.address) == price
    return escrow, instance, transitions(workflow, created) + transitions(workflow, paid)


def complete(w3: Web3, workflow: Contract, account: LocalAccount, instance: int, task: str,
             types: list[str] | None = None, values: list[Any] | None = None) -> Any:
    """``account`` completes ``task`` of ``instance`` with the ABI-encoded data; the receipt."""
    data = eth_abi.encode(types, values) if types else b""
    return succeed(w3, account, workflow.functions.completeTask(instance, task, data))


def test_an_order_escrow_moves_through_the_process_and_pays_the_seller(w3: Web3, workflow: Contract,
                                                                      artifacts) -> None:
    buyer, seller, arbiter = dev_account(6), dev_account(7), dev_account(8)
    definition_id = deploy_definition(w3, workflow, ORDER_ESCROW)
    price = 3 * ETHER
    escrow, instance, moves = open_escrow(w3, workflow, artifacts["OrderEscrow"], definition_id,
                                          (buyer, seller, arbiter), price)
    with pytest.raises(ContractLogicError) as refused:
        workflow.functions.completeTask(instance, "ship", eth_abi.encode(["string"], ["TRK-1"])).call(
            {"from": buyer.address})
    assert "role 'seller'" in refused.value.message
    moves += transitions(workflow, complete(w3, workflow, seller, instance, "ship", ["string"], ["TRK-1"]))
    moves += transitions(workflow, complete(w3, workflow, buyer, instance, "confirm_delivery"))
    moves += transitions(workflow, complete(w3, workflow, buyer, instance, "accept"))
    assert moves == [
        (instance, "", "created", "start", escrow.address),
        (instance, "created", "paid", "pay", escrow.address),
        (instance, "paid", "shipped", "ship", seller.address),
        (instance, "shipped", "delivered", "confirm_delivery", buyer.address),
        (instance, "delivered", "completed", "accept", buyer.address),
    ]
    assert escrow.functions.state().call() == "completed"
    assert workflow.functions.getString(instance, "tracking").call() == "TRK-1"
    assert workflow.functions.getInt(instance, "price").call() == price

    seller_before = w3.eth.get_balance(seller.address)
    settled = succeed(w3, arbiter, escrow.functions.settle())
    assert events(escrow, "Settled", settled) == [{"to": seller.address, "amount": price}]
    assert w3.eth.get_balance(seller.address) == seller_before + price
    assert w3.eth.get_balance(escrow.address) == 0


def test_a_missed_delivery_deadline_refunds_the_buyer_in_end_block(w3: Web3, workflow: Contract, artifacts) -> None:
    buyer, seller, arbiter = dev_account(9), dev_account(10), dev_account(11)
    definition_id = deploy_definition(w3, workflow, short_deadline_escrow())
    price = 2 * ETHER
    escrow, instance, _ = open_escrow(w3, workflow, artifacts["OrderEscrow"], definition_id,
                                      (buyer, seller, arbiter), price)
    shipped = complete(w3, workflow, seller, instance, "ship", ["string"], ["TRK-2"])
    shipped_at = w3.eth.get_block(shipped.blockNumber).timestamp
    state, ended, entered_at, due = workflow.functions.instanceState(instance).call(
        block_identifier=shipped.blockNumber)
    assert (state, ended, entered_at, due) == ("shipped", False, shipped_at, shipped_at + DEADLINE_S)

    deadline = time.time() + 30
    while escrow.functions.state().call() != "refunded":
        assert time.time() < deadline, "the delivery deadline timer never fired"
        time.sleep(0.2)
    # The timer fired in the first block whose time reached the due time, and in no other.
    history = workflow.functions.historyLength(instance).call()
    assert workflow.functions.historyEntry(instance, history - 1).call()[:4] == ["shipped", "refunded", "timer", ZERO]
    fired_in = next(n for n in range(shipped.blockNumber + 1, w3.eth.block_number + 1)
                    if workflow.functions.instanceState(instance).call(block_identifier=n)[0] == "refunded")
    assert w3.eth.get_block(fired_in).timestamp >= due > w3.eth.get_block(fired_in - 1).timestamp
    assert workflow.functions.historyEntry(instance, history - 1).call()[4] == w3.eth.get_block(fired_in).timestamp
    assert workflow.functions.instanceState(instance).call()[1:] == [True, w3.eth.get_block(fired_in).timestamp, 0]

    buyer_before = w3.eth.get_balance(buyer.address)
    settled = succeed(w3, arbiter, escrow.functions.settle())
    assert events(escrow, "Settled", settled) == [{"to": buyer.address, "amount": price}]
    assert w3.eth.get_balance(buyer.address) == buyer_before + price


def refused_by_transaction(w3: Web3, account: LocalAccount, call: ContractFunction) -> tuple[str, Any]:
    """The revert message web3 shows for ``call``, and the receipt of the same call sent anyway."""
    with pytest.raises(ContractLogicError) as refused:
        call.estimate_gas({"from": account.address})
    receipt = mined(w3, transact(w3, account, call, gas=3_000_000))
    assert receipt.status == 0 and receipt.logs == []
    return refused.value.message, receipt


def storage(w3: Web3, address: str, slots: list[int], block: int) -> list[bytes]:
    """The values of ``slots`` of ``address`` at ``block``."""
    return [bytes(w3.eth.get_storage_at(address, slot, block)) for slot in slots]


def test_malformed_definitions_sent_by_transaction_revert_with_their_reason_and_change_nothing(
    w3: Web3, workflow: Contract, artifacts
) -> None:
    sender = dev_account(12)
    rules = w3.eth.contract(address=RULES, abi=artifacts["IRules"].abi)
    next_set = rules.functions.ruleSetCount().call()
    rule_slots = [COUNT_SLOT, mapping_slot(OWNER_MAPPING, next_set),
                  blob_slot(b"cmt.rules/set/" + next_set.to_bytes(32, "big"))]
    message, receipt = refused_by_transaction(w3, sender, rules.functions.registerRuleSet(BAD_RULES))
    assert message == ("execution reverted: Rules: line 3, column 25: expected ',' or ')' after the constraints "
                       "of pattern 'Order', found 'then'")
    assert rules.functions.ruleSetCount().call() == next_set
    assert storage(w3, RULES, rule_slots, receipt.blockNumber) == storage(w3, RULES, rule_slots,
                                                                           receipt.blockNumber - 1)

    definition = json.loads(ORDER_ESCROW)
    definition["states"]["shipped"]["transitions"][1]["guard"] = 'dispute_reasn != ""'
    definitions = workflow.functions.definitionCount().call()
    message, receipt = refused_by_transaction(w3, sender, workflow.functions.deployDefinition(json.dumps(definition)))
    assert message == ("execution reverted: Workflow: states.shipped.transitions[1].guard: "
                       "unknown field 'dispute_reasn'")
    assert workflow.functions.definitionCount().call() == definitions
    assert storage(w3, WORKFLOW, [DEFINITION_COUNT_SLOT], receipt.blockNumber) == storage(
        w3, WORKFLOW, [DEFINITION_COUNT_SLOT], receipt.blockNumber - 1)


# -- determinism: a full node re-executing the same middleware calls ---------------------------------------------


class PairOfNodes:
    """A ``cmnode testnet`` of one validator and one full node in full-sync mode, as two processes on loopback."""

    def __init__(self, output: Path) -> None:
        base = free_port_range(4)
        result = subprocess.run(
            [sys.executable, "-m", "cybermiles_node.cli", "testnet", "--validators", "1", "--full-nodes", "1",
             "--output", str(output), "--base-port", str(base), "--json"],
            capture_output=True, text=True, check=True, timeout=120,
        )
        self.output = output
        self.nodes = json.loads(result.stdout)
        with (Path(self.nodes[1]["home"]) / "config.toml").open("a") as config:
            config.write('\n[sync]\nmode = "full"\n')  # execute every block, never fetch a pivot's state
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "cybermiles_node.cli", "start", "--home", node["home"]],
                             stdout=(output / f"node{index}.log").open("a"), stderr=subprocess.STDOUT)
            for index, node in enumerate(self.nodes)
        ]
        self.w3 = [Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10})) for node in self.nodes]

    def wait_height(self, index: int, height: int, timeout: float = 60) -> None:
        """Wait until node ``index`` has a block at ``height``."""
        deadline = time.time() + timeout
        while True:
            try:
                if self.w3[index].eth.block_number >= height:
                    return
            except OSError:
                pass
            assert time.time() < deadline, f"node {index} did not reach height {height}"
            time.sleep(0.2)

    def stop(self) -> str:
        """Stop both nodes; their logs."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)
        return "".join((self.output / f"node{index}.log").read_text() for index in range(len(self.nodes)))


@pytest.fixture
def testnet(tmp_path: Path) -> Iterator[PairOfNodes]:
    net = PairOfNodes(tmp_path)
    try:
        yield net
    finally:
        logs = net.stop()
    assert "Traceback" not in logs


def test_a_full_node_re_executes_the_middleware_calls_to_the_same_blocks_and_state_roots(
    testnet: PairOfNodes, artifacts
) -> None:
    testnet.wait_height(0, 2)
    testnet.wait_height(1, 2)
    w3 = testnet.w3[0]
    rules = w3.eth.contract(address=RULES, abi=artifacts["IRules"].abi)
    workflow = w3.eth.contract(address=WORKFLOW, abi=artifacts["IWorkflow"].abi)
    webhooks = w3.eth.contract(address=WEBHOOKS, abi=artifacts["IWebhooks"].abi)
    shopper, clerk, requester = dev_account(13), dev_account(14), dev_account(15)

    def batch(account: LocalAccount, calls: list[ContractFunction]) -> list[Any]:
        """Send ``calls`` at once with consecutive nonces; their hashes."""
        first = w3.eth.get_transaction_count(account.address, "pending")
        return [transact(w3, account, call, gas=5_000_000, nonce=first + offset)
                for offset, call in enumerate(calls)]

    order = eth_abi.encode(["int256", "address", "int256", "int256"], [1, shopper.address, 5_000, 0])
    customer = eth_abi.encode(["address", "string"], [shopper.address, "gold"])
    members = [clerk.address] * 4
    sent = batch(shopper, [
        rules.functions.registerRuleSet(DISCOUNT_RULES),
        rules.functions.insertFact(0, "Customer", customer),
        rules.functions.insertFact(0, "Order", order),
        rules.functions.fireAllRules(0),
    ]) + batch(clerk, [
        workflow.functions.deployDefinition(short_deadline_escrow()),
        workflow.functions.startInstance(1, ["buyer", "seller", "arbiter", "escrow"], members, b""),
        workflow.functions.completeTask(1, "pay", eth_abi.encode(["int256"], [7])),
        workflow.functions.completeTask(1, "ship", eth_abi.encode(["string"], ["TRK-3"])),
    ]) + batch(requester, [webhooks.functions.requestCallback("carrier.delivery", b"order 1")])
    receipts = [mined(w3, tx_hash) for tx_hash in sent]
    assert [receipt.status for receipt in receipts] == [1] * len(receipts)

    deadline = time.time() + 30
    while workflow.functions.instanceState(1).call()[0] != "refunded":
        assert time.time() < deadline, "the delivery deadline timer never fired"
        time.sleep(0.2)
    top = w3.eth.block_number
    testnet.wait_height(1, top)

    def chain(index: int) -> list[tuple[bytes, bytes, bytes]]:
        blocks = [testnet.w3[index].eth.get_block(number) for number in range(top + 1)]
        return [(block.hash, block.stateRoot, block.receiptsRoot) for block in blocks]

    assert chain(1) == chain(0)
    # The full node answers from the state it computed itself.
    full = testnet.w3[1]
    full_rules = full.eth.contract(address=RULES, abi=rules.abi)
    _, fields = full_rules.functions.getFact(0, 2).call(block_identifier=top)
    assert eth_abi.decode(["int256", "address", "int256", "int256"], fields)[3] == 10
    full_workflow = full.eth.contract(address=WORKFLOW, abi=workflow.abi)
    assert full_workflow.functions.historyEntry(1, 3).call(block_identifier=top)[:3] == ["shipped", "refunded", "timer"]
    assert full.eth.contract(address=WEBHOOKS, abi=webhooks.abi).functions.requestCount().call(
        block_identifier=top) == 1
