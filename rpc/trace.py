"""The Parity-style ``trace_`` methods: flat call traces of blocks and transactions.

``trace_block``, ``trace_transaction``, ``trace_filter`` and
``trace_replayBlockTransactions`` (``["trace"]`` and ``["stateDiff"]``;
``vmTrace`` is answered with null). Every transaction of a block is a tree of
``call``/``create`` traces (native contracts included) flattened depth first
with its ``traceAddress``; ``trace_block`` and ``trace_filter`` end each
block with one ``reward`` trace per account whose balance the block's
begin/end hooks raised (block award, fees paid out, unbonding paid back).
``trace_filter`` scans at most ``MAX_FILTER_BLOCKS`` blocks and returns at
most ``MAX_FILTER_RESULTS`` traces (use ``after``/``count`` to page).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import InvalidParams, LimitExceeded, ResourceNotFound
from rpc.params import Args, BlockRef, ParamError, brief, parse_address, parse_block_ref, parse_hash
from rpc.trace_format import flat_traces, parity_state_diff, reward_traces
from vm.tracing.session import BlockTraces, TraceSpec

MAX_FILTER_BLOCKS = 100
MAX_FILTER_RESULTS = 10_000
REPLAY_TYPES = ("trace", "stateDiff", "vmTrace")
FLAT = TraceSpec(kind="flat")


@dataclass(frozen=True)
class TraceFilter:
    """A ``trace_filter`` query: a block range, senders and recipients (empty: any), and a page."""

    from_block: BlockRef
    to_block: BlockRef
    from_addresses: frozenset[str]
    to_addresses: frozenset[str]
    after: int
    count: int | None

    def matches(self, trace: dict[str, Any]) -> bool:
        """Whether ``trace``'s sender and recipient (author for a reward) are among those asked for."""
        action = trace["action"]
        sender = action.get("from")
        recipient = action.get("to") or action.get("author")
        if trace["type"] == "create" and trace.get("result"):
            recipient = trace["result"]["address"]
        if self.from_addresses and sender not in self.from_addresses:
            return False
        return not self.to_addresses or recipient in self.to_addresses


