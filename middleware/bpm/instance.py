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

Tokens: an instance holds one token per active branch, each with its own
state, entry time and timer cursor. Gateways move tokens at once, in the
same call: a parallel split replaces its token with one per branch, an
exclusive gateway sends it to the first branch whose guard holds (else the
default), a join holds tokens until one came from each of its incoming
states and then sends one on, and a token in an end state is consumed. The
instance has ended when no token is left. A task, message or timer applies
to the first token (in token order) whose state has it. A per-participant
task records each group member's completion (a history entry ``S -> S``)
and takes its transitions when the quorum is reached. A call state waits
for the child instance the contract starts (``pending_calls``,
``with_child``) and moves on when it ends (``resume_call``). Every function
returns the history entries of everything that moved, in order.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from middleware.bpm.definition import RESERVED_TASK_NAMES, Definition, State, Task, Transition
from middleware.bpm.errors import (
    DataError,
    GuardError,
    InstanceError,
    NoTransitionError,
    RoleError,
)
from middleware.bpm.graph import join_sources
from middleware.bpm.guards import ENTERED_AT, GUARD_GAS_LIMIT, NOW
from middleware.bpm.values import check_value
from middleware.rules.gas import GasMeter
from middleware.rules.values import ADDRESS_BYTES, Value

START_CAUSE, TIMER_CAUSE = RESERVED_TASK_NAMES
SPLIT_CAUSE, JOIN_CAUSE, CHOICE_CAUSE, CALL_CAUSE = "split", "join", "choose", "call"
ZERO_ADDRESS = b"\x00" * ADDRESS_BYTES
MAX_TOKENS = 16  # active branches of one instance
MAX_MOVES_PER_CALL = 256  # gateway moves one call may cause


@dataclass(frozen=True)
class Token:
    """One active branch: its state, when it entered it, and what happened there since."""

    state: str
    entered_at: int
    timer_cursor: int = 0  # how many of the state's timer firings (in due order) were examined
    origin: str = ""  # the state it came from (what a join counts)
    done: tuple[int, ...] = ()  # per task of the state: bitmask of the group members who completed it
    child: int = 0  # the child instance of a call state (0: not started yet)


@dataclass(frozen=True)
class Instance:
    """One run of a process: its tokens, who plays each role and group, and its data."""

    tokens: tuple[Token, ...]
    members: tuple[bytes, ...]  # the address bound to each role, in the definition's role order
    data: tuple[Value, ...]  # each data field's value, in the definition's field order
    groups: tuple[tuple[bytes, ...], ...] = ()  # the members of each group, in the definition's group order
    final: Token | None = None  # the last end state reached

    @property
    def ended(self) -> bool:
        """Whether no token is left (every branch reached an end state)."""
        return not self.tokens

    @property
    def state(self) -> str:
        """The first token's state, or the last end state reached once the instance has ended."""
        return self._main.state

    @property
    def entered_at(self) -> int:
        """When the first token entered its state (or the instance its last end state)."""
        return self._main.entered_at

    @property
    def states(self) -> tuple[str, ...]:
        """The state of every token, in token order."""
        return tuple(token.state for token in self.tokens)

    @property
    def _main(self) -> Token:
        if self.tokens:
            return self.tokens[0]
        if self.final is None:
            raise InstanceError("an instance without tokens or end state")
        return self.final

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

    def group(self, definition: Definition, group: str) -> tuple[bytes, ...]:
        """The members of ``group``."""
        if group not in definition.groups:
            raise RoleError(f"no group '{group}'")
        return self.groups[definition.groups.index(group)]


@dataclass(frozen=True)
class HistoryEntry:
    """One move of a token: ``source`` ("" at the start) to ``target``, why, by whom, when."""

    source: str
    target: str
    cause: str  # the task's or message's name, "start", "timer", "split", "join", "choose" or "call"
    actor: bytes  # who completed the task or started the instance; the zero address for automatic moves
    time: int  # block time


Moved = tuple[Instance, tuple[HistoryEntry, ...]]


