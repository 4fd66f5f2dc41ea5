"""The ``eth_`` namespace: chain, state, execution, transactions, blocks and receipts.

Fees live in ``rpc.fees``, log queries and polling filters in ``rpc.logs``
and ``rpc.filters``, subscriptions in ``rpc.subscriptions``.
"""
from __future__ import annotations

from typing import Any

from consensus.types import Block
from rpc.backend import TxContext
from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import ExecutionReverted, ServerError
from rpc.formatting import (
    data,
    format_block,
    format_block_receipts,
    format_header,
    format_receipt,
    format_transaction,
    quantity,
    storage_word,
)
from rpc.params import (
    LATEST,
    Args,
    BlockRef,
    parse_address,
    parse_block_ref,
    parse_bool,
    parse_call_args,
    parse_data,
    parse_hash,
    parse_quantity,
)

MIN_BLOB_BASE_FEE = 1
"""EIP-4844's minimum blob base fee: the answer of ``eth_blobBaseFee`` on a chain without blobs."""


def _block_number_or_tag(value: Any) -> BlockRef:
    return parse_block_ref(value, allow_hash=False)


class EthAPI:
    """Handlers of the core ``eth_`` methods."""

    def __init__(self, chain: ChainReader) -> None:
        self.chain = chain
        self.backend = chain.backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "eth_chainId": self.chain_id,
            "eth_blockNumber": self.block_number,
            "eth_syncing": self.syncing,
            "eth_accounts": self.accounts,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.get_block_transaction_count_by_number,
            "eth_getBlockTransactionCountByHash": self.get_block_transaction_count_by_hash,
            "eth_getTransactionByBlockNumberAndIndex": self.get_transaction_by_block_number_and_index,
            "eth_getTransactionByBlockHashAndIndex": self.get_transaction_by_block_hash_and_index,
            "eth_getBlockReceipts": self.get_block_receipts,
            "eth_getUncleCountByBlockNumber": self.get_uncle_count_by_block_number,
            "eth_getUncleCountByBlockHash": self.get_uncle_count_by_block_hash,
            "eth_getHeaderByNumber": self.get_header_by_number,
            "eth_getHeaderByHash": self.get_header_by_hash,
            "eth_getUncleByBlockNumberAndIndex": self.get_uncle_by_block_number_and_index,
            "eth_getUncleByBlockHashAndIndex": self.get_uncle_by_block_hash_and_index,
            "eth_blobBaseFee": self.blob_base_fee,
        }

    async def chain_id(self, params: Any, connection: Any) -> str:
        """``eth_chainId``."""
        Args(params, 0, 0)
        return quantity(self.backend.chain_id())

    async def block_number(self, params: Any, connection: Any) -> str:
        """``eth_blockNumber``: the latest committed height."""
        Args(params, 0, 0)
        return quantity(await self.backend.latest_height())

    async def syncing(self, params: Any, connection: Any) -> Any:
        """``eth_syncing``: false, or the block-sync progress."""
        Args(params, 0, 0)
        status = await self.backend.syncing()
        if status is None:
            return False
        return {
            "startingBlock": quantity(status.starting_block),
            "currentBlock": quantity(status.current_block),
            "highestBlock": quantity(status.highest_block),
        }

    async def accounts(self, params: Any, connection: Any) -> list[str]:
        """``eth_accounts``: the node holds no unlocked accounts."""
        Args(params, 0, 0)
        return []

    async def get_balance(self, params: Any, connection: Any) -> str:
        """``eth_getBalance``."""
        args = Args(params, 1, 2)
        address = args.get(0, parse_address)
        height = await self.chain.state_height(args.optional(1, parse_block_ref, LATEST))
        return quantity(await self.backend.get_balance(address, height))

    async def get_transaction_count(self, params: Any, connection: Any) -> str:
        """``eth_getTransactionCount``; ``pending`` counts executable mempool transactions."""
        args = Args(params, 1, 2)
        address = args.get(0, parse_address)
        ref = args.optional(1, parse_block_ref, LATEST)
        if ref.tag == "pending":
            return quantity(await self.backend.pending_nonce(address))
        height = await self.chain.state_height(ref)
        return quantity(await self.backend.get_nonce(address, height))

    async def get_code(self, params: Any, connection: Any) -> str:
        """``eth_getCode``."""
        args = Args(params, 1, 2)
        address = args.get(0, parse_address)
        height = await self.chain.state_height(args.optional(1, parse_block_ref, LATEST))
        return data(await self.backend.get_code(address, height))

    async def get_storage_at(self, params: Any, connection: Any) -> str:
        """``eth_getStorageAt``: the 32-byte word at a storage slot."""
        args = Args(params, 2, 3)
        address = args.get(0, parse_address)
        slot = args.get(1, parse_quantity)
        height = await self.chain.state_height(args.optional(2, parse_block_ref, LATEST))
        return storage_word(await self.backend.get_storage_at(address, slot, height))

    async def call(self, params: Any, connection: Any) -> str:
        """``eth_call``: the return data, or error 3 with the revert data; state and block overrides as geth."""
        call = parse_call_args(params)
        height = await self.chain.state_height(call.block)
        result = await self.backend.call(call.request, height, call.overrides)
        if result.success:
            return data(result.output)
        if result.reverted:
            raise ExecutionReverted(result.output)
        raise ServerError(result.error or "execution failed")

    async def estimate_gas(self, params: Any, connection: Any) -> str:
        """``eth_estimateGas``; state and block overrides as for ``eth_call``."""
        call = parse_call_args(params)
        height = await self.chain.state_height(call.block)
        return quantity(await self.backend.estimate_gas(call.request, height, call.overrides))

    async def send_raw_transaction(self, params: Any, connection: Any) -> str:
        """``eth_sendRawTransaction``: the transaction hash once the mempool accepted it."""
        args = Args(params, 1, 1)
        raw = args.get(0, parse_data)
        return data(await self.backend.send_raw_transaction(raw))

    async def get_transaction_by_hash(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getTransactionByHash``: a mined or pending transaction, or null."""
        tx_hash = Args(params, 1, 1).get(0, parse_hash)
        mined = await self.backend.get_mined_transaction(tx_hash)
        if mined is not None:
            return format_transaction(mined.tx, mined.context)
        pending = await self.backend.get_pending_transaction(tx_hash)
        return None if pending is None else format_transaction(pending, None)

    async def get_transaction_receipt(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getTransactionReceipt``: the receipt of a mined transaction, or null."""
        tx_hash = Args(params, 1, 1).get(0, parse_hash)
        mined = await self.backend.get_mined_receipt(tx_hash)
        if mined is None:
            return None
        return format_receipt(mined.receipt, mined.block_hash, mined.block_number, mined.first_log_index)

    def _format_block(self, block: Block | None, full: bool) -> dict[str, Any] | None:
        if block is None:
            return None
        return format_block(block, self.chain.transactions(block) if full else None)

    async def get_block_by_number(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getBlockByNumber``."""
        args = Args(params, 1, 2)
        block = await self.chain.block(args.get(0, _block_number_or_tag))
        return self._format_block(block, args.optional(1, parse_bool, False))

    async def get_block_by_hash(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getBlockByHash``."""
        args = Args(params, 1, 2)
        block = await self.backend.get_block_by_hash(args.get(0, parse_hash))
        return self._format_block(block, args.optional(1, parse_bool, False))

    async def get_block_transaction_count_by_number(self, params: Any, connection: Any) -> str | None:
        """``eth_getBlockTransactionCountByNumber``."""
        block = await self.chain.block(Args(params, 1, 1).get(0, _block_number_or_tag))
        return None if block is None else quantity(len(block.transactions))

    async def get_block_transaction_count_by_hash(self, params: Any, connection: Any) -> str | None:
        """``eth_getBlockTransactionCountByHash``."""
        block = await self.backend.get_block_by_hash(Args(params, 1, 1).get(0, parse_hash))
        return None if block is None else quantity(len(block.transactions))

    def _transaction_at(self, block: Block | None, index: int) -> dict[str, Any] | None:
        if block is None or index >= len(block.transactions):
            return None
        return format_transaction(self.chain.transaction(block, index), TxContext.in_block(block, index))

    async def get_transaction_by_block_number_and_index(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getTransactionByBlockNumberAndIndex``."""
        args = Args(params, 2, 2)
        block = await self.chain.block(args.get(0, _block_number_or_tag))
        return self._transaction_at(block, args.get(1, parse_quantity))

    async def get_transaction_by_block_hash_and_index(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getTransactionByBlockHashAndIndex``."""
        args = Args(params, 2, 2)
        block = await self.backend.get_block_by_hash(args.get(0, parse_hash))
        return self._transaction_at(block, args.get(1, parse_quantity))

    async def get_block_receipts(self, params: Any, connection: Any) -> list[dict[str, Any]] | None:
        """``eth_getBlockReceipts``: every receipt of a block, or null for an unknown block."""
        block = await self.chain.block(Args(params, 1, 1).get(0, parse_block_ref))
        if block is None:
            return None
        return format_block_receipts(block, await self.chain.receipts(block))

    async def get_uncle_count_by_block_number(self, params: Any, connection: Any) -> str | None:
        """``eth_getUncleCountByBlockNumber``: 0 (a BFT chain has no uncles)."""
        block = await self.chain.block(Args(params, 1, 1).get(0, _block_number_or_tag))
        return None if block is None else "0x0"

    async def get_uncle_count_by_block_hash(self, params: Any, connection: Any) -> str | None:
        """``eth_getUncleCountByBlockHash``: 0 (a BFT chain has no uncles)."""
        block = await self.backend.get_block_by_hash(Args(params, 1, 1).get(0, parse_hash))
        return None if block is None else "0x0"

    async def get_header_by_number(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getHeaderByNumber``: the header fields of a block object (geth's shape), or null."""
        block = await self.chain.block(Args(params, 1, 1).get(0, _block_number_or_tag))
        return None if block is None else format_header(block.header)

    async def get_header_by_hash(self, params: Any, connection: Any) -> dict[str, Any] | None:
        """``eth_getHeaderByHash``: the header fields of a block object, or null."""
        block = await self.backend.get_block_by_hash(Args(params, 1, 1).get(0, parse_hash))
        return None if block is None else format_header(block.header)

    async def get_uncle_by_block_number_and_index(self, params: Any, connection: Any) -> None:
        """``eth_getUncleByBlockNumberAndIndex``: null (a BFT chain has no uncles)."""
        args = Args(params, 2, 2)
        args.get(0, _block_number_or_tag)
        args.get(1, parse_quantity)

    async def get_uncle_by_block_hash_and_index(self, params: Any, connection: Any) -> None:
        """``eth_getUncleByBlockHashAndIndex``: null (a BFT chain has no uncles)."""
        args = Args(params, 2, 2)
        args.get(0, parse_hash)
        args.get(1, parse_quantity)

    async def blob_base_fee(self, params: Any, connection: Any) -> str:
        """``eth_blobBaseFee``: 1 wei, EIP-4844's minimum (the chain takes no blob transactions)."""
        Args(params, 0, 0)
        return quantity(MIN_BLOB_BASE_FEE)
