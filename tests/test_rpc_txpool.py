"""The pending-transaction feed, the ``txpool_`` methods and the batch limits, served from a real node.

The JSON-RPC application runs on aiohttp's test server over the node's own
``NodeBackend``, mempool and application (a LevelDB chain of the local
network), so a transaction goes the way a wallet's does: signed with
eth_account, sent with ``eth_sendRawTransaction``, checked and pooled, and
announced to filters and WebSocket subscribers.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend
from rpc.config import RPCConfig
from rpc.server import create_app
from tests.test_application import CHAIN_ID, GWEI
from tests.test_rpc import Client, assert_matches_component, assert_matches_spec, async_test, ws_call

RECIPIENT = to_checksum_address("0x" + "ab" * 20)


def transfer(account: LocalAccount, nonce: int, **fields: Any) -> bytes:
    """A signed EIP-1559 transfer of 1 wei."""
    signed = account.sign_transaction({
        "nonce": nonce, "to": RECIPIENT, "value": 1, "gas": 21_000, "maxFeePerGas": 5 * GWEI,
        "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID, **fields,
    })
    return bytes(signed.raw_transaction)


@asynccontextmanager
async def serving(node: Any, config: RPCConfig | None = None) -> AsyncIterator[tuple[Client, NodeBackend]]:
    """The RPC application over ``node``'s backend on a test server."""
    backend = NodeBackend(node.app, Mempool(CHAIN_ID, MempoolConfig()), lambda raw: None)
    http = TestClient(TestServer(create_app(backend, config or RPCConfig())))
    await http.start_server()
    try:
        yield Client(http), backend
    finally:
        await http.close()
        backend.close()


async def send(client: Client, raw: bytes) -> str:
    """``eth_sendRawTransaction``; the hash it answers."""
    return await client.result("eth_sendRawTransaction", "0x" + raw.hex())


@pytest.fixture
def node(open_node: Any) -> Any:
    return open_node("a")


@async_test
async def test_txpool_methods_list_pending_and_queued_by_sender_and_nonce(
    node: Any, dev_keys: list[LocalAccount],
) -> None:
    alice, bob = dev_keys[0], dev_keys[1]
    async with serving(node) as (client, _):
        hashes = [await send(client, transfer(alice, nonce)) for nonce in (0, 1, 3)]
        creation = bob.sign_transaction({
            "nonce": 0, "to": None, "data": "0x6000", "value": 0, "gas": 60_000, "gasPrice": 2 * GWEI,
            "chainId": CHAIN_ID,
        })
        creation_hash = await send(client, bytes(creation.raw_transaction))

        assert await client.result("txpool_status") == {"pending": "0x3", "queued": "0x1"}
        content = await client.result("txpool_content")
        assert list(content["pending"]) == sorted([alice.address, bob.address], key=str.lower)
        assert list(content["pending"][alice.address]) == ["0", "1"]
        assert list(content["queued"]) == [alice.address] and list(content["queued"][alice.address]) == ["3"]
        queued = content["queued"][alice.address]["3"]
        assert queued["hash"] == hashes[2] and queued["blockHash"] is None and queued["nonce"] == "0x3"
        for group in ("pending", "queued"):
            for txs in content[group].values():
                for tx in txs.values():
                    assert_matches_component("PendingTransactionInfo", tx)
                    assert tx == await client.result("eth_getTransactionByHash", tx["hash"])

        assert await client.result("txpool_contentFrom", alice.address.lower()) == {
            "pending": content["pending"][alice.address], "queued": content["queued"][alice.address],
        }
        assert await client.result("txpool_contentFrom", RECIPIENT) == {"pending": {}, "queued": {}}
        inspect = await client.result("txpool_inspect")
        assert inspect["pending"][alice.address]["0"] == (
            f"0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB: 1 wei + 21000 gas × {5 * GWEI} wei"
        )
        assert inspect["pending"][bob.address]["0"] == f"contract creation: 0 wei + 60000 gas × {2 * GWEI} wei"
        assert list(inspect["queued"][alice.address]) == ["3"]
        assert content["pending"][bob.address]["0"]["hash"] == creation_hash

        assert (await client.error("txpool_contentFrom", "0x12"))["code"] == -32602
        assert (await client.error("txpool_status", 1))["code"] == -32602


