"""Workflow depth on an executing chain: group bindings, per-participant tasks, messages, sub-processes started
and resumed by tasks and by end-block timers, deploy-time call checks, and the purchase-approval story, all through
signed transactions to the native contract."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak

from middleware.bpm.contract import WorkflowContract
from tests.middleware.test_bpm_contract import ETHER, ZERO, Driver, addr, calldata, transitions
from vm.execution import GenesisAccount

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bpm" / "purchase-approval.json"
DAY = 86_400
REQUESTER, FINANCE, ORACLE, R1, R2, R3, OTHER = (Account.from_key(keccak(b"bpm depth %d" % n)) for n in range(7))
STATE = ["string", "bool", "uint256", "uint256"]
ENTRY = ["string", "string", "string", "address", "uint256"]
START = "startInstance(uint256,string[],address[],bytes)"
COMPLETE = "completeTask(uint256,string,bytes)"
DELIVER = "deliverMessage(uint256,string,bytes)"


@pytest.fixture
def driver(memory_chain, sign_tx) -> Driver:
    accounts = [GenesisAccount(addr(a), balance=1_000 * ETHER) for a in (REQUESTER, FINANCE, ORACLE, R1, R2, R3, OTHER)]
    return Driver(memory_chain(accounts, natives=[WorkflowContract()]), sign_tx)


def deploy(driver: Driver, document: str | dict[str, Any]) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    receipt = driver.send(OTHER, calldata("deployDefinition(string)", text))
    assert receipt.status == 1, driver.reason(OTHER, calldata("deployDefinition(string)", text))
    return driver.view("definitionCount()", ["uint256"])


def start(driver: Driver, definition_id: int, roles: Sequence[str], members: Sequence[Any]) -> int:
    data = calldata(START, definition_id, list(roles), [m.address for m in members], b"")
    instance_id = driver.view("instanceCount()", ["uint256"]) + 1  # its sub-processes, if any, come after it
    receipt = driver.send(REQUESTER, data)
    assert receipt.status == 1, driver.reason(REQUESTER, data)
    return instance_id


def act(driver: Driver, account: Any, instance_id: int, name: str, types: Sequence[str] = (),
        values: Sequence[Any] = (), *, message: bool = False) -> Any:
    payload = eth_abi.encode(list(types), list(values)) if types else b""
    data = calldata(DELIVER if message else COMPLETE, instance_id, name, payload)
    receipt = driver.send(account, data)
    assert receipt.status == 1, driver.reason(account, data)
    return receipt


def refused(driver: Driver, account: Any, data: bytes, reason: str) -> None:
    """The call reverts with exactly ``reason``, and the transaction sent anyway changes no workflow storage."""
    assert driver.reason(account, data) == reason
    before = driver.storage_root()
    assert driver.send(account, data).status == 0
    assert driver.storage_root() == before


def history(driver: Driver, instance_id: int) -> list[tuple[str, str, str]]:
    length = driver.view("historyLength(uint256)", ["uint256"], instance_id)
    return [driver.view("historyEntry(uint256,uint256)", ENTRY, instance_id, i)[:3] for i in range(length)]


def active(driver: Driver, instance_id: int) -> list[str]:
    return list(driver.view("activeStates(uint256)", ["string[]"], instance_id))


# -- purchase approval: groups, per-participant tasks, messages -------------------------------------------------


APPROVAL_ROLES = ["requester", "finance", "oracle", "reviewers", "reviewers", "reviewers"]
APPROVAL_MEMBERS = [REQUESTER, FINANCE, ORACLE, R1, R2, R3]


def submitted(driver: Driver) -> int:
    deploy(driver, EXAMPLE.read_text())
    instance_id = start(driver, 1, APPROVAL_ROLES, APPROVAL_MEMBERS)
    act(driver, REQUESTER, instance_id, "submit", ["int256"], [900])
    return instance_id


def test_a_group_is_bound_by_repeating_its_name_and_bad_bindings_are_refused(driver: Driver) -> None:
    deploy(driver, EXAMPLE.read_text())
    instance_id = start(driver, 1, APPROVAL_ROLES, APPROVAL_MEMBERS)
    assert driver.view("groupMembers(uint256,string)", ["address[]"], instance_id, "reviewers") == \
        tuple(m.address.lower() for m in (R1, R2, R3))
    assert driver.reason(OTHER, calldata("groupMembers(uint256,string)", instance_id, "auditors")) == \
        "Workflow: no group 'auditors'"
    seventeen = [Account.from_key(keccak(b"member %d" % n)).address for n in range(17)]
    base = ["requester", "finance", "oracle"]
    cases = [
        (base + ["reviewers"] * 17, [REQUESTER.address, FINANCE.address, ORACLE.address] + seventeen,
         "Workflow: group 'reviewers' has more than 16 members"),
        (base + ["auditors"], [REQUESTER.address, FINANCE.address, ORACLE.address, R1.address],
         "Workflow: no role 'auditors' in process 'purchase-approval'"),
        (base + ["reviewers", "reviewers"], [REQUESTER.address, FINANCE.address, ORACLE.address, R1.address, R1.address],
         "Workflow: group 'reviewers' lists a member twice"),
        (base, [REQUESTER.address, FINANCE.address, ORACLE.address], "Workflow: group 'reviewers' has no members"),
        (base + ["reviewers"], [REQUESTER.address, FINANCE.address, ORACLE.address, ZERO],
         "Workflow: a member of group 'reviewers' must be bound to a non-zero 20-byte address"),
    ]
    for roles, members, reason in cases:
        refused(driver, REQUESTER, calldata(START, 1, roles, members, b""), reason)
    assert driver.view("instanceCount()", ["uint256"]) == 1


def test_each_member_completes_a_per_participant_task_once_until_the_quorum(driver: Driver) -> None:
    instance_id = submitted(driver)
    assert active(driver, instance_id) == ["review", "budget"]
    approve = lambda payload: calldata(COMPLETE, instance_id, "approve", payload)
    yes = eth_abi.encode(["bool"], [True])
    receipt = act(driver, R2, instance_id, "approve", ["bool"], [True])
    assert transitions(receipt.logs) == [(instance_id, "review", "review", "approve", R2.address.lower())]
    assert active(driver, instance_id) == ["review", "budget"]
    refused(driver, R2, approve(yes), "Workflow: task 'approve' was already completed by this member")
    refused(driver, FINANCE, approve(yes), "Workflow: task 'approve' may only be completed by the members of group "
                                           "'reviewers'")
    refused(driver, R1, approve(b"\x01"), "Workflow: data is not the ABI encoding of (bool approved)")
    receipt = act(driver, R1, instance_id, "approve", ["bool"], [True])
    assert transitions(receipt.logs) == [(instance_id, "review", "reviewed", "approve", R1.address.lower())]
    assert active(driver, instance_id) == ["reviewed", "budget"]
    refused(driver, R3, approve(yes), "Workflow: no active state (reviewed, budget) has task 'approve' (tasks: check)")


def test_a_message_is_delivered_by_its_role_only_while_its_state_waits(driver: Driver) -> None:
    instance_id = submitted(driver)
    paid = lambda ref: calldata(DELIVER, instance_id, "paid", eth_abi.encode(["string"], [ref]))
    refused(driver, ORACLE, paid("tx-1"),
            "Workflow: no active state (review, budget) has message 'paid' (messages: none)")
    act(driver, R1, instance_id, "approve", ["bool"], [True])
    act(driver, R3, instance_id, "approve", ["bool"], [True])
    receipt = act(driver, FINANCE, instance_id, "check", ["bool"], [True])
    assert [t[1:4] for t in transitions(receipt.logs)] == [
        ("budget", "reviewed", "check"), ("reviewed", "decide", "join"), ("decide", "awaiting_payment", "choose")]
    refused(driver, REQUESTER, paid("tx-1"),
            "Workflow: message 'paid' may only be delivered by the member bound to role 'oracle'")
    refused(driver, ORACLE, calldata(DELIVER, instance_id, "refund", b""),
            "Workflow: state 'awaiting_payment' has no message 'refund' (messages: paid)")
    refused(driver, ORACLE, calldata(COMPLETE, instance_id, "paid", eth_abi.encode(["string"], ["tx-1"])),
            "Workflow: state 'awaiting_payment' has no task 'paid' (tasks: none)")
    refused(driver, ORACLE, paid(""), "Workflow: message 'paid' in state 'awaiting_payment': no transition's guard holds")
    receipt = act(driver, ORACLE, instance_id, "paid", ["string"], ["tx-1"], message=True)
    assert transitions(receipt.logs) == [(instance_id, "awaiting_payment", "paid", "paid", ORACLE.address.lower())]
    assert driver.view("instanceState(uint256)", STATE, instance_id)[:2] == ("paid", True)
    assert active(driver, instance_id) == []
    refused(driver, ORACLE, paid("tx-2"), "Workflow: the instance has ended (in state 'paid')")
    refused(driver, R1, calldata(COMPLETE, instance_id, "approve", eth_abi.encode(["bool"], [True])),
            "Workflow: the instance has ended (in state 'paid')")


def test_purchase_approval_story_with_reminders_in_end_block(driver: Driver) -> None:
    instance_id = submitted(driver)
    submitted_at = driver.now
    for day in (1, 2):
        events = transitions(driver.block(at=submitted_at + day * DAY).block_events)
        assert events == [(instance_id, "review", "review", "timer", ZERO)]
    assert driver.view("instanceState(uint256)", STATE, instance_id)[3] == submitted_at + 3 * DAY
    act(driver, R1, instance_id, "approve", ["bool"], [True])
    act(driver, R2, instance_id, "approve", ["bool"], [True])
    act(driver, FINANCE, instance_id, "check", ["bool"], [True])
    assert driver.view("instanceState(uint256)", STATE, instance_id) == ("awaiting_payment", False, driver.now, 0)
    assert transitions(driver.block(at=submitted_at + 5 * DAY).block_events) == []  # the review's timers went stale
    act(driver, ORACLE, instance_id, "paid", ["string"], ["SEPA-77"], message=True)
    assert driver.view("getString(uint256,string)", ["string"], instance_id, "payment_ref") == "SEPA-77"
    assert history(driver, instance_id) == [
        ("", "requested", "start"), ("requested", "reviews", "submit"), ("reviews", "review", "split"),
        ("reviews", "budget", "split"), ("review", "review", "timer"), ("review", "review", "timer"),
        ("review", "review", "approve"), ("review", "reviewed", "approve"), ("budget", "reviewed", "check"),
        ("reviewed", "decide", "join"), ("decide", "awaiting_payment", "choose"), ("awaiting_payment", "paid", "paid"),
    ]


def test_a_review_nobody_answers_times_out_in_end_block_and_the_default_branch_rejects(driver: Driver) -> None:
    instance_id = submitted(driver)
    submitted_at = driver.now
    act(driver, FINANCE, instance_id, "check", ["bool"], [True])
    causes = []
    for day in (1, 2, 3, 4):
        causes += [t[1:4] for t in transitions(driver.block(at=submitted_at + day * DAY).block_events)]
    assert causes == [("review", "review", "timer")] * 3 + [
        ("review", "reviewed", "timer"), ("reviewed", "decide", "join"), ("decide", "rejected", "choose")]
    assert driver.view("instanceState(uint256)", STATE, instance_id) == ("rejected", True, submitted_at + 4 * DAY, 0)


# -- sub-processes -------------------------------------------------------------------------------------------------


CHILD = {"name": "child", "version": 1, "roles": ["worker"], "groups": ["crew"], "start": "work",
         "states": {"work": {"tasks": {"finish": {"role": "worker"}}, "transitions": [{"to": "done", "on": "finish"}]},
                    "done": {"end": True}}}
INSTANT = {"name": "instant", "version": 1, "roles": ["worker"], "start": "decide",
           "states": {"decide": {"choose": [], "default": "done"}, "done": {"end": True}}}
BROKEN = {"name": "broken", "version": 1, "roles": ["worker"], "data": {"n": "int"}, "start": "decide",
          "states": {"decide": {"choose": [{"to": "done", "guard": "10 / n > 0"}], "default": "done"},
                     "done": {"end": True}}}


def parent(child_id: int, bindings: dict[str, str], *, first: str = "prep") -> dict[str, Any]:
    """Boss starts (task "go", or a timer after 100 s) a sub-process; "skip" ends the process without one."""
    document: dict[str, Any] = {
        "name": "parent", "version": 1, "roles": ["boss"], "groups": ["team"], "start": first,
        "states": {
                "prep": {"tasks": {"go": {"role": "boss"}, "skip": {"role": "boss"}},
                         "transitions": [{"to": "sub", "on": "go"}, {"to": "skipped", "on": "skip"},
                                         {"to": "sub", "on": {"after": 100}}]},
                "sub": {"call": {"definition": child_id, "roles": bindings, "to": "after"}},
                "after": {"tasks": {"close": {"role": "boss"}}, "transitions": [{"to": "closed", "on": "close"}]},
                "closed": {"end": True}, "skipped": {"end": True}}}
    if first != "prep":
        del document["states"]["prep"], document["states"]["skipped"]
    return document


CREW = {"worker": "boss", "crew": "team"}
PARENT_ROLES = ["boss", "team", "team"]
PARENT_MEMBERS = [R1, R2, R3]


def test_a_task_enters_a_call_state_the_child_starts_and_its_end_resumes_the_parent(driver: Driver) -> None:
    child_id = deploy(driver, CHILD)
    parent_id = deploy(driver, parent(child_id, CREW))
    instance_id = start(driver, parent_id, PARENT_ROLES, PARENT_MEMBERS)
    receipt = act(driver, R1, instance_id, "go")
    child = instance_id + 1
    assert transitions(receipt.logs) == [(instance_id, "prep", "sub", "go", R1.address.lower()),
                                         (child, "", "work", "start", R1.address.lower())]
    assert driver.view("parentInstance(uint256)", ["uint256"], child) == instance_id
    assert driver.view("parentInstance(uint256)", ["uint256"], instance_id) == 0
    assert driver.view("instanceDefinition(uint256)", ["uint256"], child) == child_id
    assert driver.view("roleMember(uint256,string)", ["address"], child, "worker") == R1.address.lower()
    assert driver.view("groupMembers(uint256,string)", ["address[]"], child, "crew") == \
        (R2.address.lower(), R3.address.lower())
    assert active(driver, instance_id) == ["sub"]
    refused(driver, R1, calldata(COMPLETE, instance_id, "close", b""),
            "Workflow: state 'sub' has no task 'close' (tasks: none)")
    receipt = act(driver, R1, child, "finish")
    assert transitions(receipt.logs) == [(child, "work", "done", "finish", R1.address.lower()),
                                         (instance_id, "sub", "after", "call", ZERO)]
    assert active(driver, instance_id) == ["after"]
    act(driver, R1, instance_id, "close")
    assert driver.view("instanceState(uint256)", STATE, instance_id)[:2] == ("closed", True)


def test_a_timer_enters_a_call_state_in_end_block(driver: Driver) -> None:
    child_id = deploy(driver, CHILD)
    instance_id = start(driver, deploy(driver, parent(child_id, CREW)), PARENT_ROLES, PARENT_MEMBERS)
    started = driver.now
    events = transitions(driver.block(at=started + 100).block_events)
    assert events == [(instance_id, "prep", "sub", "timer", ZERO), (instance_id + 1, "", "work", "start", ZERO)]
    assert driver.view("parentInstance(uint256)", ["uint256"], instance_id + 1) == instance_id
    act(driver, R1, instance_id + 1, "finish")
    assert active(driver, instance_id) == ["after"]


def test_a_child_that_ends_as_it_starts_moves_its_parent_on_at_once(driver: Driver) -> None:
    instant_id = deploy(driver, INSTANT)
    by_task = start(driver, deploy(driver, parent(instant_id, {"worker": "boss"})), PARENT_ROLES, PARENT_MEMBERS)
    receipt = act(driver, R1, by_task, "go")
    assert [t[:4] for t in transitions(receipt.logs)] == [
        (by_task, "prep", "sub", "go"), (by_task + 1, "", "decide", "start"), (by_task + 1, "decide", "done", "choose"),
        (by_task, "sub", "after", "call")]
    at_start = start(driver, deploy(driver, parent(instant_id, {"worker": "boss"}, first="sub")), PARENT_ROLES,
                     PARENT_MEMBERS)
    assert active(driver, at_start) == ["after"]
    assert driver.view("parentInstance(uint256)", ["uint256"], at_start + 1) == at_start
    assert history(driver, at_start) == [("", "sub", "start"), ("sub", "after", "call")]


def test_a_child_that_cannot_start_reverts_the_task_and_nothing_changes(driver: Driver) -> None:
    broken_id = deploy(driver, BROKEN)
    instance_id = start(driver, deploy(driver, parent(broken_id, {"worker": "boss"})), PARENT_ROLES, PARENT_MEMBERS)
    reason = driver.reason(R1, calldata(COMPLETE, instance_id, "go", b""))
    assert reason.startswith("Workflow: ") and "division by zero" in reason
    refused(driver, R1, calldata(COMPLETE, instance_id, "go", b""), reason)
    assert driver.view("instanceCount()", ["uint256"]) == instance_id
    assert active(driver, instance_id) == ["prep"]


def test_a_timer_whose_child_cannot_start_is_dropped_and_the_block_goes_on(driver: Driver) -> None:
    broken_id = deploy(driver, BROKEN)
    child_id = deploy(driver, CHILD)
    broken_parent = start(driver, deploy(driver, parent(broken_id, {"worker": "boss"})), PARENT_ROLES, PARENT_MEMBERS)
    started = driver.now
    sound_parent = start(driver, deploy(driver, parent(child_id, CREW)), PARENT_ROLES, PARENT_MEMBERS)
    result = driver.block(at=driver.now + 100)
    assert transitions(result.block_events) == [(sound_parent, "prep", "sub", "timer", ZERO),
                                                (sound_parent + 1, "", "work", "start", ZERO)]
    assert driver.view("instanceCount()", ["uint256"]) == sound_parent + 1
    assert driver.view("instanceState(uint256)", STATE, broken_parent) == ("prep", False, started, 0)
    assert history(driver, broken_parent) == [("", "prep", "start")]
    assert transitions(driver.block(at=driver.now + 1000).block_events) == []
    act(driver, R1, broken_parent, "skip")  # its tasks still move it
    assert driver.view("instanceState(uint256)", STATE, broken_parent)[:2] == ("skipped", True)


NEST = {"boss": "boss", "team": "team"}


def nest(child_id: int, bindings: dict[str, str]) -> dict[str, Any]:
    """A process that is nothing but a call of ``child_id``."""
    return {"name": "nest", "version": 1, "roles": ["boss"], "groups": ["team"], "start": "sub",
            "states": {"sub": {"call": {"definition": child_id, "roles": bindings, "to": "done"}}, "done": {"end": True}}}


def test_calls_nest_up_to_four_levels_and_the_innermost_end_resumes_each_level(driver: Driver) -> None:
    level = deploy(driver, CHILD)
    for bindings in (CREW, NEST, NEST):
        level = deploy(driver, nest(level, bindings))
    top = start(driver, level, PARENT_ROLES, PARENT_MEMBERS)
    assert [driver.view("parentInstance(uint256)", ["uint256"], top + k) for k in range(4)] == [0, top, top + 1, top + 2]
    receipt = act(driver, R1, top + 3, "finish")
    assert [t[:4] for t in transitions(receipt.logs)] == [
        (top + 3, "work", "done", "finish"), (top + 2, "sub", "done", "call"), (top + 1, "sub", "done", "call"),
        (top, "sub", "done", "call")]
    assert all(driver.view("instanceState(uint256)", STATE, top + k)[:2] == ("done", True) for k in range(4))
    refused(driver, OTHER, calldata("deployDefinition(string)", json.dumps(nest(level, NEST))),
            "Workflow: states.sub.call: sub-processes nest deeper than 4 levels (definition 4 calls definition 3, "
            "which calls definition 2, which calls definition 1)")


@pytest.mark.parametrize("bindings, reason", [
    ({"worker": "boss"}, "Workflow: states.sub.call.roles: 'crew' of definition 1 is not bound"),
    ({"crew": "team"}, "Workflow: states.sub.call.roles: 'worker' of definition 1 is not bound"),
    ({"worker": "team", "crew": "team"},
     "Workflow: states.sub.call.roles.worker: role 'worker' needs a role, 'team' is a group"),
    ({"worker": "boss", "crew": "team", "boss": "boss"},
     "Workflow: states.sub.call.roles.boss: definition 1 has no role or group 'boss'"),
])
def test_a_call_whose_bindings_do_not_fit_the_called_definition_is_refused(
        driver: Driver, bindings: dict[str, str], reason: str) -> None:
    deploy(driver, CHILD)
    refused(driver, OTHER, calldata("deployDefinition(string)", json.dumps(parent(1, bindings))), reason)
    assert driver.view("definitionCount()", ["uint256"]) == 1


def test_a_call_of_a_missing_definition_is_refused(driver: Driver) -> None:
    refused(driver, OTHER, calldata("deployDefinition(string)", json.dumps(parent(7, CREW))),
            "Workflow: states.sub.call.definition: no definition 7")
    assert driver.view("definitionCount()", ["uint256"]) == 0
