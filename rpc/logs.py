"""``eth_getLogs``: resolving a filter to a bounded block range and querying the backend.

A range wider than ``max_block_range`` blocks and an answer of more than
``max_results`` logs are refused with -32602 (invalid params) in the words
indexers look for (``exceed maximum block range: N``, ``query returned more
than N results``), never with -32005, which clients such as Foundry read as
rate limiting and retry unchanged.
"""
from __future__ import annotations

from typing import Any

from rpc.backend import LogSearch
from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import InvalidParams, ResourceNotFound
from rpc.formatting import format_log
from rpc.params import Args, FilterSpec, parse_filter


class LogQuery:
    """Runs log queries within the configured block-range and result bounds."""

    def __init__(self, chain: ChainReader, max_block_range: int, max_results: int) -> None:
        self.chain = chain
        self.max_block_range = max_block_range
        self.max_results = max_results

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"eth_getLogs": self.get_logs}

    async def get_logs(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``eth_getLogs``."""
        spec = Args(params, 1, 1).get(0, parse_filter)
        return await self.run(await self.resolve(spec))

    async def resolve(self, spec: FilterSpec) -> LogSearch | None:
        """The concrete query for ``spec``, or None when the range holds no committed block yet."""
        if spec.block_hash is not None:
            block = await self.chain.backend.get_block_by_hash(spec.block_hash)
            if block is None:
                raise ResourceNotFound("unknown block")
            return self.bounded(block.number, block.number, spec)
        first = await self.chain.height_of(spec.from_block)
        if first is None:
            return None
        last = await self.chain.height_of(spec.to_block)
        if last is None:
            last = await self.chain.backend.latest_height()
        return self.bounded(first, last, spec)

    def bounded(self, first: int, last: int, spec: FilterSpec) -> LogSearch:
        """A ``LogSearch`` over ``first..last``, checked against the range limit."""
        if first > last:
            raise InvalidParams("invalid block range params: fromBlock is after toBlock")
        if last - first + 1 > self.max_block_range:
            raise InvalidParams(f"exceed maximum block range: {self.max_block_range}")
        return LogSearch(first, last, spec.log_filter, self.max_results)

    async def run(self, query: LogSearch | None) -> list[dict[str, Any]]:
        """The formatted logs of a query; raises ``InvalidParams`` past the result bound."""
        if query is None:
            return []
        entries = await self.chain.backend.get_logs(query)
        if len(entries) > self.max_results:
            raise InvalidParams(f"query returned more than {self.max_results} results")
        return [format_log(entry) for entry in entries]