@async_test
async def test_a_pending_transaction_filter_reports_each_admitted_hash_once(
    node: Any, dev_keys: list[LocalAccount],
) -> None:
    alice = dev_keys[0]
    async with serving(node, RPCConfig(pending_filter_capacity=3)) as (client, backend):
        hashes_filter = await client.result("eth_newPendingTransactionFilter")
        full_filter = await client.result("eth_newPendingTransactionFilter", True)
        assert_matches_spec("eth_newPendingTransactionFilter", hashes_filter)
        assert await client.result("eth_getFilterChanges", hashes_filter) == []
        first = await send(client, transfer(alice, 0))
        second = "0x" + backend.admit(transfer(alice, 1)).hex()  # the way a peer's transaction arrives
        assert await client.result("eth_getFilterChanges", hashes_filter) == [first, second]
        assert await client.result("eth_getFilterChanges", hashes_filter) == []
        full = await client.result("eth_getFilterChanges", full_filter)
        assert [tx["hash"] for tx in full] == [first, second]
        assert_matches_component("PendingTransactionInfo", full[0])

        later = [await send(client, transfer(alice, nonce)) for nonce in range(2, 7)]
        assert await client.result("eth_getFilterChanges", hashes_filter) == later[-3:]  # the ring holds 3
        assert (await client.error("eth_getFilterLogs", hashes_filter))["message"] == "filter not found"
        assert await client.result("eth_uninstallFilter", hashes_filter) is True


@async_test
async def test_websocket_subscribers_get_hashes_or_whole_transactions_and_a_slow_one_is_dropped(
    node: Any, dev_keys: list[LocalAccount],
) -> None:
    alice = dev_keys[0]
    async with serving(node, RPCConfig(max_ws_queue=8)) as (client, backend):
        ws = await client.http.ws_connect("/")
        hashes = (await ws_call(ws, 1, "eth_subscribe", "newPendingTransactions"))["result"]
        full = (await ws_call(ws, 2, "eth_subscribe", "newPendingTransactions", True))["result"]
        slow = await client.http.ws_connect("/")
        assert "result" in await ws_call(slow, 1, "eth_subscribe", "newPendingTransactions")

        sent = await send(client, transfer(alice, 0))
        received = {}
        for _ in range(2):
            message = await asyncio.wait_for(ws.receive_json(), 5)
            received[message["params"]["subscription"]] = message["params"]["result"]
        assert received[hashes] == sent
        assert received[full]["hash"] == sent and received[full]["from"] == alice.address.lower()
        assert_matches_component("PendingTransactionInfo", received[full])
        gossiped = backend.admit(transfer(alice, 1))
        message = await asyncio.wait_for(ws.receive_json(), 5)
        assert message["params"] == {"subscription": hashes, "result": "0x" + gossiped.hex()}
        assert (await ws_call(ws, 3, "eth_unsubscribe", full))["result"] is True
        assert (await ws_call(ws, 5, "eth_unsubscribe", hashes))["result"] is True

        for nonce in range(2, 12):  # a burst from peers, faster than the slow client's queue of 8 drains
            backend.admit(transfer(alice, nonce))
        delivered = 0
        while (message := await asyncio.wait_for(slow.receive(), 5)).type == WSMsgType.TEXT:
            delivered += 1
        assert message.type == WSMsgType.CLOSE and message.data == 1008  # policy violation: too slow
        assert delivered == 2  # the two sent before the burst; the burst's backlog went with the connection
        assert (await ws_call(ws, 4, "eth_blockNumber"))["result"] == "0x0"  # the other client stays
        await ws.close()


@async_test
async def test_batches_of_a_thousand_are_served_and_large_results_are_cut_off(node: Any) -> None:
    async with serving(node) as (client, _):
        batch = [{"jsonrpc": "2.0", "id": n, "method": "eth_chainId"} for n in range(1000)]
        answers = await client.post(batch)
        assert [answer["result"] for answer in answers] == [hex(CHAIN_ID)] * 1000
        too_many = await client.post([*batch, {"jsonrpc": "2.0", "id": 1000, "method": "eth_chainId"}])
        assert too_many["error"] == {"code": -32600, "message": "batch too large: 1001 requests, at most 1000"}

    block = {"jsonrpc": "2.0", "method": "eth_getBlockByNumber", "params": ["0x0", False]}
    async with serving(node) as (client, _):
        size = len(json.dumps(await client.result("eth_getBlockByNumber", "0x0", False), separators=(",", ":")))
    async with serving(node, RPCConfig(max_batch_response_bytes=2 * size)) as (client, _):
        answers = await client.post([{**block, "id": n} for n in range(4)])
        assert [("result" in answer) for answer in answers] == [True, True, False, False]
        assert answers[2] == {"jsonrpc": "2.0", "id": 2, "error": {"code": -32003, "message": "response too large"}}


@async_test
async def test_a_plain_transfer_estimates_exactly_21000_gas(node: Any, dev_keys: list[LocalAccount]) -> None:
    async with serving(node) as (client, _):
        estimate = await client.result("eth_estimateGas", {"from": dev_keys[0].address, "to": RECIPIENT, "value": "0x1"})
        assert estimate == hex(21_000)
        empty = await client.result("eth_estimateGas", {"from": dev_keys[0].address, "to": RECIPIENT})
        assert empty == hex(21_000)
