"""End to end: the pending-transaction feed, the ``txpool_`` methods and a burst from one sender,
driven by real clients (ethers v6, viem, web3.py) against a running ``cmnode start`` process."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from web3 import Web3

from tests.e2e.nodeproc import NodeProcess, dev_account

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
JS = Path(__file__).parent / "js"
RECIPIENT = Web3.to_checksum_address("0x" + "cd" * 20)


def run_node_script(script: str, *args: str) -> dict[str, object]:
    """Run a script of ``tests/e2e/js`` with Node.js; it must exit 0 and print one JSON object."""
    if shutil.which("node") is None or not (REPO / "node_modules" / "viem").is_dir():
        pytest.fail("Node.js and `npm ci` (ethers, viem) are required for the JavaScript client tests")
    result = subprocess.run(["node", str(JS / script), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ethers_provider_on_pending_over_http_sees_a_sent_transaction(node: NodeProcess) -> None:
    report = run_node_script("ethers_pending.mjs", node.url, "16")
    assert report["seen"] in report["sent"]


def test_viem_watch_pending_transactions_over_websocket_sees_a_sent_transaction(node: NodeProcess) -> None:
    report = run_node_script("viem_pending.mjs", node.url, node.ws_url, str(int(node.rpc("eth_chainId"), 16)), "15")
    assert report["seen"] in report["sent"]


def signed_transfer(w3: Web3, account_index: int, nonce: int) -> bytes:
    account = dev_account(account_index)
    tx = {"nonce": nonce, "to": RECIPIENT, "value": 1, "gas": 21_000, "gasPrice": w3.eth.gas_price * 2,
          "chainId": w3.eth.chain_id}
    return bytes(account.sign_transaction(tx).raw_transaction)


def wait_for_receipts(w3: Web3, hashes: list[bytes], timeout: float = 60) -> list[dict]:
    deadline = time.time() + timeout
    receipts = []
    for tx_hash in hashes:
        receipts.append(w3.eth.wait_for_transaction_receipt(tx_hash, timeout=max(1, deadline - time.time()),
                                                            poll_latency=0.2))
    return receipts


def test_web3py_burst_of_one_hundred_transactions_from_one_sender_is_all_mined(w3: Web3) -> None:
    sender = dev_account(14).address
    start = w3.eth.get_transaction_count(sender, "pending")
    raws = [signed_transfer(w3, 14, start + offset) for offset in range(100)]
    hashes = [w3.eth.send_raw_transaction(raw) for raw in raws]
    assert len(set(hashes)) == 100
    receipts = wait_for_receipts(w3, hashes)
    assert [receipt["status"] for receipt in receipts] == [1] * 100
    assert w3.eth.get_transaction_count(sender) == start + 100


def test_txpool_content_shows_a_transaction_queued_behind_a_nonce_gap(w3: Web3) -> None:
    sender = dev_account(13).address
    nonce = w3.eth.get_transaction_count(sender, "pending")
    later = w3.eth.send_raw_transaction(signed_transfer(w3, 13, nonce + 1))
    content = w3.geth.txpool.content()
    assert sender not in content["pending"]
    assert content["queued"][sender][str(nonce + 1)]["hash"] == Web3.to_hex(later)
    assert int(w3.geth.txpool.status()["queued"], 16) >= 1
    inspect = w3.geth.txpool.inspect()
    assert inspect["queued"][sender][str(nonce + 1)].startswith(f"{RECIPIENT}: 1 wei + 21000 gas × ")
    first = w3.eth.send_raw_transaction(signed_transfer(w3, 13, nonce))
    receipts = wait_for_receipts(w3, [first, later])
    assert [receipt["status"] for receipt in receipts] == [1, 1]
    assert sender not in w3.geth.txpool.content()["queued"]
