"""not, exists, accumulate, activation groups, block-time windows and pay: the Lity examples, errors and IRules budgets."""
from __future__ import annotations

from pathlib import Path

import eth_abi
import pytest
from eth_hash.auto import keccak

from cybermiles_node.natives import genesis_accounts
from middleware.rules.compiler import RuleSet
from middleware.rules.contract import RulesContract
from middleware.rules.engine import Session
from middleware.rules.errors import PaymentError, RuleSyntaxError, RuleTypeError
from middleware.rules.naive import NaiveSession
from tests.middleware.test_rules_contract import Sender, calldata, revert_reason, view
from vm.native.addresses import RULES_ADDRESS

REPO = Path(__file__).resolve().parents[2]
PENSION = RuleSet.parse((REPO / "examples" / "rules" / "pension.rules").read_text())
INSURANCE = RuleSet.parse((REPO / "examples" / "rules" / "insurance.rules").read_text())
ALICE, BOB, CAROL = b"\xa1" * 20, b"\xb0" * 20, b"\xc0" * 20


@pytest.mark.parametrize("session_type", [Session, NaiveSession])
def test_pension_pays_each_living_retiree_once_per_period_and_reports(session_type: type) -> None:
    session = session_type(PENSION, budget=1_000)
    for addr, age in ((ALICE, 70), (BOB, 40), (CAROL, 66)):
        session.insert("Member", {"addr": addr, "age": age})
    session.insert("Deceased", {"addr": CAROL})
    period = session.insert("Period", {"index": 1, "monthly": 100})
    session.fire_all()
    assert [(p.recipient, p.amount) for p in session.payments] == [(ALICE, 100)]
    reports = [f.as_dict() for f in session.facts() if f.template.name == "Report"]
    assert reports == [{"period": 1, "retirees": 1, "paid": 100}]
    session.fire_all()  # nothing more to pay this period
    assert len(session.payments) == 1
    session.update(period, {"index": 2})
    session.fire_all()
    assert [(p.recipient, p.amount) for p in session.payments] == [(ALICE, 100), (ALICE, 100)]
    assert session.budget == 800


def test_a_pay_beyond_the_budget_stops_with_a_precise_error() -> None:
    session = Session(PENSION, budget=150)
    session.insert("Member", {"addr": ALICE, "age": 70})
    session.insert("Member", {"addr": BOB, "age": 80})
    session.insert("Period", {"index": 1, "monthly": 100})
    with pytest.raises(PaymentError, match=r'rule "pay pension": pay of 100 wei to 0xb0b0.* exceeds the budget of '
                                           r"50 wei"):
        session.fire_all()
    assert session.budget == 50


@pytest.mark.parametrize("session_type", [Session, NaiveSession])
def test_insurance_pays_claims_up_to_the_cover(session_type: type) -> None:
    session = session_type(INSURANCE, budget=10_000)
    session.insert("Policy", {"id": 1, "holder": ALICE, "cover": 500, "premiumPaid": True})
    first = session.insert("Claim", {"policy": 1, "amount": 300})
    session.fire_all()
    assert session.payments == []  # no approved assessment yet
    session.insert("Assessment", {"policy": 1, "approved": True})
    session.fire_all()
    second = session.insert("Claim", {"policy": 1, "amount": 300})
    session.fire_all()
    third = session.insert("Claim", {"policy": 1, "amount": 50})
    session.fire_all()
    assert [p.amount for p in session.payments] == [300, 200]
    assert [session.fact(c)["paid"] for c in (first, second, third)] == [300, 200, 0]
    assert [e.name for e in session.events] == ["ClaimPaid", "ClaimPaid", "ClaimRejected"]


def test_an_activation_group_fires_one_of_its_activations() -> None:
    rules = RuleSet.parse("""template Bid { amount: int; }
rule "best" salience 1 activation_group "award" when { $b: Bid(amount > 10); } then { emit Won($b.amount); }
rule "fallback" activation_group "award" when { $b: Bid(); } then { emit Won(0); }
""")
    for session in (Session(rules), NaiveSession(rules)):
        session.insert("Bid", {"amount": 20})
        session.insert("Bid", {"amount": 30})
        assert session.fire_all() == 1
        assert [e.values for e in session.events] == [(20,)]


def test_rules_fire_only_within_their_block_time_window() -> None:
    rules = RuleSet.parse("""template T { n: int; }
rule "campaign" date_effective 100 date_expires 200 when { $t: T(); } then { emit Hit($t.n); }
""")
    session = Session(rules)
    session.insert("T", {"n": 1})
    assert session.fire_all(now=None) == 0 and session.fire_all(now=99) == 0 and session.fire_all(now=200) == 0
    assert session.fire_all(now=100) == 1


