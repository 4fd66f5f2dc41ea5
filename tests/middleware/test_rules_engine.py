"""Semantics of the rules engine: agenda order, no_loop, lock_on_active, inheritance, actions, memories, gas."""
from __future__ import annotations

import pytest

from middleware.rules.compiler import RuleSet
from middleware.rules.engine import Firing, Session
from middleware.rules.errors import (
    FactError,
    GasExhausted,
    RuleEvaluationError,
    RuleLimitError,
)
from middleware.rules.gas import GasMeter

TEMPLATES = """
template Order { id: int; amount: int; discount: int; vip: bool; }
template Note { order: int; text: string; }
"""


def session(rules: str, meter: GasMeter | None = None) -> Session:
    """A session of ``TEMPLATES`` plus ``rules``."""
    return Session(RuleSet.parse(TEMPLATES + rules), meter)


def fired(s: Session) -> list[tuple[str, tuple[int, ...]]]:
    """The firings so far as (rule, fact ids)."""
    return [(f.rule, f.facts) for f in s.fired]


def test_agenda_orders_by_salience_then_rule_order_then_fact_ids() -> None:
    s = session("""
rule "low" salience -1 when { $o: Order(); } then { emit Low($o.id); }
rule "first" when { $o: Order(); } then { emit First($o.id); }
rule "second" when { $o: Order(); } then { emit Second($o.id); }
rule "high" salience 5 when { $o: Order(); } then { emit High($o.id); }
""")
    for order_id in (30, 10, 20):
        s.insert("Order", {"id": order_id})
    assert s.fire_all() == 12
    assert fired(s) == [(rule, (fact,)) for rule in ("high", "first", "second", "low") for fact in (1, 2, 3)]
    assert [event.values[0] for event in s.events[:3]] == [30, 10, 20]


def test_fact_order_compares_whole_id_tuples() -> None:
    s = session('rule "pair" when { $a: Order(); $b: Order(amount > $a.amount); } then { }')
    s.insert("Order", {"amount": 3})
    s.insert("Order", {"amount": 1})
    s.insert("Order", {"amount": 2})
    s.fire_all()
    assert fired(s) == [("pair", (2, 1)), ("pair", (2, 3)), ("pair", (3, 1))]


LOOPING = 'rule "grow" {options} when {{ $o: Order(amount < 100); }} then {{ update $o {{ amount = $o.amount + 1 }}; }}'


def test_an_update_reactivates_the_rule_that_made_it_unless_no_loop() -> None:
    looping = session(LOOPING.format(options=""))
    looping.insert("Order", {"amount": 1})
    assert looping.fire_all(max_activations=10) == 10  # the bound stops it
    assert looping.fact(1)["amount"] == 11
    assert len(looping.pending()) == 1  # and the next call would go on

    guarded = session(LOOPING.format(options="no_loop"))
    guarded.insert("Order", {"amount": 1})
    assert guarded.fire_all(max_activations=10) == 1
    assert guarded.fact(1)["amount"] == 2 and guarded.pending() == ()
    # An update from outside makes the match again.
    guarded.update(1, {"vip": True})
    assert guarded.fire_all() == 1 and guarded.fact(1)["amount"] == 3


def test_no_loop_only_suppresses_the_same_rule_on_the_same_facts() -> None:
    s = session("""
rule "bump others" no_loop when { $a: Order(); $b: Order(); } then { update $b { discount = $b.discount + 1 }; }
""")
    s.insert("Order", {"id": 1})
    s.insert("Order", {"id": 2})
    s.fire_all(max_activations=6)
    # (1,2) bumps fact 2, which re-makes (2,1) but not (1,2); and so on: each firing activates the other tuple.
    assert fired(s) == [("bump others", (1, 2)), ("bump others", (2, 1))] * 3


def test_no_loop_does_not_stop_other_rules_reacting() -> None:
    s = session("""
rule "discount" salience 10 no_loop when { $o: Order(amount > 100); } then { update $o { discount = 10 }; }
rule "vip" when { $o: Order(discount >= 10, vip == false); } then { update $o { vip = true }; }
""")
    s.insert("Order", {"amount": 150})
    assert s.fire_all() == 3
    assert fired(s) == [("discount", (1,)), ("vip", (1,)), ("discount", (1,))]
    assert s.fact(1).as_dict() == {"id": 0, "amount": 150, "discount": 10, "vip": True}


def test_lock_on_active_blocks_reactivation_until_the_call_ends() -> None:
    rules = """
rule "discount" salience 10 lock_on_active when { $o: Order(amount > 100); } then { update $o { discount = $o.discount + 1 }; }
rule "flag" when { $o: Order(vip == false); } then { update $o { vip = true }; }
"""
    s = session(rules)
    s.insert("Order", {"amount": 150})
    s.insert("Order", {"amount": 500})
    assert s.fire_all() == 4
    # Both waiting activations of "discount" fire; updates by either rule do not re-activate it in this call.
    assert fired(s) == [("discount", (1,)), ("discount", (2,)), ("flag", (1,)), ("flag", (2,))]
    assert [fact["discount"] for fact in s.facts()] == [1, 1]
    # The suppressed matches count as fired: a new call alone does not fire them...
    assert s.fire_all() == 0
    # ...but an update from outside does.
    s.update(2, {"amount": 600})
    assert s.fire_all() == 1 and s.fact(2)["discount"] == 2

    without = session(rules.replace(" lock_on_active", ""))
    without.insert("Order", {"amount": 150})
    assert without.fire_all(max_activations=50) == 50  # discount and flag keep re-activating "discount"


