"""Process instances as values, and the pure functions that move them.

An ``Instance`` records the current state, when it was entered (block time),
the member bound to each role and the value of each data field. Nothing here
reads a clock or storage: every function takes the block time ``now`` and
returns a new instance plus the ``HistoryEntry`` describing what happened,
so the same calls give the same results on every node.

Semantics:

* ``start`` binds every role to an address and sets any of the data fields
  (the rest hold their type's zero value); its history entry has cause
  ``"start"`` and no source state.
* ``complete_task`` lets the member bound to the task's role complete a task
  of the current state, setting some of the task's fields. The new data is
  what the guards see; the first transition on that task (in declaration
  order) whose guard holds is taken. If none holds, nothing changes
  (``NoTransitionError``).
* Timers: on entering a state, its timer transitions come due ``after``
  seconds later, in the order (delay, declaration order). ``fire_timer``
  examines the due ones in that order and takes the first whose guard holds
  at ``now``; a due timer whose guard does not hold (or fails to evaluate)
  is passed over for good (until the state is entered again). The cause of a
  timer transition is ``"timer"`` and its actor the zero address.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from middleware.bpm.definition import RESERVED_TASK_NAMES, Definition, Transition
from middleware.bpm.errors import (
    DataError,
    GuardError,
    InstanceError,
    NoTransitionError,
    RoleError,
)
from middleware.bpm.guards import ENTERED_AT, NOW
from middleware.bpm.values import check_value
from middleware.rules.gas import GasMeter
from middleware.rules.values import ADDRESS_BYTES, Value

START_CAUSE, TIMER_CAUSE = RESERVED_TASK_NAMES
ZERO_ADDRESS = b"\x00" * ADDRESS_BYTES


@dataclass(frozen=True)
class Instance:
    """One run of a process: where it is, since when, who plays each role, and its data."""

    state: str
    entered_at: int
    members: tuple[bytes, ...]  # the address bound to each role, in the definition's role order
    data: tuple[Value, ...]  # each data field's value, in the definition's field order
    timer_cursor: int = 0  # how many of the current state's timers (in due order) were examined

    def value(self, definition: Definition, name: str) -> Value:
        """The value of data field ``name``."""
        for index, data_field in enumerate(definition.fields):
            if data_field.name == name:
                return self.data[index]
        raise DataError(f"no data field '{name}'")

    def member(self, definition: Definition, role: str) -> bytes:
        """The address bound to ``role``."""
        if role not in definition.roles:
            raise RoleError(f"no role '{role}'")
        return self.members[definition.roles.index(role)]


@dataclass(frozen=True)
class HistoryEntry:
    """One transition of an instance: ``source`` ("" at the start) to ``target``, why, by whom, when."""

    source: str
    target: str
    cause: str  # the completed task's name, "start" or "timer"
    actor: bytes  # who completed the task or started the instance; the zero address for timers
    time: int  # block time


def start(
    definition: Definition, roles: Mapping[str, bytes], data: Mapping[str, Value], now: int, starter: bytes
) -> tuple[Instance, HistoryEntry]:
    """A new instance in the start state, with every role bound to a (non-zero) address."""
    for role in roles:
        if role not in definition.roles:
            raise RoleError(f"no role '{role}' in process '{definition.name}'")
    members = []
    for role in definition.roles:
        member = roles.get(role)
        if member is None:
            raise RoleError(f"role '{role}' is not bound to an address")
        if len(member) != ADDRESS_BYTES or member == ZERO_ADDRESS:
            raise RoleError(f"role '{role}' must be bound to a non-zero 20-byte address")
        members.append(member)
    values = _updated(definition, tuple(f.type.default for f in definition.fields), data, allowed=None)
    instance = Instance(definition.start, now, tuple(members), values)
    return instance, HistoryEntry("", definition.start, START_CAUSE, starter, now)


def complete_task(
    definition: Definition,
    instance: Instance,
    task_name: str,
    caller: bytes,
    data: Mapping[str, Value],
    now: int,
    meter: GasMeter,
) -> tuple[Instance, HistoryEntry]:
    """Complete task ``task_name`` of the current state as ``caller``, setting ``data``; take its transition."""
    state = definition.state(instance.state)
    if state.end:
        raise InstanceError(f"the instance has ended (in state '{state.name}')")
    task = state.task(task_name)
    if task is None:
        available = ", ".join(t.name for t in state.tasks) or "none"
        raise InstanceError(f"state '{state.name}' has no task '{task_name}' (tasks: {available})")
    if caller != instance.member(definition, task.role):
        raise RoleError(f"task '{task_name}' may only be completed by the member bound to role '{task.role}'")
    updated = replace(instance, data=_updated(definition, instance.data, data, allowed=task.sets))
    variables = guard_variables(definition, updated, now)
    for transition in state.on_task(task_name):
        if transition.guard is None or transition.guard.holds(variables, meter):
            return _enter(updated, transition, task_name, caller, now)
    raise NoTransitionError(f"task '{task_name}' in state '{state.name}': no transition's guard holds")


def next_due(definition: Definition, instance: Instance) -> int | None:
    """The block time at which the instance's next unexamined timer comes due (None: no timer)."""
    timers = definition.state(instance.state).timers
    if instance.timer_cursor >= len(timers):
        return None
    return timers[instance.timer_cursor].due_at(instance.entered_at)


