"""Polling filters: ``eth_newFilter``, ``eth_newBlockFilter``, ``eth_newPendingTransactionFilter``,
``eth_getFilterChanges``, ``eth_getFilterLogs`` and ``eth_uninstallFilter``.

A block or log filter remembers the first height it has not reported yet; a
pending-transaction filter remembers its place in the shared ``PendingLog``
(so a poll returns at most the log's capacity of hashes). Filters not polled
within the timeout are dropped; the number of filters is bounded.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rpc.dispatch import Handler
from rpc.errors import InvalidParams, LimitExceeded, ServerError
from rpc.formatting import data, format_transaction
from rpc.ids import new_id
from rpc.logs import LogQuery
from rpc.params import Args, FilterSpec, ParamError, parse_bool, parse_filter
from rpc.pending_log import PendingLog


@dataclass
class _Filter:
    spec: FilterSpec | None  # None for a block or pending-transaction filter
    next_height: int
    last_poll: float
    next_pending: int | None = None  # the next PendingLog number to report, for a pending-transaction filter
    full: bool = False  # a pending-transaction filter reporting whole transactions, not hashes


def _parse_filter_id(value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError("filter id must be a string")
    return value.lower()


class FilterAPI:
    """Handlers of the polling-filter methods."""

    def __init__(
        self,
        query: LogQuery,
        max_filters: int,
        timeout_seconds: float,
        max_blocks_per_poll: int,
        pending_log: PendingLog,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Filters answered from ``query`` (logs, blocks) and ``pending_log`` (admitted transactions)."""
        self.query = query
        self.pending_log = pending_log
        self.backend = query.chain.backend
        self.max_filters = max_filters
        self.timeout_seconds = timeout_seconds
        self.max_blocks_per_poll = max_blocks_per_poll
        self.clock = clock
        self._filters: dict[str, _Filter] = {}

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "eth_newFilter": self.new_filter,
            "eth_newBlockFilter": self.new_block_filter,
            "eth_newPendingTransactionFilter": self.new_pending_transaction_filter,
            "eth_getFilterChanges": self.get_filter_changes,
            "eth_getFilterLogs": self.get_filter_logs,
            "eth_uninstallFilter": self.uninstall_filter,
        }

    def _expire(self) -> None:
        deadline = self.clock() - self.timeout_seconds
        for filter_id in [key for key, item in self._filters.items() if item.last_poll < deadline]:
            del self._filters[filter_id]

    async def _install(self, spec: FilterSpec | None, pending: bool = False, full: bool = False) -> str:
        self._expire()
        if len(self._filters) >= self.max_filters:
            raise LimitExceeded(f"too many filters installed, at most {self.max_filters}")
        filter_id = new_id()
        start = await self.backend.latest_height() + 1
        next_pending = self.pending_log.next_number if pending else None
        self._filters[filter_id] = _Filter(spec, start, self.clock(), next_pending, full)
        return filter_id

    def _get(self, filter_id: str) -> _Filter:
        self._expire()
        item = self._filters.get(filter_id)
        if item is None:
            raise ServerError("filter not found")
        item.last_poll = self.clock()
        return item

    async def new_filter(self, params: Any, connection: Any) -> str:
        """``eth_newFilter``: a log filter reporting logs of blocks committed after it."""
        spec = Args(params, 1, 1).get(0, parse_filter)
        if spec.block_hash is not None:
            raise InvalidParams("invalid argument 0: a polling filter cannot name a blockHash, use eth_getLogs")
        return await self._install(spec)

    async def new_block_filter(self, params: Any, connection: Any) -> str:
        """``eth_newBlockFilter``: a filter reporting the hashes of new blocks."""
        Args(params, 0, 0)
        return await self._install(None)

    async def new_pending_transaction_filter(self, params: Any, connection: Any) -> str:
        """``eth_newPendingTransactionFilter``: a filter reporting the transactions the mempool admits.

        Hashes, or with geth's optional ``true`` parameter whole transaction objects.
        """
        full = Args(params, 0, 1).optional(0, parse_bool, False)
        return await self._install(None, pending=True, full=full)

    async def get_filter_changes(self, params: Any, connection: Any) -> list[Any]:
        """``eth_getFilterChanges``: what is new since the last poll (bounded per poll)."""
        item = self._get(Args(params, 1, 1).get(0, _parse_filter_id))
        if item.next_pending is not None:
            txs = self.pending_log.since(item.next_pending)
            item.next_pending = self.pending_log.next_number
            return [format_transaction(tx, None) if item.full else data(tx.hash) for tx in txs]
        latest = await self.backend.latest_height()
        first = item.next_height
        last = min(latest, first + self.max_blocks_per_poll - 1)
        if first > last:
            return []
        if item.spec is None:
            hashes = []
            for height in range(first, last + 1):
                block = await self.backend.get_block_by_number(height)
                if block is not None:
                    hashes.append(data(block.hash))
            item.next_height = last + 1
            return hashes
        logs = await self.query.run(self.query.bounded(first, last, item.spec))
        item.next_height = last + 1
        return logs

    async def get_filter_logs(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``eth_getFilterLogs``: every log matching a log filter's criteria."""
        item = self._get(Args(params, 1, 1).get(0, _parse_filter_id))
        if item.spec is None:
            raise ServerError("filter not found")  # geth's answer for a block or pending-transaction filter
        return await self.query.run(await self.query.resolve(item.spec))

    async def uninstall_filter(self, params: Any, connection: Any) -> bool:
        """``eth_uninstallFilter``: true if the filter existed."""
        filter_id = Args(params, 1, 1).get(0, _parse_filter_id)
        self._expire()
        return self._filters.pop(filter_id, None) is not None
