"""Fuzzing content identifiers: text and binary CIDs, and bytes32 digests, as users and contracts give them.

Contract: ``Cid.parse``, ``Cid.from_bytes`` and ``parse_digest`` return a value or
raise a ``CidError``, never another exception; an accepted CID writes back as the
very text or bytes it was read from (one form per CID).
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.ipfs.cid import Cid, parse_digest
from cybermiles_node.ipfs.errors import CidError
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_text

RAW_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
DAG_PB_CID = "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"
FRAGMENTS = ["", "b", "B", "Q", "m", "0x", "=", "1", "8", "a", "z", "\u00e9", "\x00", "bafy", "bafk", "bafyrei", "7", "2"]

binaries = st.builds(
    lambda version, codec, hash_code, length, digest: bytes((version, codec, hash_code, length)) + digest,
    st.sampled_from([0, 1, 2, 0x80]), st.sampled_from([0x55, 0x70, 0x71, 0x80]), st.sampled_from([0x12, 0x13]),
    st.sampled_from([0x20, 0x1F, 0x40]), st.binary(min_size=30, max_size=34)) | st.binary(max_size=40)
texts = (st.text(max_size=80) | edited_text(RAW_CID, FRAGMENTS) | edited_text(DAG_PB_CID, FRAGMENTS)
         | st.sampled_from([RAW_CID, DAG_PB_CID]))


def _cid_contract(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    for parse, value, form in ((Cid.parse, text, str), (Cid.from_bytes, raw, Cid.to_bytes)):
        try:
            cid = parse(value)
        except CidError:
            continue
        assert form(cid) == value
    try:
        assert "0x" + parse_digest(text).hex() == text.lower()
    except CidError:
        pass


def test_cids_parse_or_give_a_cid_error() -> None:
    @FUZZ
    @given(texts.map(lambda text: text.encode("utf-8", "surrogatepass")) | binaries)
    def check(raw: bytes) -> None:
        _cid_contract(raw)

    check()


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("cid"), ids=lambda value: str(value)[:40])
def test_cid_corpus(name: str, raw: bytes) -> None:
    _cid_contract(raw)


@pytest.mark.fuzz_long
def test_cids_long() -> None:
    @settings(FUZZ_LONG)
    @given(texts.map(lambda text: text.encode("utf-8", "surrogatepass")) | binaries)
    def check(raw: bytes) -> None:
        _cid_contract(raw)

    check()
