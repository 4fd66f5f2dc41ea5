"""Block lookups for the RPC methods: block-tag resolution and cached transaction decoding.

The chain is final (BFT): ``safe``, ``finalized`` and ``pending`` all name
the latest committed block, except that ``pending`` nonces include the
mempool (handled by ``eth_getTransactionCount``).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from consensus.types import Block
from rpc.backend import Backend
from rpc.errors import ResourceNotFound
from rpc.params import BlockRef
from vm.receipts import Receipt
from vm.transactions import decode_transaction


class ChainReader:
    """Resolves block references against the backend and decodes block transactions once."""

    def __init__(self, backend: Backend, cache_blocks: int) -> None:
        self.backend = backend
        self._cache_blocks = cache_blocks
        self._decoded: OrderedDict[bytes, tuple[Any, ...]] = OrderedDict()

    async def height_of(self, ref: BlockRef) -> int | None:
        """The height ``ref`` names, or None if no such block exists."""
        latest = await self.backend.latest_height()
        if ref.block_hash is not None:
            block = await self.backend.get_block_by_hash(ref.block_hash)
            return None if block is None else block.number
        if ref.tag == "earliest":
            return 0
        if ref.number is None:
            return latest
        return ref.number if ref.number <= latest else None

    async def state_height(self, ref: BlockRef) -> int:
        """The height whose post-state a state query reads; raises ``ResourceNotFound``."""
        height = await self.height_of(ref)
        if height is None:
            what = "header for hash not found" if ref.block_hash is not None else "header not found"
            raise ResourceNotFound(what)
        return height

    async def block(self, ref: BlockRef) -> Block | None:
        """The block ``ref`` names, or None."""
        if ref.block_hash is not None:
            return await self.backend.get_block_by_hash(ref.block_hash)
        height = await self.height_of(ref)
        return None if height is None else await self.backend.get_block_by_number(height)

    def transactions(self, block: Block) -> tuple[Any, ...]:
        """The decoded transactions of ``block`` (senders recovered), from a small LRU cache."""
        key = block.hash
        cached = self._decoded.get(key)
        if cached is not None:
            self._decoded.move_to_end(key)
            return cached
        chain_id = self.backend.chain_id()
        decoded = tuple(decode_transaction(raw, chain_id) for raw in block.transactions)
        self._decoded[key] = decoded
        if len(self._decoded) > self._cache_blocks:
            self._decoded.popitem(last=False)
        return decoded

    def transaction(self, block: Block, index: int) -> Any:
        """One decoded transaction of ``block``, without decoding the others."""
        cached = self._decoded.get(block.hash)
        if cached is not None:
            return cached[index]
        return decode_transaction(block.transactions[index], self.backend.chain_id())

    async def receipts(self, block: Block) -> Sequence[Receipt]:
        """The receipts of a committed block (raises ``ResourceNotFound`` if they are missing)."""
        receipts = await self.backend.get_receipts(block.hash)
        if receipts is None:
            raise ResourceNotFound(f"receipts of block {block.number} not found")
        return receipts
