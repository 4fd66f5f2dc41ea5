"""Amounts, addresses and ABI values: parsing user text into calldata and decoding outputs and events.

Contract methods are chosen by name (or ``name(types)`` for overloads) and their arguments
parsed against the ABI types; outputs and events are decoded into JSON-ready values.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.grammar import parse as parse_abi_type
from eth_utils import (
    function_signature_to_4byte_selector,
    is_checksum_address,
    is_hex_address,
    keccak,
    to_checksum_address,
)

from cybermiles_node.chainclient.errors import AbiLookupError, AmountError, ArgumentError
from middleware.jsonnesting import first_too_deep

#: Decimal exponents of the amount units (CMT has 18 decimals, like ether).
UNITS = {
    "wei": 0, "kwei": 3, "mwei": 6, "gwei": 9, "szabo": 12, "finney": 15,
    "ether": 18, "eth": 18, "cmt": 18,
}


#: Largest amount or integer text accepted.
MAX_NUMBER_TEXT = 100


MAX_ARGUMENT_NESTING = 64  # arrays and tuples inside one another in --args


_AMOUNT = re.compile(r"([0-9]+)?(?:\.([0-9]+))?(?:e([0-9]{1,2}))?\s*([a-z]*)", re.IGNORECASE)


_ARRAY_TYPE = re.compile(r"(.+)\[([0-9]*)\]")


def parse_amount(text: str, default_unit: str = "wei") -> int:
    """Parse ``"1.5cmt"``, ``"100gwei"``, ``"2e18"`` or ``"123"`` (``default_unit``) into wei."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT:
        raise AmountError(f"invalid amount {text!r}: expected a number with an optional unit, e.g. 1.5cmt")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise AmountError(f"invalid amount {text!r}: expected a number with an optional unit, e.g. 1.5cmt")
    whole, fraction, exponent, unit = match.group(1) or "0", match.group(2) or "", match.group(3), match.group(4)
    unit = (unit or default_unit).lower()
    if unit not in UNITS:
        raise AmountError(f"invalid amount {text!r}: unknown unit {unit!r} (use one of {', '.join(UNITS)})")
    scale = UNITS[unit] + (int(exponent) if exponent else 0) - len(fraction)
    digits = int(whole + fraction)
    if scale < 0:
        divisor = int(10 ** (-scale))
        if digits % divisor:
            raise AmountError(f"invalid amount {text!r}: smaller than 1 wei")
        value = digits // divisor
    else:
        value = digits * int(10**scale)
    if value >= 2**256:
        raise AmountError(f"invalid amount {text!r}: too large")
    return value


def format_amount(wei: int) -> str:
    """Show ``wei`` as CMT without losing precision, e.g. ``1.5 CMT``."""
    whole, fraction = divmod(wei, 10**18)
    text = f"{whole}.{fraction:018d}".rstrip("0").rstrip(".")
    return f"{text} CMT"


def parse_integer(text: str, bits: int, signed: bool) -> int:
    """Parse an ABI integer from decimal, ``0x`` hex or an amount with a unit, range-checked."""
    cleaned = text.strip()
    negative = cleaned.startswith("-")
    body = cleaned[1:] if negative else cleaned
    if body[:2].lower() == "0x" and len(body) <= MAX_NUMBER_TEXT:
        if not re.fullmatch(r"[0-9a-fA-F]+", body[2:]):
            raise AmountError(f"invalid integer {text!r}")
        magnitude = int(body[2:], 16)
    else:
        try:
            magnitude = parse_amount(body)
        except AmountError:
            raise AmountError(f"invalid integer {text!r}: expected decimal, 0x hex or e.g. 1000cmt") from None
    value = -magnitude if negative else magnitude
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        kind = f"{'int' if signed else 'uint'}{bits}"
        raise AmountError(f"integer {text!r} is out of range for {kind} ({low} to {high})")
    return value


