"""End to end: a contract calling a contract and the staking contract, traced over JSON-RPC by a
validator and a full node of a real ``cmnode testnet`` (same call tree), geth and Parity style."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import dev_account, wait_for_height, write_testnet
from tests.test_tracing import INTERFACE, SOURCE

pytestmark = pytest.mark.e2e

CHAIN_ID = 15
STAKING = "0x0000000000000000000000000000000000000c02"


class OneValidatorNet:
    """One validator and one full node, as processes."""

    def __init__(self, output: Path) -> None:
        self.nodes = write_testnet(output, 1, 1)
        self.processes = []
        for index, node in enumerate(self.nodes):
            with open(output / f"node{index}.log", "a") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", node["home"]],
                    stdout=log, stderr=subprocess.STDOUT))

    def w3(self, index: int) -> Web3:
        return Web3(Web3.HTTPProvider(self.nodes[index]["rpc"], request_kwargs={"timeout": 30}))

    def wait_height(self, index: int, height: int, timeout: float = 90) -> None:
        wait_for_height(lambda: self.w3(index).eth.block_number, height, timeout, lambda: f"node {index}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def send(w3: Web3, account: Any, **fields: Any) -> Any:
    tx = {"gas": 3_000_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1, "chainId": CHAIN_ID, "value": 0,
          "nonce": w3.eth.get_transaction_count(account.address, "pending"), **fields}
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt.status != 1:  # the call tree says why it failed
        trace = w3.provider.make_request("debug_traceTransaction",
                                         ["0x" + bytes(tx_hash).hex(), {"tracer": "callTracer"}])
        raise AssertionError(json.dumps(trace))
    return receipt


def call(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


def test_validator_and_full_node_trace_the_same_call_tree(tmp_path: Path) -> None:
    shutil.copy(INTERFACE, tmp_path / "IStaking.sol")
    (tmp_path / "Caller.sol").write_text(SOURCE)
    compiled = compile_file(tmp_path / "Caller.sol")["Caller"]
    net = OneValidatorNet(tmp_path)
    try:
        net.wait_height(0, 1)
        validator, full = net.w3(0), net.w3(1)
        user = dev_account(3)
        deployed = send(validator, user, data="0x" + compiled.bytecode.hex())
        owner = Web3.to_checksum_address(call(validator, "cmt_queryValidators")["data"][0]["owner"])
        run = function_signature_to_4byte_selector("run(uint256,address)") + eth_abi.encode(
            ["uint256", "address"], [5, owner])
        receipt = send(validator, user, to=deployed.contractAddress, data="0x" + run.hex(), value=1_000 * 10**18)
        tx_hash = receipt.transactionHash.hex()
        tx_hash = tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash
        net.wait_height(1, receipt.blockNumber)

        config = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}
        tree = call(validator, "debug_traceTransaction", tx_hash, config)
        assert call(full, "debug_traceTransaction", tx_hash, config) == tree
        assert int(tree["gasUsed"], 16) == receipt.gasUsed
        assert [(c["type"], c["to"].lower()) for c in tree["calls"]][2:] == [("STATICCALL", STAKING),
                                                                           ("CALL", STAKING)]
        assert tree["calls"][1]["error"] == "execution reverted"
        assert tree["calls"][1]["revertReason"] == "callee says no"
        assert int(tree["calls"][3]["value"], 16) == 1_000 * 10**18

        struct = call(full, "debug_traceTransaction", tx_hash, {"disableStorage": True})
        assert struct["gas"] == receipt.gasUsed and not struct["failed"] and len(struct["structLogs"]) > 100
        assert call(validator, "debug_traceTransaction", tx_hash, {"disableStorage": True}) == struct

        flat = call(validator, "trace_transaction", tx_hash)
        assert flat == call(full, "trace_transaction", tx_hash)
        assert [t["traceAddress"] for t in flat] == [[], [0], [1], [2], [3]]
        block = call(full, "trace_block", hex(receipt.blockNumber))
        assert [t for t in block if t["type"] != "reward"] == flat
        rewards = [t for t in block if t["type"] == "reward"]
        assert rewards and rewards == [t for t in call(validator, "trace_block", hex(receipt.blockNumber))
                                       if t["type"] == "reward"]

        replayed = call(full, "trace_replayBlockTransactions", hex(receipt.blockNumber), ["trace", "stateDiff"])
        ours = next(r for r in replayed if r["transactionHash"] == tx_hash)
        assert len(ours["trace"]) == 5 and ours["vmTrace"] is None
        changed = ours["stateDiff"][deployed.contractAddress.lower()]["storage"]
        assert {v["*"]["to"] for v in changed.values()} == {"0x" + (10).to_bytes(32, "big").hex()}  # last = 10
        found = call(validator, "trace_filter", {"fromBlock": hex(receipt.blockNumber),
                                                 "toBlock": hex(receipt.blockNumber),
                                                 "toAddress": [deployed.contractAddress]})
        assert found == flat[:1]
        diff = call(full, "debug_traceBlockByNumber", hex(receipt.blockNumber),
                    {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}})
        assert [entry["txHash"] for entry in diff] == [tx_hash]
        assert user.address.lower() in diff[0]["result"]["post"]
        traced_call = call(validator, "debug_traceCall", {"from": user.address, "to": deployed.contractAddress,
                                                          "data": "0x" + run.hex()}, "latest",
                           {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}})
        assert "calls" not in traced_call and "error" not in traced_call
        assert traced_call["output"] == "0x" + (10).to_bytes(32, "big").hex()
        bad = validator.provider.make_request("debug_traceTransaction", [tx_hash, {"timeout": "soon"}])
        assert bad["error"]["code"] == -32602 and 'time: invalid duration "soon"' in bad["error"]["message"]
    finally:
        net.stop()
