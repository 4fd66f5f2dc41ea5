"""Fuzzing BPM process definitions (``cmnode bpm check``) and the workflow contract's stored records.

Contract: a definition validates or raises a ``DefinitionError``, and stored
bytes decode or raise a ``BpmError``; never another exception.
"""
from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.bpm.check import check_file
from middleware.bpm.definition import parse_definition
from middleware.bpm.errors import BpmError, DefinitionError
from middleware.bpm.instance import HistoryEntry, Instance, Token
from middleware.bpm.records import InstanceRecord, decode_history, decode_instance, definition_id_of, encode_history
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_json, edited_record, json_values

EXAMPLE_TEXT = (Path(__file__).parents[2] / "examples" / "bpm" / "order-escrow.json").read_text()
EXAMPLE = json.loads(EXAMPLE_TEXT)
DEFINITION = parse_definition(EXAMPLE_TEXT)

bpm_values = json_values | st.sampled_from(["int", "string", "bool", "address", "buyer", "created", "amount > 0"])
edited_definition = edited_json(EXAMPLE, bpm_values).map(json.dumps)


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
    InstanceRecord(1, Instance((Token("created", 5),), tuple(bytes([i]) * 20 for i in range(len(DEFINITION.roles))),
                               (100, "1Z999", "", False)), 0, 1).encode(DEFINITION),
]


msgpack_lists = st.lists(
    st.integers(-2**63, 2**64 - 1) | st.binary(max_size=40) | st.text(max_size=10) | st.booleans() | st.none()
    | st.lists(st.binary(max_size=21), max_size=3), min_size=5, max_size=10).map(lambda items: msgpack.packb(items))


@FUZZ
@given(edited_definition | st.text(max_size=200) | json_values.map(json.dumps))
def test_definition_validates_or_gives_a_definition_error(text: str) -> None:
    _definition_contract(text)


@FUZZ
@given(st.binary(max_size=300) | edited_record(VALID_RECORDS) | msgpack_lists)
def test_stored_records_decode_or_give_a_bpm_error(raw: bytes) -> None:
    _record_contract(raw)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("bpm"), ids=lambda value: str(value)[:40])
def test_bpm_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    _file_contract(tmp_path, raw)
    _record_contract(raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(edited_definition | st.text(max_size=2000) | json_values.map(json.dumps))
def test_definition_long(text: str) -> None:
    _definition_contract(text)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(st.binary(max_size=2000) | edited_record(VALID_RECORDS) | msgpack_lists)
def test_stored_records_long(raw: bytes) -> None:
    _record_contract(raw)
