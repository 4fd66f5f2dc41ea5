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
MAX_GROUPS = 8
MAX_GROUP_MEMBERS = 16
MAX_BRANCHES = 16  # targets of a parallel split, guarded branches of an exclusive gateway
MAX_REPEATS = 64  # firings of a repeating timer
MAX_DEFINITION_ID = 2**64 - 1

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PROCESS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

ROOT_KEYS = ("name", "version", "description", "roles", "groups", "data", "start", "states")
STATE_KEYS = ("end", "tasks", "messages", "transitions", "parallel", "join", "choose", "default", "call")
GATEWAY_KEYS = ("parallel", "join", "choose", "call")
TASK_KEYS = ("role", "group", "quorum", "sets")
MESSAGE_KEYS = ("from", "sets")
TRANSITION_KEYS = ("to", "on", "guard")
BRANCH_KEYS = ("to", "guard")
CALL_KEYS = ("definition", "roles", "to")
TIMER_KEYS = ("after",)
REPEAT_KEYS = ("every", "times")
RESERVED_TASK_NAMES = ("start", "timer")  # the history causes of starting and of timer transitions


@dataclass(frozen=True)
class DataField:
    """A typed data field of the instances."""

    name: str
    type: ValueType


@dataclass(frozen=True)
class Task:
    """Work done in a state, setting the ``sets`` fields.

    A plain task is completed once by the member bound to ``role``. A
    per-participant task (``group`` set, ``role`` empty) is completed by each
    member of the group once; its transitions are tried when ``quorum``
    members have completed it (0: all of them). A message (``message`` true)
    is a wait for an inbound call of ``deliverMessage`` by the member bound to
    ``role`` (for instance the node's oracle account).
    """

    name: str
    role: str
    sets: tuple[str, ...]
    group: str = ""
    quorum: int = 0
    message: bool = False


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
    times: int = 1  # firings of a repeating timer (every ``after`` seconds); 1 for a one-shot timer

    @property
    def repeating(self) -> bool:
        """Whether this is a repeating timer (a reminder that keeps the token in its state)."""
        return self.after is not None and self.times > 1

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
class Branch:
    """A branch of an exclusive gateway: taken when ``guard`` holds (the default branch has none)."""

    target: str
    guard: Guard | None


@dataclass(frozen=True)
class Call:
    """A sub-process call: a child instance of ``definition_id`` with its roles and groups bound from ours."""

    definition_id: int
    bindings: tuple[tuple[str, str], ...]  # (child role or group, our role or group), in document order
    target: str  # where the token goes when the child ends