def fire_timer(
    definition: Definition, instance: Instance, now: int, meter: GasMeter
) -> tuple[Instance, HistoryEntry | None]:
    """Examine the timers due by ``now``; take the first whose guard holds (None if none does)."""
    due = next_due(definition, instance)
    if due is None or due > now:
        raise InstanceError(f"no timer of state '{instance.state}' is due at {now}")
    timers = definition.state(instance.state).timers
    variables = guard_variables(definition, instance, now)
    cursor = instance.timer_cursor
    while cursor < len(timers) and timers[cursor].due_at(instance.entered_at) <= now:
        transition = timers[cursor]
        cursor += 1
        if _timer_guard_holds(transition, variables, meter):
            return _enter(instance, transition, TIMER_CAUSE, ZERO_ADDRESS, now)
    return replace(instance, timer_cursor=cursor), None


def guard_variables(definition: Definition, instance: Instance, now: int) -> dict[str, Value]:
    """What guards see: every data field, ``now`` and ``entered_at``."""
    variables: dict[str, Value] = {f.name: v for f, v in zip(definition.fields, instance.data)}
    variables[NOW] = now
    variables[ENTERED_AT] = instance.entered_at
    return variables


def _timer_guard_holds(transition: Transition, variables: Mapping[str, Value], meter: GasMeter) -> bool:
    try:
        return transition.guard is None or transition.guard.holds(variables, meter)
    except GuardError:
        return False  # no transaction to revert: a failing timer guard counts as false


def _enter(
    instance: Instance, transition: Transition, cause: str, actor: bytes, now: int
) -> tuple[Instance, HistoryEntry]:
    entry = HistoryEntry(instance.state, transition.target, cause, actor, now)
    return replace(instance, state=transition.target, entered_at=now, timer_cursor=0), entry


def _updated(
    definition: Definition, current: tuple[Value, ...], changes: Mapping[str, Value], allowed: tuple[str, ...] | None
) -> tuple[Value, ...]:
    """``current`` with ``changes`` applied, each checked against its field's type (and ``allowed``)."""
    values = list(current)
    for name, value in changes.items():
        field_type = definition.field_type(name)
        if field_type is None:
            raise DataError(f"no data field '{name}'")
        if allowed is not None and name not in allowed:
            raise DataError(f"the task may not set field '{name}' (it sets: {', '.join(allowed) or 'nothing'})")
        index = next(i for i, f in enumerate(definition.fields) if f.name == name)
        values[index] = check_value(field_type, value, name)
    return tuple(values)
