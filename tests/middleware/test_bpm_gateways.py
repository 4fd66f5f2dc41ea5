"""Workflow depth: parallel split and join, exclusive gateways with a default, messages, repeating timers,
per-participant tasks, and the graph checks that refuse deadlocking joins (on examples/bpm/purchase-approval.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from middleware.bpm.check import check_file
from middleware.bpm.definition import Definition, parse_definition
from middleware.bpm.errors import DefinitionError, InstanceError, RoleError
from middleware.bpm.instance import Instance, complete_task, fire_timer, next_due, start
from middleware.rules.gas import GasMeter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bpm" / "purchase-approval.json"
REQUESTER, FINANCE, ORACLE, R1, R2, R3 = (bytes([n]) * 20 for n in range(1, 7))
ROLES = {"requester": REQUESTER, "finance": FINANCE, "oracle": ORACLE}
GROUPS = {"reviewers": (R1, R2, R3)}
T0 = 1_700_000_000
DAY = 86_400


@pytest.fixture(scope="module")
def approval() -> Definition:
    return check_file(EXAMPLE)


def act(definition: Definition, instance: Instance, name: str, caller: bytes, now: int, *, message: bool = False,
        **data: object) -> Instance:
    return complete_task(definition, instance, name, caller, data, now, GasMeter(100_000), message=message)[0]


def submitted(definition: Definition) -> Instance:
    instance, _ = start(definition, ROLES, {}, T0, REQUESTER, GROUPS)
    return act(definition, instance, "submit", REQUESTER, T0 + 1, amount=500)


def test_split_quorum_join_choice_and_message_complete_the_process(approval: Definition) -> None:
    instance = submitted(approval)
    assert instance.states == ("review", "budget")
    instance = act(approval, instance, "approve", R2, T0 + 2, approved=True)
    assert instance.states == ("review", "budget")  # one of the quorum of two
    with pytest.raises(RoleError, match="already completed by this member"):
        act(approval, instance, "approve", R2, T0 + 3, approved=True)
    with pytest.raises(RoleError, match="members of group 'reviewers'"):
        act(approval, instance, "approve", FINANCE, T0 + 3, approved=True)
    instance = act(approval, instance, "approve", R3, T0 + 3, approved=True)
    assert instance.states == ("reviewed", "budget")  # waiting at the join for the budget branch
    instance, entries = complete_task(approval, instance, "check", FINANCE, {"within_budget": True}, T0 + 4,
                                      GasMeter(100_000))
    assert [(e.source, e.target, e.cause) for e in entries] == [
        ("budget", "reviewed", "check"), ("reviewed", "decide", "join"), ("decide", "awaiting_payment", "choose")]
    with pytest.raises(InstanceError, match="has no task 'paid'"):
        act(approval, instance, "paid", ORACLE, T0 + 5, payment_ref="tx-1")
    with pytest.raises(RoleError, match="may only be delivered by the member bound to role 'oracle'"):
        act(approval, instance, "paid", REQUESTER, T0 + 5, message=True, payment_ref="tx-1")
    instance = act(approval, instance, "paid", ORACLE, T0 + 5, message=True, payment_ref="tx-1")
    assert instance.ended and instance.state == "paid"


def test_reminders_repeat_then_the_timeout_joins_and_the_default_branch_rejects(approval: Definition) -> None:
    instance = act(approval, submitted(approval), "check", FINANCE, T0 + 2, within_budget=True)
    assert instance.states == ("review", "reviewed")
    reminders = []
    while instance.states[:1] == ("review",):
        due = next_due(approval, instance)
        assert due is not None
        instance, entries = fire_timer(approval, instance, due, GasMeter(100_000))
        reminders.extend((e.source, e.target, e.time - T0 - 1) for e in entries)
    assert reminders[:3] == [("review", "review", n * DAY) for n in (1, 2, 3)]
    assert reminders[3] == ("review", "reviewed", 4 * DAY)
    assert instance.ended and instance.state == "rejected"  # nobody approved: the default branch


DEADLOCKS = [
    # an exclusive gateway's two alternatives both feed the join: it would wait for the one not taken
    ({"split": {"parallel": ["a", "b"]},
      "a": {"choose": [{"to": "x", "guard": "ok"}], "default": "y"},
      "x": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]},
      "y": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]},
      "b": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]}},
     "states.j", "'a' either goes to 'x' (reaching 'x') or to 'y' (reaching 'y')"),
    # a branch that may end on its own (a rejection): the join would wait for it forever
    ({"split": {"parallel": ["a", "b"]},
      "a": {"tasks": {"ok": {"role": "r"}, "no": {"role": "r"}},
            "transitions": [{"to": "j", "on": "ok"}, {"to": "x", "on": "no"}]},
      "x": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]},
      "b": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]}},
     "states.j", "'a' either goes to 'j' (reaching 'a') or to 'x' (reaching 'x')"),
]


def small(states: dict[str, object]) -> str:
    document = {"name": "p", "version": 1, "roles": ["r"], "data": {"ok": "bool"}, "start": "split",
                "states": {**states, "j": {"join": "done"}, "done": {"end": True}}}
    return json.dumps(document)


@pytest.mark.parametrize("states, path, message", DEADLOCKS)
def test_joins_that_can_deadlock_are_refused_with_their_path(states: dict[str, object], path: str,
                                                             message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(small(states))
    assert caught.value.path == path and "this join can deadlock" in caught.value.message
    assert message in caught.value.message


@pytest.mark.parametrize("states, path, message", [
    ({"split": {"parallel": ["a"]}, "a": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "j", "on": "t"}]}},
     "states.split.parallel", "at least two branches"),
    ({"split": {"choose": [{"to": "split", "guard": "ok"}], "default": "j"}},
     "states.split", "gateways and timers alone form the cycle split -> split"),
    ({"split": {"parallel": ["a", "b"], "tasks": {}}}, "states.split.tasks", "a \"parallel\" gateway has no 'tasks'"),
    ({"split": {"tasks": {"t": {"role": "r"}}, "transitions": [{"to": "split", "on": {"every": 5, "times": 1}}]}},
     "states.split.transitions[0].on.times", "out of range 2..64"),
])
def test_malformed_gateways_name_the_exact_place(states: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(small(states))
    assert (caught.value.path, message in caught.value.message) == (path, True), str(caught.value)
