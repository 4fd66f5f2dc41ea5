"""Fuzzing the override, proof, access-list and simulation methods with hostile but well-shaped parameters.

Drawn state overrides (balances, nonces, code, ``state``/``stateDiff``), block
overrides, storage keys and simulation payloads go to the node's real backend;
every answer is a JSON-RPC result or one of the documented errors, never an
internal error (-32603), a crash or a hang.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpc.dispatch import Dispatcher
from tests.fuzz.conftest import FUZZ, FUZZ_LONG
from tests.fuzz.test_fuzz_rpc import answer, assert_no_internal_error, dispatcher, hex_strings, values

__all__ = ["dispatcher"]  # the module fixture, shared

ADDRESSES = st.sampled_from(["0x" + "77" * 20, "0xca11bde05977b3631167028862be2a173976ca11", "0x" + "00" * 20])
WORDS = st.integers(min_value=0, max_value=2**256 - 1).map(lambda n: "0x" + n.to_bytes(32, "big").hex())
CODE = st.one_of(hex_strings, st.sampled_from(["0x5b5f56", "0x5f5ffd", "0x600035545f5260205ff3", "0xfe", "0x"]))
ACCOUNT = st.dictionaries(
    st.sampled_from(["balance", "nonce", "code", "state", "stateDiff", "codeHash"]),
    st.one_of(hex_strings, CODE, st.dictionaries(st.one_of(WORDS, hex_strings), st.one_of(WORDS, hex_strings),
                                                 max_size=3), values),
    max_size=4,
)
STATE = st.dictionaries(st.one_of(ADDRESSES, hex_strings), ACCOUNT, max_size=3)
BLOCK = st.dictionaries(
    st.sampled_from(["number", "time", "gasLimit", "feeRecipient", "prevRandao", "baseFeePerGas", "difficulty"]),
    st.one_of(hex_strings, WORDS, ADDRESSES, values), max_size=4,
)
CALL = st.fixed_dictionaries({}, optional={
    "from": ADDRESSES, "to": ADDRESSES, "input": CODE, "value": hex_strings, "gas": hex_strings, "nonce": hex_strings,
    "maxFeePerGas": hex_strings, "gasPrice": hex_strings,
})
SIMULATION = st.fixed_dictionaries(
    {"blockStateCalls": st.lists(st.fixed_dictionaries({}, optional={
        "blockOverrides": BLOCK, "stateOverrides": STATE, "calls": st.lists(CALL, max_size=3)}), max_size=4)},
    optional={"validation": st.one_of(st.booleans(), values), "traceTransfers": st.booleans()},
)
BLOCKS = st.sampled_from(["latest", "0x0", "earliest", "0x99"])


def requests() -> st.SearchStrategy[tuple[str, list[Any]]]:
    """A method of this surface with drawn parameters."""
    call_args = st.tuples(CALL, BLOCKS, STATE, BLOCK).map(list)
    return st.one_of(
        st.tuples(st.sampled_from(["eth_call", "eth_estimateGas", "eth_createAccessList"]), call_args),
        st.tuples(st.just("eth_getProof"),
                  st.tuples(ADDRESSES, st.lists(st.one_of(hex_strings, WORDS), max_size=4), BLOCKS).map(list)),
        st.tuples(st.just("eth_simulateV1"), st.tuples(SIMULATION, BLOCKS).map(list)),
    )


def check(dispatcher: Dispatcher, request: tuple[str, list[Any]]) -> None:
    method, params = request
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert_no_internal_error(answer(dispatcher, body))


@FUZZ
@given(request=requests())
def test_overrides_proofs_and_simulations_never_fail_inside(dispatcher: Dispatcher, request: tuple[str, list[Any]]) -> None:
    check(dispatcher, request)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(request=requests())
def test_long_overrides_proofs_and_simulations(dispatcher: Dispatcher, request: tuple[str, list[Any]]) -> None:
    check(dispatcher, request)
