"""Storage records of the workflow contract: instances and history entries, msgpack-encoded.

An instance record is the msgpack list ``[definition_id, state, entered_at,
timer_cursor, timer_due, history_length, members, data]``: ``members`` the
20-byte addresses in role order, ``data`` the ABI encoding of the field values
in field order (ABI, not msgpack, because integers are 256-bit), and
``timer_due`` the due time the instance is indexed under in the timer heap
(0: not indexed). A history entry is ``[source, target, cause, actor, time]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import msgpack

from middleware.bpm.definition import Definition
from middleware.bpm.errors import RecordError
from middleware.bpm.instance import HistoryEntry, Instance
from middleware.bpm.values import decode_values, encode_values


@dataclass(frozen=True)
class InstanceRecord:
    """An instance as stored: which definition it runs, its timer indexing and its history length."""

    definition_id: int
    instance: Instance
    timer_due: int
    history_length: int

    def encode(self, definition: Definition) -> bytes:
        """The stored bytes."""
        i = self.instance
        data = encode_values([f.type for f in definition.fields], i.data)
        return msgpack.packb(
            [self.definition_id, i.state, i.entered_at, i.timer_cursor, self.timer_due, self.history_length,
             list(i.members), data],
            use_bin_type=True,
        )


_INSTANCE_SHAPE = (int, str, int, int, int, int, list, bytes)
_HISTORY_SHAPE = (str, str, str, bytes, int)


def definition_id_of(raw: bytes) -> int:
    """The definition id of a stored instance record (to load the definition before decoding the rest)."""
    return int(_unpack(raw, _INSTANCE_SHAPE)[0])


def decode_instance(raw: bytes, definition: Definition) -> InstanceRecord:
    """The record stored as ``raw``, whose data fields are those of ``definition``."""
    definition_id, state, entered_at, cursor, timer_due, history_length, members, data = _unpack(raw, _INSTANCE_SHAPE)
    if not all(isinstance(member, bytes) and len(member) == 20 for member in members):
        raise RecordError("record of unexpected shape (members are not 20-byte addresses)")
    fields = definition.fields
    values = decode_values([f.type for f in fields], [f.name for f in fields], data)
    instance = Instance(state, entered_at, tuple(members), values, cursor)
    return InstanceRecord(definition_id, instance, timer_due, history_length)


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
    if not isinstance(items, list) or len(items) != len(shape):
        raise RecordError(f"record of unexpected shape (expected a list of {len(shape)})")
    for index, (item, kind) in enumerate(zip(items, shape)):
        if not isinstance(item, kind) or isinstance(item, bool):
            raise RecordError(f"record of unexpected shape (item {index} is not {kind.__name__})")
    return items
