"""The workflow engine as a native contract (interface: ``IWorkflow.sol``).

Contracts and accounts deploy process definitions, start instances with role
bindings, complete tasks and read instances and their history; timer
transitions fire in ``end_block``, at most ``MAX_TIMERS_PER_BLOCK`` per
block, in due-time then instance-id order (the rest in the next blocks).
Every transition emits ``Transitioned``.

Storage (byte strings via ``CallContext.store_bytes``): the definition count
at slot 0, the instance count at slot 1, the timer heap from slot 2 (see
``timers``); definition ``d``'s minified JSON under ``"bpm.def" ++ d``,
instance ``i``'s record under ``"bpm.inst" ++ i`` and its history entry
``k`` under ``"bpm.hist" ++ i ++ k`` (ids and indices as 32-byte integers;
record formats in ``records``).

Gas: each method's base cost, ``DEFINITION_BYTE_GAS`` per byte of a deployed
definition, the framework's storage and event schedule for what a call
reads and writes (a definition is read from storage on every call that uses
it, so compact definitions are cheaper to run), and the rules engine's gas
for guard evaluation, bounded by ``GUARD_GAS_LIMIT`` per call.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from middleware.bpm.definition import MAX_GROUP_MEMBERS, MAX_GROUPS, MAX_ROLES, Definition, minified, parse_definition
from middleware.bpm.errors import BpmError
from middleware.bpm.guards import GUARD_GAS_LIMIT
from middleware.bpm.instance import (
    HistoryEntry,
    Instance,
    active_task,
    complete_task,
    fire_timer,
    next_due,
    pending_calls,
    resume_call,
    skip_firing,
    start,
    with_child,
)
from middleware.bpm.records import (
    InstanceRecord,
    decode_history,
    decode_instance,
    definition_id_of,
    encode_history,
)
from middleware.bpm.timers import DueTimer, TimerHeap
from middleware.bpm.values import decode_values, encode_values
from middleware.rules.gas import GasMeter
from middleware.rules.values import Value, ValueType
from vm.errors import NativeContractError
from vm.native.addresses import WORKFLOW_ADDRESS
from vm.native.framework import CallContext, NativeContract, method
from vm.native.hooks import ConsensusInfo, ValidatorUpdate

DEFINITION_COUNT_SLOT = 0
INSTANCE_COUNT_SLOT = 1
MAX_TIMERS_PER_BLOCK = 64  # timers examined (fired or passed over) per block
MAX_HEAP_POPS_PER_BLOCK = 256  # index entries taken per block, stale ones included
DEFINITION_BYTE_GAS = 8
MAX_CALL_DEPTH = 4  # a process, its sub-processes, theirs, ...: at most this many levels
MAX_BINDINGS = MAX_ROLES + MAX_GROUPS * MAX_GROUP_MEMBERS
DEFINITION_DEPLOYED = "DefinitionDeployed(uint256,address,string,uint256)"
INSTANCE_STARTED = "InstanceStarted(uint256,uint256,address)"
TRANSITIONED = "Transitioned(uint256,string,string,string,address)"

P = ParamSpec("P")
T = TypeVar("T")


def _key(prefix: bytes, *numbers: int) -> bytes:
    return prefix + b"".join(n.to_bytes(32, "big") for n in numbers)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Definition:
    """A stored definition, parsed (cached by text: parsing is a pure function, and gas never depends on it)."""
    return parse_definition(text)


def _address(value: str) -> bytes:
    return bytes.fromhex(value[2:])


class WorkflowContract(NativeContract):
    """The BPM workflow engine at ``WORKFLOW_ADDRESS``."""

    address = WORKFLOW_ADDRESS
    name = "Workflow"

    # -- definitions ---------------------------------------------------------------------------

    @method("deployDefinition(string)", returns=["uint256"], gas=20_000)
    def deploy_definition(self, ctx: CallContext, text: str) -> int:
        """Validate and store a definition; returns its id (from 1)."""
        ctx.charge(DEFINITION_BYTE_GAS * len(text.encode("utf-8")), "definition parsing")
        definition = self._guarded(parse_definition, text)
        self._check_calls(ctx, definition)
        definition_id = ctx.load(DEFINITION_COUNT_SLOT) + 1
        ctx.store(DEFINITION_COUNT_SLOT, definition_id)
        ctx.store_bytes(_key(b"bpm.def", definition_id), minified(text).encode("utf-8"))
        ctx.emit(
            DEFINITION_DEPLOYED,
            indexed=[("uint256", definition_id), ("address", ctx.sender)],
            data=[("string", definition.name), ("uint256", definition.version)],
        )
        return definition_id

    @method("definitionCount()", returns=["uint256"], gas=200, view=True)
    def definition_count(self, ctx: CallContext) -> int:
        """Number of definitions deployed."""
        return ctx.load(DEFINITION_COUNT_SLOT)

    @method("getDefinition(uint256)", returns=["string", "uint256", "string"], gas=500, view=True)
    def get_definition(self, ctx: CallContext, definition_id: int) -> tuple[str, int, str]:
        """Name, version and stored JSON of a definition."""
        text = self._definition_text(ctx, definition_id)
        definition = _parsed(text)
        return definition.name, definition.version, text

    # -- instances -----------------------------------------------------------------------------

    @method("startInstance(uint256,string[],address[],bytes)", returns=["uint256"], gas=10_000)
    def start_instance(
        self, ctx: CallContext, definition_id: int, roles: Sequence[str], members: Sequence[str], data: bytes
    ) -> int:
        """Start an instance of a definition with roles bound to members; returns its id (from 1)."""
        definition = _parsed(self._definition_text(ctx, definition_id))
        if len(roles) != len(members):
            raise NativeContractError(f"Workflow: {len(roles)} roles but {len(members)} members")
        if len(roles) > MAX_BINDINGS:
            raise NativeContractError(f"Workflow: {len(roles)} role bindings, limit {MAX_BINDINGS}")
        bindings: dict[str, bytes] = {}
        groups: dict[str, tuple[bytes, ...]] = {}
        for role, member in zip(roles, members):
            if role in definition.groups:
                groups[role] = (*groups.get(role, ()), _address(member))
                if len(groups[role]) > MAX_GROUP_MEMBERS:
                    raise NativeContractError(f"Workflow: group '{role}' has more than {MAX_GROUP_MEMBERS} members")
                continue
            if role in bindings:
                raise NativeContractError(f"Workflow: role '{role}' bound twice")
            bindings[role] = _address(member)
        values: dict[str, Value] = {}
        if data:
            fields = definition.fields
            decoded = self._guarded(decode_values, [f.type for f in fields], [f.name for f in fields], data)
            values = {f.name: v for f, v in zip(fields, decoded)}
        meter = GasMeter(GUARD_GAS_LIMIT, sink=ctx.charge)
        return self._start(ctx, definition_id, definition, bindings, groups, values, meter, parent=0)

    @method("completeTask(uint256,string,bytes)", returns=["string"], gas=5_000)
    def complete_task(self, ctx: CallContext, instance_id: int, task: str, data: bytes) -> str:
        """Complete a task of an active state as the caller; returns the (first token's) new state."""
        return self._perform(ctx, instance_id, task, data, message=False)

    @method("deliverMessage(uint256,string,bytes)", returns=["string"], gas=5_000)
    def deliver_message(self, ctx: CallContext, instance_id: int, message: str, data: bytes) -> str:
        """Deliver a message an active state waits for, as the member of the role it names."""
        return self._perform(ctx, instance_id, message, data, message=True)

    @method("activeStates(uint256)", returns=["string[]"], gas=500, view=True)
    def active_states(self, ctx: CallContext, instance_id: int) -> list[str]:
        """The state of every token (empty once the instance has ended)."""
        return list(self._instance(ctx, instance_id)[1].instance.states)

    @method("groupMembers(uint256,string)", returns=["address[]"], gas=500, view=True)
    def group_members(self, ctx: CallContext, instance_id: int, group: str) -> list[bytes]:
        """The addresses bound to ``group``."""
        definition, record = self._instance(ctx, instance_id)
        return list(self._guarded(record.instance.group, definition, group))

    @method("parentInstance(uint256)", returns=["uint256"], gas=500, view=True)
    def parent_instance(self, ctx: CallContext, instance_id: int) -> int:
        """The instance that started this one as a sub-process (0: none)."""
        return self._instance(ctx, instance_id)[1].parent

    @method("instanceCount()", returns=["uint256"], gas=200, view=True)
    def instance_count(self, ctx: CallContext) -> int:
        """Number of instances started."""
        return ctx.load(INSTANCE_COUNT_SLOT)

    @method("instanceState(uint256)", returns=["string", "bool", "uint256", "uint256"], gas=500, view=True)
    def instance_state(self, ctx: CallContext, instance_id: int) -> tuple[str, bool, int, int]:
        """Current state, whether it has ended, when it was entered and when its next timer is due (0: none)."""
        definition, record = self._instance(ctx, instance_id)
        instance = record.instance
        ended = instance.ended
        return instance.state, ended, instance.entered_at, next_due(definition, instance) or 0

    @method("instanceDefinition(uint256)", returns=["uint256"], gas=500, view=True)
    def instance_definition(self, ctx: CallContext, instance_id: int) -> int:
        """The definition an instance runs."""
        return definition_id_of(self._instance_bytes(ctx, instance_id))

    @method("roleMember(uint256,string)", returns=["address"], gas=500, view=True)
    def role_member(self, ctx: CallContext, instance_id: int, role: str) -> bytes:
        """The address bound to ``role``."""
        definition, record = self._instance(ctx, instance_id)
        return self._guarded(record.instance.member, definition, role)

    @method("instanceData(uint256)", returns=["bytes"], gas=500, view=True)
    def instance_data(self, ctx: CallContext, instance_id: int) -> bytes:
        """Every data field, ABI-encoded in declaration order."""
        definition, record = self._instance(ctx, instance_id)
        return encode_values([f.type for f in definition.fields], record.instance.data)

    @method("getInt(uint256,string)", returns=["int256"], gas=500, view=True)
    def get_int(self, ctx: CallContext, instance_id: int, field: str) -> Value:
        """An int field."""
        return self._field(ctx, instance_id, field, ValueType.INT)

    @method("getBool(uint256,string)", returns=["bool"], gas=500, view=True)
    def get_bool(self, ctx: CallContext, instance_id: int, field: str) -> Value:
        """A bool field."""
        return self._field(ctx, instance_id, field, ValueType.BOOL)

    @method("getString(uint256,string)", returns=["string"], gas=500, view=True)
    def get_string(self, ctx: CallContext, instance_id: int, field: str) -> Value:
        """A string field."""
        return self._field(ctx, instance_id, field, ValueType.STRING)

    @method("getAddress(uint256,string)", returns=["address"], gas=500, view=True)
    def get_address(self, ctx: CallContext, instance_id: int, field: str) -> Value:
        """An address field."""
        return self._field(ctx, instance_id, field, ValueType.ADDRESS)

    @method("historyLength(uint256)", returns=["uint256"], gas=500, view=True)
    def history_length(self, ctx: CallContext, instance_id: int) -> int:
        """Number of history entries (the start is the first)."""
        return self._instance(ctx, instance_id)[1].history_length

    @method("historyEntry(uint256,uint256)", returns=["string", "string", "string", "address", "uint256"],
            gas=500, view=True)
    def history_entry(self, ctx: CallContext, instance_id: int, index: int) -> tuple[str, str, str, bytes, int]:
        """History entry ``index``: from, to, cause, actor, block time."""
        length = self._instance(ctx, instance_id)[1].history_length
        if index >= length:
            raise NativeContractError(f"Workflow: history entry {index} of {length}")
        raw = ctx.load_bytes(_key(b"bpm.hist", instance_id, index))
        if raw is None:
            raise NativeContractError(f"Workflow: history entry {index} missing")
        entry = decode_history(raw)
        return entry.source, entry.target, entry.cause, entry.actor, entry.time

    # -- timers --------------------------------------------------------------------------------

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        """Fire the timers due by the block's time: at most ``MAX_TIMERS_PER_BLOCK``, earliest first."""
        heap = TimerHeap(context)
        now = context.timestamp
        examined = pops = 0
        while examined < MAX_TIMERS_PER_BLOCK and pops < MAX_HEAP_POPS_PER_BLOCK:
            top = heap.peek()
            if top is None or top.due > now:
                break
            heap.pop()
            pops += 1
            definition, record = self._instance(context, top.instance_id)
            if record.timer_due != top.due:
                continue  # stale: the instance left the state (or was re-indexed) since
            examined += 1

            pending = InstanceRecord(record.definition_id, record.instance, 0, record.history_length, record.parent)

            def fire(instance_id: int = top.instance_id, definition: Definition = definition,
                     pending: InstanceRecord = pending) -> None:
                instance, entries = self._guarded(fire_timer, definition, pending.instance, now,
                                                  GasMeter(GUARD_GAS_LIMIT))
                self._advance(context, instance_id, definition, pending, instance, entries)

            # A firing that cannot proceed (a sub-process that cannot start) is undone and passed over like a
            # timer whose guard is false: the instance stays in its state with its next firing indexed, and the
            # block goes on, the same on every node.
            if context.attempt(fire) is not None:
                skipped = skip_firing(definition, record.instance)
                self._advance(context, top.instance_id, definition, pending, skipped, ())
        return ()

    # -- internals -----------------------------------------------------------------------------

    def _perform(self, ctx: CallContext, instance_id: int, name: str, data: bytes, *, message: bool) -> str:
        """Complete task (or deliver message) ``name`` with ABI ``data`` as the caller."""
        definition, record = self._instance(ctx, instance_id)
        spec = active_task(definition, record.instance, name, message)
        values: dict[str, Value] = {}
        if spec is not None:
            declared = {f.name: f.type for f in definition.fields}
            types = [declared[field] for field in spec.sets]
            decoded = self._guarded(decode_values, types, spec.sets, data)
            values = dict(zip(spec.sets, decoded))
        meter = GasMeter(GUARD_GAS_LIMIT, sink=ctx.charge)
        instance, entries = self._guarded(
            complete_task, definition, record.instance, name, ctx.sender, values, ctx.timestamp, meter,
            message=message,
        )
        self._advance(ctx, instance_id, definition, record, instance, entries)
        return instance.state

    def _start(
        self, ctx: CallContext, definition_id: int, definition: Definition, bindings: dict[str, bytes],
        groups: dict[str, tuple[bytes, ...]], values: dict[str, Value], meter: GasMeter, parent: int,
    ) -> int:
        """Start an instance (of a process, or of a sub-process for ``parent``) and store it; returns its id."""
        instance, entries = self._guarded(
            start, definition, bindings, values, ctx.timestamp, ctx.sender, groups, meter
        )
        instance_id = ctx.load(INSTANCE_COUNT_SLOT) + 1
        ctx.store(INSTANCE_COUNT_SLOT, instance_id)
        ctx.emit(
            INSTANCE_STARTED,
            indexed=[("uint256", instance_id), ("uint256", definition_id), ("address", ctx.sender)],
            data=[],
        )
        record = InstanceRecord(definition_id, instance, 0, 0, parent)
        self._advance(ctx, instance_id, definition, record, instance, entries)
        return instance_id

    def _advance(
        self, ctx: CallContext, instance_id: int, definition: Definition, record: InstanceRecord,
        instance: Instance, entries: Sequence[HistoryEntry],
    ) -> None:
        """Store ``instance`` (and ``entries``, each announced by an event), indexing its next timer.

        Then start the children of call states just entered, and, if the
        instance has ended and was a sub-process, move its parent on.
        """
        history_length = record.history_length
        pending = list(entries)
        while True:
            for entry in pending:
                ctx.store_bytes(_key(b"bpm.hist", instance_id, history_length), encode_history(entry))
                history_length += 1
                ctx.emit(
                    TRANSITIONED,
                    indexed=[("uint256", instance_id)],
                    data=[("string", entry.source), ("string", entry.target), ("string", entry.cause),
                          ("address", entry.actor)],
                )
            calls = pending_calls(definition, instance)
            if not calls:
                break
            child = self._call(ctx, definition, instance, calls[0], instance_id)
            instance, pending = with_child(instance, calls[0], child), []
            if self._instance(ctx, child)[1].instance.ended:  # the child ended as it started: resume here
                meter = GasMeter(GUARD_GAS_LIMIT, sink=ctx.charge)
                instance, moves = self._guarded(resume_call, definition, instance, child, ctx.timestamp, meter)
                pending = list(moves)
        due = next_due(definition, instance) or 0
        if due and due != record.timer_due:
            TimerHeap(ctx).push(DueTimer(due, instance_id))
        updated = InstanceRecord(record.definition_id, instance, due, history_length, record.parent)
        ctx.store_bytes(_key(b"bpm.inst", instance_id), updated.encode(definition))
        if instance.ended and record.parent and record.history_length:  # one that ends as it starts: see above
            parent_definition, parent = self._instance(ctx, record.parent)
            if any(token.child == instance_id for token in parent.instance.tokens):
                meter = GasMeter(GUARD_GAS_LIMIT, sink=ctx.charge)
                moved, moves = self._guarded(
                    resume_call, parent_definition, parent.instance, instance_id, ctx.timestamp, meter
                )
                self._advance(ctx, record.parent, parent_definition, parent, moved, moves)

    def _call(self, ctx: CallContext, definition: Definition, instance: Instance, position: int, parent: int) -> int:
        """Start the child instance of the call state the token at ``position`` entered; returns its id."""
        call = definition.state(instance.tokens[position].state).call
        assert call is not None  # pending_calls lists tokens in call states only
        child = _parsed(self._definition_text(ctx, call.definition_id))
        bindings: dict[str, bytes] = {}
        groups: dict[str, tuple[bytes, ...]] = {}
        for theirs, ours in call.bindings:
            if theirs in child.groups:
                groups[theirs] = instance.group(definition, ours) if ours in definition.groups else \
                    (instance.member(definition, ours),)
            else:
                bindings[theirs] = instance.member(definition, ours)
        meter = GasMeter(GUARD_GAS_LIMIT, sink=ctx.charge)
        return self._start(ctx, call.definition_id, child, bindings, groups, {}, meter, parent)

    def _check_calls(self, ctx: CallContext, definition: Definition) -> None:
        """Refuse calls of missing definitions, bindings that do not fit them, and nesting deeper than allowed."""
        chains: dict[int, tuple[int, ...]] = {}
        for state in definition.states:
            call = state.call
            if call is None:
                continue
            where = f"Workflow: states.{state.name}.call"
            raw = ctx.load_bytes(_key(b"bpm.def", call.definition_id))
            if raw is None:
                raise NativeContractError(f"{where}.definition: no definition {call.definition_id}")
            child = _parsed(raw.decode("utf-8"))
            bound = dict(call.bindings)
            for theirs, ours in call.bindings:
                if theirs in child.roles and ours not in definition.roles:
                    raise NativeContractError(f"{where}.roles.{theirs}: role '{theirs}' needs a role, "
                                              f"'{ours}' is a group")
                if theirs not in child.roles and theirs not in child.groups:
                    raise NativeContractError(f"{where}.roles.{theirs}: definition {call.definition_id} has no "
                                              f"role or group '{theirs}'")
            missing = [name for name in (*child.roles, *child.groups) if name not in bound]
            if missing:
                raise NativeContractError(f"{where}.roles: '{missing[0]}' of definition {call.definition_id} "
                                          "is not bound")
            chain = self._longest_calls(ctx, call.definition_id, chains)
            if len(chain) >= MAX_CALL_DEPTH:
                calls = f"definition {chain[0]} calls " + ", which calls ".join(f"definition {d}" for d in chain[1:])
                raise NativeContractError(f"{where}: sub-processes nest deeper than {MAX_CALL_DEPTH} levels ({calls})")

    def _longest_calls(self, ctx: CallContext, definition_id: int, known: dict[int, tuple[int, ...]]) -> tuple[int, ...]:
        """The longest chain of calls from deployed definition ``definition_id``: its id, then the ids it calls.

        Each deployed definition passed this check, so a chain is at most
        ``MAX_CALL_DEPTH`` long; ``known`` keeps the chains already found.
        """
        if definition_id not in known:
            longest: tuple[int, ...] = ()
            for state in _parsed(self._definition_text(ctx, definition_id)).states:
                if state.call is not None:
                    chain = self._longest_calls(ctx, state.call.definition_id, known)
                    longest = chain if len(chain) > len(longest) else longest
            known[definition_id] = (definition_id, *longest)
        return known[definition_id]

    def _definition_text(self, ctx: CallContext, definition_id: int) -> str:
        raw = ctx.load_bytes(_key(b"bpm.def", definition_id)) if definition_id else None
        if raw is None:
            raise NativeContractError(f"Workflow: no definition {definition_id}")
        return raw.decode("utf-8")

    def _instance_bytes(self, ctx: CallContext, instance_id: int) -> bytes:
        raw = ctx.load_bytes(_key(b"bpm.inst", instance_id)) if instance_id else None
        if raw is None:
            raise NativeContractError(f"Workflow: no instance {instance_id}")
        return raw

    def _instance(self, ctx: CallContext, instance_id: int) -> tuple[Definition, InstanceRecord]:
        raw = self._instance_bytes(ctx, instance_id)
        definition = _parsed(self._definition_text(ctx, definition_id_of(raw)))
        return definition, decode_instance(raw, definition)

    def _field(self, ctx: CallContext, instance_id: int, name: str, wanted: ValueType) -> Value:
        definition, record = self._instance(ctx, instance_id)
        actual = definition.field_type(name)
        if actual is None:
            raise NativeContractError(f"Workflow: no data field '{name}'")
        if actual is not wanted:
            raise NativeContractError(f"Workflow: field '{name}' is {actual.value}, not {wanted.value}")
        return record.instance.value(definition, name)

    @staticmethod
    def _guarded(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``function``, turning engine errors into reverts with a "Workflow: " reason."""
        try:
            return function(*args, **kwargs)
        except BpmError as exc:
            raise NativeContractError(f"Workflow: {exc}") from exc
