"""The rules engine on-chain: the IRules native contract called by accounts and by a compiled Solidity shop."""
from __future__ import annotations

import shutil
from pathlib import Path

import eth_abi
import pytest
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

from cybermiles_node.natives import genesis_accounts
from cybermiles_node.solc import CompiledContract, compile_file
from middleware.rules import contract as rules_contract
from middleware.rules.contract import COUNT_SLOT, OWNER_MAPPING, RulesContract
from vm.execution import CallMessage
from vm.native.addresses import RULES_ADDRESS
from vm.native.framework import ERROR_SELECTOR, blob_slot, mapping_slot

REPO = Path(__file__).resolve().parents[2]
DISCOUNT_RULES = (REPO / "examples" / "rules" / "discount.rules").read_text()
LOOPING_RULES = """
template Counter { n: int; }
rule "count forever" when { $c: Counter(n >= 0); } then { update $c { n = $c.n + 1 }; }
"""
BAD_RULES = """template Order { amount: int; }
rule "big" when {
  $o: Order(amount > 10 then { }
"""


def calldata(signature: str, *values: object) -> bytes:
    """ABI call data for ``signature``."""
    types = signature[signature.index("(") + 1 : -1].split(",") if "()" not in signature else []
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))


def revert_reason(output: bytes) -> str:
    """The message of an ``Error(string)`` revert."""
    assert output[:4] == ERROR_SELECTOR, output
    return eth_abi.decode(["string"], output[4:])[0]


@pytest.fixture(scope="module")
def shop_contract(tmp_path_factory: pytest.TempPathFactory) -> CompiledContract:
    """DiscountShop.sol compiled against the shipped IRules.sol."""
    workdir = tmp_path_factory.mktemp("solidity")
    shutil.copy(REPO / "examples" / "contracts" / "DiscountShop.sol", workdir)
    shutil.copy(REPO / "middleware" / "rules" / "IRules.sol", workdir)
    return compile_file(workdir / "DiscountShop.sol")["DiscountShop"]


@pytest.fixture
def chain(memory_chain, genesis):
    """A development chain with the rules engine installed."""
    return memory_chain(genesis_accounts(genesis), natives=[RulesContract()])


class Sender:
    """Sends transactions from one development account, tracking its nonce."""

    def __init__(self, chain, sign_tx, account) -> None:
        self.chain, self.sign_tx, self.account = chain, sign_tx, account
        self.address = bytes.fromhex(account.address[2:])

    def send(self, to: bytes | None, data: bytes, gas: int = 3_000_000):
        """Execute one transaction in a new block; its receipt."""
        nonce = self.chain.state.get_nonce(self.address)
        tx = self.sign_tx(self.account, nonce=nonce, to=to, data=data, gas=gas)
        return self.chain.execute([tx], strict=True).receipts[0]

    def call(self, to: bytes, data: bytes):
        """eth_call from this account."""
        return self.chain.call(CallMessage(sender=self.address, to=to, data=data))


def view(sender: Sender, signature: str, returns: list[str], *values: object) -> tuple:
    """A successful read of the rules contract."""
    outcome = sender.call(RULES_ADDRESS, calldata(signature, *values))
    assert outcome.success, revert_reason(outcome.output)
    return eth_abi.decode(returns, outcome.output)


