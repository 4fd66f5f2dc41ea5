"""Fuzzing BPM process definitions (``cmnode bpm check``) and the workflow contract's stored records.

Contract: a definition validates or raises a ``DefinitionError``, and stored
bytes decode or raise a ``BpmError``; never another exception.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.bpm.check import check_file
from middleware.bpm.definition import parse_definition
from middleware.bpm.errors import BpmError, DefinitionError
from middleware.bpm.instance import HistoryEntry, Instance
from middleware.bpm.records import InstanceRecord, decode_history, decode_instance, definition_id_of, encode_history
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs

EXAMPLE_TEXT = (Path(__file__).parents[2] / "examples" / "bpm" / "order-escrow.json").read_text()
EXAMPLE = json.loads(EXAMPLE_TEXT)
DEFINITION = parse_definition(EXAMPLE_TEXT)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["int", "string", "bool", "address", "buyer", "created", "amount > 0", "after", "1h"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


PATHS = [path for path in _paths(EXAMPLE) if path]


@st.composite
def edited_definition(draw: st.DrawFn) -> str:
    """The example definition with one to three values replaced or removed."""
    document = json.loads(EXAMPLE_TEXT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) or not isinstance(parent, dict):
                parent[path[-1]] = draw(json_values)
            else:
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this place
    return json.dumps(document)


def _definition_contract(text: str) -> None:
    try:
        parse_definition(text)
    except DefinitionError:
        pass


def _file_contract(folder: Path, raw: bytes) -> None:
    path = folder / "definition.json"
    path.write_bytes(raw)
    try:
        check_file(path)
    except DefinitionError:
        pass


def _record_contract(raw: bytes) -> None:
    for decode in (definition_id_of, decode_history, lambda data: decode_instance(data, DEFINITION)):
        try:
            decode(raw)
        except BpmError:
            pass


VALID_RECORDS = [
    encode_history(HistoryEntry("created", "shipped", "ship", b"\x01" * 20, 1_700_000_000)),
    InstanceRecord(1, Instance("created", 5, tuple(bytes([i]) * 20 for i in range(len(DEFINITION.roles))),
                               (100, "1Z999", "", False), 0), 0, 1).encode(DEFINITION),
]


@st.composite
def edited_record(draw: st.DrawFn) -> bytes:
    """A valid stored record with one byte changed, or cut short."""
    record = bytearray(draw(st.sampled_from(VALID_RECORDS)))
    at = draw(st.integers(0, len(record) - 1))
    if draw(st.booleans()):
        record[at] = draw(st.integers(0, 255))
        return bytes(record)
    return bytes(record[:at])


msgpack_lists = st.lists(
    st.integers(-2**63, 2**64 - 1) | st.binary(max_size=40) | st.text(max_size=10) | st.booleans() | st.none()
    | st.lists(st.binary(max_size=21), max_size=3), min_size=5, max_size=8).map(lambda items: msgpack.packb(items))


@FUZZ
@given(edited_definition() | st.text(max_size=200) | json_values.map(json.dumps))
def test_definition_validates_or_gives_a_definition_error(text: str) -> None:
    _definition_contract(text)


@FUZZ
@given(st.binary(max_size=300) | edited_record() | msgpack_lists)
def test_stored_records_decode_or_give_a_bpm_error(raw: bytes) -> None:
    _record_contract(raw)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("bpm"), ids=lambda value: str(value)[:40])
def test_bpm_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    _file_contract(tmp_path, raw)
    _record_contract(raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(edited_definition() | st.text(max_size=2000) | json_values.map(json.dumps))
def test_definition_long(text: str) -> None:
    _definition_contract(text)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(st.binary(max_size=2000) | edited_record() | msgpack_lists)
def test_stored_records_long(raw: bytes) -> None:
    _record_contract(raw)
