"""Overrides, access lists, proofs, simulation, headers and predeploys over JSON-RPC, against a real application.

Results are validated against the execution-apis schemas; proofs are
verified against the block's ``stateRoot`` with the trie library's verifier.
"""
from __future__ import annotations

import json
import time
from typing import Any

import eth_abi
import pytest
import rlp
from eth.rlp.accounts import Account as TrieAccount
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from trie import HexaryTrie

from cybermiles_node.rpc_backend import ReadLimits
from genesis.predeploys import CREATE2_DEPLOYER_ADDRESS, MULTICALL3_ADDRESS, MULTICALL3_CODE_HASH
from rpc.config import RPCConfig
from rpc.dev_signing import DevSigningAPI
from rpc.server import build_dispatcher
from tests.test_application import CHAIN_ID, GWEI, Proposer
from tests.test_rpc import assert_matches_spec
from tests.test_rpc_cmt import Rpc

STORE = "0x6000356020355500"  # stores the word calldata[0] at slot calldata[32]
# Returns SLOAD(calldata[0]).
READ = "0x600035545f5260205ff3"
LOOP = "0x5b5f56"  # JUMPDEST PUSH0 JUMP: runs until its gas is gone
TARGET = "0x" + "77" * 20


def hx(value: int) -> str:
    return hex(value)


def word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


@pytest.fixture
def rpc(open_node, validator_key, genesis, dev_keys):
    """A chain of two blocks: block 1 deploys a storage contract holding slot 5 = 0x2a."""
    proposer = Proposer(open_node("a"), validator_key, genesis)
    deployer = dev_keys[3]
    init = bytes.fromhex("602a6005556008600f5f3960085ff3") + bytes.fromhex(STORE[2:])
    fields = {"nonce": 0, "value": 0, "gas": 200_000, "data": init, "maxFeePerGas": 5 * GWEI,
              "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}
    proposer.decide(proposer.propose([bytes(deployer.sign_transaction(fields).raw_transaction)]))
    proposer.decide(proposer.propose())
    client = Rpc(proposer.node)
    contract = "0x" + keccak(rlp.encode([bytes.fromhex(deployer.address[2:]), 0]))[12:].hex()
    yield client, contract, deployer.address.lower()
    client.backend.close()


def test_call_overrides_balance_code_state_and_block(rpc) -> None:
    client, contract, sender = rpc
    read5 = {"from": sender, "to": TARGET, "input": "0x" + (5).to_bytes(32, "big").hex()}
    plain = client("eth_call", {**read5, "to": contract, "input": STORE}, "latest")
    assert plain == "0x"
    overrides = {TARGET: {"code": READ, "stateDiff": {word(5): word(7)}}}
    assert client("eth_call", read5, "latest", overrides) == word(7)
    assert_matches_spec("eth_call", client("eth_call", read5, "latest", overrides))
    # The contract's real slot 5 is 0x2a; a full `state` replaces it, a `stateDiff` keeps the others.
    contract_read = {"from": sender, "to": contract, "input": word(5)}
    code_swap = {contract: {"code": READ}}
    assert client("eth_call", contract_read, "latest", code_swap) == word(0x2A)
    assert client("eth_call", contract_read, "latest", {contract: {"code": READ, "state": {word(6): word(1)}}}) == word(0)
    rich = {"from": "0x" + "ab" * 20, "to": TARGET, "value": hx(10**30)}
    assert client.error("eth_call", rich)["message"] == "insufficient funds for gas * price + value"
    assert client("eth_call", rich, "latest", {"0x" + "ab" * 20: {"balance": hx(2 * 10**30)}}) == "0x"
    number = {"from": sender, "to": TARGET, "input": "0x"}
    block_view = {TARGET: {"code": "0x435f5260205ff3"}}  # returns NUMBER
    assert client("eth_call", number, "latest", block_view, {"number": "0x99"}) == word(0x99)
    gas = client("eth_estimateGas", {"from": sender, "to": TARGET, "input": word(5)}, "latest", overrides)
    assert int(gas, 16) > 21_000
    assert_matches_spec("eth_estimateGas", gas)


@pytest.mark.parametrize(("params", "code", "message"), [
    ([{TARGET: {"state": {}, "stateDiff": {}}}], -32602,
     f"invalid argument 2: account {TARGET} has both 'state' and 'stateDiff'"),
    ([{TARGET: {"balance": "12"}}], -32602, f"invalid argument 2: account {TARGET}: balance: hex string without 0x prefix"),
    ([{TARGET: {"nonce": "0x10000000000000000"}}], -32602, f"invalid argument 2: account {TARGET}: nonce: hex number > 64 bits"),
    ([{TARGET: {"stateDiff": {"0x01": word(1)}}}], -32602,
     f"invalid argument 2: account {TARGET}: stateDiff: hex string has length 2, want 64"),
    ([{TARGET: {"codeHash": "0x"}}], -32602, f"invalid argument 2: account {TARGET}: unknown field 'codeHash'"),
    ([{"0x12": {}}], -32602, "invalid argument 2: hex string has length 2, want 40"),
    ([{}, {"number": 5}], -32602, "invalid argument 3: number: cannot unmarshal number into a hex quantity"),
    ([{}, {"difficulty": "0x1"}], -32602, "invalid argument 3: unsupported block override field 'difficulty'"),
])
def test_bad_overrides_get_invalid_params_in_geths_words(rpc, params, code, message) -> None:
    client, _, sender = rpc
    error = client.error("eth_call", {"from": sender, "to": TARGET}, "latest", *params)
    assert (error["code"], error["message"]) == (code, message)


def test_calls_and_estimates_ignore_a_nonce_ahead_of_the_account(rpc) -> None:
    client, contract, sender = rpc
    call = {"from": sender, "to": contract, "input": STORE, "nonce": "0x5"}
    assert client("eth_call", call) == "0x"
    assert int(client("eth_estimateGas", call), 16) > 21_000


def test_proofs_verify_against_the_blocks_state_root(rpc) -> None:
    client, contract, sender = rpc
    block = client("eth_getBlockByNumber", "0x1", False)
    proof = client("eth_getProof", contract, ["0x5", word(6)], "0x1")
    assert_matches_spec("eth_getProof", proof)
    root = bytes.fromhex(block["stateRoot"][2:])
    nodes = [rlp.decode(bytes.fromhex(node[2:])) for node in proof["accountProof"]]
    account = rlp.decode(HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(contract[2:])), nodes), sedes=TrieAccount)
    assert "0x" + account.storage_root.hex() == proof["storageHash"]
    assert "0x" + account.code_hash.hex() == proof["codeHash"] == "0x" + keccak(bytes.fromhex(STORE[2:])).hex()
    assert [entry["key"] for entry in proof["storageProof"]] == ["0x5", word(6)]
    five, six = proof["storageProof"]
    assert (five["value"], six["value"]) == ("0x2a", "0x0")
    for entry, slot in ((five, 5), (six, 6)):
        stored = HexaryTrie.get_from_proof(account.storage_root, keccak(slot.to_bytes(32, "big")),
                                           [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]])
        assert (rlp.decode(stored, sedes=rlp.sedes.big_endian_int) if stored else 0) == int(entry["value"], 16)
    eoa = client("eth_getProof", sender, [], "latest")
    assert int(eoa["nonce"], 16) == 1 and eoa["storageProof"] == []
    assert client.error("eth_getProof", contract, ["0x" + "1" * 65], "latest")["code"] == -32602