def test_a_solidity_shop_computes_discounts_through_irules(chain, sign_tx, dev_keys, shop_contract) -> None:
    owner = Sender(chain, sign_tx, dev_keys[3])
    buyer = Sender(chain, sign_tx, dev_keys[4])
    constructor = eth_abi.encode(["string"], [DISCOUNT_RULES])
    deployed = owner.send(None, shop_contract.bytecode + constructor, gas=8_000_000)
    assert deployed.status == 1
    shop = deployed.contract_address
    (rule_set,) = view(owner, "ruleSetCount()", ["uint256"])
    assert rule_set == 1
    assert view(owner, "ruleSetOwner(uint256)", ["address"], 0) == ("0x" + shop.hex(),)

    def quote(tier: str, amount: int) -> int:
        receipt = buyer.send(shop, calldata("quote(string,int256)", tier, amount))
        assert receipt.status == 1
        quoted = [log for log in receipt.logs if log.address == shop]
        (event,) = quoted
        assert event.topics[0] == keccak(b"Quoted(uint256,address,int256,int256,int256)")
        amount_out, percent, price = eth_abi.decode(["int256", "int256", "int256"], event.data)
        assert amount_out == amount and price == amount - amount * percent // 100
        return percent

    assert quote("silver", 500) == 0
    assert quote("silver", 5_000) == 5
    assert quote("gold", 500) == 10
    receipt = owner.send(shop, calldata("setCampaign(bool)", True))
    assert receipt.status == 1
    assert quote("gold", 5_000) == 15

    # The last quote's rule event reached the chain as a RuleEvent log of the rules contract.
    last = buyer.send(shop, calldata("quote(string,int256)", "gold", 20))
    rule_events = [log for log in last.logs if log.address == RULES_ADDRESS
                   and log.topics[0] == keccak(b"RuleEvent(uint256,string,bytes)")]
    (rule_event,) = rule_events
    assert rule_event.topics[1] == (0).to_bytes(32, "big")
    name, data = eth_abi.decode(["string", "bytes"], rule_event.data)
    assert name == "DiscountGranted"
    assert eth_abi.decode(["int256", "address", "int256"], data) == (5, buyer.account.address.lower(), 15)
    # The shop retracts each quote's facts: only the campaign fact is left.
    assert view(owner, "factIds(uint256)", ["uint256[]"], 0) == ((1,),)


def test_a_malformed_rule_set_reverts_with_its_position_and_changes_nothing(chain, sign_tx, dev_keys) -> None:
    user = Sender(chain, sign_tx, dev_keys[5])
    outcome = user.call(RULES_ADDRESS, calldata("registerRuleSet(string)", BAD_RULES))
    assert not outcome.success
    assert revert_reason(outcome.output) == (
        "Rules: line 3, column 25: expected ',' or ')' after the constraints of pattern 'Order', found 'then'"
    )
    slots = (COUNT_SLOT, mapping_slot(OWNER_MAPPING, 0), blob_slot(b"cmt.rules/set/" + bytes(32)))
    receipt = user.send(RULES_ADDRESS, calldata("registerRuleSet(string)", BAD_RULES))
    assert receipt.status == 0
    assert view(user, "ruleSetCount()", ["uint256"]) == (0,)
    assert [chain.state.get_storage(RULES_ADDRESS, slot) for slot in slots] == [0, 0, 0]
    # A well-formed source registered by a well-formed transaction does write those slots.
    assert user.send(RULES_ADDRESS, calldata("registerRuleSet(string)", DISCOUNT_RULES)).status == 1
    assert all(chain.state.get_storage(RULES_ADDRESS, slot) != 0 for slot in slots)