@dataclass(frozen=True)
class State:
    """A state: an end, an activity (tasks, messages, transitions) or a gateway (split, join, choice, call)."""

    name: str
    end: bool
    tasks: tuple[Task, ...]
    transitions: tuple[Transition, ...]
    parallel: tuple[str, ...] = ()  # a parallel split: one token to each
    join: str = ""  # a join: when a token came from every incoming state, one token goes here
    choose: tuple[Branch, ...] = ()  # an exclusive gateway: guarded branches in order, then the default
    call: Call | None = None

    @property
    def automatic(self) -> bool:
        """Whether a token moves on from this state without a transaction (an end or a gateway)."""
        return self.end or bool(self.parallel or self.join or self.choose) or self.call is not None

    def successors(self) -> tuple[str, ...]:
        """Every state a token may go to from here, in document order (repeats kept)."""
        targets = [t.target for t in self.transitions] + list(self.parallel) + [b.target for b in self.choose]
        if self.join:
            targets.append(self.join)
        if self.call is not None:
            targets.append(self.call.target)
        return tuple(targets)

    def task(self, name: str) -> Task | None:
        """The task called ``name`` in this state, if any."""
        return next((task for task in self.tasks if task.name == name), None)

    def on_task(self, name: str) -> tuple[Transition, ...]:
        """The transitions taken on completion of task ``name``, in declaration order."""
        return tuple(t for t in self.transitions if t.task == name)

    @property
    def timers(self) -> tuple[Transition, ...]:
        """The timer transitions, in the order they first come due: by delay, then declaration order."""
        timed = [t for t in self.transitions if t.after is not None]
        return tuple(sorted(timed, key=lambda t: (t.after, t.index)))

    @property
    def schedule(self) -> tuple[tuple[int, Transition], ...]:
        """Every timer firing after entering the state, as (seconds after entry, transition), in due order.

        A repeating timer appears once per firing (``after``, ``2 * after``, ...);
        ties go by declaration order.
        """
        firings = [(t.after * k, t.index, t) for t in self.transitions if t.after is not None
                   for k in range(1, t.times + 1)]
        return tuple((offset, transition) for offset, _, transition in sorted(firings, key=lambda f: f[:2]))


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
    groups: tuple[str, ...] = ()
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
    roles = _names(_required(root, "roles", ""), "roles", MAX_ROLES, "role", ())
    if not roles:
        raise DefinitionError("roles", "a process needs at least one role")
    groups = _names(root.get("groups", []), "groups", MAX_GROUPS, "group", roles)
    fields = _fields(root.get("data", _Pairs()))
    start = _identifier(_required(root, "start", ""), "start", "state")
    states_doc = _limited(_object(_required(root, "states", ""), "states", None), "states", MAX_STATES, "states")
    for state_name in states_doc:
        _check_identifier(state_name, _join("states", state_name), "state")
    if start not in states_doc:
        raise DefinitionError("start", f"unknown state '{start}'")
    field_types = {f.name: f.type for f in fields}
    parties = _Parties(roles, groups)
    states = tuple(
        _state(name, body, parties, field_types, states_doc) for name, body in states_doc.items()
    )
    return Definition(name, version, description, roles, fields, start, states, groups)


@dataclass(frozen=True)
class _Parties:
    """The definition's roles (one member each) and groups (a list of members each)."""

    roles: tuple[str, ...]
    groups: tuple[str, ...]


def _names(value: Any, key: str, limit: int, what: str, taken: tuple[str, ...]) -> tuple[str, ...]:
    """A list of distinct names (roles or groups), none of them in ``taken``."""
    names: list[str] = []
    for index, item in enumerate(_list(value, key, limit, f"{what}s")):
        path = f"{key}[{index}]"
        name = _identifier(item, path, what)
        if name in names:
            raise DefinitionError(path, f"duplicate {what} '{name}'")
        if name in taken:
            raise DefinitionError(path, f"'{name}' is already a role")
        names.append(name)
    return tuple(names)


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
    name: str, body: Any, parties: _Parties, fields: Mapping[str, ValueType], states: Mapping[str, Any]
) -> State:
    path = _join("states", name)
    spec = _object(body, path, STATE_KEYS)
    end = spec.get("end", False)
    if not isinstance(end, bool):
        raise DefinitionError(_join(path, "end"), f"expected true or false, got {_kind(end)}")
    gateways = [key for key in GATEWAY_KEYS if key in spec]
    if "default" in spec and "choose" not in spec:
        raise DefinitionError(_join(path, "default"), "a default branch belongs to an exclusive gateway (\"choose\")")
    if gateways:
        others = [key for key in spec if key not in (gateways[0], "default")]
        if others:
            raise DefinitionError(_join(path, others[0]), f"a \"{gateways[0]}\" gateway has no '{others[0]}'")
        return _gateway(name, path, gateways[0], spec, parties, fields, states)
    tasks_doc = _limited(
        _object(spec.get("tasks", _Pairs()), _join(path, "tasks"), None), _join(path, "tasks"),
        MAX_TASKS_PER_STATE, "tasks",
    )
    messages_doc = _limited(
        _object(spec.get("messages", _Pairs()), _join(path, "messages"), None), _join(path, "messages"),
        MAX_TASKS_PER_STATE, "messages",
    )
    transitions_doc = _list(
        spec.get("transitions", []), _join(path, "transitions"), MAX_TRANSITIONS_PER_STATE, "transitions"
    )
    if end and tasks_doc:
        raise DefinitionError(_join(path, "tasks"), "an end state has no tasks")
    if end and messages_doc:
        raise DefinitionError(_join(path, "messages"), "an end state has no messages")
    if end and transitions_doc:
        raise DefinitionError(_join(path, "transitions"), "an end state has no outgoing transitions")
    if not end and not transitions_doc:
        raise DefinitionError(path, "a state that is not an end state needs at least one transition")
    tasks = [_task(task, spec, _join(_join(path, "tasks"), task), parties, fields) for task, spec in tasks_doc.items()]
    for message, message_spec in messages_doc.items():
        message_path = _join(_join(path, "messages"), message)
        if message in tasks_doc:
            raise DefinitionError(message_path, f"'{message}' is already a task of this state")
        tasks.append(_message(message, message_spec, message_path, parties, fields))
    transitions = tuple(
        _transition(name, index, item, tuple(tasks), fields, states) for index, item in enumerate(transitions_doc)
    )
    for task in tasks:
        if not any(t.task == task.name for t in transitions):
            kind = "messages" if task.message else "tasks"
            raise DefinitionError(_join(_join(path, kind), task.name), "no transition is taken on this "
                                  + ("message" if task.message else "task"))
    return State(name, end, tuple(tasks), transitions)


