"""Fuzzing keystore files: bytes, and edits of a real key file's fields, listed and unlocked.

Contract: ``scan`` lists a file or reports it as malformed, and ``unlock``
returns the right key or raises a ``KeystoreError``; never another
exception, and never a key derivation beyond the keystore's bounds.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_keys import keys
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.keystore import LIGHT_SCRYPT_N, Keystore, KeystoreError
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_json, json_values

PASSWORD = "fuzz"
PRIVATE_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = keys.PrivateKey(PRIVATE_KEY).public_key.to_checksum_address()

keyfile_values = json_values | st.integers(-4, 1 << 12) | st.sampled_from(
    [2**40, 2**20, 2**21 + 1, 10**12, "scrypt", "pbkdf2", "hmac-sha256", "aes-128-ctr", "00" * 16, "00" * 32, "zz" * 32,
     32, 3])


def _keyfile(folder: Path) -> dict[str, Any]:
    store = Keystore(folder, scrypt_n=LIGHT_SCRYPT_N)
    store.import_key(PRIVATE_KEY, PASSWORD)
    path = store.path_of(ADDRESS)
    document = json.loads(path.read_text())
    path.unlink()
    return document


def _edited(keyfile: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """The key file with one or two values replaced or removed, as file bytes."""
    return edited_json(keyfile, keyfile_values, most=2).map(lambda document: json.dumps(document).encode())


def _keystore_contract(folder: Path, raw: bytes) -> None:
    (folder / f"UTC--2026-01-01T00-00-00.000000000Z--{ADDRESS[2:].lower()}").write_bytes(raw)
    store = Keystore(folder)
    store.scan()
    try:
        assert store.unlock(ADDRESS, PASSWORD) == PRIVATE_KEY
    except KeystoreError:
        pass


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _keyfile(tmp_path_factory.mktemp("keyfile"))


def test_keystore_files_list_and_unlock_or_give_a_keystore_error(tmp_path: Path, keyfile: dict[str, Any]) -> None:
    @FUZZ
    @given(st.binary(max_size=200) | _edited(keyfile) | keyfile_values.map(lambda v: json.dumps(v).encode()))
    def check(raw: bytes) -> None:
        _keystore_contract(tmp_path, raw)

    check()


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("keystore"), ids=lambda value: str(value)[:40])
def test_keystore_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    _keystore_contract(tmp_path, raw)


@pytest.mark.fuzz_long
def test_keystore_files_long(tmp_path: Path, keyfile: dict[str, Any]) -> None:
    @settings(FUZZ_LONG)
    @given(st.binary(max_size=2000) | _edited(keyfile))
    def check(raw: bytes) -> None:
        _keystore_contract(tmp_path, raw)

    check()