def test_accounts_use_the_contract_directly_and_only_the_owner_may_change_facts(chain, sign_tx, dev_keys) -> None:
    owner = Sender(chain, sign_tx, dev_keys[6])
    other = Sender(chain, sign_tx, dev_keys[7])
    assert owner.send(RULES_ADDRESS, calldata("registerRuleSet(string)", DISCOUNT_RULES)).status == 1
    order_fields = eth_abi.encode(["int256", "address", "int256", "int256"], [1, other.address, 2_000, 0])
    receipt = owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Order", order_fields))
    assert receipt.status == 1
    assert view(owner, "pendingActivations(uint256)", ["uint256"], 0) == (1,)

    refused = other.call(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Order", order_fields))
    assert revert_reason(refused.output) == "Rules: only the rule set's owner may change its facts"
    refused = other.call(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0))
    assert revert_reason(refused.output) == "Rules: only the rule set's owner may change its facts"
    bad = owner.call(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Ordr", order_fields))
    assert revert_reason(bad.output) == "Rules: unknown fact type 'Ordr'"
    bad = owner.call(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Order", b"\x01\x02"))
    assert revert_reason(bad.output) == (
        "Rules: fields of Order are not ABI-encoded as (int256,address,int256,int256)"
    )

    fired = owner.send(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0))
    assert fired.status == 1
    fired_logs = [log for log in fired.logs if log.topics[0] == keccak(b"RulesFired(uint256,uint256)")]
    assert eth_abi.decode(["uint256"], fired_logs[0].data) == (1,)
    fact_type, fields = view(owner, "getFact(uint256,uint256)", ["string", "bytes"], 0, 1)
    assert fact_type == "Order"
    assert eth_abi.decode(["int256", "address", "int256", "int256"], fields)[3] == 5
    assert view(owner, "pendingActivations(uint256)", ["uint256"], 0) == (0,)

    # Firing again does nothing: the match already fired (refraction survives between calls).
    again = owner.send(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0))
    again_logs = [log for log in again.logs if log.topics[0] == keccak(b"RulesFired(uint256,uint256)")]
    assert eth_abi.decode(["uint256"], again_logs[0].data) == (0,)

    # An update from outside makes the match again.
    reset = eth_abi.encode(["int256", "address", "int256", "int256"], [1, other.address, 3_000, 0])
    assert owner.send(RULES_ADDRESS, calldata("updateFact(uint256,uint256,bytes)", 0, 1, reset)).status == 1
    assert view(owner, "pendingActivations(uint256)", ["uint256"], 0) == (1,)
    assert owner.send(RULES_ADDRESS, calldata("retractFact(uint256,uint256)", 0, 1)).status == 1
    assert view(owner, "factIds(uint256)", ["uint256[]"], 0) == ((),)
    missing = owner.call(RULES_ADDRESS, calldata("getFact(uint256,uint256)", 0, 1))
    assert revert_reason(missing.output) == "Rules: no fact 1 in rule set 0"


def test_a_call_that_runs_out_of_gas_reverts_and_keeps_the_facts(chain, sign_tx, dev_keys) -> None:
    owner = Sender(chain, sign_tx, dev_keys[8])
    assert owner.send(RULES_ADDRESS, calldata("registerRuleSet(string)", LOOPING_RULES)).status == 1
    fields = eth_abi.encode(["int256"], [0])
    assert owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Counter", fields)).status == 1
    receipt = owner.send(RULES_ADDRESS, calldata("fireRules(uint256,uint256)", 0, 1_000), gas=400_000)
    assert receipt.status == 0
    assert receipt.gas_used == 400_000
    _, stored = view(owner, "getFact(uint256,uint256)", ["string", "bytes"], 0, 1)
    assert eth_abi.decode(["int256"], stored) == (0,)
    # With a bound on activations the same rule set makes progress within the gas.
    bounded = owner.send(RULES_ADDRESS, calldata("fireRules(uint256,uint256)", 0, 3), gas=1_000_000)
    assert bounded.status == 1
    _, stored = view(owner, "getFact(uint256,uint256)", ["string", "bytes"], 0, 1)
    assert eth_abi.decode(["int256"], stored) == (3,)


def test_two_nodes_reach_the_same_state_root_whether_or_not_the_rule_set_was_cached(
    memory_chain, genesis, sign_tx, dev_keys
) -> None:
    def replay():
        chain = memory_chain(genesis_accounts(genesis), natives=[RulesContract()])
        owner = Sender(chain, sign_tx, dev_keys[9])
        order = eth_abi.encode(["int256", "address", "int256", "int256"], [1, owner.address, 9_000, 0])
        customer = eth_abi.encode(["address", "string"], [owner.address, "gold"])
        receipts = [
            owner.send(RULES_ADDRESS, calldata("registerRuleSet(string)", DISCOUNT_RULES)),
            owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Customer", customer)),
            owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Order", order)),
            owner.send(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0)),
        ]
        assert all(receipt.status == 1 for receipt in receipts)
        return chain.root, [receipt.gas_used for receipt in receipts]

    rules_contract._compiled.cache_clear()
    first = replay()  # compiles on every call of the first chain until cached
    second = replay()  # finds the rule set compiled
    rules_contract._compiled.cache_clear()
    assert first == second
