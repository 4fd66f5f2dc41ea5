"""End-to-end tests of the JSON-RPC server over HTTP and WebSocket.

The server runs on aiohttp's test server against an in-memory backend built
from real chain types: blocks with real headers, transactions signed with
eth_account, receipts with logs. Every result is validated against the
Ethereum execution-apis schemas kept in ``tests/fixtures/execution-apis``.
"""
from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import rlp
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak

from consensus.types import EMPTY_COMMIT, EMPTY_OMMERS_HASH, Block, Header
from rpc.backend import (
    CallRequest,
    CallResult,
    ConsensusStatus,
    LogSearch,
    MinedReceipt,
    MinedTransaction,
    SyncStatus,
    TxContext,
)
from rpc.config import RPCConfig
from rpc.errors import ExecutionReverted, TransactionRejected
from rpc.server import RPCServer, create_app
from vm.logs import BlockLog, transaction_logs
from vm.overrides import NO_OVERRIDES, CallOverrides
from vm.receipts import Log, Receipt, logs_bloom
from vm.transactions import decode_transaction, effective_gas_price, tx_type

CHAIN_ID = 18
BASE_FEE = 7
NEXT_BASE_FEE = 8
ALICE = Account.from_key("0x" + "11" * 32)
BOB = Account.from_key("0x" + "22" * 32)
TOKEN = bytes.fromhex("33" * 20)
REVERTER = bytes.fromhex("44" * 20)
PANICKER = bytes.fromhex("45" * 20)
BURNER = bytes.fromhex("46" * 20)
VALIDATOR = bytes.fromhex("55" * 20)
TRANSFER_TOPIC = keccak(b"Transfer(address,address,uint256)")
APPROVAL_TOPIC = keccak(b"Approval(address,address,uint256)")
STORAGE_SLOT_VALUE = 0x2A
REVERT_DATA = bytes.fromhex("08c379a0") + abi_encode(["string"], ["not enough tokens"])
PANIC_DATA = bytes.fromhex("4e487b71") + abi_encode(["uint256"], [0x12])

SPEC = json.loads((Path(__file__).parent / "fixtures" / "execution-apis" / "openrpc.json").read_text())


# ---------------------------------------------------------------- spec checks

def assert_matches_spec(method: str, result: Any) -> None:
    """Validate ``result`` against the execution-apis result schema of ``method``."""
    schema = {"components": SPEC["components"], "allOf": [SPEC["methods"][method]["result"]]}
    jsonschema.Draft7Validator(schema).validate(result)


def assert_matches_component(name: str, value: Any) -> None:
    """Validate ``value`` against a named execution-apis schema."""
    schema = {"components": SPEC["components"], "$ref": f"#/components/schemas/{name}"}
    jsonschema.Draft7Validator(schema).validate(value)


# ---------------------------------------------------------------- chain fixture

def sign(account: Any, **fields: Any) -> bytes:
    """A signed raw transaction for this chain."""
    return bytes(account.sign_transaction({"chainId": CHAIN_ID, **fields}).raw_transaction)


def make_header(number: int, parent: bytes, gas_used: int, logs: Sequence[Log], timestamp: int) -> Header:
    """A header with the Ethereum and consensus fields filled."""
    return Header(
        parent_hash=parent,
        ommers_hash=EMPTY_OMMERS_HASH,
        coinbase=VALIDATOR,
        state_root=keccak(b"state%d" % number),
        transactions_root=keccak(b"txs%d" % number),
        receipts_root=keccak(b"receipts%d" % number),
        logs_bloom=logs_bloom(list(logs)),
        difficulty=0,
        number=number,
        gas_limit=30_000_000,
        gas_used=gas_used,
        timestamp=timestamp,
        extra_data=b"cmt",
        mix_hash=b"\x00" * 32,
        nonce=b"\x00" * 8,
        base_fee_per_gas=BASE_FEE,
        chain_id=CHAIN_ID,
        proposer_address=VALIDATOR,
        validators_hash=keccak(b"validators"),
        next_validators_hash=keccak(b"validators"),
        last_commit_hash=keccak(b"commit%d" % number),
        evidence_hash=keccak(rlp.encode([])),
        randao_reveal=b"\x00" * 32,
    )


