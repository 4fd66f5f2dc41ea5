"""Fuzzing the JSON-RPC surface: raw bodies and well-formed requests with hostile parameters.

The contract: every body gets a JSON-RPC answer in strict JSON (no NaN or
Infinity), malformed input gets -32700, -32600, -32601 or -32602 (or a
method's own -32000/-32001/-32005/3 answer), and nothing is ever an internal
error (-32603, which means an exception escaped a method), a crash or a hang.
The methods run against the node's real backend over a real chain database.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.application import CyberMilesApp
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend
from cybermiles_node.storage import ChainStore, LevelDB
from genesis.document import GenesisDocument
from rpc.config import RPCConfig
from rpc.dispatch import Dispatcher
from rpc.server import build_dispatcher
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs

INTERNAL_ERROR = -32603


@pytest.fixture(scope="module")
def dispatcher(tmp_path_factory: pytest.TempPathFactory, genesis: GenesisDocument) -> Iterator[Dispatcher]:
    db = LevelDB(Path(tmp_path_factory.mktemp("fuzz-rpc")) / "chain")
    app = CyberMilesApp(ChainStore(db), genesis)
    backend = NodeBackend(app, Mempool(genesis.chain_id), lambda raw: None)
    rpc_dispatcher, _ = build_dispatcher(backend, RPCConfig())
    yield rpc_dispatcher
    backend.close()
    db.close()


def answer(dispatcher: Dispatcher, body: bytes | str) -> Any:
    """The dispatcher's answer to ``body``, checked to be strict JSON."""
    response = asyncio.run(asyncio.wait_for(dispatcher.handle_body(body), timeout=10))
    if response is not None:
        json.dumps(response, allow_nan=False)
    return response


def errors_of(response: Any) -> list[dict[str, Any]]:
    items = response if isinstance(response, list) else [response] if response is not None else []
    return [item["error"] for item in items if "error" in item]


def assert_no_internal_error(response: Any) -> None:
    for error in errors_of(response):
        assert error["code"] != INTERNAL_ERROR, error


hex_strings = st.from_regex(r"0[xX][0-9a-fA-F]{0,70}", fullmatch=True)
odd_numbers = st.sampled_from(["²", "٣", "1_0", " 1", "0x 1", "0x1_0", "0x٣", "-1", "1e3", "", "0x", "1" * 5000])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), hex_strings, odd_numbers,
    st.sampled_from(["latest", "earliest", "pending", "safe", "finalized", "newHeads", "logs"]),
    st.text(max_size=20),
)
FIELDS = ["from", "to", "data", "input", "gas", "gasPrice", "value", "nonce", "maxFeePerGas",
          "maxPriorityFeePerGas", "accessList", "blockHash", "blockNumber", "fromBlock", "toBlock",
          "address", "topics", "requireCanonical", "chainId", "type"]
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=12,
)


@FUZZ
@given(body=st.binary(max_size=300))
def test_raw_bodies_get_a_json_rpc_answer(dispatcher: Dispatcher, body: bytes) -> None:
    assert_no_internal_error(answer(dispatcher, body))


def check_method_with_params(dispatcher: Dispatcher, data: Any) -> None:
    """Call a method drawn from ``data`` with drawn parameters; no internal error may come back."""
    method = data.draw(st.sampled_from(dispatcher.method_names), label="method")
    params = data.draw(st.one_of(st.lists(values, max_size=4), values), label="params")
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    assert_no_internal_error(answer(dispatcher, json.dumps(request)))


@settings(FUZZ, max_examples=FUZZ.max_examples * 2)
@given(data=st.data())
def test_every_method_with_hostile_params_answers_without_internal_errors(dispatcher: Dispatcher, data: Any) -> None:
    check_method_with_params(dispatcher, data)


@FUZZ
@given(request=st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params"]), values, max_size=4))
def test_malformed_envelopes_are_invalid_requests(dispatcher: Dispatcher, request: dict[str, Any]) -> None:
    response = answer(dispatcher, json.dumps(request))
    assert_no_internal_error(response)


@pytest.mark.parametrize("name,body", corpus_inputs("rpc"), ids=[name for name, _ in corpus_inputs("rpc")] or None)
def test_corpus(dispatcher: Dispatcher, name: str, body: bytes) -> None:
    response = answer(dispatcher, body)
    assert_no_internal_error(response)
    assert errors_of(response), f"{name} was answered without an error"


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(data=st.data())
def test_long_every_method_with_hostile_params(dispatcher: Dispatcher, data: Any) -> None:
    check_method_with_params(dispatcher, data)