def start(
    definition: Definition, roles: Mapping[str, bytes], data: Mapping[str, Value], now: int, starter: bytes,
    groups: Mapping[str, tuple[bytes, ...]] | None = None, meter: GasMeter | None = None,
) -> Moved:
    """A new instance with a token in the start state; every role bound to a (non-zero) address.

    Each group is bound to 1-16 distinct non-zero addresses. Gateways at the
    start move at once (their guards metered by ``meter``).
    """
    for role in roles:
        if role not in definition.roles:
            raise RoleError(f"no role '{role}' in process '{definition.name}'")
    members = [_address(roles.get(role), f"role '{role}'") for role in definition.roles]
    bound = dict(groups or {})
    for group in bound:
        if group not in definition.groups:
            raise RoleError(f"no group '{group}' in process '{definition.name}'")
    lists = []
    for group in definition.groups:
        listed = bound.get(group, ())
        if not listed:
            raise RoleError(f"group '{group}' has no members")
        if len(set(listed)) != len(listed):
            raise RoleError(f"group '{group}' lists a member twice")
        lists.append(tuple(_address(member, f"a member of group '{group}'") for member in listed))
    values = _updated(definition, tuple(f.type.default for f in definition.fields), data, allowed=None)
    token = Token(definition.start, now)
    instance = Instance((token,), tuple(members), values, tuple(lists))
    entry = HistoryEntry("", definition.start, START_CAUSE, starter, now)
    return _settle(definition, instance, (entry,), now, meter or GasMeter(GUARD_GAS_LIMIT))


def complete_task(
    definition: Definition,
    instance: Instance,
    task_name: str,
    caller: bytes,
    data: Mapping[str, Value],
    now: int,
    meter: GasMeter,
    *,
    message: bool = False,
) -> Moved:
    """Complete task ``task_name`` (or deliver message ``task_name``) as ``caller``, setting ``data``."""
    what = "message" if message else "task"
    if instance.ended:
        raise InstanceError(f"the instance has ended (in state '{instance.state}')")
    found = _find_task(definition, instance, task_name, message)
    if found is None:
        available = ", ".join(dict.fromkeys(t.name for s in instance.states for t in definition.state(s).tasks
                                            if t.message == message)) or "none"
        where = f"state '{instance.state}' has no" if len(instance.tokens) == 1 else \
            f"no active state ({', '.join(instance.states)}) has"
        raise InstanceError(f"{where} {what} '{task_name}' ({what}s: {available})")
    position, state, task = found
    token = instance.tokens[position]
    updated = replace(instance, data=_updated(definition, instance.data, data, allowed=task.sets))
    if task.group:
        team = instance.group(definition, task.group)
        if caller not in team:
            raise RoleError(f"task '{task_name}' may only be completed by the members of group '{task.group}'")
        slot = state.tasks.index(task)
        done = token.done or (0,) * len(state.tasks)
        bit = 1 << team.index(caller)
        if done[slot] & bit:
            raise RoleError(f"task '{task_name}' was already completed by this member")
        marks = done[:slot] + (done[slot] | bit,) + done[slot + 1:]
        count = bin(marks[slot]).count("1")
        if count < (task.quorum or len(team)):
            token = replace(token, done=marks)
            entry = HistoryEntry(state.name, state.name, task_name, caller, now)
            return _with_token(updated, position, token), (entry,)
    elif caller != instance.member(definition, task.role):
        raise RoleError(f"{what} '{task_name}' may only be {'delivered' if message else 'completed'} by the member "
                        f"bound to role '{task.role}'")
    variables = guard_variables(definition, updated, now, token)
    for transition in state.on_task(task_name):
        if transition.guard is None or transition.guard.holds(variables, meter):
            return _take(definition, updated, position, transition.target, task_name, caller, now, meter)
    raise NoTransitionError(f"{what} '{task_name}' in state '{state.name}': no transition's guard holds")


def next_due(definition: Definition, instance: Instance) -> int | None:
    """The block time at which the instance's next unexamined timer comes due (None: no timer)."""
    due = [d for d in (_token_due(definition, t) for t in instance.tokens) if d is not None]
    return min(due) if due else None