def test_access_list_of_a_call_reading_another_contract(rpc) -> None:
    client, contract, sender = rpc
    # The called code asks the contract (given code that reads a slot) for its slot 5 by STATICCALL.
    proxy = "0x" + bytes.fromhex(
        "7f" + (5).to_bytes(32, "big").hex() + "5f52"  # mstore(0, 5)
        + "60205f60205f73" + contract[2:] + "5afa50" + "60205ff3"  # staticcall(gas, contract, 0, 32, 0, 32); return
    ).hex()
    call = {"from": sender, "to": TARGET}
    result = client("eth_createAccessList", call, "latest", {TARGET: {"code": proxy}, contract: {"code": READ}})
    assert_matches_spec("eth_createAccessList", result)
    assert result["accessList"] == [{"address": contract, "storageKeys": [word(5)]}]
    assert int(result["gasUsed"], 16) > 21_000
    reverted = client("eth_createAccessList", {"from": sender, "to": TARGET}, "latest", {TARGET: {"code": "0x5f5ffd"}})
    assert reverted["error"] == "execution reverted"


def test_simulation_of_two_blocks_matches_the_schema(rpc) -> None:
    client, contract, sender = rpc
    payload = {
        "blockStateCalls": [
            {"calls": [{"from": sender, "to": contract, "input": word(5) + (9).to_bytes(32, "big").hex()},
                       {"from": sender, "to": TARGET, "value": "0x1"}]},
            {"blockOverrides": {"number": "0x9", "time": hx(2_000_000_000)},
             "stateOverrides": {TARGET: {"code": READ}},
             "calls": [{"from": sender, "to": contract, "input": "0x"}, {"from": sender, "to": TARGET, "input": word(0)},
                       {"from": sender, "to": TARGET, "gas": "0x5208"}]},
        ],
        "traceTransfers": True,
    }
    blocks = client("eth_simulateV1", payload, "latest")
    assert_matches_spec("eth_simulateV1", blocks)
    assert [b["number"] for b in blocks] == [hx(n) for n in range(3, 10)]  # block 9 after empty blocks 4..8
    first, last = blocks[0], blocks[-1]
    assert [c["status"] for c in first["calls"]] == ["0x1", "0x1"]
    assert first["calls"][1]["logs"][0]["address"] == "0x" + "ee" * 20
    assert last["timestamp"] == hx(2_000_000_000)
    assert [c["status"] for c in last["calls"]] == ["0x1", "0x1", "0x0"]
    assert last["calls"][2]["error"]["code"] == -32015
    assert blocks[1]["parentHash"] == first["hash"]
    stale = {"from": sender, "to": TARGET, "nonce": "0x0", "maxFeePerGas": hx(10 * GWEI)}
    bad_nonce = {"blockStateCalls": [{"calls": [stale]}], "validation": True}
    error = client.error("eth_simulateV1", bad_nonce)
    assert error["code"] == -38010
    backwards = {"blockStateCalls": [{"blockOverrides": {"number": "0x1"}}]}
    assert client.error("eth_simulateV1", backwards)["code"] == -38020
    too_many = {"blockStateCalls": [{}] * 257}
    assert client.error("eth_simulateV1", too_many)["code"] == -32602


