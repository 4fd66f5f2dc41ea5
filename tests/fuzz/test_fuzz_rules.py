"""Fuzzing the rule language (``cmnode rules check``) and the rules contract's stored records.

Contract: a rule file checks or raises a ``RulesError`` (syntax and type errors
with a line and column), and stored bytes decode or raise a ``RulesError``;
never another exception.
"""
from __future__ import annotations

from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.rules.check import check_file, check_source
from middleware.rules.codec import pack_fact, pack_index, pack_templates, unpack_fact, unpack_index, unpack_templates
from middleware.rules.compiler import RuleSet
from middleware.rules.errors import PositionedError, RulesError
from middleware.rules.templates import Fact
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_record, edited_text

EXAMPLE = (Path(__file__).parents[2] / "examples" / "rules" / "discount.rules").read_text()
TOKENS = ["template", "rule", "extends", "salience", "no_loop", "lock_on_active", "when", "then", "update", "insert",
          "retract", "emit", "and", "or", "not", "true", "false", "{", "}", "(", ")", ";", ":", ",", ".", "=", "==",
          "!=", "<", "<=", "+", "-", "*", "/", "%", "!", "&&", "||", "$o", "$o.amount", "Order", "amount", "int",
          "string", "bool", "address", '"r"', '"\\', "0", "-1", "0x" + "ab" * 20, "9" * 100, "//", "\n", " ", "é"]
TEMPLATES = RuleSet.parse(EXAMPLE).templates

rule_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), max_size=80).map(" ".join)


edited_example = edited_text(EXAMPLE, TOKENS)


def _source_contract(source: str) -> None:
    try:
        check_source(source)
    except PositionedError as exc:
        assert exc.line >= 1 and exc.column >= 1
    except RulesError:
        pass


def _file_contract(folder: Path, raw: bytes) -> None:
    path = folder / "fuzz.rules"
    path.write_bytes(raw)
    try:
        check_file(path)
    except RulesError:
        pass


def _record_contract(raw: bytes) -> None:
    for decode in (unpack_templates, unpack_index, lambda data: unpack_fact(TEMPLATES, 1, data)):
        try:
            decode(raw)
        except RulesError:
            pass


VALID_RECORDS = [
    pack_templates(TEMPLATES),
    pack_index(3, [1, 2], [(0, (1, 2))]),
    pack_fact(Fact(1, TEMPLATES["Order"], (1, b"\x01" * 20, 2000, 0))),
]


@FUZZ
@given(rule_text | edited_example | st.text(max_size=200))
def test_rule_source_checks_or_gives_a_rules_error(source: str) -> None:
    _source_contract(source)


@FUZZ
@given(st.binary(max_size=300) | edited_record(VALID_RECORDS) | st.recursive(
    st.integers(-2**63, 2**64 - 1) | st.binary(max_size=40) | st.text(max_size=10) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4), max_leaves=10).map(msgpack.packb))
def test_stored_records_decode_or_give_a_rules_error(raw: bytes) -> None:
    _record_contract(raw)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("rules"), ids=lambda value: str(value)[:40])
def test_rules_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    _file_contract(tmp_path, raw)
    _record_contract(raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(rule_text | edited_example | st.text(max_size=2000))
def test_rule_source_long(source: str) -> None:
    _source_contract(source)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(st.binary(max_size=2000) | edited_record(VALID_RECORDS))
def test_stored_records_long(raw: bytes) -> None:
    _record_contract(raw)
