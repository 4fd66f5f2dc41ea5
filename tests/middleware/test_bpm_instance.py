"""The instance state machine: starting, tasks with role checks and guards, timers by block time."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from middleware.bpm.check import check_file
from middleware.bpm.definition import Definition, parse_definition
from middleware.bpm.errors import DataError, InstanceError, NoTransitionError, RoleError
from middleware.bpm.instance import (
    HistoryEntry,
    Instance,
    complete_task,
    fire_timer,
    next_due,
    start,
)
from middleware.rules.gas import GasMeter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bpm" / "order-escrow.json"
BUYER, SELLER, ARBITER, ESCROW = (bytes([n]) * 20 for n in (1, 2, 3, 4))
ROLES = {"buyer": BUYER, "seller": SELLER, "arbiter": ARBITER, "escrow": ESCROW}
T0 = 1_700_000_000
WEEK = 604_800


@pytest.fixture(scope="module")
def escrow() -> Definition:
    return check_file(EXAMPLE)


def meter() -> GasMeter:
    return GasMeter(100_000)


def run(definition: Definition, instance: Instance, task: str, caller: bytes, now: int, **data) -> Instance:
    return complete_task(definition, instance, task, caller, data, now, meter())[0]


def test_start_binds_roles_and_zeroes_unset_fields(escrow: Definition) -> None:
    instance, entry = start(escrow, ROLES, {"price": 5}, T0, BUYER)
    assert instance.state == "created" and instance.entered_at == T0
    assert instance.member(escrow, "arbiter") == ARBITER
    assert [instance.value(escrow, name) for name in ("price", "tracking", "refund_buyer")] == [5, "", False]
    assert entry == (HistoryEntry("", "created", "start", BUYER, T0),)


@pytest.mark.parametrize("roles, message", [
    ({k: v for k, v in ROLES.items() if k != "arbiter"}, "role 'arbiter' is not bound"),
    ({**ROLES, "courier": BUYER}, "no role 'courier'"),
    ({**ROLES, "seller": b"\x00" * 20}, "non-zero 20-byte address"),
    ({**ROLES, "seller": b"\x01" * 19}, "non-zero 20-byte address"),
])
def test_start_refuses_bad_role_bindings(escrow: Definition, roles, message: str) -> None:
    with pytest.raises(RoleError, match=message):
        start(escrow, roles, {}, T0, BUYER)


@pytest.mark.parametrize("data, message", [
    ({"price": "5"}, "field 'price': expected int, got string"),
    ({"price": True}, "field 'price': expected int, got bool"),
    ({"price": 2**255}, "int256"),
    ({"tracking": "x" * 1025}, "longer than 1024 bytes"),
    ({"colour": 1}, "no data field 'colour'"),
])
def test_start_refuses_bad_data(escrow: Definition, data, message: str) -> None:
    with pytest.raises(DataError, match=message):
        start(escrow, ROLES, data, T0, BUYER)


def test_the_happy_path_through_the_escrow_process(escrow: Definition) -> None:
    instance, _ = start(escrow, ROLES, {}, T0, BUYER)
    instance, entry = complete_task(escrow, instance, "pay", ESCROW, {"price": 100}, T0 + 1, meter())
    assert entry == (HistoryEntry("created", "paid", "pay", ESCROW, T0 + 1),)
    instance = run(escrow, instance, "ship", SELLER, T0 + 2, tracking="TRK-1")
    assert (instance.state, instance.entered_at) == ("shipped", T0 + 2)
    instance = run(escrow, instance, "confirm_delivery", BUYER, T0 + 3)
    instance = run(escrow, instance, "accept", BUYER, T0 + 4)
    assert instance.state == "completed"
    assert instance.value(escrow, "tracking") == "TRK-1" and instance.value(escrow, "price") == 100
    with pytest.raises(InstanceError, match="has ended"):
        run(escrow, instance, "accept", BUYER, T0 + 5)


def test_only_the_member_bound_to_the_role_may_complete_a_task(escrow: Definition) -> None:
    instance = run(escrow, start(escrow, ROLES, {}, T0, BUYER)[0], "pay", ESCROW, T0, price=1)
    for intruder in (BUYER, ARBITER, ESCROW, b"\x09" * 20):
        with pytest.raises(RoleError, match="role 'seller'"):
            run(escrow, instance, "ship", intruder, T0, tracking="x")
    assert run(escrow, instance, "ship", SELLER, T0, tracking="x").state == "shipped"


def test_a_task_sets_only_its_own_fields_with_their_types(escrow: Definition) -> None:
    instance = start(escrow, ROLES, {}, T0, BUYER)[0]
    with pytest.raises(DataError, match="may not set field 'tracking'"):
        run(escrow, instance, "pay", ESCROW, T0, price=1, tracking="x")
    with pytest.raises(DataError, match="expected int"):
        run(escrow, instance, "pay", ESCROW, T0, price="1")
    with pytest.raises(InstanceError, match="state 'created' has no task 'ship'"):
        run(escrow, instance, "ship", SELLER, T0, tracking="x")


def test_guards_see_the_new_data_and_a_failed_guard_changes_nothing(escrow: Definition) -> None:
    instance = start(escrow, ROLES, {}, T0, BUYER)[0]
    with pytest.raises(NoTransitionError, match="no transition's guard holds"):
        run(escrow, instance, "pay", ESCROW, T0, price=0)
    with pytest.raises(NoTransitionError):
        run(escrow, instance, "pay", ESCROW, T0, price=-3)
    assert instance.value(escrow, "price") == 0  # instances are values: the failed call changed nothing
    assert run(escrow, instance, "pay", ESCROW, T0, price=3).state == "paid"


def test_the_first_transition_whose_guard_holds_wins(escrow: Definition) -> None:
    paid = run(escrow, start(escrow, ROLES, {}, T0, BUYER)[0], "pay", ESCROW, T0, price=9)
    shipped = run(escrow, paid, "ship", SELLER, T0, tracking="t")
    disputed = run(escrow, shipped, "dispute", BUYER, T0, dispute_reason="broken")
    assert run(escrow, disputed, "resolve", ARBITER, T0, refund_buyer=True).state == "refunded"
    assert run(escrow, disputed, "resolve", ARBITER, T0, refund_buyer=False).state == "completed"


OVERLAP = {
    "name": "overlap", "version": 1, "roles": ["clerk"], "data": {"n": "int"}, "start": "a",
    "states": {
        "a": {"tasks": {"go": {"role": "clerk", "sets": ["n"]}},
              "transitions": [{"to": "big", "on": "go", "guard": "n > 10"},
                              {"to": "any", "on": "go", "guard": "n > 0"},
                              {"to": "slow", "on": {"after": 100}, "guard": "n == 0"},
                              {"to": "fast", "on": {"after": 50}, "guard": "now - entered_at >= 60"},
                              {"to": "any", "on": {"after": 100}},
                              {"to": "big", "on": {"after": 200}}]},
        "big": {"end": True}, "any": {"end": True}, "slow": {"end": True}, "fast": {"end": True},
    },
}
CLERK = b"\x07" * 20


@pytest.fixture(scope="module")
def overlap() -> Definition:
    return parse_definition(json.dumps(OVERLAP))


def test_declaration_order_decides_between_matching_task_transitions(overlap: Definition) -> None:
    instance = start(overlap, {"clerk": CLERK}, {}, T0, CLERK)[0]
    assert run(overlap, instance, "go", CLERK, T0, n=11).state == "big"  # both guards hold: the first wins
    assert run(overlap, instance, "go", CLERK, T0, n=5).state == "any"


def test_timers_come_due_by_delay_and_fire_by_block_time(overlap: Definition) -> None:
    instance = start(overlap, {"clerk": CLERK}, {"n": 1}, T0, CLERK)[0]
    assert next_due(overlap, instance) == T0 + 50
    with pytest.raises(InstanceError, match="no timer"):
        fire_timer(overlap, instance, T0 + 49, meter())
    # at T0+50 the 50 s timer is due but its guard (60 s in the state) is false: passed over for good
    passed, entry = fire_timer(overlap, instance, T0 + 50, meter())
    assert entry == () and passed.state == "a" and next_due(overlap, passed) == T0 + 100
    # at T0+100 the guarded 100 s timer (n == 0) is false; the next one, declared later, fires
    fired, entry = fire_timer(overlap, passed, T0 + 100, meter())
    assert entry == (HistoryEntry("a", "any", "timer", b"\x00" * 20, T0 + 100),)
    assert fired.entered_at == T0 + 100 and next_due(overlap, fired) is None


def test_a_late_block_fires_the_earliest_due_timer_whose_guard_holds(overlap: Definition) -> None:
    instance = start(overlap, {"clerk": CLERK}, {"n": 0}, T0, CLERK)[0]
    # the block comes 150 s late: the 50 s timer's guard now holds (block time is what guards see)
    assert fire_timer(overlap, instance, T0 + 150, meter())[0].state == "fast"
    waited = start(overlap, {"clerk": CLERK}, {"n": 0}, T0, CLERK)[0]
    passed = fire_timer(overlap, waited, T0 + 50, meter())[0]
    assert fire_timer(overlap, passed, T0 + 500, meter())[0].state == "slow"


def test_the_escrow_delivery_deadline_refunds(escrow: Definition) -> None:
    paid = run(escrow, start(escrow, ROLES, {}, T0, BUYER)[0], "pay", ESCROW, T0, price=9)
    shipped = run(escrow, paid, "ship", SELLER, T0 + 10, tracking="t")
    assert next_due(escrow, shipped) == T0 + 10 + WEEK
    refunded, entry = fire_timer(escrow, shipped, T0 + 10 + WEEK, meter())
    assert refunded.state == "refunded" and entry[0].cause == "timer"
    delivered = run(escrow, shipped, "confirm_delivery", BUYER, T0 + 20)
    assert next_due(escrow, delivered) == T0 + 20 + 3 * 86_400  # a new state restarts its own timers


DIVIDE = {
    "name": "divide", "version": 1, "roles": ["clerk"], "data": {"n": "int"}, "start": "a",
    "states": {
        "a": {"tasks": {"go": {"role": "clerk"}},
              "transitions": [{"to": "b", "on": "go", "guard": "10 / n > 1"},
                              {"to": "b", "on": {"after": 5}, "guard": "10 / n > 1"},
                              {"to": "c", "on": {"after": 5}}]},
        "b": {"end": True}, "c": {"end": True},
    },
}


def test_a_failing_guard_refuses_the_task_but_passes_over_a_timer() -> None:
    definition = parse_definition(json.dumps(DIVIDE))
    instance = start(definition, {"clerk": CLERK}, {}, T0, CLERK)[0]
    with pytest.raises(InstanceError, match="division by zero"):
        run(definition, instance, "go", CLERK, T0)
    assert fire_timer(definition, instance, T0 + 5, meter())[0].state == "c"


def test_guard_gas_is_metered_and_bounded(escrow: Definition) -> None:
    instance = start(escrow, ROLES, {}, T0, BUYER)[0]
    used = GasMeter(100_000)
    complete_task(escrow, instance, "pay", ESCROW, {"price": 1}, T0, used)
    assert used.used > 0
    with pytest.raises(InstanceError, match="out of gas"):
        complete_task(escrow, instance, "pay", ESCROW, {"price": 1}, T0, GasMeter(1))