def test_a_huge_simulation_stops_at_the_call_deadline(open_node, validator_key, genesis) -> None:
    proposer = Proposer(open_node("a"), validator_key, genesis)
    proposer.decide(proposer.propose())
    client = Rpc(proposer.node, ReadLimits(call_timeout_seconds=0.5))
    loops = {"blockStateCalls": [{"stateOverrides": {TARGET: {"code": LOOP}}, "calls": [{"to": TARGET, "gas": hx(7_000_000)}] * 4}] * 64}
    started = time.monotonic()
    error = client.error("eth_simulateV1", loops)
    assert time.monotonic() - started < 10
    assert error["message"] == "execution aborted (timeout = 0.5s)"
    client.backend.close()


def test_headers_uncles_and_blob_base_fee(rpc) -> None:
    client, _, _ = rpc
    header = client("eth_getHeaderByNumber", "0x1")
    block = client("eth_getBlockByNumber", "0x1", False)
    assert header == {k: v for k, v in block.items() if k not in ("transactions", "uncles", "size")}
    assert client("eth_getHeaderByHash", block["hash"]) == header
    assert client("eth_getHeaderByNumber", "0x99") is None
    assert client("eth_getUncleByBlockNumberAndIndex", "0x1", "0x0") is None
    assert client("eth_getUncleByBlockHashAndIndex", block["hash"], "0x0") is None
    assert client("eth_blobBaseFee") == "0x1"
    assert_matches_spec("eth_blobBaseFee", client("eth_blobBaseFee"))


def test_multicall3_and_the_create2_deployer_are_predeployed(rpc) -> None:
    client, contract, sender = rpc
    code = client("eth_getCode", "0x" + MULTICALL3_ADDRESS.hex(), "0x0")
    assert keccak(bytes.fromhex(code[2:])) == MULTICALL3_CODE_HASH
    calls = [(bytes.fromhex(contract[2:]), False, bytes.fromhex(word(5)[2:])),
             (bytes.fromhex(contract[2:]), True, b"")]
    data = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])") + eth_abi.encode(
        ["(address,bool,bytes)[]"], [calls])
    read = {"to": to_checksum_address(MULTICALL3_ADDRESS), "input": "0x" + data.hex(),
            "from": sender}
    (results,) = eth_abi.decode(["(bool,bytes)[]"], bytes.fromhex(client("eth_call", read)[2:]))
    assert results == ((True, b""), (True, b""))
    salt, init = b"\x01" * 32, bytes.fromhex("600a600a5f39600a5ff3") + bytes.fromhex("602a5f5260205ff3").ljust(10, b"\x00")
    deployed = client("eth_call", {"from": sender, "to": "0x" + CREATE2_DEPLOYER_ADDRESS.hex(),
                                   "input": "0x" + (salt + init).hex()})
    expected = keccak(b"\xff" + CREATE2_DEPLOYER_ADDRESS + salt + keccak(init))[12:]
    assert bytes.fromhex(deployed[2:]) == expected


def test_message_signing_only_where_the_node_holds_the_dev_keys(rpc, dev_keys) -> None:
    client, _, _ = rpc
    assert client.error("eth_sign", dev_keys[0].address, "0x01")["code"] == -32601
    keys = {bytes.fromhex(key.address[2:]): bytes(key.key) for key in dev_keys}
    dispatcher, _ = build_dispatcher(client.backend, RPCConfig(), [DevSigningAPI(keys)])
    client.dispatcher = dispatcher
    signer = dev_keys[2].address
    signature = client("eth_sign", signer, "0x" + b"hello".hex())
    assert Account.recover_message(encode_defunct(b"hello"), signature=signature) == signer
    assert client("personal_sign", "0x" + b"hello".hex(), signer) == signature
    typed = {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}], "Mail": [{"name": "note", "type": "string"}]},
        "primaryType": "Mail", "domain": {"name": "Shop"}, "message": {"note": "paid"},
    }
    typed_signature = client("eth_signTypedData_v4", signer, json.dumps(typed))
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=typed_signature) == signer
    assert client("eth_signTypedData_v4", signer, typed) == typed_signature
    assert client.error("eth_sign", "0x" + "12" * 20, "0x01") == {"code": -32000, "message": "unknown account"}
    broken = client.error("eth_signTypedData_v4", signer, {**typed, "primaryType": "Nope"})
    assert broken["code"] == -32602 and broken["message"].startswith("invalid argument 1: invalid typed data")
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    too_deep = client.error("eth_signTypedData_v4", signer, {**typed, "message": {"note": deep}})
    assert too_deep == {"code": -32602, "message": "invalid argument 1: typed data nested deeper than 32 levels"}