class FakeChain:
    """An in-memory ``Backend``: committed blocks, receipts, balances and a mempool."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.receipts: dict[bytes, list[Receipt]] = {}
        self.locations: dict[bytes, tuple[Block, int]] = {}
        self.pending: dict[bytes, Any] = {}
        self.nonces: dict[bytes, int] = {}
        self.listeners: list[Callable[[Block, Sequence[Receipt]], None]] = []
        self.pending_listeners: list[Callable[[Any], None]] = []
        self.sync_status: SyncStatus | None = None
        self.calls: list[tuple[CallRequest, int]] = []
        self.commit([])

    # chain building -----------------------------------------------------
    def commit(self, raws: Sequence[bytes], logs_per_tx: Sequence[Sequence[Log]] = ()) -> Block:
        """Append a block with ``raws`` as transactions and notify listeners."""
        number = len(self.blocks)
        parent = self.blocks[-1].hash if self.blocks else b"\x00" * 32
        txs = [decode_transaction(raw, CHAIN_ID) for raw in raws]
        receipts = []
        cumulative = 0
        all_logs: list[Log] = []
        for index, tx in enumerate(txs):
            logs = tuple(logs_per_tx[index]) if index < len(logs_per_tx) else ()
            gas_used = 21_000 + 1000 * index
            cumulative += gas_used
            all_logs.extend(logs)
            created = keccak(rlp.encode([tx.sender, tx.nonce]))[12:] if not tx.to else None
            receipts.append(
                Receipt(
                    tx_hash=tx.hash, tx_index=index, tx_type=tx_type(tx), sender=tx.sender,
                    to=tx.to or None, contract_address=created, status=1, gas_used=gas_used,
                    cumulative_gas_used=cumulative, effective_gas_price=effective_gas_price(tx, BASE_FEE),
                    logs=logs,
                )
            )
            self.nonces[tx.sender] = tx.nonce + 1
            self.pending.pop(tx.hash, None)
        header = make_header(number, parent, cumulative, all_logs, 1_700_000_000 + number)
        block = Block(header=header, transactions=list(raws), last_commit=EMPTY_COMMIT, evidence=[])
        self.blocks.append(block)
        self.receipts[block.hash] = receipts
        for index, tx in enumerate(txs):
            self.locations[tx.hash] = (block, index)
        for listener in list(self.listeners):
            listener(block, receipts)
        return block

    # Backend ------------------------------------------------------------
    def chain_id(self) -> int:
        return CHAIN_ID

    async def client_version(self) -> str:
        return "cmnode/v0.1.0/test"

    async def peer_count(self) -> int:
        return 3

    async def syncing(self) -> SyncStatus | None:
        return self.sync_status

    async def latest_height(self) -> int:
        return len(self.blocks) - 1

    async def consensus_status(self) -> ConsensusStatus:
        return ConsensusStatus(len(self.blocks) - 1, 2, "prevote", b"\x07" * 20, "ab" * 20, "node-7")

    async def get_block_by_number(self, number: int) -> Block | None:
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    async def get_block_by_hash(self, block_hash: bytes) -> Block | None:
        return next((block for block in self.blocks if block.hash == block_hash), None)

    async def get_receipts(self, block_hash: bytes) -> Sequence[Receipt] | None:
        return self.receipts.get(block_hash)

    async def get_mined_transaction(self, tx_hash: bytes) -> MinedTransaction | None:
        if tx_hash not in self.locations:
            return None
        block, index = self.locations[tx_hash]
        return MinedTransaction(decode_transaction(block.transactions[index], CHAIN_ID), TxContext.in_block(block, index))

    async def get_mined_receipt(self, tx_hash: bytes) -> MinedReceipt | None:
        if tx_hash not in self.locations:
            return None
        block, index = self.locations[tx_hash]
        receipts = self.receipts[block.hash]
        first_log_index = sum(len(receipt.logs) for receipt in receipts[:index])
        return MinedReceipt(receipts[index], block.hash, block.number, first_log_index)

    async def get_pending_transaction(self, tx_hash: bytes) -> Any | None:
        return self.pending.get(tx_hash)

    async def get_balance(self, address: bytes, height: int) -> int:
        return 10**18 * (height + 1) if address == ALICE_BYTES else 0

    async def get_nonce(self, address: bytes, height: int) -> int:
        return self.nonces.get(address, 0) if height == len(self.blocks) - 1 else 0

    async def pending_nonce(self, address: bytes) -> int:
        queued = [tx for tx in self.pending.values() if tx.sender == address]
        return self.nonces.get(address, 0) + len(queued)

    async def get_code(self, address: bytes, height: int) -> bytes:
        return b"\x60\x00" if address == TOKEN else b""

    async def get_storage_at(self, address: bytes, slot: int, height: int) -> int:
        return STORAGE_SLOT_VALUE if (address, slot) == (TOKEN, 1) else 0

    async def call(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> CallResult:
        self.calls.append((request, height))
        if request.to == REVERTER:
            return CallResult(False, REVERT_DATA, 30_000, "execution reverted")
        if request.to == PANICKER:
            return CallResult(False, PANIC_DATA, 30_000, "execution reverted")
        if request.to == BURNER:
            return CallResult(False, b"", request.gas or 0, "out of gas")
        return CallResult(True, (42).to_bytes(32, "big"), 25_000)

    async def estimate_gas(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> int:
        if request.to == REVERTER:
            raise ExecutionReverted(REVERT_DATA)
        if request.to == BURNER:
            raise TransactionRejected("gas required exceeds allowance (30000000)")
        return 21_000 if not request.data else 52_000

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        tx = decode_transaction(raw, CHAIN_ID)
        if tx.nonce < self.nonces.get(tx.sender, 0):
            raise TransactionRejected(f"nonce too low: next nonce {self.nonces[tx.sender]}, tx nonce {tx.nonce}")
        self.pending[tx.hash] = tx
        for listener in list(self.pending_listeners):
            listener(tx)
        return tx.hash

    async def gas_price(self) -> int:
        return NEXT_BASE_FEE + 1

    async def max_priority_fee(self) -> int:
        return 1

    async def next_base_fee(self) -> int:
        return NEXT_BASE_FEE

    async def get_logs(self, query: LogSearch) -> Sequence[BlockLog]:
        found: list[BlockLog] = []
        for block in self.blocks[query.from_block: query.to_block + 1]:
            for entry in transaction_logs(block.number, block.hash, self.receipts[block.hash]):
                if query.log_filter.matches_log(entry.log):
                    found.append(entry)
                    if len(found) > query.max_results:
                        return found
        return found

    def add_block_listener(self, listener: Callable[[Block, Sequence[Receipt]], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def add_pending_listener(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.pending_listeners.append(listener)
        return lambda: self.pending_listeners.remove(listener)


ALICE_BYTES = bytes.fromhex(ALICE.address[2:])
BOB_BYTES = bytes.fromhex(BOB.address[2:])


def transfer_log(amount: int, topic: bytes = TRANSFER_TOPIC) -> Log:
    """An ERC-20 ``Transfer`` (or other topic) log from TOKEN."""
    return Log(
        TOKEN,
        (topic, b"\x00" * 12 + ALICE_BYTES, b"\x00" * 12 + BOB_BYTES),
        amount.to_bytes(32, "big"),
    )


def build_chain() -> tuple[FakeChain, dict[str, bytes]]:
    """Genesis, a block with a legacy, an access-list and a dynamic-fee transaction, and an empty block."""
    chain = FakeChain()
    legacy = sign(ALICE, nonce=0, gasPrice=10, gas=21_000, to=BOB.address, value=5)
    access = sign(
        ALICE, type=1, nonce=1, gasPrice=11, gas=200_000, to=None, value=0, data="0x6000",
        accessList=[{"address": "0x" + TOKEN.hex(), "storageKeys": ["0x" + "00" * 31 + "01"]}],
    )
    dynamic = sign(
        ALICE, type=2, nonce=2, maxFeePerGas=20, maxPriorityFeePerGas=2, gas=60_000,
        to="0x" + TOKEN.hex(), value=0, data="0xa9059cbb", accessList=[],
    )
    chain.commit([legacy, access, dynamic], [[], [transfer_log(1)], [transfer_log(2), transfer_log(3, APPROVAL_TOPIC)]])
    chain.commit([])
    return chain, {"legacy": keccak(legacy), "access": keccak(access), "dynamic": keccak(dynamic)}


# ---------------------------------------------------------------- harness

def async_test(function: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test function on a fresh event loop."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(function(*args, **kwargs))

    return wrapper


class Client:
    """A JSON-RPC client over aiohttp's test client."""

    def __init__(self, http: TestClient) -> None:
        self.http = http

    async def post(self, payload: Any) -> Any:
        response = await self.http.post("/", json=payload)
        assert response.status == 200
        return await response.json()

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        return await self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})

    async def result(self, method: str, *params: Any) -> Any:
        response = await self.request(method, *params)
        assert "error" not in response, response
        return response["result"]

    async def error(self, method: str, *params: Any) -> dict[str, Any]:
        response = await self.request(method, *params)
        assert "result" not in response, response
        return response["error"]


