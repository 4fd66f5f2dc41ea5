"""Fuzzing genesis files: raw bytes, JSON-like text and edits of a valid document.

Contract: ``load_genesis`` returns a validated document or raises a
``GenesisError`` naming the file, never another exception.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis.errors import GenesisError
from genesis.loader import load_genesis
from genesis.networks import local_genesis
from genesis.validation import CONSENSUS_TIMEOUT_RANGES
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs

VALID = local_genesis(bytes.fromhex("58" + "66" * 31), genesis_time=1_700_000_000).to_json()  # the ed25519 base point
FRAGMENTS = ["{", "}", "[", "]", ",", ":", '"', "\\", '"a"', "0", "-1", "1e400", "NaN", "true", "null",
             '"0x"', '"0x00"', "9" * 5000, " ", "\n", "\x00", "é", "\ud800"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["0x", "0x" + "00" * 20, "1" * 80, "-5", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _paths(item, (*prefix, index))
    return found


PATHS = [path for path in _paths(VALID) if path]


@st.composite
def edited_document(draw: st.DrawFn) -> bytes:
    """The local network's genesis with one to three values replaced (or removed)."""
    document = json.loads(json.dumps(VALID))
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
    return json.dumps(document).encode()


@st.composite
def consensus_values(draw: st.DrawFn) -> bytes:
    """The local genesis with consensus timeouts and limits anywhere around their bounds."""
    document = json.loads(json.dumps(VALID))
    name = draw(st.sampled_from([*CONSENSUS_TIMEOUT_RANGES, "max_block_bytes", "max_tx_bytes"]))
    document["consensus"][name] = draw(st.integers(-10, 10) | st.integers(-2**70, 2**70))
    return json.dumps(document).encode()


genesis_bytes = (st.binary(max_size=200) | st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass")) | edited_document() | consensus_values())


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