def fire_timer(definition: Definition, instance: Instance, now: int, meter: GasMeter) -> Moved:
    """Examine the due timer firings of the token due first; take the first whose guard holds.

    No entries: every due firing was passed over. A repeating timer's firing
    keeps the token in its state (an entry ``S -> S``).
    """
    due = next_due(definition, instance)
    if due is None or due > now:
        raise InstanceError(f"no timer of state '{instance.state}' is due at {now}")
    position = next(i for i, t in enumerate(instance.tokens) if _token_due(definition, t) == due)
    token = instance.tokens[position]
    schedule = definition.state(token.state).schedule
    variables = guard_variables(definition, instance, now, token)
    cursor = token.timer_cursor
    while cursor < len(schedule) and token.entered_at + schedule[cursor][0] <= now:
        transition = schedule[cursor][1]
        cursor += 1
        if _timer_guard_holds(transition, variables, meter):
            if transition.repeating:
                moved = _with_token(instance, position, replace(token, timer_cursor=cursor))
                return moved, (HistoryEntry(token.state, token.state, TIMER_CAUSE, ZERO_ADDRESS, now),)
            try:
                return _take(definition, instance, position, transition.target, TIMER_CAUSE, ZERO_ADDRESS, now, meter)
            except InstanceError:
                continue  # a gateway after it failed (guard error, too many branches): passed over like a false guard
    return _with_token(instance, position, replace(token, timer_cursor=cursor)), ()


def skip_firing(definition: Definition, instance: Instance) -> Instance:
    """The instance with the next timer firing (of the token due first) passed over without being examined.

    For a firing whose transition could not be completed (the contract
    undid it): the timers after it remain.
    """
    due = next_due(definition, instance)
    if due is None:
        raise InstanceError(f"no timer of state '{instance.state}' is pending")
    position = next(i for i, t in enumerate(instance.tokens) if _token_due(definition, t) == due)
    token = instance.tokens[position]
    return _with_token(instance, position, replace(token, timer_cursor=token.timer_cursor + 1))


def pending_calls(definition: Definition, instance: Instance) -> tuple[int, ...]:
    """The positions of tokens in call states whose child instance is not started yet."""
    return tuple(i for i, t in enumerate(instance.tokens) if definition.state(t.state).call and not t.child)


def with_child(instance: Instance, position: int, child: int) -> Instance:
    """The instance with the token at ``position`` waiting for child instance ``child``."""
    return _with_token(instance, position, replace(instance.tokens[position], child=child))


def resume_call(definition: Definition, instance: Instance, child: int, now: int, meter: GasMeter) -> Moved:
    """Move on the token that waited for child instance ``child`` (which has ended)."""
    for position, token in enumerate(instance.tokens):
        call = definition.state(token.state).call
        if call is not None and token.child == child:
            return _take(definition, instance, position, call.target, CALL_CAUSE, ZERO_ADDRESS, now, meter)
    raise InstanceError(f"no token waits for instance {child}")


def guard_variables(definition: Definition, instance: Instance, now: int, token: Token | None = None) -> dict[str, Value]:
    """What guards see: every data field, ``now`` and ``entered_at`` (of ``token``, else of the first)."""
    variables: dict[str, Value] = {f.name: v for f, v in zip(definition.fields, instance.data)}
    variables[NOW] = now
    variables[ENTERED_AT] = (token or instance._main).entered_at
    return variables


def _address(member: bytes | None, what: str) -> bytes:
    if member is None:
        raise RoleError(f"{what} is not bound to an address")
    if len(member) != ADDRESS_BYTES or member == ZERO_ADDRESS:
        raise RoleError(f"{what} must be bound to a non-zero 20-byte address")
    return member


def active_task(definition: Definition, instance: Instance, name: str, message: bool) -> Task | None:
    """The task (or message) ``name`` of the first token's state that has one, or None."""
    found = _find_task(definition, instance, name, message)
    return found[2] if found is not None else None