class serve:
    """``async with serve(chain) as client``: the app on a test server."""

    def __init__(self, chain: FakeChain, config: RPCConfig | None = None) -> None:
        self.http = TestClient(TestServer(create_app(chain, config or RPCConfig())))

    async def __aenter__(self) -> Client:
        await self.http.start_server()
        return Client(self.http)

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()


def hx(value: bytes) -> str:
    return "0x" + value.hex()


# ---------------------------------------------------------------- simple methods

@async_test
async def test_client_network_and_chain_methods() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        assert await client.result("web3_clientVersion") == "cmnode/v0.1.0/test"
        assert await client.result("web3_sha3", "0x68656c6c6f") == hx(keccak(b"hello"))
        assert await client.result("net_version") == "18"
        assert await client.result("net_listening") is True
        assert await client.result("net_peerCount") == "0x3"
        for method, expected in [
            ("eth_chainId", "0x12"), ("eth_blockNumber", "0x2"), ("eth_syncing", False),
            ("eth_accounts", []), ("eth_gasPrice", "0x9"), ("eth_maxPriorityFeePerGas", "0x1"),
        ]:
            result = await client.result(method)
            assert result == expected
            assert_matches_spec(method, result)
        chain.sync_status = SyncStatus(0, 2, 10)
        syncing = await client.result("eth_syncing")
        assert syncing == {"startingBlock": "0x0", "currentBlock": "0x2", "highestBlock": "0xa"}
        assert_matches_spec("eth_syncing", syncing)


