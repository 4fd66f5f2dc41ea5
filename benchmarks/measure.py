"""Send pre-signed transactions in JSON-RPC batches and observe when each one is committed.

Sending and observing run concurrently on separate connection pools. The observer
follows ``eth_blockNumber`` and reads every new block once (``eth_getBlockByNumber``
plus ``eth_getBlockReceipts``, or ``eth_getTransactionReceipt`` batches where the
node answers ``eth_getBlockReceipts`` with an error); a transaction's commit time is the moment its
block was first seen.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.errors import RpcError, RpcTransportError
from benchmarks.rpcclient import Call, RpcClient, encode_batch
from benchmarks.txbuild import SignedTx


@dataclass(frozen=True)
class BlockSeen:
    """A block observed during a run."""

    number: int
    timestamp: int
    observed_at: float
    transactions: int
    ours: int


@dataclass
class RunRecord:
    """Raw timings of one run; times are ``time.perf_counter()`` seconds."""

    count: int
    send_times: dict[int, float] = field(default_factory=dict)
    send_end: float = 0.0
    rejected: dict[int, str] = field(default_factory=dict)
    commit_times: dict[int, float] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)
    blocks: list[BlockSeen] = field(default_factory=list)


async def _send_batches(
    clients: Sequence[RpcClient], txs: Sequence[SignedTx], batch_size: int, workers: int, record: RunRecord,
    rate: float | None = None,
) -> None:
    """Send ``txs`` as ``eth_sendRawTransaction`` batches over ``workers`` concurrent requests.

    Batch *j* goes to ``clients[j % len(clients)]`` (round-robin over endpoints).
    With ``rate`` (tx/s) a batch starting at transaction *i* is not sent before
    ``i / rate`` seconds after the first: a steady offered load.
    """
    started = time.perf_counter()
    bodies: list[tuple[RpcClient, range, list[Call], bytes]] = []
    for number, start in enumerate(range(0, len(txs), batch_size)):
        span = range(start, min(start + batch_size, len(txs)))
        calls: list[Call] = [("eth_sendRawTransaction", [txs[i].raw]) for i in span]
        bodies.append((clients[number % len(clients)], span, calls, encode_batch(calls)))
    queue: asyncio.Queue[tuple[RpcClient, range, list[Call], bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            client, span, calls, body = queue.get_nowait()
            if rate is not None:
                await asyncio.sleep(max(0.0, started + span.start / rate - time.perf_counter()))
            sent_at = time.perf_counter()
            for i in span:
                record.send_times[i] = sent_at
            try:
                results = RpcClient.decode_batch(calls, await client.post(body))
            except (RpcError, RpcTransportError) as exc:
                results = [exc] * len(span)
            for i, result in zip(span, results):
                if isinstance(result, Exception):
                    record.rejected[i] = str(result)

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    record.send_end = time.perf_counter()


class _Observer:
    """Follows the chain head and records commit times and statuses of the tracked transactions."""

    def __init__(self, client: RpcClient, index_of: dict[str, int], record: RunRecord, batch_size: int) -> None:
        self.client = client
        self.index_of = index_of
        self.record = record
        self.batch_size = batch_size
        self.block_receipts = True

    async def read_block(self, number: int, observed_at: float) -> None:
        """Read block ``number``, mark the tracked transactions in it committed at ``observed_at``."""
        tag = hex(number)
        calls: list[Call] = [("eth_getBlockByNumber", [tag, False])]
        if self.block_receipts:
            calls.append(("eth_getBlockReceipts", [tag]))
        results = await self.client.batch(calls)
        block = results[0]
        if isinstance(block, Exception):
            raise block
        if block is None:
            raise RpcTransportError(f"block {number} is reported by eth_blockNumber but eth_getBlockByNumber returns null")
        hashes = [h if isinstance(h, str) else h["hash"] for h in block.get("transactions", [])]
        ours = [h for h in hashes if h.lower() in self.index_of]
        receipts = results[1] if self.block_receipts else None
        if isinstance(receipts, RpcError):  # not offered by this node (hardhat answers -32004)
            self.block_receipts = False
            receipts = None
        elif isinstance(receipts, Exception):
            raise receipts
        if receipts is None:
            receipts = await self._receipts_of(ours)
        for receipt in receipts:
            index = self.index_of.get(str(receipt.get("transactionHash", "")).lower())
            if index is None:
                continue
            self.record.commit_times.setdefault(index, observed_at)
            if int(receipt.get("status", "0x1"), 16) == 0:
                self.record.failed.add(index)
        self.record.blocks.append(
            BlockSeen(number, int(block["timestamp"], 16), observed_at, len(hashes), len(ours))
        )

    async def _receipts_of(self, hashes: list[str]) -> list[dict]:
        """Fetch the receipts of ``hashes`` with ``eth_getTransactionReceipt`` batches."""
        receipts: list[dict] = []
        for start in range(0, len(hashes), self.batch_size):
            chunk = hashes[start:start + self.batch_size]
            for h, result in zip(chunk, await self.client.batch([("eth_getTransactionReceipt", [h]) for h in chunk])):
                if isinstance(result, Exception) or result is None:
                    raise RpcTransportError(f"transaction {h} is in a block but has no receipt: {result}")
                receipts.append(result)
        return receipts


async def _observe(
    observer: _Observer, first_block: int, sending: asyncio.Task[None], timeout: float, poll_interval: float
) -> None:
    """Read blocks from ``first_block`` on until every accepted transaction is committed or ``timeout`` passes."""
    record = observer.record
    next_block = first_block
    while True:
        head = int(await observer.client.call("eth_blockNumber"), 16)
        observed_at = time.perf_counter()
        while next_block <= head:
            await observer.read_block(next_block, observed_at)
            next_block += 1
        if sending.done():
            waiting = record.count - len(record.commit_times) - len(record.rejected.keys() - record.commit_times.keys())
            if waiting <= 0 or time.perf_counter() > record.send_end + timeout:
                return
        await asyncio.sleep(poll_interval)


async def _next_block_boundary(client: RpcClient, timeout: float, poll_interval: float) -> int:
    """Wait up to ``timeout`` seconds for a new block and return the head then.

    Starting right after a block makes runs comparable: otherwise where the first
    batch falls within the block interval shifts every commit time by up to one interval.
    """
    head = int(await client.call("eth_blockNumber"), 16)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await asyncio.sleep(poll_interval)
        now = int(await client.call("eth_blockNumber"), 16)
        if now > head:
            return now
    return head


async def send_and_observe(
    url: str, txs: Sequence[SignedTx], *, batch_size: int = 100, connections: int = 4,
    timeout: float = 120.0, poll_interval: float = 0.02, request_timeout: float = 60.0,
    align_timeout: float = 3.0, send_urls: Sequence[str] = (), rate: float | None = None,
) -> RunRecord:
    """Send ``txs`` to ``url`` right after a new block (waiting at most ``align_timeout`` s for one)
    and return when each was sent and committed.

    With ``send_urls`` the batches go to those endpoints in turn instead (nodes of one
    network); commits are still observed on ``url``. Waits at most ``timeout`` seconds
    after the last batch was answered for the remaining transactions; those still
    missing then count as lost. With ``rate`` the batches are paced to that many
    transactions per second.
    """
    record = RunRecord(count=len(txs))
    index_of = {tx.tx_hash.lower(): i for i, tx in enumerate(txs)}
    async with contextlib.AsyncExitStack() as stack:
        senders = [await stack.enter_async_context(RpcClient(u, request_timeout, connections))
                   for u in (send_urls or (url,))]
        watcher = await stack.enter_async_context(RpcClient(url, request_timeout, 1))
        first_block = await _next_block_boundary(watcher, align_timeout, poll_interval) + 1
        sending = asyncio.create_task(_send_batches(senders, txs, batch_size, connections, record, rate))
        try:
            await _observe(_Observer(watcher, index_of, record, batch_size), first_block, sending, timeout, poll_interval)
        except BaseException:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            raise
        await sending
    return record
