"""Instance data values: type checks and their ABI encoding, on the rules language's value types.

Data fields have the rule language's types (``middleware.rules.values``):
``int`` (int256), ``bool``, ``string`` (bounded UTF-8) and ``address``
(20 bytes), so guards read instance data unchanged. On-chain the values
travel ABI-encoded as ``int256``, ``bool``, ``string`` and ``address``.
"""
from __future__ import annotations

from collections.abc import Sequence

import eth_abi

from middleware.bpm.errors import DataError
from middleware.rules.errors import RuleEvaluationError
from middleware.rules.values import Value, ValueType, checked_value


def check_value(value_type: ValueType, value: object, name: str) -> Value:
    """Return ``value`` if it is a valid value of ``value_type``; raise ``DataError`` naming field ``name``."""
    try:
        return checked_value(value, value_type, f"field '{name}'")
    except RuleEvaluationError as exc:
        raise DataError(str(exc)) from None


def encode_values(types: Sequence[ValueType], values: Sequence[Value]) -> bytes:
    """ABI-encode ``values`` as the tuple of ``types`` (what Solidity's ``abi.encode`` produces)."""
    return eth_abi.encode([t.abi_type for t in types], list(values))


def decode_values(types: Sequence[ValueType], names: Sequence[str], data: bytes) -> tuple[Value, ...]:
    """Decode ``data``, which must be exactly the ABI encoding of one value per type (``names`` label errors)."""
    expected = ", ".join(f"{t.abi_type} {n}" for t, n in zip(types, names))
    problem = f"data is not the ABI encoding of ({expected})"
    try:
        decoded = eth_abi.decode([t.abi_type for t in types], data)
    except Exception as exc:  # eth_abi raises several unrelated types
        raise DataError(problem) from exc
    values = tuple(
        check_value(t, bytes.fromhex(v[2:]) if t is ValueType.ADDRESS else v, n) for t, v, n in zip(types, decoded, names)
    )
    if encode_values(types, values) != data:
        raise DataError(f"{problem}: it has extra or non-canonical bytes")
    return values