@async_test
async def test_state_methods_resolve_block_tags() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        alice = ALICE.address.lower()
        balance = await client.result("eth_getBalance", alice, "latest")
        assert balance == hex(3 * 10**18)
        assert_matches_spec("eth_getBalance", balance)
        assert await client.result("eth_getBalance", alice, "earliest") == hex(10**18)
        assert await client.result("eth_getBalance", alice, "0x1") == hex(2 * 10**18)
        assert await client.result("eth_getBalance", alice, {"blockHash": hx(chain.blocks[1].hash)}) == hex(2 * 10**18)
        assert await client.result("eth_getBalance", alice, {"blockNumber": "0x0"}) == hex(10**18)
        assert await client.result("eth_getBalance", alice, "finalized") == balance
        assert await client.result("eth_getBalance", alice) == balance

        assert await client.result("eth_getTransactionCount", alice, "latest") == "0x3"
        await client.result("eth_sendRawTransaction", hx(sign(ALICE, nonce=3, gasPrice=10, gas=21_000, to=BOB.address, value=1)))
        pending = await client.result("eth_getTransactionCount", alice, "pending")
        assert pending == "0x4"
        assert_matches_spec("eth_getTransactionCount", pending)

        code = await client.result("eth_getCode", hx(TOKEN), "latest")
        assert code == "0x6000"
        assert_matches_spec("eth_getCode", code)
        word = await client.result("eth_getStorageAt", hx(TOKEN), "0x1", "latest")
        assert word == "0x" + "00" * 31 + "2a"
        assert_matches_spec("eth_getStorageAt", word)

        missing = await client.error("eth_getBalance", alice, "0x64")
        assert missing == {"code": -32001, "message": "header not found"}
        missing_hash = await client.error("eth_getBalance", alice, {"blockHash": "0x" + "ab" * 32})
        assert missing_hash["code"] == -32001


@async_test
async def test_call_estimate_and_revert_reasons() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        request = {"from": ALICE.address, "to": hx(TOKEN), "input": "0x70a08231", "gas": "0x7530"}
        output = await client.result("eth_call", request, "0x1")
        assert output == "0x" + "00" * 31 + "2a"
        assert_matches_spec("eth_call", output)
        sent, height = chain.calls[-1]
        assert (sent.sender, sent.to, sent.data, sent.gas, height) == (ALICE_BYTES, TOKEN, bytes.fromhex("70a08231"), 30_000, 1)

        reverted = await client.error("eth_call", {"to": hx(REVERTER), "data": "0x"}, "latest")
        assert reverted == {"code": 3, "message": "execution reverted: not enough tokens", "data": hx(REVERT_DATA)}
        panicked = await client.error("eth_call", {"to": hx(PANICKER)})
        assert panicked["code"] == 3
        assert panicked["message"] == "execution reverted: panic: division or modulo by zero (0x12)"
        assert panicked["data"] == hx(PANIC_DATA)
        out_of_gas = await client.error("eth_call", {"to": hx(BURNER), "gas": "0x1"})
        assert out_of_gas == {"code": -32000, "message": "out of gas"}

        estimate = await client.result("eth_estimateGas", {"from": ALICE.address, "to": BOB.address, "value": "0x1"})
        assert estimate == hex(21_000)
        assert_matches_spec("eth_estimateGas", estimate)
        estimate_reverted = await client.error("eth_estimateGas", {"to": hx(REVERTER)})
        assert estimate_reverted["code"] == 3 and estimate_reverted["message"] == "execution reverted: not enough tokens"
        too_much = await client.error("eth_estimateGas", {"to": hx(BURNER)})
        assert too_much == {"code": -32000, "message": "gas required exceeds allowance (30000000)"}


@async_test
async def test_send_raw_transaction_and_pending_lookup() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        raw = sign(ALICE, type=2, nonce=3, maxFeePerGas=30, maxPriorityFeePerGas=3, gas=21_000, to=BOB.address, value=9)
        tx_hash = await client.result("eth_sendRawTransaction", hx(raw))
        assert tx_hash == hx(keccak(raw))
        assert_matches_spec("eth_sendRawTransaction", tx_hash)

        pending = await client.result("eth_getTransactionByHash", tx_hash)
        assert pending["blockHash"] is None and pending["blockNumber"] is None
        assert pending["gasPrice"] == hex(30) and pending["from"] == ALICE.address.lower()
        assert await client.result("eth_getTransactionReceipt", tx_hash) is None

        replay = await client.error("eth_sendRawTransaction", hx(sign(ALICE, nonce=0, gasPrice=10, gas=21_000, to=BOB.address)))
        assert replay == {"code": -32000, "message": "nonce too low: next nonce 3, tx nonce 0"}
        other_chain = bytes(ALICE.sign_transaction({"chainId": 1, "nonce": 5, "gasPrice": 1, "gas": 21_000, "to": BOB.address}).raw_transaction)
        wrong_chain = await client.error("eth_sendRawTransaction", hx(other_chain))
        assert wrong_chain == {"code": -32000, "message": "invalid chain id for signer: have 1 want 18"}
        garbage = await client.error("eth_sendRawTransaction", "0x02c0")
        assert garbage["code"] == -32000 and "rlp" in garbage["message"]


# ---------------------------------------------------------------- blocks, transactions, receipts

