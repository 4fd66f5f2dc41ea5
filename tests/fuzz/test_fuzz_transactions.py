"""Fuzzing raw transactions: random bytes, byte edits and field edits of valid signed transactions.

Contract: ``decode_transaction`` returns a transaction whose sender recovers,
or raises ``InvalidTransaction``; never another exception.
"""
from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.test_vm_transactions import CHAIN_ID, SENDER, VALID_ENCODINGS
from vm.errors import InvalidTransaction
from vm.transactions import decode_transaction

rlp_items = st.recursive(st.binary(max_size=40), lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@st.composite
def byte_edits(draw: st.DrawFn) -> bytes:
    """A valid encoding with bytes replaced, inserted or cut."""
    raw = bytearray(draw(st.sampled_from(VALID_ENCODINGS)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw) - 1))
        action = draw(st.sampled_from(["replace", "insert", "cut"]))
        if action == "replace":
            raw[at] = draw(st.integers(0, 255))
        elif action == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[at:]
        if not raw:
            break
    return bytes(raw)


@st.composite
def field_edits(draw: st.DrawFn) -> bytes:
    """A valid encoding with one RLP field replaced by any item (a string or nested lists)."""
    raw = draw(st.sampled_from(VALID_ENCODINGS))
    prefix, payload = (raw[:1], raw[1:]) if raw[0] <= 0x7F else (b"", raw)
    fields = rlp.decode(payload)
    fields[draw(st.integers(0, len(fields) - 1))] = draw(rlp_items)
    return prefix + rlp.encode(fields)


def _transaction_contract(raw: bytes) -> None:
    try:
        tx = decode_transaction(raw, CHAIN_ID)
    except InvalidTransaction:
        return
    assert len(tx.sender) == 20
    assert raw not in VALID_ENCODINGS or tx.sender == SENDER


transaction_bytes = st.binary(max_size=300) | byte_edits() | field_edits()


@FUZZ
@given(transaction_bytes)
def test_raw_transactions_decode_or_are_invalid(raw: bytes) -> None:
    _transaction_contract(raw)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("transactions"), ids=lambda value: str(value)[:40])
def test_transactions_corpus(name: str, raw: bytes) -> None:
    _transaction_contract(raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(transaction_bytes)
def test_raw_transactions_long(raw: bytes) -> None:
    _transaction_contract(raw)
