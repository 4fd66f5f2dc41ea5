"""Unit tests of the RPC building blocks: parameter parsing, revert decoding, log matching, fee rewards."""
from __future__ import annotations

import asyncio
import json
import re
from fractions import Fraction

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account

from rpc.backend import CallRequest, CallResult, TxContext
from rpc.errors import ExecutionReverted, InvalidParams, decode_revert_reason
from rpc.fees import block_rewards, parse_block_count, parse_percentiles
from rpc.formatting import format_transaction, quantity
from rpc.jsonwire import encode, encode_text
from rpc.params import (
    Args,
    BlockRef,
    ParamError,
    parse_block_ref,
    parse_call_request,
    parse_data,
    parse_filter,
    parse_quantity,
)
from rpc.subscriptions import WSConnection
from vm.logs import LogFilter
from vm.receipts import Log, Receipt
from vm.transactions import decode_transaction

A = bytes.fromhex("aa" * 20)
B = bytes.fromhex("bb" * 20)
T1 = bytes.fromhex("01" * 32)
T2 = bytes.fromhex("02" * 32)


def test_quantities_and_data() -> None:
    assert parse_quantity("0x0") == 0
    assert parse_quantity("0x1f") == 31
    assert quantity(0) == "0x0" and quantity(255) == "0xff"
    assert parse_data("0x") == b""
    for bad, message in [("12", "hex string without 0x prefix"), ("0x", 'hex string "0x"'), (7, "cannot unmarshal number into a hex quantity")]:
        with pytest.raises(ParamError, match=message):
            parse_quantity(bad)
    with pytest.raises(ParamError, match="odd length"):
        parse_data("0xabc")


def test_block_refs_follow_eip_1898() -> None:
    assert parse_block_ref("latest") == BlockRef(tag="latest")
    assert parse_block_ref("0x10") == BlockRef(number=16)
    assert parse_block_ref("0x" + "ab" * 32) == BlockRef(block_hash=bytes.fromhex("ab" * 32))
    assert parse_block_ref({"blockHash": "0x" + "ab" * 32, "requireCanonical": True}) == BlockRef(block_hash=bytes.fromhex("ab" * 32))
    assert parse_block_ref({"blockNumber": "0x2"}) == BlockRef(number=2)
    with pytest.raises(ParamError, match="exactly one"):
        parse_block_ref({"blockNumber": "0x2", "blockHash": "0x" + "ab" * 32})
    with pytest.raises(ParamError, match="unknown field"):
        parse_block_ref({"number": "0x2"})
    with pytest.raises(ParamError):
        parse_block_ref({"blockHash": "0x" + "ab" * 32}, allow_hash=False)
    with pytest.raises(ParamError, match="int64"):
        parse_block_ref("0x" + "f" * 16)
    with pytest.raises(ParamError):
        parse_block_ref("newest")


def test_call_request_fields() -> None:
    request = parse_call_request({
        "from": "0x" + A.hex(), "to": "0x" + B.hex(), "gas": "0x5208", "maxFeePerGas": "0x10",
        "maxPriorityFeePerGas": "0x2", "value": "0x1", "data": "0x01", "nonce": "0x3", "type": "0x2",
        "accessList": [{"address": "0x" + B.hex(), "storageKeys": ["0x" + "00" * 31 + "07"]}],
    })
    assert request == CallRequest(
        sender=A, to=B, gas=21_000, max_fee_per_gas=16, max_priority_fee_per_gas=2, value=1,
        data=b"\x01", access_list=((B, (7,)),), nonce=3,
    )
    assert parse_call_request({"to": None}) == CallRequest()
    assert parse_call_request({"input": "0x02", "data": "0x02"}).data == b"\x02"
    for bad, message in [
        ({"to": "0x" + B.hex(), "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x2"}, "greater than or equal"),
        ({"blobs": []}, "unsupported transaction field 'blobs'"),
        ({"gas": "0xzz"}, "gas: invalid hex string"),
        ({"accessList": [{"address": "0x" + B.hex()}]}, "exactly address and storageKeys"),
        ("0x00", "cannot unmarshal string into a transaction object"),
    ]:
        with pytest.raises(ParamError, match=message):
            parse_call_request(bad)


def test_filter_parsing() -> None:
    spec = parse_filter({"fromBlock": "earliest", "address": "0x" + A.hex(), "topics": [None, ["0x" + T1.hex(), "0x" + T2.hex()], [], "0x" + T1.hex()]})
    assert spec.from_block == BlockRef(tag="earliest") and spec.to_block == BlockRef(tag="latest")
    assert spec.log_filter.addresses == (A,)
    assert spec.log_filter.topics == (None, (T1, T2), None, (T1,))
    with pytest.raises(ParamError, match="unknown filter field"):
        parse_filter({"from": "0x1"})
    with pytest.raises(ParamError, match="more than 4"):
        parse_filter({"topics": [None] * 5})


def test_args_count_and_positions() -> None:
    args = Args(["0x1"], 1, 2)
    assert args.get(0, parse_quantity) == 1
    assert args.optional(1, parse_quantity, 9) == 9
    with pytest.raises(InvalidParams, match="invalid argument 0: hex string without 0x prefix"):
        Args(["1"], 1, 1).get(0, parse_quantity)
    with pytest.raises(InvalidParams, match="missing value for required argument 1"):
        Args(["0x1"], 2, 2)
    with pytest.raises(InvalidParams, match="too many arguments, want at most 1"):
        Args(["0x1", "0x2"], 0, 1)