@async_test
async def test_blocks_match_schema_with_hashes_and_full_transactions() -> None:
    chain, hashes = build_chain()
    block = chain.blocks[1]
    async with serve(chain) as client:
        by_number = await client.result("eth_getBlockByNumber", "0x1", False)
        assert_matches_spec("eth_getBlockByNumber", by_number)
        assert by_number["hash"] == hx(block.hash)
        assert by_number["parentHash"] == hx(chain.blocks[0].hash)
        assert by_number["miner"] == hx(VALIDATOR)
        assert by_number["transactions"] == [hx(hashes["legacy"]), hx(hashes["access"]), hx(hashes["dynamic"])]
        assert by_number["size"] == hex(len(rlp.encode(block)))
        assert by_number["baseFeePerGas"] == hex(BASE_FEE)
        assert by_number["difficulty"] == "0x0" and by_number["nonce"] == "0x0000000000000000"
        assert by_number["uncles"] == []
        assert by_number["logsBloom"] == hx(block.header.logs_bloom.to_bytes(256, "big"))

        full = await client.result("eth_getBlockByHash", hx(block.hash), True)
        assert_matches_spec("eth_getBlockByHash", full)
        legacy, access, dynamic = full["transactions"]
        for tx in full["transactions"]:
            assert_matches_component("TransactionInfo", tx)
            assert tx["blockHash"] == hx(block.hash) and tx["blockNumber"] == "0x1"
            assert tx["from"] == ALICE.address.lower()
        assert legacy["type"] == "0x0" and legacy["gasPrice"] == hex(10) and int(legacy["v"], 16) in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)
        assert legacy["to"] == BOB.address.lower() and legacy["value"] == "0x5"
        assert access["type"] == "0x1" and access["to"] is None
        assert access["accessList"] == [{"address": hx(TOKEN), "storageKeys": ["0x" + "00" * 31 + "01"]}]
        assert dynamic["type"] == "0x2" and dynamic["maxFeePerGas"] == hex(20)
        assert dynamic["gasPrice"] == hex(BASE_FEE + 2)
        assert dynamic["transactionIndex"] == "0x2" and dynamic["input"] == "0xa9059cbb"

        latest = await client.result("eth_getBlockByNumber", "latest", False)
        assert latest["number"] == "0x2" and latest["transactions"] == []
        assert (await client.result("eth_getBlockByNumber", "pending", False))["number"] == "0x2"
        assert await client.result("eth_getBlockByNumber", "0x99", False) is None
        assert await client.result("eth_getBlockByHash", "0x" + "00" * 32, False) is None

        count = await client.result("eth_getBlockTransactionCountByNumber", "0x1")
        assert count == "0x3"
        assert_matches_spec("eth_getBlockTransactionCountByNumber", count)
        assert await client.result("eth_getBlockTransactionCountByHash", hx(block.hash)) == "0x3"
        assert await client.result("eth_getUncleCountByBlockNumber", "0x1") == "0x0"
        assert await client.result("eth_getUncleCountByBlockHash", hx(block.hash)) == "0x0"
        assert await client.result("eth_getUncleCountByBlockHash", "0x" + "00" * 32) is None


@async_test
async def test_transaction_lookups_and_receipts() -> None:
    chain, hashes = build_chain()
    block = chain.blocks[1]
    async with serve(chain) as client:
        tx = await client.result("eth_getTransactionByHash", hx(hashes["dynamic"]))
        assert_matches_spec("eth_getTransactionByHash", tx)
        assert tx["hash"] == hx(hashes["dynamic"])
        by_index = await client.result("eth_getTransactionByBlockHashAndIndex", hx(block.hash), "0x2")
        assert by_index == tx
        assert_matches_spec("eth_getTransactionByBlockHashAndIndex", by_index)
        assert await client.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x0") == await client.result(
            "eth_getTransactionByHash", hx(hashes["legacy"])
        )
        assert await client.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x3") is None
        assert await client.result("eth_getTransactionByHash", "0x" + "00" * 32) is None

        receipt = await client.result("eth_getTransactionReceipt", hx(hashes["dynamic"]))
        assert_matches_spec("eth_getTransactionReceipt", receipt)
        assert receipt["status"] == "0x1" and receipt["type"] == "0x2"
        assert receipt["effectiveGasPrice"] == hex(BASE_FEE + 2)
        assert receipt["cumulativeGasUsed"] == hex(21_000 + 22_000 + 23_000)
        assert [log["logIndex"] for log in receipt["logs"]] == ["0x1", "0x2"]
        assert receipt["logs"][0]["topics"][0] == hx(TRANSFER_TOPIC)
        assert receipt["contractAddress"] is None

        creation = await client.result("eth_getTransactionReceipt", hx(hashes["access"]))
        assert creation["to"] is None
        assert creation["contractAddress"] == hx(keccak(rlp.encode([ALICE_BYTES, 1]))[12:])
        assert creation["logs"][0]["logIndex"] == "0x0"

        receipts = await client.result("eth_getBlockReceipts", "0x1")
        assert_matches_spec("eth_getBlockReceipts", receipts)
        assert [r["transactionHash"] for r in receipts] == [hx(hashes[k]) for k in ("legacy", "access", "dynamic")]
        assert receipts[2] == receipt
        assert await client.result("eth_getBlockReceipts", {"blockHash": hx(block.hash)}) == receipts
        assert await client.result("eth_getBlockReceipts", "0x77") is None


# ---------------------------------------------------------------- fees