@pytest.mark.parametrize(("source", "error", "message"), [
    ('rule "r" when { $x: not A(); } then { }', RuleSyntaxError,
     "line 2, column 21: a 'not' condition binds nothing: remove '$x:', found 'not'"),
    ('rule "r" when { not $a: A(); } then { }', RuleSyntaxError,
     "line 2, column 21: a 'not' condition binds nothing: remove the binding, found '$a'"),
    ('rule "r" when { $s: accumulate(A(); n = avg(x)); } then { }', RuleSyntaxError,
     "expected count, sum, min or max for result 'n', found 'avg'"),
    ('rule "r" when { $s: accumulate(A(); n = count(); m > 1); } then { }', RuleTypeError,
     "accumulate '$s' has no result 'm'"),
    ('rule "r" when { $s: accumulate(A(); n = count(), n = sum(x)); } then { }', RuleTypeError,
     "result 'n' is named twice"),
    ('rule "r" when { $s: accumulate(A(); n = sum(f)); } then { }', RuleTypeError, "the argument of sum must be int"),
    ('rule "r" when { $s: accumulate(A(); n = count()); } then { update $s { x = 1 }; }', RuleTypeError,
     "'$s' is the result of an accumulate, not a fact"),
    ('rule "r" when { $a: A(); } then { pay(0x00000000000000000000000000000000000000a1, 1); }', RuleTypeError,
     'rule "r" pays, so it must declare max_pay'),
    ('rule "r" max_pay 5 when { $a: A(); } then { pay($a.x, 1); }', RuleTypeError,
     "the recipient of 'pay' must be address, this one is int"),
    ('rule "r" date_effective 10 date_expires 10 when { $a: A(); } then { }', RuleSyntaxError,
     'expires (date_expires 10) before it is effective'),
    ('rule "r" activation_group 3 when { $a: A(); } then { }', RuleSyntaxError,
     "expected a string as the group name"),
])
def test_invalid_definitions_are_refused_precisely(source: str, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        RuleSet.parse("template A { x: int; f: bool; }\n" + source)
    assert message in str(caught.value)


def test_pay_beyond_the_firings_limit_is_refused() -> None:
    rules = RuleSet.parse("""template A { x: int; who: address; }
rule "r" max_pay 10 when { $a: A(); } then { pay($a.who, 6); pay($a.who, 6); }
""")
    session = Session(rules, budget=100)
    session.insert("A", {"who": ALICE})
    with pytest.raises(PaymentError, match="exceeds the firing's limit \\(max_pay 10, 6 paid before\\)"):
        session.fire_all()


@pytest.fixture
def chain(memory_chain, genesis):
    """A development chain with the rules engine installed."""
    return memory_chain(genesis_accounts(genesis), natives=[RulesContract()])


def test_pension_on_chain_pays_from_the_escrowed_budget(chain, sign_tx, dev_keys) -> None:
    owner, other = Sender(chain, sign_tx, dev_keys[6]), Sender(chain, sign_tx, dev_keys[7])
    source = (REPO / "examples" / "rules" / "pension.rules").read_text()
    assert owner.send(RULES_ADDRESS, calldata("registerRuleSet(string)", source)).status == 1

    def fund(sender: Sender, value: int):
        tx = sign_tx(sender.account, nonce=chain.state.get_nonce(sender.address), to=RULES_ADDRESS,
                     data=calldata("fundRuleSet(uint256)", 0), gas=300_000, value=value)
        return chain.execute([tx], strict=True).receipts[0]

    assert fund(owner, 150).status == 1
    assert view(owner, "ruleSetBudget(uint256)", ["uint256"], 0) == (150,)
    member = eth_abi.encode(["address", "int256", "int256"], ["0x" + ALICE.hex(), 70, 0])
    assert owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Member", member)).status == 1
    period = eth_abi.encode(["int256", "int256"], [1, 100])
    assert owner.send(RULES_ADDRESS, calldata("insertFact(uint256,string,bytes)", 0, "Period", period)).status == 1
    receipt = owner.send(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0))
    assert receipt.status == 1
    assert chain.state.get_balance(ALICE) == 100
    (payment,) = [log for log in receipt.logs
                  if log.topics[0] == keccak(b"RulePayment(uint256,address,string,uint256)")]
    assert payment.topics[2] == bytes(12) + ALICE
    assert eth_abi.decode(["string", "uint256"], payment.data) == ("pay pension", 100)
    assert view(owner, "ruleSetBudget(uint256)", ["uint256"], 0) == (50,)

    # The next period would pay beyond the budget: the fire reverts and changes nothing.
    next_period = eth_abi.encode(["int256", "int256"], [2, 100])
    assert owner.send(RULES_ADDRESS, calldata("updateFact(uint256,uint256,bytes)", 0, 2, next_period)).status == 1
    outcome = owner.call(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0))
    assert revert_reason(outcome.output) == (
        f'Rules: rule "pay pension": pay of 100 wei to 0x{ALICE.hex()} exceeds the budget of 50 wei')
    assert owner.send(RULES_ADDRESS, calldata("fireAllRules(uint256)", 0)).status == 0
    assert chain.state.get_balance(ALICE) == 100
    assert view(owner, "ruleSetBudget(uint256)", ["uint256"], 0) == (50,)

    # Only the owner withdraws, and never more than the budget.
    assert revert_reason(other.call(RULES_ADDRESS, calldata("withdrawBudget(uint256,uint256)", 0, 1)).output) == (
        "Rules: only the rule set's owner may withdraw its budget")
    assert revert_reason(owner.call(RULES_ADDRESS, calldata("withdrawBudget(uint256,uint256)", 0, 51)).output) == (
        "Rules: withdrawal of 51 wei exceeds the budget of 50 wei of rule set 0")
    assert owner.send(RULES_ADDRESS, calldata("withdrawBudget(uint256,uint256)", 0, 50)).status == 1
    assert view(owner, "ruleSetBudget(uint256)", ["uint256"], 0) == (0,)
    assert chain.state.get_balance(RULES_ADDRESS) == 0