def test_log_filter_matching() -> None:
    log = Log(A, (T1, T2), b"")
    assert LogFilter().matches_log(log)
    assert LogFilter((B, A)).matches_log(log)
    assert not LogFilter((B,)).matches_log(log)
    assert LogFilter((), (None, (T1, T2))).matches_log(log)
    assert not LogFilter((), ((T2,),)).matches_log(log)
    assert not LogFilter((), (None, None, None)).matches_log(log)


def test_revert_reasons() -> None:
    error = bytes.fromhex("08c379a0") + abi_encode(["string"], ["Ownable: caller is not the owner"])
    assert decode_revert_reason(error) == "Ownable: caller is not the owner"
    assert decode_revert_reason(bytes.fromhex("4e487b71") + abi_encode(["uint256"], [1])) == "panic: assert(false) (0x1)"
    assert decode_revert_reason(bytes.fromhex("4e487b71") + abi_encode(["uint256"], [0x99])) == "panic: unknown panic code (0x99)"
    assert decode_revert_reason(b"") is None
    assert decode_revert_reason(bytes.fromhex("deadbeef") + b"\x00" * 32) is None
    assert decode_revert_reason(bytes.fromhex("08c379a0") + b"\x00" * 5) is None
    custom = ExecutionReverted(bytes.fromhex("deadbeef"))
    assert custom.to_json() == {"code": 3, "message": "execution reverted", "data": "0xdeadbeef"}
    assert CallResult(False, error, 1, "execution reverted").reverted
    assert not CallResult(False, b"", 1, "out of gas").reverted


def test_fee_rewards_are_gas_weighted_percentiles() -> None:
    def receipt(price: int, gas: int) -> Receipt:
        return Receipt(b"\x00" * 32, 0, 2, A, B, None, 1, gas, gas, price, ())

    receipts = [receipt(15, 10_000), receipt(12, 80_000), receipt(30, 10_000)]
    percentiles = (Fraction(0), Fraction(10), Fraction(50), Fraction(95), Fraction(100))
    assert block_rewards(100_000, 10, receipts, percentiles) == [2, 2, 2, 20, 20]
    assert block_rewards(0, 10, [], percentiles) == [0] * 5
    assert parse_percentiles([0, 12.5, 100]) == (0, Fraction(25, 2), 100)
    assert parse_block_count(4) == 4 and parse_block_count("4") == 4 and parse_block_count("0x4") == 4
    with pytest.raises(ParamError):
        parse_percentiles([True])


def test_typed_transaction_shapes() -> None:
    account = Account.from_key("0x" + "33" * 32)
    raw = bytes(account.sign_transaction({
        "chainId": 18, "type": 2, "nonce": 0, "maxFeePerGas": 100, "maxPriorityFeePerGas": 5,
        "gas": 21_000, "to": account.address, "value": 1,
    }).raw_transaction)
    tx = decode_transaction(raw, 18)
    mined = format_transaction(tx, TxContext(b"\x01" * 32, 4, 1000, 0, 50))
    assert mined["gasPrice"] == quantity(55) and mined["chainId"] == "0x12" and mined["yParity"] == mined["v"]
    assert mined["blockTimestamp"] == quantity(1000)
    pending = format_transaction(tx, None)
    assert pending["gasPrice"] == quantity(100) and pending["blockHash"] is None and "blockTimestamp" not in pending

    legacy_raw = bytes(account.sign_transaction({"chainId": 18, "nonce": 1, "gasPrice": 9, "gas": 21_000, "to": account.address}).raw_transaction)
    legacy = format_transaction(decode_transaction(legacy_raw, 18), None)
    assert legacy["chainId"] == "0x12" and "yParity" not in legacy and "accessList" not in legacy


def test_ws_connection_overflow_closes_instead_of_growing() -> None:
    async def scenario() -> None:
        connection = WSConnection(max_queue=2)
        connection.push({"n": 1})
        connection.push({"n": 2})
        connection.push({"n": 3})
        assert connection.overflowed and connection.closed
        assert connection.queue.qsize() == 1 and connection.queue.get_nowait() is None
        connection.push({"n": 4})
        assert connection.queue.empty()

    asyncio.run(scenario())


def test_filter_and_subscription_ids_are_hex_quantities_without_leading_zeros() -> None:
    from rpc.ids import new_id

    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"0x[1-9a-f][0-9a-f]{31}", value) for value in ids)


def test_responses_are_compact_json_and_integers_beyond_64_bits_still_encode() -> None:
    response = {"jsonrpc": "2.0", "id": 7, "result": {"hash": "0x" + "ab" * 32, "logs": [], "ok": True, "x": None}}
    assert encode(response) == json.dumps(response, separators=(",", ":")).encode()
    assert json.loads(encode({"id": 1, "result": 2**70})) == {"id": 1, "result": 2**70}
    assert json.loads(encode_text({"name": "caf\u00e9"})) == {"name": "caf\u00e9"}