def _find_task(definition: Definition, instance: Instance, name: str, message: bool) -> tuple[int, State, Task] | None:
    for position, token in enumerate(instance.tokens):
        state = definition.state(token.state)
        task = state.task(name)
        if task is not None and task.message == message:
            return position, state, task
    return None


def _token_due(definition: Definition, token: Token) -> int | None:
    schedule = definition.state(token.state).schedule
    if token.timer_cursor >= len(schedule):
        return None
    return token.entered_at + schedule[token.timer_cursor][0]


def _timer_guard_holds(transition: Transition, variables: Mapping[str, Value], meter: GasMeter) -> bool:
    try:
        return transition.guard is None or transition.guard.holds(variables, meter)
    except GuardError:
        return False  # no transaction to revert: a failing timer guard counts as false


def _with_token(instance: Instance, position: int, token: Token) -> Instance:
    tokens = instance.tokens
    return replace(instance, tokens=tokens[:position] + (token,) + tokens[position + 1:])


def _take(
    definition: Definition, instance: Instance, position: int, target: str, cause: str, actor: bytes, now: int,
    meter: GasMeter,
) -> Moved:
    """Move the token at ``position`` to ``target``, then let gateways move tokens until none can."""
    source = instance.tokens[position].state
    moved = _with_token(instance, position, Token(target, now, origin=source))
    return _settle(definition, moved, (HistoryEntry(source, target, cause, actor, now),), now, meter)


def _settle(
    definition: Definition, instance: Instance, entries: tuple[HistoryEntry, ...], now: int, meter: GasMeter
) -> Moved:
    """Move tokens out of end states and gateways (in token order) until every token waits."""
    log = list(entries)
    for _ in range(MAX_MOVES_PER_CALL):
        step = _gateway_step(definition, instance, now, meter)
        if step is None:
            return instance, tuple(log)
        instance, moved = step
        log.extend(moved)
        if len(instance.tokens) > MAX_TOKENS:
            raise InstanceError(f"more than {MAX_TOKENS} parallel branches")
    raise InstanceError(f"more than {MAX_MOVES_PER_CALL} gateway moves in one step")


def _gateway_step(definition: Definition, instance: Instance, now: int, meter: GasMeter) -> Moved | None:
    """One automatic move of the first token that can make one, or None."""
    tokens = instance.tokens
    for position, token in enumerate(tokens):
        state = definition.state(token.state)
        rest = tokens[:position] + tokens[position + 1:]
        if state.end:
            return replace(instance, tokens=rest, final=token), ()
        if state.parallel:
            branches = tuple(Token(target, now, origin=state.name) for target in state.parallel)
            entries = tuple(HistoryEntry(state.name, t, SPLIT_CAUSE, ZERO_ADDRESS, now) for t in state.parallel)
            return replace(instance, tokens=tokens[:position] + branches + tokens[position + 1:]), entries
        if state.choose:
            variables = guard_variables(definition, instance, now, token)
            branch = next(b for b in state.choose if b.guard is None or b.guard.holds(variables, meter))
            moved = _with_token(instance, position, Token(branch.target, now, origin=state.name))
            return moved, (HistoryEntry(state.name, branch.target, CHOICE_CAUSE, ZERO_ADDRESS, now),)
        if state.join:
            joined = _join(definition, instance, state, now)
            if joined is not None:
                return joined
    return None


def _join(definition: Definition, instance: Instance, state: State, now: int) -> Moved | None:
    """Consume one waiting token per incoming state of join ``state`` and send one on, if all are there."""
    waiting: dict[str, int] = {}
    for position, token in enumerate(instance.tokens):
        if token.state == state.name and token.origin not in waiting:
            waiting[token.origin] = position
    sources = join_sources(definition, state.name)
    if any(source not in waiting for source in sources):
        return None
    used = {waiting[source] for source in sources}
    first = min(used)
    tokens = tuple(
        Token(state.join, now, origin=state.name) if i == first else t
        for i, t in enumerate(instance.tokens) if i == first or i not in used
    )
    return replace(instance, tokens=tokens), (HistoryEntry(state.name, state.join, JOIN_CAUSE, ZERO_ADDRESS, now),)


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