@async_test
async def test_fee_history() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        history = await client.result("eth_feeHistory", "0x2", "latest", [0, 50, 100])
        assert_matches_spec("eth_feeHistory", history)
        assert history["oldestBlock"] == "0x1"
        assert history["baseFeePerGas"] == [hex(BASE_FEE), hex(BASE_FEE), hex(NEXT_BASE_FEE)]
        assert history["gasUsedRatio"] == [66_000 / 30_000_000, 0.0]
        # tips: legacy 10-7=3 (21000 gas), access 11-7=4 (22000), dynamic min(2, 13)=2 (23000)
        assert history["reward"] == [[hex(2), hex(3), hex(4)], ["0x0", "0x0", "0x0"]]

        older = await client.result("eth_feeHistory", "0x5", "0x1", [])
        assert older["oldestBlock"] == "0x0" and "reward" not in older
        assert older["baseFeePerGas"] == [hex(BASE_FEE)] * 3
        assert len(older["gasUsedRatio"]) == 2

        bounded = await client.result("eth_feeHistory", hex(5000), "latest", [])
        assert bounded["oldestBlock"] == "0x0"

        decreasing = await client.error("eth_feeHistory", "0x2", "latest", [50, 10])
        assert decreasing["code"] == -32602
        out_of_range = await client.error("eth_feeHistory", "0x2", "latest", [101])
        assert out_of_range["code"] == -32602
        future = await client.error("eth_feeHistory", "0x2", "0x50", [])
        assert future["code"] == -32001


# ---------------------------------------------------------------- logs and filters

@async_test
async def test_get_logs_filters_and_bounds() -> None:
    chain, hashes = build_chain()
    config = RPCConfig(max_log_block_range=2, max_log_results=2)
    async with serve(chain, config) as client:
        everything = await client.result("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x2", "topics": [hx(TRANSFER_TOPIC)]})
        assert_matches_spec("eth_getLogs", everything)
        assert [(log["transactionHash"], log["logIndex"]) for log in everything] == [
            (hx(hashes["access"]), "0x0"), (hx(hashes["dynamic"]), "0x1"),
        ]
        assert everything[1]["data"] == hx((2).to_bytes(32, "big"))
        approvals = await client.result("eth_getLogs", {"fromBlock": "0x1", "topics": [[hx(APPROVAL_TOPIC)]]})
        assert [log["logIndex"] for log in approvals] == ["0x2"]
        by_hash = await client.result("eth_getLogs", {"blockHash": hx(chain.blocks[1].hash), "address": [hx(TOKEN)], "topics": [hx(TRANSFER_TOPIC), None, hx(b"\x00" * 12 + BOB_BYTES)]})
        assert len(by_hash) == 2
        assert await client.result("eth_getLogs", {"fromBlock": "0x1", "address": hx(BOB_BYTES)}) == []
        assert await client.result("eth_getLogs", {"fromBlock": "0x40"}) == []

        too_many = await client.error("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x2"})
        assert too_many == {"code": -32602, "message": "query returned more than 2 results"}
        too_wide = await client.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
        assert too_wide == {"code": -32602, "message": "exceed maximum block range: 2"}
        backwards = await client.error("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1"})
        assert backwards["code"] == -32602
        both = await client.error("eth_getLogs", {"fromBlock": "0x1", "blockHash": hx(chain.blocks[1].hash)})
        assert both["code"] == -32602
        unknown = await client.error("eth_getLogs", {"blockHash": "0x" + "12" * 32})
        assert unknown["code"] == -32001
        too_many_topics = await client.error("eth_getLogs", {"topics": [None] * 5})
        assert too_many_topics["code"] == -32602


@async_test
async def test_polling_filters_report_new_blocks_and_logs() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        block_filter = await client.result("eth_newBlockFilter")
        log_filter = await client.result("eth_newFilter", {"fromBlock": "earliest", "address": hx(TOKEN), "topics": [hx(TRANSFER_TOPIC)]})
        assert_matches_spec("eth_newFilter", log_filter)
        assert await client.result("eth_getFilterChanges", block_filter) == []
        new_block = chain.commit([sign(ALICE, nonce=3, gasPrice=10, gas=50_000, to="0x" + TOKEN.hex())], [[transfer_log(77)]])
        hashes = await client.result("eth_getFilterChanges", block_filter)
        assert hashes == [hx(new_block.hash)]
        assert_matches_spec("eth_getFilterChanges", hashes)
        logs = await client.result("eth_getFilterChanges", log_filter)
        assert [log["data"] for log in logs] == [hx((77).to_bytes(32, "big"))]
        assert_matches_spec("eth_getFilterChanges", logs)
        assert await client.result("eth_getFilterChanges", log_filter) == []
        all_logs = await client.result("eth_getFilterLogs", log_filter)
        assert len(all_logs) == 3
        assert await client.result("eth_uninstallFilter", log_filter) is True
        assert await client.result("eth_uninstallFilter", log_filter) is False
        gone = await client.error("eth_getFilterChanges", log_filter)
        assert gone == {"code": -32000, "message": "filter not found"}
        by_hash = await client.error("eth_newFilter", {"blockHash": hx(chain.blocks[1].hash)})
        assert by_hash["code"] == -32602


# ---------------------------------------------------------------- JSON-RPC protocol

