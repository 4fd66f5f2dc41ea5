"""Signed transactions sent to a node over JSON-RPC.

Transactions are signed locally and sent with ``eth_sendRawTransaction``: EIP-1559 with
the chain id from ``eth_chainId``, the pending nonce, fees from the node's base fee and
suggested tip, and gas from ``eth_estimateGas`` (a revert found by the estimate stops
before anything is sent); a mined transaction that reverted is replayed with ``eth_call``
to learn its reason.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from cybermiles_node.chainclient.abi import parse_amount
from cybermiles_node.chainclient.errors import ArgumentError, ReceiptTimeoutError, TransactionFailedError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError, RpcResponseError

#: Seconds between receipt polls.
RECEIPT_POLL_INTERVAL_S = 0.25


@dataclass(frozen=True)
class TxOptions:
    """User choices for a transaction; ``None`` means ask the node."""

    gas: int | None
    max_fee: int | None
    priority_fee: int | None
    nonce: int | None
    wait: bool
    timeout: float


def send_transaction(
    client: RpcClient,
    private_key: bytes,
    to: str | None,
    value: int,
    data: bytes,
    options: TxOptions,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Sign and send a transaction; return its hash, and its receipt fields when waited for
    (``progress`` hears that the transaction was sent while its receipt is awaited)."""
    sender = Account.from_key(private_key).address
    call = {"from": sender, "value": hex(value), "data": "0x" + data.hex()}
    if to is not None:
        call["to"] = to
    chain_id = int(client.call("eth_chainId"), 16)
    nonce = options.nonce if options.nonce is not None else int(
        client.call("eth_getTransactionCount", sender, "pending"), 16
    )
    gas = options.gas if options.gas is not None else int(client.call("eth_estimateGas", call), 16)
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data}
    if to is not None:
        tx["to"] = to
    tx.update(_fees(client, options))
    signed = Account.sign_transaction(tx, private_key)
    tx_hash = client.call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    result: dict[str, Any] = {"transactionHash": tx_hash, "from": sender, "nonce": nonce, "chainId": chain_id}
    if to is None:
        result["contractAddress"] = create_address(sender, nonce)
    if not options.wait:
        return result
    if progress is not None:
        progress(f"Sent {tx_hash}, waiting for it to be mined...")
    receipt = wait_for_receipt(client, tx_hash, options.timeout)
    result.update(
        blockNumber=int(receipt["blockNumber"], 16),
        blockHash=receipt.get("blockHash"),
        status="success" if int(receipt.get("status", "0x1"), 16) == 1 else "reverted",
        gasUsed=int(receipt["gasUsed"], 16),
        effectiveGasPrice=int(receipt.get("effectiveGasPrice", "0x0"), 16),
        logs=receipt.get("logs", []),
    )
    if receipt.get("contractAddress"):
        result["contractAddress"] = to_checksum_address(receipt["contractAddress"])
    if result["status"] == "reverted":
        reason = _replay_reason(client, call, result["blockNumber"], gas)
        raise TransactionFailedError(
            f"transaction {tx_hash} reverted in block {result['blockNumber']} "
            f"(gas used {result['gasUsed']})" + (f": {reason}" if reason else ""),
            reason,
        )
    return result


def wait_for_receipt(client: RpcClient, tx_hash: str, timeout: float) -> dict[str, Any]:
    """Poll ``eth_getTransactionReceipt`` until the receipt exists or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = client.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return dict(receipt)
        if time.monotonic() >= deadline:
            raise ReceiptTimeoutError(
                f"transaction {tx_hash} was not mined within {timeout:g} s (it may still be included)"
            )
        time.sleep(RECEIPT_POLL_INTERVAL_S)


def create_address(sender: str, nonce: int) -> str:
    """The address of a contract created by ``sender`` at ``nonce``."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def _fees(client: RpcClient, options: TxOptions) -> dict[str, Any]:
    """EIP-1559 fee fields (2 x base fee + tip unless given); legacy gasPrice if no base fee."""
    base_fee = _next_base_fee(client)
    if base_fee is None:
        gas_price = options.max_fee if options.max_fee is not None else int(client.call("eth_gasPrice"), 16)
        return {"gasPrice": gas_price}
    if options.priority_fee is not None:
        tip = options.priority_fee
    else:
        try:
            tip = int(client.call("eth_maxPriorityFeePerGas"), 16)
        except RpcResponseError:
            tip = max(int(client.call("eth_gasPrice"), 16) - base_fee, 0)
    max_fee = options.max_fee if options.max_fee is not None else 2 * base_fee + tip
    if max_fee < tip:
        raise ArgumentError(f"--max-fee ({max_fee} wei) is below the priority fee ({tip} wei)")
    return {"type": 2, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}


def _next_base_fee(client: RpcClient) -> int | None:
    """The base fee of the next block, ``None`` on a chain without base fees."""
    try:
        history = client.call("eth_feeHistory", "0x1", "latest", [])
        base_fees = history.get("baseFeePerGas") if isinstance(history, dict) else None
        if base_fees:
            return int(base_fees[-1], 16)
    except RpcResponseError:
        pass
    block = client.call("eth_getBlockByNumber", "latest", False)
    if isinstance(block, dict) and block.get("baseFeePerGas") is not None:
        return int(block["baseFeePerGas"], 16)
    return None


def _replay_reason(client: RpcClient, call: dict[str, Any], block_number: int, gas: int) -> str | None:
    """Replay a reverted transaction with ``eth_call`` on its parent block to learn the reason.

    The replay is an explanation only: when it does not revert (the state
    differs from the one inside the block) or fails, there is no reason to show.
    """
    try:
        client.call("eth_call", {**call, "gas": hex(gas)}, hex(max(block_number - 1, 0)))
    except RpcResponseError as exc:
        return exc.revert_reason or (exc.rpc_message if exc.is_revert else None)
    except RpcClientError:
        return None
    return None


def build_tx_options(gas: int | None, max_fee: str | None, priority_fee: str | None, nonce: int | None,
                wait: bool, timeout: float) -> TxOptions:
    """Parse the fee amounts into :class:`TxOptions`."""
    return TxOptions(
        gas=gas,
        max_fee=parse_amount(max_fee) if max_fee is not None else None,
        priority_fee=parse_amount(priority_fee) if priority_fee is not None else None,
        nonce=nonce,
        wait=wait,
        timeout=timeout,
    )
