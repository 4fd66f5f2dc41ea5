"""Blocks, transactions, receipts and logs in the JSON shapes of the Ethereum execution-apis.

Quantities are 0x-hex without leading zeros, byte strings are 0x-hex,
addresses are lowercase 0x-hex.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rlp
from eth_hash.auto import keccak

from consensus.types import Block, Header
from rpc.backend import TxContext
from vm.logs import BlockLog, receipt_logs
from vm.receipts import Receipt
from vm.transactions import (
    ACCESS_LIST_TX_TYPE,
    DYNAMIC_FEE_TX_TYPE,
    LEGACY_TX_TYPE,
    effective_gas_price,
    tx_type,
)

EMPTY_NONCE = "0x0000000000000000"


def quantity(value: int) -> str:
    """An integer as a 0x-hex quantity."""
    return hex(value)


def data(value: bytes) -> str:
    """Bytes as 0x-hex."""
    return "0x" + value.hex()


def optional_address(value: bytes | None) -> str | None:
    """An address, or None for a missing or empty one (contract creation)."""
    return data(value) if value else None


def storage_word(value: int) -> str:
    """A 256-bit storage word as 32 bytes of 0x-hex."""
    return data(value.to_bytes(32, "big"))


def format_header(header: Header) -> dict[str, Any]:
    """The header fields of a block object (also the ``newHeads`` notification)."""
    return {
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "sha3Uncles": data(header.ommers_hash),
        "miner": data(header.coinbase),
        "stateRoot": data(header.state_root),
        "transactionsRoot": data(header.transactions_root),
        "receiptsRoot": data(header.receipts_root),
        "logsBloom": data(header.logs_bloom.to_bytes(256, "big")),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "number": quantity(header.number),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "extraData": data(header.extra_data),
        "mixHash": data(header.mix_hash),
        "nonce": EMPTY_NONCE,
        "baseFeePerGas": quantity(header.base_fee_per_gas),
    }


def format_block(block: Block, transactions: Sequence[Any] | None) -> dict[str, Any]:
    """A block object with its decoded ``transactions`` as objects, or with hashes when None."""
    result = format_header(block.header)
    result["size"] = quantity(len(rlp.encode(block)))
    if transactions is not None:
        result["transactions"] = [
            format_transaction(tx, TxContext.in_block(block, index))
            for index, tx in enumerate(transactions)
        ]
    else:
        result["transactions"] = [data(keccak(raw)) for raw in block.transactions]
    result["uncles"] = []
    return result


def format_transaction(tx: Any, context: TxContext | None) -> dict[str, Any]:
    """A transaction object; ``context`` is None for a pending transaction."""
    kind = tx_type(tx)
    result: dict[str, Any] = {
        "blockHash": data(context.block_hash) if context else None,
        "blockNumber": quantity(context.block_number) if context else None,
        "from": data(tx.sender),
        "gas": quantity(tx.gas),
        "hash": data(tx.hash),
        "input": data(tx.data),
        "nonce": quantity(tx.nonce),
        "to": optional_address(tx.to),
        "transactionIndex": quantity(context.index) if context else None,
        "value": quantity(tx.value),
        "type": quantity(kind),
        "chainId": quantity(tx.chain_id),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
    }
    if context is not None:
        result["blockTimestamp"] = quantity(context.block_timestamp)
    if kind == LEGACY_TX_TYPE:
        result["gasPrice"] = quantity(tx.gas_price)
        result["v"] = quantity(tx.v)
        return result
    result["accessList"] = [
        {"address": data(address), "storageKeys": [storage_word(slot) for slot in slots]}
        for address, slots in tx.access_list
    ]
    result["yParity"] = quantity(tx.y_parity)
    result["v"] = quantity(tx.y_parity)
    if kind == ACCESS_LIST_TX_TYPE:
        result["gasPrice"] = quantity(tx.gas_price)
    elif kind == DYNAMIC_FEE_TX_TYPE:
        result["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
        result["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
        price = effective_gas_price(tx, context.base_fee) if context else tx.max_fee_per_gas
        result["gasPrice"] = quantity(price)
    return result


def format_log(entry: BlockLog) -> dict[str, Any]:
    """A log object with its position in the chain (a block event has no transaction: null)."""
    return {
        "removed": False,
        "logIndex": quantity(entry.log_index),
        "transactionIndex": None if entry.tx_index is None else quantity(entry.tx_index),
        "transactionHash": None if entry.tx_hash is None else data(entry.tx_hash),
        "blockHash": data(entry.block_hash),
        "blockNumber": quantity(entry.block_number),
        "address": data(entry.log.address),
        "data": data(entry.log.data),
        "topics": [data(topic) for topic in entry.log.topics],
    }


def format_receipt(
    receipt: Receipt, block_hash: bytes, block_number: int, first_log_index: int
) -> dict[str, Any]:
    """A receipt object; ``first_log_index`` is the block-wide index of its first log."""
    logs = [format_log(entry) for entry in receipt_logs(block_number, block_hash, receipt, first_log_index)]
    return {
        "type": quantity(receipt.tx_type),
        "transactionHash": data(receipt.tx_hash),
        "transactionIndex": quantity(receipt.tx_index),
        "blockHash": data(block_hash),
        "blockNumber": quantity(block_number),
        "from": data(receipt.sender),
        "to": optional_address(receipt.to),
        "cumulativeGasUsed": quantity(receipt.cumulative_gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "contractAddress": optional_address(receipt.contract_address),
        "logs": logs,
        "logsBloom": data(receipt.bloom.to_bytes(256, "big")),
        "status": quantity(receipt.status),
        "effectiveGasPrice": quantity(receipt.effective_gas_price),
    }


def format_block_receipts(block: Block, receipts: Sequence[Receipt]) -> list[dict[str, Any]]:
    """All receipts of a block, with block-wide log indexes."""
    result = []
    log_index = 0
    for receipt in receipts:
        result.append(format_receipt(receipt, block.hash, block.number, log_index))
        log_index += len(receipt.logs)
    return result
