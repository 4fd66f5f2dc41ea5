"""The value types of the rule language: int, bool, string and address.

Integers are exact Python integers (never floats) bounded to the int256 range,
so every value fits an ABI ``int256``; a result outside it is an error, never
a wrap-around. Strings are UTF-8 text of at most :data:`MAX_STRING_BYTES`
bytes. Addresses are 20-byte strings (``bytes``).
"""
from __future__ import annotations

import enum

from middleware.rules.errors import RuleEvaluationError

Value = int | bool | str | bytes

INT_MIN = -(2**255)
INT_MAX = 2**255 - 1
MAX_STRING_BYTES = 1024
ADDRESS_BYTES = 20


class ValueType(enum.Enum):
    """A type of the rule language; the value is its keyword."""

    INT = "int"
    BOOL = "bool"
    STRING = "string"
    ADDRESS = "address"

    @property
    def abi_type(self) -> str:
        """The ABI type values of this type are encoded as."""
        return _ABI_TYPES[self]

    @property
    def default(self) -> Value:
        """The value a field of this type has when none is given."""
        return _DEFAULTS[self]


_ABI_TYPES = {ValueType.INT: "int256", ValueType.BOOL: "bool", ValueType.STRING: "string", ValueType.ADDRESS: "address"}
_DEFAULTS: dict[ValueType, Value] = {
    ValueType.INT: 0, ValueType.BOOL: False, ValueType.STRING: "", ValueType.ADDRESS: bytes(ADDRESS_BYTES),
}
TYPE_NAMES = {value_type.value: value_type for value_type in ValueType}


def type_of(value: object) -> ValueType:
    """The rule-language type of a Python value (bool before int: ``True`` is not the integer 1 here)."""
    if isinstance(value, bool):
        return ValueType.BOOL
    if isinstance(value, int):
        return ValueType.INT
    if isinstance(value, str):
        return ValueType.STRING
    if isinstance(value, bytes) and len(value) == ADDRESS_BYTES:
        return ValueType.ADDRESS
    raise RuleEvaluationError(f"not a rule-language value: {value!r}")


def checked_int(value: int) -> int:
    """``value`` if it lies in the int256 range, else a :class:`RuleEvaluationError`."""
    if INT_MIN <= value <= INT_MAX:
        return value
    raise RuleEvaluationError("integer overflow: result outside the int256 range")


def checked_value(value: object, expected: ValueType, what: str) -> Value:
    """``value`` if it is a valid value of type ``expected`` (in range, bounded), else a RuleEvaluationError."""
    try:
        actual: ValueType | None = type_of(value)
    except RuleEvaluationError:
        actual = None
    if actual is not expected:
        shown = actual.value if actual is not None else f"{type(value).__name__} {value!r:.40}"
        raise RuleEvaluationError(f"{what}: expected {expected.value}, got {shown}")
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return checked_int(value)
    if isinstance(value, str) and len(value.encode()) > MAX_STRING_BYTES:
        raise RuleEvaluationError(f"{what}: string longer than {MAX_STRING_BYTES} bytes")
    return value  # type: ignore[return-value]


def words(value: Value) -> int:
    """The 32-byte words a string or address occupies (0 for int and bool), for gas."""
    if isinstance(value, str):
        return (len(value.encode()) + 31) // 32
    if isinstance(value, bytes):
        return 1
    return 0


def render(value: Value) -> str:
    """``value`` written as a literal of the rule language."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return str(value)
