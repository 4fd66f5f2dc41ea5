"""Storage records of the workflow contract: instances and history entries, msgpack-encoded.

An instance record is the msgpack list ``[definition_id, tokens, final,
timer_due, history_length, members, groups, data, parent]``: ``tokens`` a
list of ``[state, entered_at, timer_cursor, origin, done, child]`` (``done``
a bitmask per task of the state), ``final`` ``[state, entered_at]`` of the
last end state reached (empty before), ``members`` the 20-byte addresses in
role order, ``groups`` a list of such addresses per group, ``data`` the ABI
encoding of the field values in field order (ABI, not msgpack, because
integers are 256-bit), ``timer_due`` the due time the instance is indexed
under in the timer heap (0: not indexed) and ``parent`` the instance that
called this one as a sub-process (0: none). A history entry is ``[source,
target, cause, actor, time]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import msgpack

from middleware.bpm.definition import Definition
from middleware.bpm.errors import RecordError
from middleware.bpm.instance import MAX_TOKENS, HistoryEntry, Instance, Token
from middleware.bpm.values import decode_values, encode_values


@dataclass(frozen=True)
class InstanceRecord:
    """An instance as stored: which definition it runs, its timer indexing and its history length."""

    definition_id: int
    instance: Instance
    timer_due: int
    history_length: int
    parent: int = 0

    def encode(self, definition: Definition) -> bytes:
        """The stored bytes."""
        i = self.instance
        data = encode_values([f.type for f in definition.fields], i.data)
        tokens = [[t.state, t.entered_at, t.timer_cursor, t.origin, list(t.done), t.child] for t in i.tokens]
        final = [i.final.state, i.final.entered_at] if i.final is not None else []
        return msgpack.packb(
            [self.definition_id, tokens, final, self.timer_due, self.history_length, list(i.members),
             [list(g) for g in i.groups], data, self.parent],
            use_bin_type=True,
        )


_INSTANCE_SHAPE = (int, list, list, int, int, list, list, bytes, int)
_TOKEN_SHAPE = (str, int, int, str, list, int)
_HISTORY_SHAPE = (str, str, str, bytes, int)


def definition_id_of(raw: bytes) -> int:
    """The definition id of a stored instance record (to load the definition before decoding the rest)."""
    return int(_unpack(raw, _INSTANCE_SHAPE)[0])


def decode_instance(raw: bytes, definition: Definition) -> InstanceRecord:
    """The record stored as ``raw``, whose data fields are those of ``definition``."""
    definition_id, tokens, final, timer_due, history_length, members, groups, data, parent = _unpack(
        raw, _INSTANCE_SHAPE
    )
    if len(tokens) > MAX_TOKENS:
        raise RecordError("record of unexpected shape (too many tokens)")
    if not all(isinstance(group, list) for group in groups) or \
            not all(_is_address(m) for m in [*members, *(m for g in groups for m in g)]):
        raise RecordError("record of unexpected shape (members are not 20-byte addresses)")
    fields = definition.fields
    values = decode_values([f.type for f in fields], [f.name for f in fields], data)
    last = None
    if final:
        state, entered_at = _check_shape(final, (str, int))
        last = Token(state, entered_at)
    instance = Instance(tuple(_token(t) for t in tokens), tuple(members), values, tuple(tuple(g) for g in groups), last)
    return InstanceRecord(definition_id, instance, timer_due, history_length, parent)


def _is_address(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 20


def _token(item: object) -> Token:
    state, entered_at, cursor, origin, done, child = _check_shape(item, _TOKEN_SHAPE)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in done):
        raise RecordError("record of unexpected shape (a token's completions are not integers)")
    return Token(state, entered_at, cursor, origin, tuple(done), child)


def encode_history(entry: HistoryEntry) -> bytes:
    """The stored bytes of a history entry."""
    return msgpack.packb([entry.source, entry.target, entry.cause, entry.actor, entry.time], use_bin_type=True)


def decode_history(raw: bytes) -> HistoryEntry:
    """The history entry stored as ``raw``."""
    source, target, cause, actor, time = _unpack(raw, _HISTORY_SHAPE)
    return HistoryEntry(source, target, cause, actor, time)


def _unpack(raw: bytes, shape: tuple[type, ...]) -> list:  # type: ignore[type-arg]
    """The msgpack list in ``raw`` whose items are of the types of ``shape``, or ``RecordError``."""
    try:
        items = msgpack.unpackb(raw, raw=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise RecordError(f"unreadable record: {exc}") from None
    return _check_shape(items, shape)


def _check_shape(items: object, shape: tuple[type, ...]) -> list:  # type: ignore[type-arg]
    """``items`` if it is a list whose items are of the types of ``shape``, else ``RecordError``."""
    if not isinstance(items, list) or len(items) != len(shape):
        raise RecordError(f"record of unexpected shape (expected a list of {len(shape)})")
    for index, (item, kind) in enumerate(zip(items, shape)):
        if not isinstance(item, kind) or isinstance(item, bool):
            raise RecordError(f"record of unexpected shape (item {index} is not {kind.__name__})")
    return items