def _gateway(
    name: str, path: str, kind: str, spec: Mapping[str, Any], parties: _Parties,
    fields: Mapping[str, ValueType], states: Mapping[str, Any],
) -> State:
    """A gateway state: a parallel split, a join, an exclusive choice or a sub-process call."""
    key_path = _join(path, kind)
    if kind == "parallel":
        targets = _state_names(spec[kind], key_path, states)
        if len(targets) < 2:
            raise DefinitionError(key_path, "a parallel split needs at least two branches")
        return State(name, False, (), (), parallel=targets)
    if kind == "join":
        return State(name, False, (), (), join=_target(spec[kind], key_path, states))
    if kind == "choose":
        branches = [
            _branch(item, f"{key_path}[{index}]", fields, states)
            for index, item in enumerate(_list(spec[kind], key_path, MAX_BRANCHES, "branches"))
        ]
        default = _target(_required(spec, "default", path), _join(path, "default"), states)
        return State(name, False, (), (), choose=(*branches, Branch(default, None)))
    return State(name, False, (), (), call=_call(spec[kind], key_path, parties, states))


def _state_names(value: Any, path: str, states: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for index, item in enumerate(_list(value, path, MAX_BRANCHES, "branches")):
        target = _target(item, f"{path}[{index}]", states)
        if target in names:
            raise DefinitionError(f"{path}[{index}]", f"duplicate branch '{target}'")
        names.append(target)
    return tuple(names)


def _target(value: Any, path: str, states: Mapping[str, Any]) -> str:
    target = _identifier(value, path, "state")
    if target not in states:
        raise DefinitionError(path, f"unknown state '{target}'")
    return target


def _branch(body: Any, path: str, fields: Mapping[str, ValueType], states: Mapping[str, Any]) -> Branch:
    spec = _object(body, path, BRANCH_KEYS)
    target = _target(_required(spec, "to", path), _join(path, "to"), states)
    return Branch(target, _guard(_required(spec, "guard", path), _join(path, "guard"), fields))


def _call(body: Any, path: str, parties: _Parties, states: Mapping[str, Any]) -> Call:
    spec = _object(body, path, CALL_KEYS)
    definition_id = _integer(_required(spec, "definition", path), _join(path, "definition"), 1, MAX_DEFINITION_ID)
    roles_path = _join(path, "roles")
    bindings = _limited(_object(spec.get("roles", _Pairs()), roles_path, None), roles_path,
                        MAX_ROLES + MAX_GROUPS, "bindings")
    pairs = []
    for child, ours in bindings.items():
        item_path = _join(roles_path, child)
        _check_identifier(child, item_path, "role")
        ours = _identifier(ours, item_path, "role")
        if ours not in parties.roles and ours not in parties.groups:
            raise DefinitionError(item_path, f"unknown role or group '{ours}'")
        pairs.append((child, ours))
    return Call(definition_id, tuple(pairs), _target(_required(spec, "to", path), _join(path, "to"), states))


def _task(name: str, body: Any, path: str, parties: _Parties, fields: Mapping[str, ValueType]) -> Task:
    _check_identifier(name, path, "task")
    if name in RESERVED_TASK_NAMES:
        raise DefinitionError(path, f"'{name}' is reserved (it names the cause of a history entry)")
    spec = _object(body, path, TASK_KEYS)
    sets = _sets(spec, path, fields)
    if "group" in spec:
        if "role" in spec:
            raise DefinitionError(_join(path, "role"), "a task is done by a role or by each member of a group, not both")
        group = _identifier(spec["group"], _join(path, "group"), "group")
        if group not in parties.groups:
            raise DefinitionError(_join(path, "group"), f"unknown group '{group}'")
        quorum = _integer(spec.get("quorum", 0), _join(path, "quorum"), 0, MAX_GROUP_MEMBERS)
        return Task(name, "", sets, group=group, quorum=quorum)
    if "quorum" in spec:
        raise DefinitionError(_join(path, "quorum"), "a quorum belongs to a per-participant task (\"group\")")
    return Task(name, _role(_required(spec, "role", path), _join(path, "role"), parties), sets)


def _message(name: str, body: Any, path: str, parties: _Parties, fields: Mapping[str, ValueType]) -> Task:
    _check_identifier(name, path, "message")
    if name in RESERVED_TASK_NAMES:
        raise DefinitionError(path, f"'{name}' is reserved (it names the cause of a history entry)")
    spec = _object(body, path, MESSAGE_KEYS)
    role = _role(_required(spec, "from", path), _join(path, "from"), parties)
    return Task(name, role, _sets(spec, path, fields), message=True)


def _role(value: Any, path: str, parties: _Parties) -> str:
    role = _identifier(value, path, "role")
    if role not in parties.roles:
        raise DefinitionError(path, f"unknown role '{role}'")
    return role


def _sets(spec: Mapping[str, Any], path: str, fields: Mapping[str, ValueType]) -> tuple[str, ...]:
    sets: list[str] = []
    for index, item in enumerate(_list(spec.get("sets", []), _join(path, "sets"), MAX_FIELDS, "fields")):
        item_path = f"{path}.sets[{index}]"
        field_name = _identifier(item, item_path, "data field")
        if field_name not in fields:
            raise DefinitionError(item_path, f"unknown data field '{field_name}'")
        if field_name in sets:
            raise DefinitionError(item_path, f"duplicate data field '{field_name}'")
        sets.append(field_name)
    return tuple(sets)


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
    times = 1
    on_path = _join(path, "on")
    if isinstance(on, str):
        task = _identifier(on, on_path, "task")
        if not any(t.name == task for t in tasks):
            raise DefinitionError(on_path, f"state '{source}' has no task '{task}'")
    elif isinstance(on, _Pairs) and "every" in dict(on) and "after" not in dict(on):
        timer = _object(on, on_path, REPEAT_KEYS)
        after = _integer(_required(timer, "every", on_path), _join(on_path, "every"), 1, MAX_TIMER_SECONDS)
        times = _integer(_required(timer, "times", on_path), _join(on_path, "times"), 2, MAX_REPEATS)
        if target != source:
            raise DefinitionError(_join(path, "to"), f"a repeating timer keeps the token in its state: "
                                                    f"its target must be '{source}'")
    elif isinstance(on, _Pairs):
        timer = _object(on, on_path, TIMER_KEYS)
        after = _integer(_required(timer, "after", on_path), _join(on_path, "after"), 1, MAX_TIMER_SECONDS)
    else:
        raise DefinitionError(on_path, f"expected a task name, {{\"after\": seconds}} or "
                                       f"{{\"every\": seconds, \"times\": n}}, got {_kind(on)}")
    guard = _guard(spec["guard"], _join(path, "guard"), fields) if "guard" in spec else None
    return Transition(source, target, index, task, after, guard, times)


def _guard(text: Any, path: str, fields: Mapping[str, ValueType]) -> Guard:
    if not isinstance(text, str):
        raise DefinitionError(path, f"expected an expression string, got {_kind(text)}")
    return compile_guard(text, fields, path)


def minified(text: str) -> str:
    """A valid definition's text without insignificant whitespace (key order kept), as stored on-chain."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
