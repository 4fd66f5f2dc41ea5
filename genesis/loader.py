"""Reading, checking and writing genesis files.

``parse_genesis`` turns the JSON value of a genesis document (see
``genesis.document`` for the format) into a validated ``GenesisDocument``;
``load_genesis`` reads it from a file first, and ``save_genesis`` writes one.
Every problem becomes a ``GenesisError`` whose message names the file and the
exact place in it, e.g. ``genesis.json: alloc[3].balance: not a number``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genesis.document import (
    Allocation,
    ChainParams,
    ConsensusParams,
    DposGenesis,
    GenesisDocument,
    Validator,
    VestingSchedule,
    checksum_address,
)
from genesis.errors import GenesisFileError, GenesisJSONError, GenesisValidationError
from genesis.validation import (
    MAX_ALLOC,
    MAX_DPOS_PARAMS,
    MAX_STORAGE_SLOTS,
    MAX_VALIDATORS,
    MAX_VESTING,
    check_count,
    validate_genesis,
)

MAX_GENESIS_FILE_BYTES = 256 * 1024 * 1024
MAX_DECIMAL_DIGITS = 100
MAX_JSON_DEPTH = 32  # a genesis document nests 4 deep; the bound keeps the JSON decoder's recursion shallow
WORD_BYTES = 32

_HEX = re.compile(r"0x[0-9a-fA-F]*")
_DECIMAL = re.compile(r"-?[0-9]+")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
# A string without its closing quote runs to the end of the text (the decoder rejects it
# there), and the string pattern never backtracks, so the scan is linear on any input.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\[\s\S])*+"?|[\[\]{}]')

Converter = Callable[[str, str, Any], Any]


def _join(path: str, key: str) -> str:
    readable = _PLAIN_KEY.fullmatch(key) or (_HEX.fullmatch(key) and len(key) <= 66)
    shown = key if readable else json.dumps(key[:64])
    return f"{path}.{shown}" if path else shown


def _passthrough(source: str, path: str, value: Any) -> Any:
    """Plain JSON values (integers, strings, booleans) are checked by ``validate_genesis``."""
    return value


def _amount(source: str, path: str, value: Any) -> Any:
    """A wei amount: a decimal string or a JSON integer (ranges are checked by ``validate_genesis``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= MAX_DECIMAL_DIGITS and _DECIMAL.fullmatch(value):
        return int(value)
    if isinstance(value, float):
        raise GenesisValidationError(source, path, "not an integer (write large amounts as decimal strings)")
    raise GenesisValidationError(source, path, "not a number")


def _hex_bytes(source: str, path: str, value: Any) -> bytes:
    """``0x``-prefixed hex with an even number of digits."""
    if not isinstance(value, str):
        raise GenesisValidationError(source, path, "not a string")
    if not _HEX.fullmatch(value):
        raise GenesisValidationError(source, path, "not a 0x-prefixed hex string")
    if len(value) % 2:
        raise GenesisValidationError(source, path, "odd number of hex digits")
    return bytes.fromhex(value[2:])


def _address(source: str, path: str, value: Any) -> bytes:
    """A 20-byte address in any case; a mixed-case one must carry a valid EIP-55 checksum."""
    raw = _hex_bytes(source, path, value)
    if len(raw) != 20:
        raise GenesisValidationError(source, path, f"must be 20 bytes, got {len(raw)}")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and checksum_address(raw) != value:
        raise GenesisValidationError(source, path, "invalid EIP-55 checksum")
    return raw


def _word(source: str, path: str, value: Any) -> int:
    """A storage slot or value: hex of at most 32 bytes, as an unsigned integer."""
    raw = _hex_bytes(source, path, value)
    if len(raw) > WORD_BYTES:
        raise GenesisValidationError(source, path, f"must be at most {WORD_BYTES} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


def _storage(source: str, path: str, value: Any) -> tuple[tuple[int, int], ...]:
    """An object of hex slot -> hex value, returned as (slot, value) pairs in slot order."""
    if not isinstance(value, dict):
        raise GenesisValidationError(source, path, "not an object")
    check_count(source, path, len(value), MAX_STORAGE_SLOTS)
    slots: dict[int, str] = {}
    entries = []
    for key, item in value.items():
        entry_path = _join(path, key)
        slot = _word(source, entry_path, key)
        if slot in slots:
            raise GenesisValidationError(source, entry_path, f"duplicate slot (also {slots[slot]})")
        slots[slot] = key
        entries.append((slot, _word(source, entry_path, item)))
    return tuple(sorted(entries))


def _dpos_params(source: str, path: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """An object of parameter name -> JSON value, as (name, value) pairs in name order."""
    if not isinstance(value, dict):
        raise GenesisValidationError(source, path, "not an object")
    check_count(source, path, len(value), MAX_DPOS_PARAMS)
    return tuple(sorted(value.items()))


def _record(source: str, path: str, value: Any, cls: type, converters: dict[str, Converter]) -> Any:
    """Build dataclass ``cls`` from a JSON object whose keys are its field names.

    Fields without a default are required; keys that name no field are rejected.
    """
    if not isinstance(value, dict):
        raise GenesisValidationError(source, path or "document", "not an object")
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    for key in value:
        if key not in names:
            raise GenesisValidationError(source, _join(path, str(key)), "unknown field")
    kwargs = {}
    for f in fields:
        field_path = f"{path}.{f.name}" if path else f.name
        if f.name in value:
            kwargs[f.name] = converters.get(f.name, _passthrough)(source, field_path, value[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise GenesisValidationError(source, field_path, "missing")
    return cls(**kwargs)


def _list_of(item: Converter, limit: int) -> Converter:
    """A converter for a JSON list (of at most ``limit`` entries) into a tuple of converted items."""

    def convert(source: str, path: str, value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise GenesisValidationError(source, path, "not a list")
        check_count(source, path, len(value), limit)
        return tuple(item(source, f"{path}[{i}]", entry) for i, entry in enumerate(value))

    return convert


def _of(cls: type, converters: dict[str, Converter]) -> Converter:
    def convert(source: str, path: str, value: Any) -> Any:
        return _record(source, path, value, cls, converters)

    return convert


_VALIDATOR = _of(Validator, {"pub_key": _hex_bytes, "owner": _address, "stake": _amount})
_ALLOCATION = _of(Allocation, {"address": _address, "balance": _amount, "code": _hex_bytes, "storage": _storage})
_VESTING = _of(VestingSchedule, {"beneficiary": _address, "amount": _amount})
_CONSENSUS = _of(ConsensusParams, {})
_PARAMS = _of(ChainParams, {name: _amount for name in ("initial_base_fee", "min_gas_price", "foundation_reserve")})
_DPOS = _of(DposGenesis, {"params": _dpos_params})
_DOCUMENT: dict[str, Converter] = {
    "foundation": _address,
    "dpos": _DPOS,
    "consensus": _CONSENSUS,
    "params": _PARAMS,
    "validators": _list_of(_VALIDATOR, MAX_VALIDATORS),
    "alloc": _list_of(_ALLOCATION, MAX_ALLOC),
    "vesting": _list_of(_VESTING, MAX_VESTING),
}


def parse_genesis(data: Any, source: str = "genesis.json") -> GenesisDocument:
    """Build and validate a ``GenesisDocument`` from the decoded JSON of a genesis file.

    ``source`` names the document in error messages. Raises
    ``GenesisValidationError`` at the first problem found.
    """
    doc = _record(source, "", data, GenesisDocument, _DOCUMENT)
    return validate_genesis(doc, source)


def _reject_duplicate_keys(source: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise GenesisValidationError(source, "document", f"duplicate key {json.dumps(key[:64])} in an object")
            obj[key] = value
        return obj

    return build


def _read_text(path: Path, source: str) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_GENESIS_FILE_BYTES + 1)
    except FileNotFoundError:
        raise GenesisFileError(f"{source}: file not found") from None
    except OSError as e:
        raise GenesisFileError(f"{source}: cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_GENESIS_FILE_BYTES:
        raise GenesisFileError(f"{source}: larger than {MAX_GENESIS_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GenesisFileError(f"{source}: not UTF-8 text (at byte offset {e.start})") from None


def _check_depth(text: str, source: str) -> None:
    """Reject JSON nested deeper than ``MAX_JSON_DEPTH`` before decoding it."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise GenesisValidationError(source, "document", f"nested deeper than {MAX_JSON_DEPTH} levels")
        elif token in "]}":
            depth -= 1


def load_genesis(path: str | os.PathLike[str]) -> GenesisDocument:
    """Read, parse and validate the genesis file at ``path``.

    Raises ``GenesisFileError`` when the file cannot be read,
    ``GenesisJSONError`` (with line and column) when it is not JSON, and
    ``GenesisValidationError`` when the document breaks a rule.
    """
    source = os.fspath(path)
    text = _read_text(Path(path), source)
    _check_depth(text, source)
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys(source))
    except json.JSONDecodeError as e:
        raise GenesisJSONError(source, e.lineno, e.colno, e.msg) from None
    except ValueError as e:  # integer literals beyond Python's digit limit
        raise GenesisValidationError(source, "document", f"unreadable number: {str(e)[:80]}") from None
    return parse_genesis(data, source)


def save_genesis(doc: GenesisDocument, path: str | os.PathLike[str]) -> None:
    """Validate ``doc`` and write it to ``path`` as indented canonical JSON, replacing any file atomically."""
    target = Path(path)
    validate_genesis(doc, os.fspath(path))
    text = json.dumps(doc.to_json(), indent=2, ensure_ascii=True) + "\n"
    temporary = target.with_name(target.name + ".tmp")
    try:
        with temporary.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except OSError as e:
        raise GenesisFileError(f"{os.fspath(path)}: cannot write: {e.strerror or e}") from None
