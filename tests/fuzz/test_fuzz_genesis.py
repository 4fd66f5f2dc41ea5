"""Fuzzing genesis files: raw bytes, JSON-like text and edits of a valid document.

Contract: ``load_genesis`` returns a validated document or raises a
``GenesisError`` naming the file, never another exception.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis.errors import GenesisError
from genesis.loader import load_genesis
from genesis.networks import local_genesis
from genesis.validation import CONSENSUS_TIMEOUT_RANGES
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_json, json_values

VALID = local_genesis(bytes.fromhex("58" + "66" * 31), genesis_time=1_700_000_000).to_json()  # the ed25519 base point
FRAGMENTS = ["{", "}", "[", "]", ",", ":", '"', "\\", '"a"', "0", "-1", "1e400", "NaN", "true", "null",
             '"0x"', '"0x00"', "9" * 5000, " ", "\n", "\x00", "é", "\ud800"]

genesis_values = json_values | st.sampled_from(["0x", "0x" + "00" * 20, "1" * 80, "-5", ""])


@st.composite
def consensus_values(draw: st.DrawFn) -> bytes:
    """The local genesis with consensus timeouts and limits anywhere around their bounds."""
    document = json.loads(json.dumps(VALID))
    name = draw(st.sampled_from([*CONSENSUS_TIMEOUT_RANGES, "max_block_bytes", "max_tx_bytes"]))
    document["consensus"][name] = draw(st.integers(-10, 10) | st.integers(-2**70, 2**70))
    return json.dumps(document).encode()


genesis_bytes = (st.binary(max_size=200) | st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass"))
                 | edited_json(VALID, genesis_values).map(lambda document: json.dumps(document).encode())
                 | consensus_values())


def _genesis_contract(folder: Path, raw: bytes) -> None:
    path = folder / "genesis.json"
    path.write_bytes(raw)
    try:
        document = load_genesis(path)
    except GenesisError as exc:
        assert str(exc).startswith(str(path))
        return
    for name, (low, high) in CONSENSUS_TIMEOUT_RANGES.items():
        assert low <= getattr(document.consensus, name) <= high


@FUZZ
@given(genesis_bytes)
def test_genesis_is_a_document_or_a_genesis_error(tmp_path: Path, raw: bytes) -> None:
    _genesis_contract(tmp_path, raw)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("genesis"), ids=lambda value: str(value)[:40])
def test_genesis_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    _genesis_contract(tmp_path, raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(genesis_bytes)
def test_genesis_long(tmp_path: Path, raw: bytes) -> None:
    _genesis_contract(tmp_path, raw)
