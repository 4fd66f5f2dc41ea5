"""End to end: a real ``cmnode`` process on loopback, LevelDB on disk, driven by web3.py."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.providers.persistent import WebSocketProvider

from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import NodeProcess, dev_account

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHAIN_ID = 15
DEAD = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(scope="module")
def token_artifact():
    return compile_file(REPO / "examples" / "contracts" / "Token.sol")["Token"]


def send(w3: Web3, account, tx: dict) -> dict:
    tx = {"chainId": CHAIN_ID, "nonce": w3.eth.get_transaction_count(account.address, "pending"), **tx}
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)


def deploy_token(w3: Web3, artifact, owner) -> object:
    contract = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = contract.constructor("Shop Credit", "SHOP", 10**24).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending"), "chainId": CHAIN_ID}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction), timeout=30
    )
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def test_transfers_of_every_transaction_type(w3: Web3) -> None:
    sender, recipient = dev_account(3), Account.create()
    base_fee = w3.eth.get_block("latest").baseFeePerGas
    legacy = send(w3, sender, {"to": recipient.address, "value": 1, "gas": 21000, "gasPrice": 2 * base_fee})
    access_list = send(w3, sender, {"to": recipient.address, "value": 2, "gas": 30000, "gasPrice": 2 * base_fee,
                                    "accessList": [{"address": DEAD, "storageKeys": []}]})
    dynamic = send(w3, sender, {"to": recipient.address, "value": 3, "gas": 21000,
                                "maxFeePerGas": 2 * base_fee, "maxPriorityFeePerGas": 7})
    assert [r.status for r in (legacy, access_list, dynamic)] == [1, 1, 1]
    assert [r.type for r in (legacy, access_list, dynamic)] == [0, 1, 2]
    assert w3.eth.get_balance(recipient.address) == 6
    block = w3.eth.get_block(dynamic.blockNumber)
    assert dynamic.effectiveGasPrice == block.baseFeePerGas + 7
    assert w3.eth.get_transaction(dynamic.transactionHash)["from"] == sender.address


def test_unprotected_and_wrong_chain_transactions_are_refused(w3: Web3) -> None:
    sender = dev_account(4)
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    unprotected = sender.sign_transaction({"to": DEAD, "value": 1, "gas": 21000, "gasPrice": 10**10, "nonce": nonce})
    with pytest.raises(Web3RPCError, match="replay-protected"):
        w3.eth.send_raw_transaction(unprotected.raw_transaction)
    wrong_chain = sender.sign_transaction(
        {"to": DEAD, "value": 1, "gas": 21000, "gasPrice": 10**10, "nonce": nonce, "chainId": 1}
    )
    with pytest.raises(Web3RPCError, match="invalid chain id"):
        w3.eth.send_raw_transaction(wrong_chain.raw_transaction)
    poor = Account.create()
    broke = poor.sign_transaction({"to": DEAD, "value": 1, "gas": 21000, "gasPrice": 10**10, "nonce": 0, "chainId": CHAIN_ID})
    with pytest.raises(Web3RPCError, match=r"insufficient funds for gas \* price \+ value"):
        w3.eth.send_raw_transaction(broke.raw_transaction)


def test_erc20_deploy_transfer_logs_and_revert_reasons(w3: Web3, token_artifact) -> None:
    owner, buyer = dev_account(5), Account.create()
    token = deploy_token(w3, token_artifact, owner)
    tx = token.functions.transfer(buyer.address, 1234).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending"), "chainId": CHAIN_ID}
    )
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction))
    assert receipt.status == 1
    assert token.functions.balanceOf(buyer.address).call() == 1234

    events = token.events.Transfer().process_receipt(receipt)
    assert events[0].args.to == buyer.address and events[0].args.value == 1234
    transfer_topic = Web3.keccak(text="Transfer(address,address,uint256)")
    logs = w3.eth.get_logs({
        "fromBlock": 0, "toBlock": "latest", "address": token.address,
        "topics": [transfer_topic, None, "0x" + "00" * 12 + buyer.address[2:].lower()],
    })
    assert [log.transactionHash for log in logs] == [receipt.transactionHash]
    assert w3.eth.get_block(receipt.blockNumber).hash == logs[0].blockHash

    with pytest.raises(ContractLogicError, match="ERC20: transfer amount exceeds balance"):
        token.functions.transfer(owner.address, 10**30).call({"from": buyer.address})
    with pytest.raises(ContractLogicError, match="ERC20: transfer amount exceeds balance"):
        token.functions.transfer(owner.address, 10**30).estimate_gas({"from": owner.address})
    failing = token.functions.transfer(buyer.address, 10**30).build_transaction({
        "from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending"),
        "chainId": CHAIN_ID, "gas": 100_000,
    })
    failed = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(owner.sign_transaction(failing).raw_transaction))
    assert failed.status == 0
    assert token.functions.balanceOf(buyer.address).call() == 1234


def test_websocket_logs_subscription_delivers_committed_transfer(node: NodeProcess, w3: Web3, token_artifact) -> None:
    owner = dev_account(6)
    token = deploy_token(w3, token_artifact, owner)
    receiver = Account.create().address

    async def scenario() -> dict:
        async with AsyncWeb3(WebSocketProvider(node.ws_url)) as aw3:
            await aw3.eth.subscribe("logs", {"address": token.address})
            heads = await aw3.eth.subscribe("newHeads")
            assert heads
            tx = token.functions.transfer(receiver, 99).build_transaction({
                "from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending"),
                "chainId": CHAIN_ID,
            })
            await asyncio.get_running_loop().run_in_executor(
                None, w3.eth.send_raw_transaction, owner.sign_transaction(tx).raw_transaction
            )
            async for message in aw3.socket.process_subscriptions():
                result = message["result"]
                if "address" in result:
                    return result
        raise AssertionError("subscription ended without a log")

    log = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert log["address"] == token.address
    assert int.from_bytes(bytes(log["data"]), "big") == 99
    assert bytes(log["topics"][2])[-20:] == bytes.fromhex(receiver[2:])


BLOCK_INFO_SOURCE = """
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;
contract BlockInfo {
    function hashOf(uint256 number) external view returns (bytes32) { return blockhash(number); }
    function chainId() external view returns (uint256) { return block.chainid; }
}
"""


def test_blockhash_and_chainid_match_the_rpc(w3: Web3, tmp_path: Path) -> None:
    source = tmp_path / "BlockInfo.sol"
    source.write_text(BLOCK_INFO_SOURCE)
    artifact = compile_file(source)["BlockInfo"]
    owner = dev_account(7)
    contract = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = contract.constructor().build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending"), "chainId": CHAIN_ID}
    )
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction))
    info = w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)
    latest = w3.eth.block_number
    for number in (latest - 1, latest - 2, 1):
        assert info.functions.hashOf(number).call(block_identifier=latest) == w3.eth.get_block(number).hash
    assert info.functions.hashOf(latest).call(block_identifier=latest) == b"\x00" * 32
    assert info.functions.chainId().call() == CHAIN_ID


def test_graceful_restart_resumes_the_same_chain(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "home")
    node.init()
    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        receipt = send(w3, dev_account(8), {"to": DEAD, "value": 5, "gas": 21000, "maxFeePerGas": 10**10,
                                             "maxPriorityFeePerGas": 1})
        node.wait_for_height(receipt.blockNumber + 2)
        assert node.stop() == 0
        node.start()
        latest_before = receipt.blockNumber + 2
        hashes_after = [Web3(Web3.HTTPProvider(node.url)).eth.get_block(n).hash for n in range(latest_before + 1)]
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert w3.eth.get_transaction_receipt(receipt.transactionHash).blockHash == receipt.blockHash
        assert hashes_after[receipt.blockNumber] == receipt.blockHash
        assert w3.eth.get_balance(DEAD) == 5
        node.wait_for_height(latest_before + 2)
        assert w3.eth.get_block(latest_before + 1).parentHash == hashes_after[latest_before]
    finally:
        if node.process is not None:
            node.stop()


def test_kill_9_under_load_loses_no_committed_block(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "home", block_interval_ms=300)
    node.init()
    node.start()
    w3 = Web3(Web3.HTTPProvider(node.url))
    senders = [dev_account(i) for i in range(10, 16)]
    nonces = {s.address: 0 for s in senders}
    sent: list[bytes] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            for sender in senders:
                tx = sender.sign_transaction({
                    "to": DEAD, "value": 1, "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
                    "nonce": nonces[sender.address], "chainId": CHAIN_ID,
                })
                try:
                    sent.append(bytes(w3.eth.send_raw_transaction(tx.raw_transaction)))
                    nonces[sender.address] += 1
                except Exception:
                    return  # the node is gone
            time.sleep(0.02)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        node.wait_for_height(8)
        committed = {}
        for tx_hash in sent:
            try:
                committed[tx_hash] = w3.eth.get_transaction_receipt(tx_hash).blockHash
            except Exception:
                pass
        seen_height = w3.eth.block_number
        seen_hashes = [w3.eth.get_block(n).hash for n in range(seen_height + 1)]
        node.kill()
    finally:
        stop.set()
        loader.join()
    assert len(committed) > 20

    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert w3.eth.block_number >= seen_height
        assert [w3.eth.get_block(n).hash for n in range(seen_height + 1)] == seen_hashes
        for tx_hash, block_hash in committed.items():
            assert w3.eth.get_transaction_receipt(tx_hash).blockHash == block_hash
        node.wait_for_height(w3.eth.block_number + 2)
        receipt = send(w3, dev_account(16), {"to": DEAD, "value": 1, "gas": 21000, "maxFeePerGas": 10**10,
                                              "maxPriorityFeePerGas": 1})
        assert receipt.status == 1
    finally:
        node.stop()


VESTING = "0x0000000000000000000000000000000000000C01"
IVESTING_ABI = [
    {"type": "function", "name": "scheduleCount", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "lockedOf", "stateMutability": "view",
     "inputs": [{"name": "beneficiary", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "releasableAmount", "stateMutability": "view",
     "inputs": [{"name": "id", "type": "uint256"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "release", "stateMutability": "nonpayable",
     "inputs": [{"name": "id", "type": "uint256"}], "outputs": [{"name": "", "type": "uint256"}]},
]


def test_genesis_lockups_are_queryable_through_the_vesting_contract(w3: Web3) -> None:
    vesting = w3.eth.contract(address=VESTING, abi=IVESTING_ABI)
    team, fivemiles = dev_account(1), dev_account(2)
    assert vesting.functions.scheduleCount().call() == 2
    assert vesting.functions.lockedOf(team.address).call() == 100_000_000 * 10**18
    assert vesting.functions.lockedOf(fivemiles.address).call() == 100_000_000 * 10**18
    assert w3.eth.get_balance(VESTING) == 200_000_000 * 10**18
    assert vesting.functions.releasableAmount(0).call() == 0
    with pytest.raises(ContractLogicError, match="Vesting: nothing to release"):
        vesting.functions.release(0).call({"from": team.address})