@async_test
async def test_protocol_errors() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        response = await client.http.post("/", data=b"{not json")
        assert response.status == 200
        body = await response.json()
        assert body["id"] is None and body["error"]["code"] == -32700

        assert (await client.post(42))["error"]["code"] == -32600
        assert (await client.post({"jsonrpc": "1.0", "id": 7, "method": "eth_chainId"})) == {
            "jsonrpc": "2.0", "id": 7, "error": {"code": -32600, "message": 'invalid request: "jsonrpc" must be "2.0"'},
        }
        assert (await client.post({"jsonrpc": "2.0", "id": 7, "method": 5}))["error"]["code"] == -32600
        assert (await client.post({"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": "x"}))["error"]["code"] == -32600
        assert (await client.post([]))["error"]["code"] == -32600

        unknown = await client.error("eth_mine")
        assert unknown == {"code": -32601, "message": "the method eth_mine does not exist/is not available"}
        for method, params, message in [
            ("eth_getBalance", ["0x1234"], "invalid argument 0: hex string has length 4, want 40"),
            ("eth_getBalance", [ALICE.address[2:]], "invalid argument 0: hex string without 0x prefix"),
            ("eth_getBalance", [], "missing value for required argument 0"),
            ("eth_chainId", [1], "too many arguments, want at most 0"),
            ("eth_getBlockByNumber", ["0x01zz", False], "invalid argument 0: invalid hex string '0x01zz'"),
            ("eth_getBlockByNumber", ["0x1", "yes"], "invalid argument 1: cannot unmarshal string into a boolean"),
            ("eth_call", [{"to": BOB.address, "gasPrice": "0x1", "maxFeePerGas": "0x2"}], "invalid argument 0: both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"),
            ("eth_call", [{"to": BOB.address, "data": "0x01", "input": "0x02"}], 'invalid argument 0: both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'),
            ("eth_call", [{"to": BOB.address, "value": 5}], "invalid argument 0: value: cannot unmarshal number into a hex quantity"),
            ("eth_getStorageAt", [hx(TOKEN), "0x" + "1" * 65], "invalid argument 1: hex number > 256 bits"),
            ("eth_sendRawTransaction", ["0x123"], "invalid argument 0: hex string of odd length"),
        ]:
            assert await client.error(method, *params) == {"code": -32602, "message": message}, method
        by_name = await client.post({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"address": ALICE.address}})
        assert by_name["error"] == {"code": -32602, "message": "non-array args"}
        over_http = await client.error("eth_subscribe", "newHeads")
        assert over_http["code"] == -32601


@async_test
async def test_internal_errors_are_logged_not_leaked(caplog: pytest.LogCaptureFixture) -> None:
    chain, _ = build_chain()

    async def broken(number: int) -> None:
        raise KeyError("secret database detail")

    chain.get_block_by_number = broken  # type: ignore[method-assign]
    async with serve(chain) as client:
        error = await client.error("eth_getBlockByNumber", "0x1", False)
    assert error == {"code": -32603, "message": "internal error"}
    assert "secret database detail" in caplog.text