def _addresses(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ParamError("fromAddress/toAddress must be an array of addresses")
    return frozenset("0x" + parse_address(item).hex() for item in value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParamError(f"count/after must be a non-negative integer, not {brief(value)}")
    return value


def parse_trace_filter(value: Any) -> TraceFilter:
    """The ``trace_filter`` object: ``fromBlock``, ``toBlock``, ``fromAddress``, ``toAddress``, ``after``, ``count``."""
    if not isinstance(value, dict):
        raise ParamError("trace filter must be an object")
    unknown = sorted(set(value) - {"fromBlock", "toBlock", "fromAddress", "toAddress", "after", "count", "mode"})
    if unknown:
        raise ParamError(f"unknown trace filter field {brief(unknown[0])}")
    bounds = [parse_block_ref(value[name], allow_hash=False) if value.get(name) is not None
              else BlockRef(tag="latest") for name in ("fromBlock", "toBlock")]
    return TraceFilter(bounds[0], bounds[1], _addresses(value.get("fromAddress")), _addresses(value.get("toAddress")),
                       _count(value.get("after", 0)), None if value.get("count") is None else _count(value["count"]))


def parse_replay_types(value: Any) -> tuple[str, ...]:
    """The trace types of ``trace_replay*``: ``trace``, ``stateDiff``, ``vmTrace``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ParamError("trace types must be an array of strings")
    unknown = [item for item in value if item not in REPLAY_TYPES]
    if unknown:
        raise ParamError(f"unknown trace type {brief(unknown[0])}: use trace, stateDiff or vmTrace")
    return tuple(value)


def _context(traces: BlockTraces, tx_hash: bytes | None, position: int | None) -> dict[str, Any]:
    return {"blockHash": "0x" + traces.block_hash.hex(), "blockNumber": traces.number,
            "transactionHash": None if tx_hash is None else "0x" + tx_hash.hex(), "transactionPosition": position}


def block_flat_traces(traces: BlockTraces) -> list[dict[str, Any]]:
    """Every flat trace of a block, transactions first, then the hooks' rewards."""
    result: list[dict[str, Any]] = []
    for trace in traces.transactions:
        if trace.call is not None:
            result.extend(flat_traces(trace.call, _context(traces, trace.tx_hash, trace.index)))
    result.extend(reward_traces(traces.hooks, _context(traces, None, None)))
    return result


class TraceAPI:
    """Handlers of the ``trace_`` methods."""

    def __init__(self, chain: ChainReader) -> None:
        self.chain = chain
        self.backend = chain.backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "trace_block": self.trace_block,
            "trace_transaction": self.trace_transaction,
            "trace_filter": self.trace_filter,
            "trace_replayBlockTransactions": self.replay_block_transactions,
        }

    async def trace_block(self, params: Any, connection: Any) -> list[dict[str, Any]] | None:
        """``trace_block``: the block's flat traces and rewards, or null for an unknown block."""
        height = await self.chain.height_of(Args(params, 1, 1).get(0, parse_block_ref))
        if height is None:
            return None
        return block_flat_traces(await self.backend.trace_block(height, FLAT, with_hooks=True))

    async def trace_transaction(self, params: Any, connection: Any) -> list[dict[str, Any]] | None:
        """``trace_transaction``: the transaction's flat traces, or null for an unknown transaction."""
        tx_hash = Args(params, 1, 1).get(0, parse_hash)
        traces = await self.backend.trace_transaction(tx_hash, FLAT)
        if traces is None or not traces.transactions:
            return None
        trace = traces.transactions[0]
        assert trace.call is not None
        return flat_traces(trace.call, _context(traces, trace.tx_hash, trace.index))

    async def trace_filter(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``trace_filter``: matching traces of a bounded block range, paged by ``after`` and ``count``."""
        query = Args(params, 1, 1).get(0, parse_trace_filter)
        first = await self.chain.height_of(query.from_block)
        last = await self.chain.height_of(query.to_block)
        if first is None or last is None:
            raise ResourceNotFound("header not found")
        if last < first:
            raise InvalidParams("invalid block range: fromBlock is after toBlock")
        if last - first + 1 > MAX_FILTER_BLOCKS:
            raise LimitExceeded(f"block range too large: {last - first + 1} blocks, at most {MAX_FILTER_BLOCKS}")
        wanted = MAX_FILTER_RESULTS if query.count is None else min(query.count, MAX_FILTER_RESULTS)
        found: list[dict[str, Any]] = []
        skipped = 0
        for height in range(first, last + 1):
            for trace in block_flat_traces(await self.backend.trace_block(height, FLAT, with_hooks=True)):
                if not query.matches(trace):
                    continue
                if skipped < query.after:
                    skipped += 1
                    continue
                if len(found) == wanted:
                    if query.count is None:
                        raise LimitExceeded(f"query returned more than {MAX_FILTER_RESULTS} results "
                                            "(use after and count to page)")
                    return found
                found.append(trace)
        return found

    async def replay_block_transactions(self, params: Any, connection: Any) -> list[dict[str, Any]] | None:
        """``trace_replayBlockTransactions``: per transaction its output, traces and state diff as asked."""
        args = Args(params, 2, 2)
        height = await self.chain.height_of(args.get(0, parse_block_ref))
        types = args.get(1, parse_replay_types)
        if height is None:
            return None
        spec = TraceSpec(kind="flat", state_diff="stateDiff" in types)
        traces = await self.backend.trace_block(height, spec)
        result = []
        for trace in traces.transactions:
            assert trace.call is not None
            result.append({
                "output": "0x" + trace.output.hex(),
                "stateDiff": parity_state_diff(trace.diff) if "stateDiff" in types and trace.diff else None,
                "trace": flat_traces(trace.call, {}) if "trace" in types else [],
                "transactionHash": "0x" + trace.tx_hash.hex(),
                "vmTrace": None,
            })
        return result
