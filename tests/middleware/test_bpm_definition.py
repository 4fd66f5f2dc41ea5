"""Process definitions: the format, and validation errors that name the exact place of the problem."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from middleware.bpm.check import check_file, summary
from middleware.bpm.definition import (
    MAX_DEFINITION_BYTES,
    MAX_STATES,
    minified,
    parse_definition,
)
from middleware.bpm.errors import DefinitionError
from middleware.rules.values import ValueType

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bpm" / "order-escrow.json"

BASE: dict[str, Any] = {
    "name": "purchase",
    "version": 2,
    "roles": ["buyer", "seller"],
    "data": {"amount": "int", "note": "string", "ok": "bool", "payee": "address"},
    "start": "open",
    "states": {
        "open": {
            "tasks": {"approve": {"role": "seller", "sets": ["ok", "note"]}},
            "transitions": [
                {"to": "done", "on": "approve", "guard": "ok and amount > 0"},
                {"to": "shipped", "on": "approve"},
            ],
        },
        "shipped": {"transitions": [{"to": "done", "on": {"after": 60}}]},
        "done": {"end": True},
    },
}


def doc() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def error_of(change: Callable[[dict[str, Any]], None]) -> DefinitionError:
    document = doc()
    change(document)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(json.dumps(document))
    return caught.value


def test_a_valid_definition_is_modelled_in_declaration_order() -> None:
    definition = parse_definition(json.dumps(BASE))
    assert (definition.name, definition.version, definition.start) == ("purchase", 2, "open")
    assert definition.roles == ("buyer", "seller")
    assert [(f.name, f.type) for f in definition.fields] == [
        ("amount", ValueType.INT), ("note", ValueType.STRING), ("ok", ValueType.BOOL), ("payee", ValueType.ADDRESS)
    ]
    open_state = definition.state("open")
    assert [t.target for t in open_state.on_task("approve")] == ["done", "shipped"]
    assert open_state.task("approve").sets == ("ok", "note")
    assert definition.state("shipped").timers[0].after == 60
    assert definition.state("done").end


def test_the_example_order_escrow_is_valid() -> None:
    facts = summary(check_file(EXAMPLE))
    assert facts["start"] == "created"
    assert facts["endStates"] == ["completed", "refunded"]
    assert facts["timers"] == 2


def set_at(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def delete_at(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


OPEN_T = ["states", "open", "transitions"]


@pytest.mark.parametrize(
    "change, path, message",
    [
        (set_at(["colour"], "red"), "colour", "unknown key"),
        (delete_at(["states"]), "", "missing key 'states'"),
        (set_at(["version"], 0), "version", "out of range"),
        (set_at(["version"], "1"), "version", "expected an integer, got a string"),
        (set_at(["name"], "has space"), "name", "process name"),
        (set_at(["roles"], ["buyer", "buyer"]), "roles[1]", "duplicate role 'buyer'"),
        (set_at(["roles"], []), "roles", "at least one role"),
        (set_at(["roles"], {"buyer": "seller"}), "roles", "expected a list, got an object"),
        (set_at(OPEN_T, {"to": "done"}), "states.open.transitions", "expected a list, got an object"),
        (set_at(["data", "amount"], "float"), "data.amount", "unknown type 'float'"),
        (set_at(["data", "now"], "int"), "data.now", "reserved"),
        (set_at(["data", "2x"], "int"), "data.2x", "is not a name"),
        (set_at(["start"], "nowhere"), "start", "unknown state 'nowhere'"),
        (set_at(["start"], "done"), "start", "start state cannot be an end state"),
        (set_at(OPEN_T + [0, "to"], "limbo"), "states.open.transitions[0].to", "unknown state 'limbo'"),
        (set_at(OPEN_T + [1, "on"], "reject"), "states.open.transitions[1].on", "state 'open' has no task 'reject'"),
        (set_at(OPEN_T + [1, "on"], 5), "states.open.transitions[1].on", "expected a task name"),
        (set_at(OPEN_T + [1, "guard"], True), "states.open.transitions[1].guard", "expected an expression string"),
        (set_at(OPEN_T + [0, "guard"], "ok and amout > 0"), "states.open.transitions[0].guard", "unknown field 'amout'"),
        (set_at(OPEN_T + [0, "guard"], "ok and (amount >"), "states.open.transitions[0].guard", "column 17"),
        (set_at(OPEN_T + [0, "guard"], "note > 3"), "states.open.transitions[0].guard", "column"),
        (set_at(OPEN_T + [0, "guard"], "amount + 1"), "states.open.transitions[0].guard", "must be a condition (bool)"),
        (set_at(OPEN_T + [0, "guard"], "$o.amount > 1"), "states.open.transitions[0].guard", "unknown field '$o.amount'"),
        (set_at(OPEN_T + [0, "speed"], 1), "states.open.transitions[0].speed", "unknown key"),
        (delete_at(OPEN_T + [0, "to"]), "states.open.transitions[0]", "missing key 'to'"),
        (set_at(["states", "shipped", "transitions", 0, "on"], {"after": 0}),
         "states.shipped.transitions[0].on.after", "out of range"),
        (set_at(["states", "shipped", "transitions", 0, "on"], {"after": 5, "every": 2}),
         "states.shipped.transitions[0].on.every", "unknown key"),
        (set_at(["states", "open", "tasks", "approve", "role"], "boss"),
         "states.open.tasks.approve.role", "unknown role 'boss'"),
        (set_at(["states", "open", "tasks", "approve", "sets"], ["ok", "colour"]),
         "states.open.tasks.approve.sets[1]", "unknown data field 'colour'"),
        (set_at(["states", "open", "tasks", "approve", "sets"], ["ok", "ok"]),
         "states.open.tasks.approve.sets[1]", "duplicate data field 'ok'"),
        (set_at(["states", "open", "tasks", "idle"], {"role": "buyer"}),
         "states.open.tasks.idle", "no transition is taken on this task"),
        (set_at(["states", "open", "tasks", "timer"], {"role": "buyer"}), "states.open.tasks.timer", "reserved"),
        (set_at(["states", "done", "transitions"], [{"to": "open", "on": {"after": 1}}]),
         "states.done.transitions", "end state has no outgoing transitions"),
        (set_at(["states", "done", "tasks"], {"redo": {"role": "buyer"}}), "states.done.tasks", "end state has no tasks"),
        (set_at(["states", "shipped", "transitions"], []), "states.shipped", "needs at least one transition"),
        (set_at(["states", "limbo"], {"transitions": [{"to": "done", "on": {"after": 1}}]}),
         "states.limbo", "unreachable from the start state 'open'"),
        (set_at(["states", "shipped", "transitions"], [{"to": "shipped", "on": {"after": 5}}]),
         "states.shipped", "no path from this state to an end state"),
        (set_at(["states", "done"], {"end": "yes"}), "states.done.end", "expected true or false"),
    ],
)
def test_invalid_definitions_name_the_exact_place(change, path: str, message: str) -> None:
    error = error_of(change)
    assert error.path == path
    assert message in error.message


def test_timers_alone_must_not_form_a_cycle() -> None:
    def change(document: dict[str, Any]) -> None:
        document["states"]["shipped"]["transitions"].append({"to": "late", "on": {"after": 10}})
        document["states"]["late"] = {"transitions": [{"to": "shipped", "on": {"after": 10}}]}
    error = error_of(change)
    assert error.path == "states.shipped.transitions[1]"
    assert "cycle shipped -> late -> shipped" in error.message


def test_a_cycle_through_a_task_is_allowed() -> None:
    document = doc()
    document["states"]["shipped"]["tasks"] = {"reopen": {"role": "buyer"}}
    document["states"]["shipped"]["transitions"].append({"to": "open", "on": "reopen"})
    assert parse_definition(json.dumps(document)).state("shipped").on_task("reopen")[0].target == "open"


def test_duplicate_json_keys_are_errors_not_merged() -> None:
    text = json.dumps(BASE).replace('"done": {"end": true}', '"done": {"end": true, "end": false}')
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    assert (caught.value.path, caught.value.message) == ("states.done.end", "duplicate key")


def test_duplicate_state_names_are_errors() -> None:
    text = json.dumps(BASE)[:-2] + ', "done": {"end": true}}}'
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    assert caught.value.path == "states.done"


def test_json_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition('{\n  "name": "x",\n  "version": 1,,\n}')
    assert caught.value.path == ""
    assert str(caught.value).startswith("line 3, column 16:")


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "expected an object, got a list"),
    ('{"name": NaN}', "NaN is not a JSON number"),
    ('{"name": "x", "description": "[[[[[[[[[[", "roles": ' + "[" * 16_000 + "]" * 16_000 + "}",
     "line 1, column 60: nested deeper than 8 levels"),
])
def test_documents_that_are_not_definitions(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    assert message in str(caught.value)


def test_size_limits() -> None:
    with pytest.raises(DefinitionError, match="limit 32768"):
        parse_definition(json.dumps({**BASE, "description": "x" * MAX_DEFINITION_BYTES}))
    many = doc()
    for index in range(MAX_STATES):
        many["states"][f"s{index}"] = {"end": True}
    with pytest.raises(DefinitionError) as caught:
        parse_definition(json.dumps(many))
    assert caught.value.path == "states" and f"limit {MAX_STATES}" in caught.value.message
    long_guard = doc()
    long_guard["states"]["open"]["transitions"][0]["guard"] = "ok or " * 200 + "ok"
    with pytest.raises(DefinitionError) as caught:
        parse_definition(json.dumps(long_guard))
    assert caught.value.path == "states.open.transitions[0].guard" and "limit 1024" in caught.value.message


def test_minified_keeps_the_definition(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    small = minified(text)
    assert len(small) < len(text)
    assert parse_definition(small) == parse_definition(text)


def test_check_file_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the file"):
        check_file(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(DefinitionError, match="not UTF-8 text"):
        check_file(binary)
    large = tmp_path / "large.json"
    large.write_text(" " * (MAX_DEFINITION_BYTES + 1))
    with pytest.raises(DefinitionError, match="larger than"):
        check_file(large)