@async_test
async def test_batches_and_notifications() -> None:
    chain, _ = build_chain()
    async with serve(chain, RPCConfig(max_batch_size=3)) as client:
        batch = await client.post([
            {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
            {"jsonrpc": "2.0", "method": "eth_blockNumber"},
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        ])
        assert batch == [
            {"jsonrpc": "2.0", "id": "a", "result": "0x12"},
            {"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "the method nope does not exist/is not available"}},
        ]
        mixed = await client.post([1, {"jsonrpc": "2.0", "id": None, "method": "net_version"}])
        assert mixed[0]["error"]["code"] == -32600 and mixed[1] == {"jsonrpc": "2.0", "id": None, "result": "18"}

        too_big = await client.post([{"jsonrpc": "2.0", "id": n, "method": "eth_chainId"} for n in range(4)])
        assert too_big["error"]["code"] == -32600 and "batch too large" in too_big["error"]["message"]

        response = await client.http.post("/", json={"jsonrpc": "2.0", "method": "eth_chainId"})
        assert response.status == 200 and await response.read() == b""
        response = await client.http.post("/", json=[{"jsonrpc": "2.0", "method": "eth_chainId"}])
        assert response.status == 200 and await response.read() == b""


@async_test
async def test_body_limit_methods_and_cors() -> None:
    chain, _ = build_chain()
    config = RPCConfig(max_body_bytes=1024, cors_origins=("https://dapp.example",))
    async with serve(chain, config) as client:
        big = {"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": ["0x" + "00" * 2000]}
        response = await client.http.post("/", json=big)
        assert response.status == 413
        assert (await response.json())["error"]["code"] == -32600

        response = await client.http.get("/")
        assert response.status == 405

        response = await client.http.options("/", headers={
            "Origin": "https://dapp.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        })
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://dapp.example"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        response = await client.http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, headers={"Origin": "https://dapp.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://dapp.example"
        response = await client.http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await client.http.ws_connect("/", headers={"Origin": "https://evil.example"})

    async with serve(chain) as client:
        response = await client.http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, headers={"Origin": "https://any.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*"


# ---------------------------------------------------------------- WebSocket

async def ws_call(ws: Any, request_id: int, method: str, *params: Any) -> dict[str, Any]:
    """Send a request over a WebSocket and read messages until its response."""
    await ws.send_json({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
    while True:
        message = await asyncio.wait_for(ws.receive_json(), 5)
        if message.get("id") == request_id:
            return message


@async_test
async def test_websocket_requests_and_subscriptions() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        ws = await client.http.ws_connect("/")
        assert (await ws_call(ws, 1, "eth_chainId"))["result"] == "0x12"
        await ws.send_str('[{"jsonrpc":"2.0","id":2,"method":"net_version"}]')
        assert await asyncio.wait_for(ws.receive_json(), 5) == [{"jsonrpc": "2.0", "id": 2, "result": "18"}]

        heads = (await ws_call(ws, 3, "eth_subscribe", "newHeads"))["result"]
        logs = (await ws_call(ws, 4, "eth_subscribe", "logs", {"address": hx(TOKEN), "topics": [hx(TRANSFER_TOPIC)]}))["result"]
        assert heads != logs

        block = chain.commit(
            [sign(ALICE, nonce=3, gasPrice=10, gas=50_000, to="0x" + TOKEN.hex())],
            [[transfer_log(5, APPROVAL_TOPIC), transfer_log(6)]],
        )
        first = await asyncio.wait_for(ws.receive_json(), 5)
        second = await asyncio.wait_for(ws.receive_json(), 5)
        assert first["method"] == "eth_subscription" and first["params"]["subscription"] == heads
        head = first["params"]["result"]
        assert head["hash"] == hx(block.hash) and head["number"] == "0x3"
        assert_matches_component("Block", {**head, "size": "0x1", "transactions": [], "uncles": []})
        assert second["params"]["subscription"] == logs
        pushed = second["params"]["result"]
        assert_matches_component("Log", pushed)
        assert pushed["logIndex"] == "0x1" and pushed["data"] == hx((6).to_bytes(32, "big"))

        assert (await ws_call(ws, 5, "eth_unsubscribe", heads))["result"] is True
        assert (await ws_call(ws, 6, "eth_unsubscribe", heads))["result"] is False
        unsupported = await ws_call(ws, 7, "eth_subscribe", "newBlocks")
        assert unsupported["error"]["code"] == -32602
        chain.commit([])
        assert (await ws_call(ws, 8, "eth_blockNumber"))["result"] == "0x4"
        await ws.close()


@async_test
async def test_websocket_limits() -> None:
    chain, _ = build_chain()
    config = RPCConfig(max_ws_connections=1, max_subscriptions_per_connection=1, max_ws_queue=4)
    async with serve(chain, config) as client:
        ws = await client.http.ws_connect("/")
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await client.http.ws_connect("/")
        assert "result" in await ws_call(ws, 1, "eth_subscribe", "newHeads")
        refused = await ws_call(ws, 2, "eth_subscribe", "newHeads")
        assert refused["error"]["code"] == -32005
        for _ in range(10):  # the client reads nothing: its queue overflows
            chain.commit([])
        closed = await asyncio.wait_for(ws.receive(), 5)
        assert closed.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert ws.close_code == 1008
        await ws.close()
        second = await client.http.ws_connect("/")
        assert (await ws_call(second, 1, "eth_chainId"))["result"] == "0x12"
        await second.close()


@async_test
async def test_rpc_server_serves_on_a_port() -> None:
    chain, _ = build_chain()
    server = RPCServer(chain, RPCConfig())
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{server.port}/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}) as response:
                assert (await response.json())["result"] == "0x2"
    finally:
        await server.stop()
    assert chain.listeners == [] and chain.pending_listeners == []


@async_test
async def test_web3py_client_over_http_and_websocket() -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider
    from web3.exceptions import ContractLogicError

    chain, hashes = build_chain()
    server = RPCServer(chain, RPCConfig())
    await server.start("127.0.0.1", 0)
    try:
        w3 = AsyncWeb3(AsyncHTTPProvider(f"http://127.0.0.1:{server.port}"))
        assert await w3.eth.chain_id == CHAIN_ID
        block = await w3.eth.get_block(1, full_transactions=True)
        assert block["hash"] == chain.blocks[1].hash and [tx["type"] for tx in block["transactions"]] == [0, 1, 2]
        receipt = await w3.eth.get_transaction_receipt(hashes["dynamic"])
        assert receipt["status"] == 1 and [log["logIndex"] for log in receipt["logs"]] == [1, 2]
        with pytest.raises(ContractLogicError, match="execution reverted: not enough tokens") as reverted:
            await w3.eth.call({"to": w3.to_checksum_address(hx(REVERTER))})
        assert reverted.value.data == hx(REVERT_DATA)
        await w3.provider.disconnect()

        async with AsyncWeb3(WebSocketProvider(f"ws://127.0.0.1:{server.port}")) as ws3:
            await ws3.eth.subscribe("newHeads")
            block = chain.commit([])
            async for message in ws3.socket.process_subscriptions():
                assert message["result"]["hash"] == block.hash
                break
    finally:
        await server.stop()


@async_test
async def test_cmt_status_reports_round_step_peers_and_sync() -> None:
    chain, _ = build_chain()
    async with serve(chain) as client:
        status = await client.result("cmt_status")
        assert status == {
            "height": len(chain.blocks) - 1, "round": 2, "step": "prevote", "peers": 3, "catchingUp": False,
            "validator": "0x" + "07" * 20, "nodeId": "ab" * 20, "moniker": "node-7",
        }
        assert (await client.error("cmt_status", 1))["code"] == -32602