def test_inherited_rules_need_the_parent_conditions_and_run_their_own_actions() -> None:
    s = session("""
rule "big" when { $o: Order(amount > 100); } then { emit Big($o.id); }
rule "big vip" extends "big" salience 1 when { Note(order == $o.id); } then { emit BigNoted($o.id); }
""")
    s.insert("Order", {"id": 7, "amount": 500})
    s.insert("Order", {"id": 8, "amount": 50})
    s.insert("Note", {"order": 8, "text": "small"})
    s.insert("Note", {"order": 7, "text": "big"})
    s.fire_all()
    assert [(e.rule, e.name, e.values) for e in s.events] == [("big vip", "BigNoted", (7,)), ("big", "Big", (7,))]
    assert fired(s) == [("big vip", (1, 4)), ("big", (1,))]


def test_actions_modify_insert_retract_and_emit() -> None:
    s = session("""
rule "split" no_loop when { $o: Order(amount > 1000); } then {
    update $o { amount = $o.amount / 2, discount = $o.amount % 7 };
    insert Order { id = $o.id + 1, amount = $o.amount };
    insert Note { order = $o.id, text = "split" };
    emit Split($o.id, $o.amount);
}
rule "drop notes" salience -1 when { $n: Note(); } then { emit Dropped($n.text); retract $n; }
""")
    s.insert("Order", {"id": 1, "amount": 4001})
    assert s.fire_all() == 4
    facts = [(f.id, f.template.name, f.as_dict()) for f in s.facts()]
    # The copy (fact 2) was split again; its copy (fact 4) is not over 1000; both notes were dropped.
    assert facts == [
        (1, "Order", {"id": 1, "amount": 2000, "discount": 4001 % 7, "vip": False}),
        (2, "Order", {"id": 2, "amount": 1000, "discount": 2000 % 7, "vip": False}),
        (4, "Order", {"id": 3, "amount": 1000, "discount": 0, "vip": False}),
    ]
    # Expressions after an update read the new values: each copy got the halved amount.
    assert [(e.name, e.values) for e in s.events] == [
        ("Split", (1, 2000)), ("Split", (2, 1000)), ("Dropped", ("split",)), ("Dropped", ("split",)),
    ]
    assert fired(s) == [("split", (1,)), ("split", (2,)), ("drop notes", (3,)), ("drop notes", (5,))]


def test_reading_a_fact_the_firing_retracted_is_an_error() -> None:
    s = session('rule "r" when { $o: Order(); } then { retract $o; emit Gone($o.id); }')
    s.insert("Order", {})
    with pytest.raises(RuleEvaluationError, match="fact 1 was retracted earlier in this firing"):
        s.fire_all()


def test_retract_and_update_remove_activations_incrementally() -> None:
    s = session("""
rule "pair" when { $o: Order(amount > 10); $n: Note(order == $o.id); } then { }
""")
    first = s.insert("Order", {"id": 1, "amount": 50})
    second = s.insert("Order", {"id": 2, "amount": 60})
    note = s.insert("Note", {"order": 1})
    s.insert("Note", {"order": 2})
    assert s.pending() == (Firing("pair", (1, 3)), Firing("pair", (2, 4)))
    s.retract(note)
    assert s.pending() == (Firing("pair", (2, 4)),)
    s.update(second, {"amount": 5})
    assert s.pending() == ()
    s.update(first, {"id": 2})
    assert s.pending() == (Firing("pair", (1, 4)),)
    assert s.fire_all() == 1 and s.pending() == ()


def test_a_fact_never_fills_two_patterns_of_one_match() -> None:
    s = session('rule "two" when { $a: Order(); $b: Order(); } then { }')
    s.insert("Order", {})
    assert s.pending() == ()
    s.insert("Order", {})
    assert s.pending() == (Firing("two", (1, 2)), Firing("two", (2, 1)))


def test_state_round_trip_keeps_refraction() -> None:
    rules = RuleSet.parse(TEMPLATES + 'rule "big" when { $o: Order(amount > 10); } then { emit Big($o.id); }')
    s = Session(rules)
    s.insert("Order", {"amount": 50})
    s.insert("Order", {"amount": 60})
    assert s.fire_all(max_activations=1) == 1
    restored = Session.restore(rules, s.state())
    assert restored.pending() == s.pending() == (Firing("big", (2,)),)
    assert restored.insert("Order", {"amount": 70}) == 3
    assert restored.fire_all() == 2


def test_working_memory_errors_are_typed() -> None:
    s = session('rule "r" when { $o: Order(); } then { }')
    with pytest.raises(FactError, match="unknown fact type 'Item'"):
        s.insert("Item", {})
    with pytest.raises(FactError, match="Order has no field 'price'"):
        s.insert("Order", {"price": 1})
    with pytest.raises(FactError, match="Order.amount: expected int, got string"):
        s.insert("Order", {"amount": "10"})
    with pytest.raises(FactError, match="Order.vip: expected bool, got int"):
        s.insert("Order", {"vip": 1})
    with pytest.raises(FactError, match="no fact with id 9"):
        s.retract(9)
    with pytest.raises(RuleLimitError, match="max_activations"):
        s.fire_all(max_activations=-1)


def test_gas_bound_stops_the_engine() -> None:
    rules = LOOPING.format(options="")
    unbounded = session(rules)
    unbounded.insert("Order", {"amount": 0})
    unbounded.fire_all(max_activations=100)
    assert unbounded.fact(1)["amount"] == 100

    meter = GasMeter(20_000)
    bounded = session(rules, meter)
    bounded.insert("Order", {"amount": 0})
    with pytest.raises(GasExhausted) as caught:
        bounded.fire_all(max_activations=100)
    assert meter.used <= 20_000 < caught.value.needed
    assert 0 < bounded.fact(1)["amount"] < 100
