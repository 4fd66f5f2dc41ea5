"""The ``txpool_`` namespace in geth's shapes: ``txpool_content``, ``txpool_contentFrom``,
``txpool_status`` and ``txpool_inspect``.

Transactions are grouped as ``pending`` (executable now) and ``queued``
(behind a nonce gap), by sender (EIP-55 checksummed address) and then by
nonce (a decimal string), both ascending. Transaction objects are those of
``eth_getTransactionByHash`` for a pending transaction; ``txpool_inspect``
summarises each one as geth does (``to: value wei + gas gas × price wei``,
with the fee cap as the price of a dynamic-fee transaction).

Rendering a full pool (10,000 transactions) takes up to about a second, so
it runs on a worker thread, off the event loop; the pool's transaction
objects are immutable and the grouping is a snapshot taken on the loop.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from eth.abc import SignedTransactionAPI
from eth_utils import to_checksum_address

from rpc.backend import Backend, PoolContent
from rpc.dispatch import Handler
from rpc.formatting import format_transaction, quantity
from rpc.params import Args, parse_address

Grouped = Mapping[bytes, Mapping[int, SignedTransactionAPI]]


def _by_nonce(txs: Mapping[int, SignedTransactionAPI], render: Callable[[SignedTransactionAPI], Any]) -> dict[str, Any]:
    return {str(nonce): render(tx) for nonce, tx in txs.items()}


def _by_sender(groups: Grouped, render: Callable[[SignedTransactionAPI], Any]) -> dict[str, Any]:
    return {to_checksum_address(sender): _by_nonce(txs, render) for sender, txs in groups.items()}


def _pending(tx: SignedTransactionAPI) -> dict[str, Any]:
    return format_transaction(tx, None)


def inspect_line(tx: SignedTransactionAPI) -> str:
    """geth's one-line summary: ``0xTo: 5 wei + 21000 gas × 1000000000 wei`` or ``contract creation: ...``."""
    to = to_checksum_address(tx.to) if tx.to else "contract creation"
    return f"{to}: {tx.value} wei + {tx.gas} gas × {tx.max_fee_per_gas} wei"


class TxPoolAPI:
    """Handlers of the ``txpool_`` methods."""

    def __init__(self, backend: Backend) -> None:
        """Methods answered from ``backend``'s mempool."""
        self.backend = backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "txpool_content": self.content,
            "txpool_contentFrom": self.content_from,
            "txpool_status": self.status,
            "txpool_inspect": self.inspect,
        }

    async def _grouped(self, params: Any, render: Callable[[SignedTransactionAPI], Any]) -> dict[str, Any]:
        Args(params, 0, 0)
        content: PoolContent = await self.backend.txpool_content()
        return await asyncio.to_thread(
            lambda: {"pending": _by_sender(content.pending, render), "queued": _by_sender(content.queued, render)}
        )

    async def content(self, params: Any, connection: Any) -> dict[str, Any]:
        """``txpool_content``: every pooled transaction, by sender and nonce."""
        return await self._grouped(params, _pending)

    async def inspect(self, params: Any, connection: Any) -> dict[str, Any]:
        """``txpool_inspect``: every pooled transaction as a one-line summary, by sender and nonce."""
        return await self._grouped(params, inspect_line)

    async def content_from(self, params: Any, connection: Any) -> dict[str, Any]:
        """``txpool_contentFrom``: one sender's pooled transactions, by nonce."""
        sender = Args(params, 1, 1).get(0, parse_address)
        content = await self.backend.txpool_content(sender)
        return await asyncio.to_thread(lambda: {
            "pending": _by_nonce(content.pending.get(sender, {}), _pending),
            "queued": _by_nonce(content.queued.get(sender, {}), _pending),
        })

    async def status(self, params: Any, connection: Any) -> dict[str, str]:
        """``txpool_status``: the numbers of pending and queued transactions."""
        Args(params, 0, 0)
        status = await self.backend.txpool_status()
        return {"pending": quantity(status.pending), "queued": quantity(status.queued)}
