"""Encodings of facts and session state: ABI for contract callers, msgpack for contract storage.

*Fields over the ABI* (``insertFact``, ``updateFact``, ``getFact``): the
template's fields in declaration order, ABI-encoded as one tuple, ``int`` as
``int256``, ``bool``, ``string`` and ``address`` as themselves; in Solidity,
``abi.encode(int256(amount), customer, ...)``.

*Storage*: a fact is msgpack ``[type name, [value, ...]]`` with each int as
32 bytes of two's complement and each address as 20 bytes; the working-memory
index is msgpack ``[next id, [fact id, ...], [[rule index, [fact id, ...]], ...]]``
(the last list: matches that fired or were suppressed); the templates of a
rule set are kept apart from its source so that fact operations need not
compile it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import eth_abi
import msgpack

from middleware.rules.agenda import Activation
from middleware.rules.errors import FactError, RecordError
from middleware.rules.templates import Fact, Template
from middleware.rules.values import TYPE_NAMES, Value, ValueType


def decode_fields(template: Template, data: bytes) -> tuple[Value, ...]:
    """The field values ABI-encoded in ``data`` (template field order); FactError when malformed or invalid."""
    types = [value_type.abi_type for value_type in template.field_types]
    try:
        decoded = eth_abi.decode(types, data)
    except Exception as exc:  # eth_abi raises several unrelated types
        raise FactError(f"fields of {template.name} are not ABI-encoded as ({','.join(types)})") from exc
    values = tuple(bytes.fromhex(v[2:]) if t is ValueType.ADDRESS else v
                   for v, t in zip(decoded, template.field_types))
    return template.checked(values)


def encode_values(types: Sequence[ValueType], values: Sequence[Value]) -> bytes:
    """``values`` of ``types`` ABI-encoded as one tuple."""
    return eth_abi.encode([t.abi_type for t in types], list(values))


def encode_fields(template: Template, values: Sequence[Value]) -> bytes:
    """``values`` ABI-encoded in template field order."""
    return encode_values(template.field_types, values)


def _stored(value: Value, value_type: ValueType) -> Any:
    if value_type is ValueType.INT:
        return int(value).to_bytes(32, "big", signed=True)
    return value


def _loaded(value: Any, value_type: ValueType) -> Value:
    if value_type is ValueType.INT:
        if not isinstance(value, bytes) or len(value) != 32:
            raise FactError("stored integer is not 32 bytes")
        return int.from_bytes(value, "big", signed=True)
    return value  # type: ignore[no-any-return]


def pack_fact(fact: Fact) -> bytes:
    """A fact as stored (its id is its storage key, not part of the value)."""
    return msgpack.packb([fact.template.name,
                          [_stored(v, t) for v, t in zip(fact.values, fact.template.field_types)]])


def unpack_fact(templates: Mapping[str, Template], fact_id: int, data: bytes) -> Fact:
    """The fact stored as ``data`` under ``fact_id``; FactError if it fits none of ``templates``."""
    try:
        name, raw = msgpack.unpackb(data)
        if name not in templates:
            raise FactError(f"unknown fact type '{name}'")
        template = templates[name]
        values = tuple(_loaded(v, t) for v, t in zip(raw, template.field_types))
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise FactError(f"stored fact {fact_id} is malformed") from exc
    return Fact(fact_id, template, template.checked(values))


def pack_templates(templates: Mapping[str, Template]) -> bytes:
    """A rule set's templates as stored: ``[[name, [[field, type], ...]], ...]`` in declaration order."""
    return msgpack.packb([[t.name, [[field, value_type.value] for field, value_type in t.fields]]
                          for t in templates.values()])


def unpack_templates(data: bytes) -> dict[str, Template]:
    """The templates stored by :func:`pack_templates`, by name; RecordError if ``data`` is not such a record."""
    try:
        templates = [Template(name, tuple((field, TYPE_NAMES[type_name]) for field, type_name in fields))
                     for name, fields in msgpack.unpackb(data)]
        return {template.name: template for template in templates}
    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
        raise RecordError("stored templates are malformed") from exc


def pack_index(next_id: int, fact_ids: Sequence[int], consumed: Sequence[Activation]) -> bytes:
    """The working-memory index as stored."""
    return msgpack.packb([next_id, list(fact_ids), [[rule, list(ids)] for rule, ids in consumed]])


def unpack_index(data: bytes | None) -> tuple[int, list[int], list[Activation]]:
    """(next fact id, live fact ids, consumed matches) from the stored index (an empty memory when None)."""
    if data is None:
        return 1, [], []
    try:
        next_id, fact_ids, consumed = msgpack.unpackb(data)
        index = next_id, list(fact_ids), [(rule, tuple(ids)) for rule, ids in consumed]
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise RecordError("stored working-memory index is malformed") from exc
    numbers = [next_id, *index[1], *(n for rule, ids in index[2] for n in (rule, *ids))]
    if not all(type(n) is int for n in numbers):
        raise RecordError("stored working-memory index holds a non-integer id")
    return index
