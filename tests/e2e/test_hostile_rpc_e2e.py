"""End to end: what a stranger who can reach the RPC port sends cannot stop or starve the node."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from web3 import Web3

from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import NodeProcess, dev_account

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ENDLESS_LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP
DEPTH = 100_000


def post(node: NodeProcess, body: bytes, timeout: float = 30) -> dict | list:
    """POST a raw body; the reply must be strict JSON (no NaN or Infinity)."""
    request = urllib.request.Request(node.url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read(), parse_constant=_not_json)


def _not_json(constant: str) -> None:
    raise AssertionError(f"the node answered with {constant}, which is not JSON")


def call(node: NodeProcess, method: str, *params: object, request_id: object = 1) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
    reply = post(node, body.encode())
    assert isinstance(reply, dict)
    return reply


def assert_alive(node: NodeProcess) -> None:
    assert node.process is not None and node.process.poll() is None, "the node process died"
    before = int(node.rpc("eth_blockNumber"), 16)
    node.wait_for_height(before + 1, timeout=20)


NESTED_BODIES = {
    "bare array": b"[" * DEPTH + b"]" * DEPTH,
    "params": b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "unclosed": b"[" * DEPTH,
}


@pytest.mark.parametrize("shape", sorted(NESTED_BODIES))
def test_deeply_nested_http_bodies_get_a_parse_error_and_the_node_lives_on(node: NodeProcess, shape: str) -> None:
    reply = post(node, NESTED_BODIES[shape])
    assert reply["error"]["code"] == -32700
    assert_alive(node)


def test_deeply_nested_websocket_messages_get_a_parse_error_and_the_node_lives_on(node: NodeProcess) -> None:
    async def exchange() -> list[dict]:
        async with aiohttp.ClientSession() as session, session.ws_connect(node.ws_url) as ws:
            replies = []
            for shape in sorted(NESTED_BODIES):
                await ws.send_bytes(NESTED_BODIES[shape])
                replies.append(json.loads((await ws.receive(timeout=30)).data))
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []}))
            replies.append(json.loads((await ws.receive(timeout=30)).data))
            return replies

    replies = asyncio.run(exchange())
    assert [reply["error"]["code"] for reply in replies[:-1]] == [-32700] * len(NESTED_BODIES)
    assert replies[-1] == {"jsonrpc": "2.0", "id": 7, "result": "0xf"}
    assert_alive(node)


def test_numbers_that_are_not_quantities_get_invalid_params_with_a_reason(node: NodeProcess) -> None:
    for percentiles in ([1e308], [-1], [50, 10], ["50"]):
        reply = call(node, "eth_feeHistory", "0x2", "latest", percentiles)
        assert reply["error"]["code"] == -32602, (percentiles, reply)
        assert "percentile" in reply["error"]["message"]
    for count in ("²", "٣", "1_0", " 1", "0x1_0", "1" * 5000):
        reply = call(node, "eth_feeHistory", count, "latest", [])
        assert reply["error"]["code"] == -32602, (count, reply)
    for quantity in ("0x 1", "0x1_0", "0x٣"):
        reply = call(node, "eth_getBalance", "0x" + "00" * 20, quantity)
        assert reply["error"]["code"] == -32602, (quantity, reply)
    assert call(node, "eth_feeHistory", "2", "latest", [25, 75])["result"]["oldestBlock"].startswith("0x")


def test_ids_that_json_cannot_carry_are_refused_in_valid_json(node: NodeProcess) -> None:
    for body in (b'{"jsonrpc":"2.0","id":1e400,"method":"eth_chainId"}',
                 b'{"jsonrpc":"2.0","id":NaN,"method":"eth_chainId"}',
                 b'{"jsonrpc":"2.0","id":-Infinity,"method":"eth_chainId"}'):
        reply = post(node, body)
        assert reply["error"]["code"] == -32700, body
        assert reply["id"] is None
    reply = call(node, "eth_chainId", request_id="x" * 10_000)
    assert reply["error"]["code"] == -32600
    assert call(node, "eth_chainId", request_id=2**53)["id"] == 2**53


def test_clients_that_hang_up_mid_request_leave_no_traceback(node: NodeProcess) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
    head = b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    for _ in range(100):
        with socket.create_connection(("127.0.0.1", node.port)) as client:
            client.sendall(head % (len(body) + 10) + body)  # the promised body never completes
    assert_alive(node)
    assert "Traceback" not in node.log_path.read_text()


def test_endless_calls_end_at_the_deadline_without_starving_reads_or_blocks(node: NodeProcess) -> None:
    replies: list[dict] = []

    def endless_call() -> None:
        replies.append(call(node, "eth_call", {"data": ENDLESS_LOOP}, "latest"))

    start_height = int(node.rpc("eth_blockNumber"), 16)
    callers = [threading.Thread(target=endless_call) for _ in range(4)]
    for thread in callers:
        thread.start()
    time.sleep(0.5)
    read_seconds = []
    while any(thread.is_alive() for thread in callers):
        started = time.monotonic()
        assert int(node.rpc("eth_getBalance", dev_account(0).address, "latest"), 16) > 0
        read_seconds.append(time.monotonic() - started)
        time.sleep(0.2)
    for thread in callers:
        thread.join()
    end_height = int(node.rpc("eth_blockNumber"), 16)

    assert [reply["error"]["code"] for reply in replies] == [-32000] * 4
    assert all("execution aborted (timeout = 5s)" == reply["error"]["message"] for reply in replies)
    assert max(read_seconds) < 2, read_seconds  # it waited 28 s behind four such calls before
    # 500 ms blocks went on while the calls ran (about 10 s): at least half of them were made.
    assert end_height - start_height >= 10


def test_receipts_and_transactions_looked_up_one_by_one_match_their_block(node: NodeProcess) -> None:
    w3 = Web3(Web3.HTTPProvider(node.url))
    artifact = compile_file(REPO / "examples" / "contracts" / "Token.sol")["Token"]
    owner = dev_account(5)
    nonce = w3.eth.get_transaction_count(owner.address, "pending")
    deploy = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(
        "Shop Credit", "SHOP", 10**24).build_transaction({"from": owner.address, "nonce": nonce, "chainId": 15})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(owner.sign_transaction(deploy).raw_transaction), timeout=30)
    token = w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)
    hashes = []
    for offset in range(1, 7):
        tx = token.functions.transfer(dev_account(offset).address, offset).build_transaction(
            {"from": owner.address, "nonce": nonce + offset, "chainId": 15, "gas": 100_000})
        hashes.append(w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction))
    last = w3.eth.wait_for_transaction_receipt(hashes[-1], timeout=30)

    for tx_hash in hashes:
        one = node.rpc("eth_getTransactionReceipt", tx_hash.to_0x_hex())
        block_receipts = node.rpc("eth_getBlockReceipts", one["blockNumber"])
        assert one == block_receipts[int(one["transactionIndex"], 16)]
        assert one["logs"] and one["logs"][0]["logIndex"] == block_receipts[int(one["transactionIndex"], 16)]["logs"][0]["logIndex"]
        single = node.rpc("eth_getTransactionByHash", tx_hash.to_0x_hex())
        by_index = node.rpc("eth_getTransactionByBlockNumberAndIndex", one["blockNumber"], one["transactionIndex"])
        assert single == by_index
    assert last.status == 1
