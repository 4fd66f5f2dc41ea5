"""Process definitions: the JSON format, its model and its validation.

A definition is a JSON object (``docs/bpm.md`` documents every key)::

    {"name": "order-escrow", "version": 1,
     "roles": ["buyer", "seller"],
     "data": {"price": "int", "tracking": "string"},
     "start": "created",
     "states": {
       "created": {"tasks": {"ship": {"role": "seller", "sets": ["tracking"]}},
                   "transitions": [{"to": "shipped", "on": "ship", "guard": "tracking != \\"\\""}]},
       "shipped": {"end": true}}}

``parse_definition`` turns the text into an immutable ``Definition`` or
raises ``DefinitionError`` naming the exact place of the first problem
(``states.created.transitions[0].guard: unknown field 'trackin'``), or the
line and column of a JSON syntax error. Everything is bounded: the document's
size and the number of roles, fields, states, tasks and transitions.
Duplicate keys are errors, not silently merged.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from middleware.bpm.errors import DefinitionError
from middleware.bpm.graph import check_graph
from middleware.bpm.guards import TIME_VARIABLES, Guard, compile_guard
from middleware.jsonnesting import first_too_deep
from middleware.rules.values import TYPE_NAMES, ValueType

MAX_DEFINITION_BYTES = 32 * 1024
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_VERSION = 2**32 - 1
MAX_ROLES = 16
MAX_FIELDS = 32
MAX_STATES = 64
MAX_TASKS_PER_STATE = 16
MAX_TRANSITIONS_PER_STATE = 16
MAX_TIMER_SECONDS = 10 * 365 * 86_400
MAX_NESTING = 8  # objects and lists inside one another (the format itself needs 6)

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PROCESS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

ROOT_KEYS = ("name", "version", "description", "roles", "data", "start", "states")
STATE_KEYS = ("end", "tasks", "transitions")
TASK_KEYS = ("role", "sets")
TRANSITION_KEYS = ("to", "on", "guard")
TIMER_KEYS = ("after",)
RESERVED_TASK_NAMES = ("start", "timer")  # the history causes of starting and of timer transitions


@dataclass(frozen=True)
class DataField:
    """A typed data field of the instances."""

    name: str
    type: ValueType


@dataclass(frozen=True)
class Task:
    """Work the member bound to ``role`` completes in a state, setting the ``sets`` fields."""

    name: str
    role: str
    sets: tuple[str, ...]


@dataclass(frozen=True)
class Transition:
    """An edge ``source -> target``, taken on a task's completion or ``after`` seconds in ``source``.

    Exactly one of ``task`` and ``after`` is set. ``index`` is the position in
    the source state's list: among several candidates the lowest index wins.
    """

    source: str
    target: str
    index: int
    task: str | None
    after: int | None
    guard: Guard | None

    def due_at(self, entered_at: int) -> int:
        """When this timer comes due for an instance that entered ``source`` at ``entered_at``."""
        if self.after is None:
            raise ValueError(f"{self.path} is not a timer transition")
        return entered_at + self.after

    @property
    def path(self) -> str:
        """Where the transition is declared in the document."""
        return f"states.{self.source}.transitions[{self.index}]"


@dataclass(frozen=True)
class State:
    """A state: its tasks and outgoing transitions (none for an end state)."""

    name: str
    end: bool
    tasks: tuple[Task, ...]
    transitions: tuple[Transition, ...]

    def task(self, name: str) -> Task | None:
        """The task called ``name`` in this state, if any."""
        return next((task for task in self.tasks if task.name == name), None)

    def on_task(self, name: str) -> tuple[Transition, ...]:
        """The transitions taken on completion of task ``name``, in declaration order."""
        return tuple(t for t in self.transitions if t.task == name)

    @property
    def timers(self) -> tuple[Transition, ...]:
        """The timer transitions, in the order they come due: by delay, then declaration order."""
        timed = [t for t in self.transitions if t.after is not None]
        return tuple(sorted(timed, key=lambda t: (t.after, t.index)))


@dataclass(frozen=True)
class Definition:
    """A validated process definition."""

    name: str
    version: int
    description: str
    roles: tuple[str, ...]
    fields: tuple[DataField, ...]
    start: str
    states: tuple[State, ...]
    _by_name: Mapping[str, State] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {state.name: state for state in self.states})

    def state(self, name: str) -> State:
        """The state called ``name`` (``KeyError`` if the definition has none)."""
        return self._by_name[name]

    def field_type(self, name: str) -> ValueType | None:
        """The type of data field ``name``, or None when there is no such field."""
        return next((f.type for f in self.fields if f.name == name), None)


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object as the parser saw it: its (key, value) pairs in order, duplicates kept."""


