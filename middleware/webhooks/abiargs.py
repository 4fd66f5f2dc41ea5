"""Call data from a method signature and JSON arguments, with a precise error per argument.

JSON values per ABI type: ``uintN``/``intN`` take a JSON integer, a decimal string or a
0x-prefixed hex string; ``address`` a 0x-prefixed 20-byte hex string; ``bool`` true or
false; ``bytes``/``bytesN`` 0x-prefixed hex (at most N bytes, right-padded); ``string``
a string; ``T[]`` and ``T[k]`` a JSON list. Tuples and fixed-point types are refused.
"""
from __future__ import annotations

import re
from typing import Any

import eth_abi
from eth_abi.exceptions import ABITypeError, ParseError
from eth_abi.grammar import BasicType, TupleType, parse
from eth_utils import function_signature_to_4byte_selector

from middleware.webhooks.errors import WebhookError

SIGNATURE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*\((.*)\)$")
MAX_ARGUMENTS = 16
MAX_ARRAY_LENGTH = 256


class ArgumentError(WebhookError):
    """A method signature or argument that cannot be ABI-encoded; the message names it."""


def method_types(signature: str) -> tuple[BasicType, ...]:
    """The argument types of canonical signature ``name(t1,...)``; ``ArgumentError`` if not canonical."""
    match = SIGNATURE.match(signature) if isinstance(signature, str) else None
    if match is None:
        raise ArgumentError(f"expected a method signature like confirmDelivery(uint256), got {signature!r}")
    try:
        parsed = parse(f"({match.group(1)})")
    except ParseError as exc:
        raise ArgumentError(f"{signature}: not a valid ABI type list: {exc}") from None
    assert isinstance(parsed, TupleType)
    types = tuple(parsed.components)
    for index, abi_type in enumerate(types):
        if not isinstance(abi_type, BasicType) or abi_type.base in ("fixed", "ufixed", "function"):
            raise ArgumentError(f"{signature}: argument {index} has an unsupported type {abi_type.to_type_str()}")
        try:
            abi_type.validate()
        except ABITypeError as exc:
            raise ArgumentError(f"{signature}: {exc}") from None
    canonical = f"{signature[:signature.index('(')]}({','.join(t.to_type_str() for t in types)})"
    if canonical != signature:
        raise ArgumentError(f"{signature}: not canonical, expected {canonical}")
    if len(types) > MAX_ARGUMENTS:
        raise ArgumentError(f"{signature}: at most {MAX_ARGUMENTS} arguments")
    return types


def _integer(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.lower().startswith(("0x", "-0x")):
                return int(text, 16)
            if re.fullmatch(r"-?[0-9]+", text):
                return int(text)
        except ValueError:
            pass
    raise ArgumentError(f"{where}: expected an integer (number, decimal or 0x-hex string), got {value!r}")


def _hex(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x([0-9a-fA-F]{2})*", value):
        raise ArgumentError(f"{where}: expected 0x-prefixed hex bytes, got {value!r}")
    return bytes.fromhex(value[2:])


def _coerce(abi_type: BasicType, value: Any, where: str) -> Any:
    if abi_type.arrlist:
        if not isinstance(value, list):
            raise ArgumentError(f"{where}: expected a list for {abi_type.to_type_str()}")
        dims = abi_type.arrlist[-1]
        if (dims and len(value) != dims[0]) or len(value) > MAX_ARRAY_LENGTH:
            raise ArgumentError(f"{where}: wrong number of items for {abi_type.to_type_str()}: {len(value)}")
        return [_coerce(abi_type.item_type, item, f"{where}[{i}]") for i, item in enumerate(value)]
    base, sub = abi_type.base, abi_type.sub
    if base in ("uint", "int"):
        number = _integer(value, where)
        bits = int(sub)
        low, high = (0, 2**bits - 1) if base == "uint" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not low <= number <= high:
            raise ArgumentError(f"{where}: {number} is out of range for {base}{bits}")
        return number
    if base == "address":
        raw = _hex(value, where)
        if len(raw) != 20:
            raise ArgumentError(f"{where}: expected a 20-byte address, got {len(raw)} bytes")
        return raw
    if base == "bool":
        if not isinstance(value, bool):
            raise ArgumentError(f"{where}: expected true or false, got {value!r}")
        return value
    if base == "bytes":
        raw = _hex(value, where)
        if sub and len(raw) > int(sub):
            raise ArgumentError(f"{where}: at most {sub} bytes for bytes{sub}, got {len(raw)}")
        return raw.ljust(int(sub), b"\x00") if sub else raw
    if base == "string":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected a string, got {value!r}")
        return value
    raise ArgumentError(f"{where}: unsupported type {abi_type.to_type_str()}")


def encode_call(signature: str, args: Any) -> bytes:
    """The call data of ``signature`` with JSON ``args`` (a list, one item per argument)."""
    types = method_types(signature)
    if not isinstance(args, list):
        raise ArgumentError("args: expected a list of arguments")
    if len(args) != len(types):
        raise ArgumentError(f"args: {signature} takes {len(types)} argument(s), got {len(args)}")
    values = [_coerce(abi_type, value, f"args[{i}]") for i, (abi_type, value) in enumerate(zip(types, args))]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(
        [t.to_type_str() for t in types], values
    )
