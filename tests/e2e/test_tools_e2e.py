"""End to end: Ethereum tools against ``cmnode start --dev``: web3.py, ethers v6 and viem.

web3.py reads with state overrides, verifies ``eth_getProof`` against the
block's state root and deploys through the CREATE2 deployer; ethers sends two
transactions back to back and has the node's development accounts sign
messages; viem's ``multicall`` finds Multicall3 and ``simulateBlocks`` runs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rlp
from eth.rlp.accounts import Account as TrieAccount
from eth_hash.auto import keccak
from trie import HexaryTrie
from web3 import Web3

from genesis.predeploys import CREATE2_DEPLOYER_ADDRESS, MULTICALL3_ADDRESS, MULTICALL3_CODE_HASH
from tests.e2e.nodeproc import NodeProcess, dev_account

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
JS = Path(__file__).parent / "js"
READ_SLOT = bytes.fromhex("600035545f5260205ff3")  # returns SLOAD(calldata[0])


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory):
    """A node started with ``cmnode start --dev`` on a home it creates."""
    proc = NodeProcess(tmp_path_factory.mktemp("tools") / "home", block_interval_ms=300)
    proc.start(dev=True)
    yield proc
    proc.stop()


def node_js(script: str, *args: str) -> dict:
    if shutil.which("node") is None or not (REPO / "node_modules" / "viem").is_dir():
        pytest.fail("Node.js and `npm ci` (ethers, viem) are required for the JavaScript client tests")
    result = subprocess.run(["node", str(JS / script), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_web3py_overrides_proofs_and_a_create2_deployment(dev_node: NodeProcess) -> None:
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    me = dev_account(15)
    target = Web3.to_checksum_address("0x" + "77" * 20)
    overrides = {target: {"code": "0x" + READ_SLOT.hex(), "stateDiff": {"0x" + "00" * 31 + "05": "0x" + "00" * 31 + "2a"}}}
    answer = w3.eth.call({"from": me.address, "to": target, "data": "0x" + (5).to_bytes(32, "big").hex()},
                         "latest", overrides)
    assert int.from_bytes(answer, "big") == 0x2A

    assert keccak(bytes(w3.eth.get_code(Web3.to_checksum_address(MULTICALL3_ADDRESS)))) == MULTICALL3_CODE_HASH
    salt = b"\x05" * 32
    runtime = bytes.fromhex("602a5f5260205ff3")  # returns 42
    init = bytes.fromhex("6008600a5f3960085ff3") + runtime
    deployer = Web3.to_checksum_address(CREATE2_DEPLOYER_ADDRESS)
    tx = {"to": deployer, "data": salt + init, "gas": 200_000, "nonce": w3.eth.get_transaction_count(me.address),
          "maxFeePerGas": 10 * w3.eth.gas_price, "maxPriorityFeePerGas": 1, "chainId": w3.eth.chain_id, "value": 0}
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(me.sign_transaction(tx).raw_transaction), timeout=30)
    assert receipt.status == 1
    created = keccak(b"\xff" + CREATE2_DEPLOYER_ADDRESS + salt + keccak(init))[12:]
    assert bytes(w3.eth.get_code(Web3.to_checksum_address(created))) == runtime

    block = w3.eth.get_block(receipt.blockNumber)
    proof = w3.eth.get_proof(Web3.to_checksum_address(created), [0], receipt.blockNumber)
    nodes = [rlp.decode(bytes(node)) for node in proof.accountProof]
    account = rlp.decode(HexaryTrie.get_from_proof(bytes(block.stateRoot), keccak(created), nodes), sedes=TrieAccount)
    assert account.code_hash == keccak(runtime) == bytes(proof.codeHash)
    assert account.nonce == proof.nonce == 1


def test_ethers_sends_back_to_back_and_dev_accounts_sign(dev_node: NodeProcess) -> None:
    report = node_js("tools_ethers.mjs", dev_node.url)
    assert report["statuses"] == [1, 1]
    assert report["nonces"][1] == report["nonces"][0] + 1
    assert int(report["estimateAhead"]) == 21_000
    assert report["balance"] == "3"
    assert report["messageSigner"] == report["typedSigner"] == report["signer"] == dev_account(0).address


def test_viem_multicall_and_simulate_blocks(dev_node: NodeProcess) -> None:
    account = dev_account(18).address
    report = node_js("tools_viem.mjs", dev_node.url, account)
    assert report["statuses"] == ["success"] * 3
    assert report["chainId"] == "15"
    assert report["multicallBalance"] == report["balance"]
    assert (report["simulatedStatus"], report["simulatedLogs"]) == ("success", 1)