def parse_definition(text: str) -> Definition:
    """Parse and validate a definition document; raise ``DefinitionError`` on the first problem."""
    size = len(text.encode("utf-8"))
    if size > MAX_DEFINITION_BYTES:
        raise DefinitionError("", f"definition of {size} bytes, limit {MAX_DEFINITION_BYTES}")
    _check_nesting(text)
    try:
        document = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DefinitionError("", f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise DefinitionError("", str(exc)) from None
    definition = _definition(document)
    check_graph(definition)
    return definition


def _check_nesting(text: str) -> None:
    """Refuse objects and lists nested deeper than ``MAX_NESTING`` before the JSON parser recurses into them."""
    offset = first_too_deep(text, MAX_NESTING)
    if offset is not None:
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        raise DefinitionError("", f"line {line}, column {column}: nested deeper than {MAX_NESTING} levels")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
    """A JSON object as a dict, refusing duplicate keys and (when ``allowed`` is given) unknown ones."""
    if not isinstance(value, _Pairs):
        raise DefinitionError(path, f"expected an object, got {_kind(value)}")
    result: dict[str, Any] = {}
    for key, item in value:
        if key in result:
            raise DefinitionError(_join(path, key), "duplicate key")
        if allowed is not None and key not in allowed:
            raise DefinitionError(_join(path, key), f"unknown key (expected one of: {', '.join(allowed)})")
        result[key] = item
    return result


def _kind(value: Any) -> str:
    if isinstance(value, _Pairs):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


def _required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise DefinitionError(path, f"missing key '{key}'")
    return obj[key]


def _list(value: Any, path: str, limit: int, what: str) -> list[Any]:
    if not isinstance(value, list) or isinstance(value, _Pairs):
        raise DefinitionError(path, f"expected a list, got {_kind(value)}")
    if len(value) > limit:
        raise DefinitionError(path, f"{len(value)} {what}, limit {limit}")
    return value


def _limited(items: dict[str, Any], path: str, limit: int, what: str) -> dict[str, Any]:
    if len(items) > limit:
        raise DefinitionError(path, f"{len(items)} {what}, limit {limit}")
    return items


def _identifier(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str):
        raise DefinitionError(path, f"{what} must be a string, got {_kind(value)}")
    _check_identifier(value, path, what)
    return value


def _check_identifier(name: str, path: str, what: str) -> None:
    if not IDENTIFIER.match(name) or len(name) > MAX_NAME_CHARS:
        raise DefinitionError(
            path, f"{what} '{name}' is not a name (letters, digits and _, not starting with a digit, "
                  f"at most {MAX_NAME_CHARS} characters)"
        )


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DefinitionError(path, f"expected an integer, got {_kind(value)}")
    if not low <= value <= high:
        raise DefinitionError(path, f"{value} is out of range {low}..{high}")
    return value


def _definition(document: Any) -> Definition:
    root = _object(document, "", ROOT_KEYS)
    name = _required(root, "name", "")
    if not isinstance(name, str) or not PROCESS_NAME.match(name) or len(name) > MAX_NAME_CHARS:
        raise DefinitionError("name", f"expected a process name (letters, digits, _ . -, at most {MAX_NAME_CHARS} "
                                      "characters, starting with a letter or digit)")
    version = _integer(_required(root, "version", ""), "version", 1, MAX_VERSION)
    description = root.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise DefinitionError("description", f"expected a string of at most {MAX_DESCRIPTION_CHARS} characters")
    roles = _roles(_required(root, "roles", ""))
    fields = _fields(root.get("data", _Pairs()))
    start = _identifier(_required(root, "start", ""), "start", "state")
    states_doc = _limited(_object(_required(root, "states", ""), "states", None), "states", MAX_STATES, "states")
    for state_name in states_doc:
        _check_identifier(state_name, _join("states", state_name), "state")
    if start not in states_doc:
        raise DefinitionError("start", f"unknown state '{start}'")
    field_types = {f.name: f.type for f in fields}
    states = tuple(
        _state(name, body, roles, field_types, states_doc) for name, body in states_doc.items()
    )
    return Definition(name, version, description, roles, fields, start, states)


def _roles(value: Any) -> tuple[str, ...]:
    roles: list[str] = []
    for index, item in enumerate(_list(value, "roles", MAX_ROLES, "roles")):
        path = f"roles[{index}]"
        role = _identifier(item, path, "role")
        if role in roles:
            raise DefinitionError(path, f"duplicate role '{role}'")
        roles.append(role)
    if not roles:
        raise DefinitionError("roles", "a process needs at least one role")
    return tuple(roles)


def _fields(value: Any) -> tuple[DataField, ...]:
    spec = _limited(_object(value, "data", None), "data", MAX_FIELDS, "data fields")
    fields = []
    for name, type_name in spec.items():
        path = _join("data", name)
        _check_identifier(name, path, "data field")
        if name in TIME_VARIABLES:
            raise DefinitionError(path, f"'{name}' is reserved for guards (block time)")
        field_type = TYPE_NAMES.get(type_name) if isinstance(type_name, str) else None
        if field_type is None:
            shown = f"'{type_name}'" if isinstance(type_name, str) else _kind(type_name)
            raise DefinitionError(path, f"unknown type {shown} (expected {', '.join(TYPE_NAMES)})")
        fields.append(DataField(name, field_type))
    return tuple(fields)


def _state(
    name: str, body: Any, roles: tuple[str, ...], fields: Mapping[str, ValueType], states: Mapping[str, Any]
) -> State:
    path = _join("states", name)
    spec = _object(body, path, STATE_KEYS)
    end = spec.get("end", False)
    if not isinstance(end, bool):
        raise DefinitionError(_join(path, "end"), f"expected true or false, got {_kind(end)}")
    tasks_doc = _limited(
        _object(spec.get("tasks", _Pairs()), _join(path, "tasks"), None), _join(path, "tasks"),
        MAX_TASKS_PER_STATE, "tasks",
    )
    transitions_doc = _list(
        spec.get("transitions", []), _join(path, "transitions"), MAX_TRANSITIONS_PER_STATE, "transitions"
    )
    if end and tasks_doc:
        raise DefinitionError(_join(path, "tasks"), "an end state has no tasks")
    if end and transitions_doc:
        raise DefinitionError(_join(path, "transitions"), "an end state has no outgoing transitions")
    if not end and not transitions_doc:
        raise DefinitionError(path, "a state that is not an end state needs at least one transition")
    tasks = tuple(_task(task, spec, _join(_join(path, "tasks"), task), roles, fields) for task, spec in tasks_doc.items())
    transitions = tuple(
        _transition(name, index, item, tasks, fields, states) for index, item in enumerate(transitions_doc)
    )
    for task in tasks:
        if not any(t.task == task.name for t in transitions):
            raise DefinitionError(_join(_join(path, "tasks"), task.name), "no transition is taken on this task")
    return State(name, end, tasks, transitions)


def _task(name: str, body: Any, path: str, roles: tuple[str, ...], fields: Mapping[str, ValueType]) -> Task:
    _check_identifier(name, path, "task")
    if name in RESERVED_TASK_NAMES:
        raise DefinitionError(path, f"'{name}' is reserved (it names the cause of a history entry)")
    spec = _object(body, path, TASK_KEYS)
    role = _identifier(_required(spec, "role", path), _join(path, "role"), "role")
    if role not in roles:
        raise DefinitionError(_join(path, "role"), f"unknown role '{role}'")
    sets: list[str] = []
    for index, item in enumerate(_list(spec.get("sets", []), _join(path, "sets"), MAX_FIELDS, "fields")):
        item_path = f"{path}.sets[{index}]"
        field_name = _identifier(item, item_path, "data field")
        if field_name not in fields:
            raise DefinitionError(item_path, f"unknown data field '{field_name}'")
        if field_name in sets:
            raise DefinitionError(item_path, f"duplicate data field '{field_name}'")
        sets.append(field_name)
    return Task(name, role, tuple(sets))


def _transition(
    source: str, index: int, body: Any, tasks: tuple[Task, ...], fields: Mapping[str, ValueType],
    states: Mapping[str, Any],
) -> Transition:
    path = f"states.{source}.transitions[{index}]"
    spec = _object(body, path, TRANSITION_KEYS)
    target = _identifier(_required(spec, "to", path), _join(path, "to"), "state")
    if target not in states:
        raise DefinitionError(_join(path, "to"), f"unknown state '{target}'")
    on = _required(spec, "on", path)
    task: str | None = None
    after: int | None = None
    if isinstance(on, str):
        task = _identifier(on, _join(path, "on"), "task")
        if not any(t.name == task for t in tasks):
            raise DefinitionError(_join(path, "on"), f"state '{source}' has no task '{task}'")
    elif isinstance(on, _Pairs):
        timer = _object(on, _join(path, "on"), TIMER_KEYS)
        after = _integer(_required(timer, "after", _join(path, "on")), _join(path, "on.after"), 1, MAX_TIMER_SECONDS)
    else:
        raise DefinitionError(_join(path, "on"), f"expected a task name or {{\"after\": seconds}}, got {_kind(on)}")
    guard = _guard(spec["guard"], _join(path, "guard"), fields) if "guard" in spec else None
    return Transition(source, target, index, task, after, guard)


def _guard(text: Any, path: str, fields: Mapping[str, ValueType]) -> Guard:
    if not isinstance(text, str):
        raise DefinitionError(path, f"expected an expression string, got {_kind(text)}")
    return compile_guard(text, fields, path)


def minified(text: str) -> str:
    """A valid definition's text without insignificant whitespace (key order kept), as stored on-chain."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