def parse_address(text: str, what: str = "address") -> str:
    """Validate an address (checksum checked when mixed-case) and return its checksum form."""
    cleaned = text.strip()
    if not is_hex_address(cleaned):
        raise ArgumentError(f"invalid {what} {text!r}: expected 0x followed by 40 hex digits")
    body = cleaned[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(cleaned):
        raise ArgumentError(f"invalid {what} {text!r}: bad checksum (check for typos)")
    return to_checksum_address(cleaned)


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out: ``(uint256,string)[]``."""
    kind = str(param.get("type", ""))
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(component) for component in param.get("components", []))
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def signature(entry: dict[str, Any]) -> str:
    """A function's signature, e.g. ``transfer(address,uint256)``."""
    return f"{entry.get('name', '')}({','.join(canonical_type(p) for p in entry.get('inputs', []))})"


def find_function(abi: Sequence[dict[str, Any]], method: str) -> dict[str, Any]:
    """The function entry named ``method``, or with signature ``method`` for overloads."""
    functions = [entry for entry in abi if entry.get("type", "function") == "function"]
    compact = method.replace(" ", "")
    if "(" in compact:
        matches = [entry for entry in functions if signature(entry) == compact]
    else:
        matches = [entry for entry in functions if entry.get("name") == compact]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(sorted(signature(entry) for entry in matches))
        raise AbiLookupError(f"method {method!r} is overloaded: name one of {options}")
    known = ", ".join(sorted(signature(entry) for entry in functions)) or "none"
    raise AbiLookupError(f"no method {method!r} in the ABI (methods: {known})")


def constructor_of(abi: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The constructor entry, or an empty one when the contract declares none."""
    for entry in abi:
        if entry.get("type") == "constructor":
            return entry
    return {"type": "constructor", "inputs": [], "stateMutability": "nonpayable"}


def parse_arguments(
    inputs: Sequence[dict[str, Any]], positional: Sequence[str], json_args: str | None, what: str
) -> list[Any]:
    """Parse ``positional`` texts or one JSON array ``json_args`` against ``inputs``."""
    if json_args is not None:
        if positional:
            raise ArgumentError("give the arguments either positionally or with --args, not both")
        values = _load_json(json_args, "--args")
        if not isinstance(values, list):
            raise ArgumentError("--args must be a JSON array, e.g. '[\"0xabc...\", \"100\"]'")
    else:
        values = list(positional)
    if len(values) != len(inputs):
        expected = ", ".join(f"{canonical_type(p)} {p.get('name', '')}".strip() for p in inputs) or "none"
        raise ArgumentError(f"{what} takes {len(inputs)} arguments ({expected}), got {len(values)}")
    return [
        coerce_argument(param, value, f"argument {index + 1} ({param.get('name') or canonical_type(param)})")
        for index, (param, value) in enumerate(zip(inputs, values, strict=True))
    ]


def coerce_argument(param: dict[str, Any], value: Any, where: str) -> Any:
    """Convert a command-line text or JSON value to what eth-abi encodes for ``param``."""
    kind = str(param.get("type", ""))
    array = _ARRAY_TYPE.fullmatch(kind)
    if array:
        if isinstance(value, str):
            value = _load_json(value, where)
        if not isinstance(value, list):
            raise ArgumentError(f"{where}: expected a JSON array for {canonical_type(param)}")
        if array.group(2) and len(value) != int(array.group(2)):
            raise ArgumentError(f"{where}: expected {array.group(2)} items, got {len(value)}")
        item = {**param, "type": array.group(1)}
        return [coerce_argument(item, element, f"{where}[{i}]") for i, element in enumerate(value)]
    if kind == "tuple":
        components = list(param.get("components", []))
        if isinstance(value, str):
            value = _load_json(value, where)
        if isinstance(value, dict):
            missing = [c.get("name") for c in components if c.get("name") not in value]
            if missing:
                raise ArgumentError(f"{where}: missing fields {', '.join(map(str, missing))}")
            value = [value[c["name"]] for c in components]
        if not isinstance(value, list) or len(value) != len(components):
            raise ArgumentError(f"{where}: expected a JSON array or object of {len(components)} fields")
        return tuple(
            coerce_argument(c, v, f"{where}.{c.get('name') or i}")
            for i, (c, v) in enumerate(zip(components, value, strict=True))
        )
    return _coerce_scalar(kind, value, where)


def encode_arguments(inputs: Sequence[dict[str, Any]], values: Sequence[Any]) -> bytes:
    """ABI-encode ``values`` for ``inputs``."""
    try:
        return abi_encode([canonical_type(p) for p in inputs], list(values))
    except (EncodingError, TypeError, ValueError) as exc:
        raise ArgumentError(f"cannot encode the arguments: {exc}") from None


def decode_outputs(outputs: Sequence[dict[str, Any]], data: bytes) -> list[Any]:
    """Decode a method's return ``data`` against ``outputs``; addresses in checksum form."""
    try:
        values = abi_decode([canonical_type(p) for p in outputs], data)
    except (DecodingError, ValueError) as exc:
        raise ArgumentError(f"cannot decode the return data 0x{data.hex()}: {exc}") from None
    return [_normalize(value) for value in values]


def decode_logs(abi: Sequence[dict[str, Any]], logs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decode the receipt ``logs`` that match an event of ``abi``; others are left out."""
    events: dict[bytes, dict[str, Any]] = {}
    for entry in abi:
        if entry.get("type") == "event" and not entry.get("anonymous"):
            topic = keccak(text=signature(entry))
            events.setdefault(topic, entry)
    decoded: list[dict[str, Any]] = []
    for log in logs:
        topics = [bytes.fromhex(str(t)[2:]) for t in log.get("topics", [])]
        event = events.get(topics[0]) if topics else None
        if event is None:
            continue
        arguments = _decode_event(event, topics[1:], bytes.fromhex(str(log.get("data", "0x"))[2:]))
        if arguments is not None:
            decoded.append({"event": event["name"], "address": to_checksum_address(log["address"]),
                            "args": arguments})
    return decoded


def exact_json(value: Any) -> Any:
    """ABI values for ``--json``: integers as decimal strings (exact in any JSON reader)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {key: exact_json(item) for key, item in value.items()}
    return [exact_json(item) for item in value]


def readable(value: Any) -> str:
    """ABI values for people: scalars as they are, composites as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(_plain(value))


def encode_calldata(function: dict[str, Any], values: list[Any]) -> bytes:
    """Selector plus encoded arguments."""
    return function_signature_to_4byte_selector(signature(function)) + encode_arguments(
        function.get("inputs", []), values
    )


def hex_data(text: str, what: str) -> bytes:
    """Bytes from 0x hex text."""
    cleaned = text.strip()
    if not cleaned.startswith("0x") or len(cleaned) % 2:
        raise ArgumentError(f"{what} must be 0x followed by an even number of hex digits")
    try:
        return bytes.fromhex(cleaned[2:])
    except ValueError:
        raise ArgumentError(f"{what} is not valid hex") from None


def _load_json(text: str, where: str) -> Any:
    """Parse JSON text from the command line."""
    if first_too_deep(text, MAX_ARGUMENT_NESTING) is not None:
        raise ArgumentError(f"{where}: nested deeper than {MAX_ARGUMENT_NESTING} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ArgumentError(f"{where}: not valid JSON ({exc})") from None


def _coerce_scalar(kind: str, value: Any, where: str) -> Any:
    """Convert a text or JSON scalar for the basic ABI type ``kind``."""
    match = re.fullmatch(r"(u?int)([0-9]*)", kind)
    if match:
        bits = int(match.group(2) or 256)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected an integer for {kind}")
        try:
            return parse_integer(value, bits, signed=match.group(1) == "int")
        except AmountError as exc:
            raise ArgumentError(f"{where}: {exc}") from None
    if kind == "address":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected an address")
        return parse_address(value, f"address in {where}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ArgumentError(f"{where}: expected true or false, got {value!r}")
    if kind == "string":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected a string")
        return value
    match = re.fullmatch(r"bytes([0-9]*)", kind)
    if match:
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected 0x hex for {kind}")
        data = hex_data(value, where)
        if match.group(1) and len(data) > int(match.group(1)):
            raise ArgumentError(f"{where}: {len(data)} bytes do not fit {kind}")
        return data
    raise ArgumentError(f"{where}: ABI type {kind!r} is not supported on the command line")


def _decode_event(event: dict[str, Any], topics: list[bytes], data: bytes) -> dict[str, Any] | None:
    """Decode one event's arguments; dynamic indexed values stay as their topic hash."""
    inputs = event.get("inputs", [])
    indexed = [p for p in inputs if p.get("indexed")]
    plain = [p for p in inputs if not p.get("indexed")]
    if len(indexed) != len(topics):
        return None
    try:
        plain_values = iter(abi_decode([canonical_type(p) for p in plain], data))
        indexed_values = iter(
            topic if parse_abi_type(canonical_type(p)).is_dynamic
            else abi_decode([canonical_type(p)], topic)[0]
            for p, topic in zip(indexed, topics, strict=True)
        )
        return {
            (p.get("name") or f"arg{i}"): _normalize(next(indexed_values if p.get("indexed") else plain_values))
            for i, p in enumerate(inputs)
        }
    except (DecodingError, ValueError):
        return None


def _normalize(value: Any) -> Any:
    """Checksum addresses and turn tuples into lists in decoded ABI values."""
    if isinstance(value, str) and is_hex_address(value) and value == value.lower():
        return to_checksum_address(value)
    if isinstance(value, (tuple, list)):
        return [_normalize(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """Decoded values as JSON-ready data with bytes in hex (for readable output)."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
