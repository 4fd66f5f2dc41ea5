"""Soak a node under a steady mixed load and record its resources and latencies over time.

For ``--minutes`` (60) the harness keeps up, at a steady rate:

* transactions: value transfers and ERC-20 transfers (``examples/contracts/Token.sol``)
  from ``--senders`` (40) funded accounts, ``--tx-rate`` (10) per second in one
  ``eth_sendRawTransaction`` batch a second, and a ``Token`` deployment every
  ``--deploy-every`` (30) seconds;
* reads, ``--read-rate`` (10) per second in turn: ``eth_getBalance``,
  ``eth_getTransactionReceipt`` of a recent transaction, ``eth_getLogs`` of the token
  over the last 10 blocks, ``eth_call`` of ``balanceOf``, ``eth_getBlockByNumber`` of a
  recent block with its transactions;
* WebSocket subscriptions: one connection subscribed to ``newHeads`` and to the token's
  ``logs`` for the whole run, and every ``--ws-churn`` (10) seconds a new connection that
  subscribes, waits for one head, unsubscribes and closes.

Every ``--sample-seconds`` (30) it records the node's RSS, open file descriptors,
connections and threads, its CPU use, the LevelDB size on disk, the height, the
run's transactions still in the pool, and p50/p99 latency of each read kind and of
send-to-receipt (a transaction counts as received when its block is first seen by
the harness, which follows the head every 250 ms). It prints a row per sample on
stderr as it goes, a table (or ``--json``) at the end, and a verdict on growth: the
RSS slope per hour over the whole run and over its second half, and whether the
open file descriptors stayed level. Prints figures; never passes or fails.

    python benchmarks/soak.py                        # one hour against cmnode start --dev
    python benchmarks/soak.py --minutes 3 --sample-seconds 15
    python benchmarks/soak.py --rpc http://127.0.0.1:8545 --pid 1234 --json
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import psutil
from eth_abi import encode as abi_encode
from eth_utils import keccak

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.contract import TOKEN_SOURCE, compile_token
from benchmarks.devnode import RPC_BATCH_CAP, NodeUnderTest, add_node_arguments, directory_bytes, node_under_test
from benchmarks.errors import BenchmarkError, RpcError
from benchmarks.hdkeys import DEV_MNEMONIC, derive_accounts
from benchmarks.load import positive_float, positive_int
from benchmarks.prepare import ETHER, TOKEN_SUPPLY, Chain, pending_nonces, prepare_chain, read_fees
from benchmarks.report import MB, format_value, percentile, render_table
from benchmarks.rpcclient import Call, RpcClient
from benchmarks.tally import json_ready, refusal_reason
from benchmarks.txbuild import VALUE_TRANSFER_GAS, Fees, SignedTx, erc20_transfer_data, sign
from cybermiles_node.solc import CompiledContract

READ_KINDS = ("getBalance", "getTransactionReceipt", "getLogs", "call", "getBlockByNumber")
BALANCE_OF = keccak(text="balanceOf(address)")[:4]
HEAD_POLL_S = 0.25
LOGS_SPAN = 10  # blocks covered by each eth_getLogs read
RECENT = 200  # committed transactions and blocks the reads pick from
SHORTEST_VERDICT_MINUTES = 20.0  # under this, warm-up growth dominates the slope
FD_SLACK = 5  # descriptors the second half may exceed the first half's maximum by and still count as level
DEPLOY_GAS_MARGIN_PERCENT = 120
CHURN_WAIT_S = 5.0


@dataclass(frozen=True)
class SoakOptions:
    """What load is kept up and how often the node is sampled."""

    minutes: float = 60.0
    sample_seconds: float = 30.0
    senders: int = 40
    tx_rate: int = 10
    read_rate: float = 10.0
    deploy_every: float = 30.0
    ws_churn: float = 10.0
    lost_after: float = 120.0
    rss_slope_limit: float = 10.0
    fund_wei: int = 100 * ETHER
    base_fee_multiplier: int = 10
    mnemonic: str = DEV_MNEMONIC
    contract: Path = TOKEN_SOURCE


@dataclass
class Window:
    """What happened since the last sample."""

    read_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in READ_KINDS})
    read_errors: Counter[str] = field(default_factory=Counter)
    receipt_ms: list[float] = field(default_factory=list)
    sent: int = 0
    committed: int = 0
    failed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    ws_heads: int = 0
    ws_logs: int = 0
    ws_problems: Counter[str] = field(default_factory=Counter)
    churned: int = 0


@dataclass(frozen=True)
class Sample:
    """One row of the record: the node's resources at a moment and the figures of the window before it."""

    minute: float
    rss_mb: float
    fds: int
    connections: int
    threads: int
    cpu_percent: float
    db_mb: float | None
    height: int
    pool: int
    sent: int
    committed: int
    failed: int
    refused: dict[str, int]
    lost: int
    receipt_ms: dict[str, float]
    read_ms: dict[str, dict[str, float]]
    read_errors: dict[str, int]
    ws_heads: int
    ws_logs: int
    ws_problems: dict[str, int]
    churned: int
    load_average: float


@dataclass
class LoadState:
    """Shared state of the load tasks: nonces, transactions in flight and what the reads pick from."""

    chain: Chain
    contract: CompiledContract
    deploy_gas: int
    fees: Fees
    nonces: list[int]
    in_flight: dict[str, tuple[float, int]] = field(default_factory=dict)  # hash -> (sent at, sender)
    resync: set[int] = field(default_factory=set)
    recent_txs: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))
    lost_after: float = 120.0
    head: int = 0
    window: Window = field(default_factory=Window)


def two_percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 and p99 (nearest rank) of ``values``; NaN when empty."""
    return {"p50": percentile(values, 0.50), "p99": percentile(values, 0.99)}


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, value) points, per hour; NaN for fewer than 2 distinct minutes."""
    if len(points) < 2:
        return math.nan
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return math.nan
    return 60 * sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def verdict(samples: Sequence[Sample], rss_slope_limit: float) -> dict[str, Any]:
    """Growth over the run: RSS slope (whole run, second half) and whether the descriptors stayed level."""
    half = samples[len(samples) // 2:]
    first = samples[:max(1, len(samples) // 2)]
    rss_slope = slope_per_hour([(s.minute, s.rss_mb) for s in samples])
    rss_slope_late = slope_per_hour([(s.minute, s.rss_mb) for s in half])
    fds_level = max(s.fds for s in half) <= max(s.fds for s in first) + FD_SLACK
    return {
        "minutes": samples[-1].minute,
        "rss_first_mb": samples[0].rss_mb, "rss_last_mb": samples[-1].rss_mb,
        "rss_max_mb": max(s.rss_mb for s in samples),
        "rss_slope_mb_per_hour": rss_slope, "rss_slope_second_half_mb_per_hour": rss_slope_late,
        "rss_flat": not rss_slope_late > rss_slope_limit, "rss_slope_limit_mb_per_hour": rss_slope_limit,
        "fds_first": samples[0].fds, "fds_last": samples[-1].fds, "fds_max": max(s.fds for s in samples),
        "fds_level": fds_level,
        "connections_first": samples[0].connections, "connections_last": samples[-1].connections,
        "lost": sum(s.lost for s in samples), "failed": sum(s.failed for s in samples),
    }


def verdict_line(v: dict[str, Any]) -> str:
    """The verdict in one line."""
    return (f"verdict: RSS {v['rss_first_mb']:.0f} -> {v['rss_last_mb']:.0f} MB (max {v['rss_max_mb']:.0f}), slope "
            f"{format_value(v['rss_slope_mb_per_hour'], '{:+.1f}')} MB/h, second half "
            f"{format_value(v['rss_slope_second_half_mb_per_hour'], '{:+.1f}')} MB/h: "
            f"{'flat' if v['rss_flat'] else 'GROWING'} (limit {v['rss_slope_limit_mb_per_hour']:.0f} MB/h); "
            f"fds {v['fds_first']} -> {v['fds_last']} (max {v['fds_max']}): "
            f"{'level' if v['fds_level'] else 'GROWING'}; connections {v['connections_first']} -> "
            f"{v['connections_last']}; lost {v['lost']}, failed {v['failed']}"
            + ("" if v["minutes"] >= SHORTEST_VERDICT_MINUTES else
               f" (a {v['minutes']:.0f}-minute run is too short to judge growth: warm-up dominates)"))


# --- the load ---------------------------------------------------------------------------------------

def next_transaction(state: LoadState, sender: int, deploy: bool, erc20: bool) -> SignedTx:
    """Sign the next transaction of ``sender``: a token deployment, an ERC-20 transfer or a value transfer."""
    chain = state.chain
    account = chain.accounts[sender]
    recipient = chain.accounts[(sender + 1) % len(chain.accounts)].address
    nonce = state.nonces[sender]
    state.nonces[sender] += 1
    if deploy:
        data = state.contract.bytecode + abi_encode(["string", "string", "uint256"], ["Soak", "SOAK", TOKEN_SUPPLY])
        return sign(account, chain.chain_id, nonce, state.fees, state.deploy_gas, None, data=data)
    if erc20 and chain.token is not None:
        return sign(account, chain.chain_id, nonce, state.fees, chain.token_gas, chain.token,
                    data=erc20_transfer_data(recipient, 1))
    return sign(account, chain.chain_id, nonce, state.fees, VALUE_TRANSFER_GAS, recipient, value=1)


async def resync_nonces(client: RpcClient, state: LoadState) -> None:
    """Re-read the pending nonce of every sender that had a transaction refused."""
    senders = sorted(state.resync)
    state.resync.clear()
    for sender, nonce in zip(senders, await pending_nonces(client, [state.chain.accounts[s] for s in senders])):
        state.nonces[sender] = nonce


async def send_load(client: RpcClient, state: LoadState, options: SoakOptions, until: float) -> None:
    """Each second, one batch of ``tx_rate`` transactions from the senders in turn; a deployment now and then."""
    senders = itertools.cycle(range(len(state.chain.accounts)))
    kinds = itertools.cycle((False, True))  # value transfer, ERC-20 transfer, ...
    next_deploy = time.monotonic()
    tick = time.monotonic()
    while tick < until:
        if state.resync:
            await resync_nonces(client, state)
        txs: list[tuple[SignedTx, int]] = []
        for _ in range(options.tx_rate):
            sender = next(senders)
            deploy = time.monotonic() >= next_deploy
            next_deploy += options.deploy_every if deploy else 0
            txs.append((next_transaction(state, sender, deploy, next(kinds)), sender))
        sent_at = time.perf_counter()
        try:
            results = await client.batch([("eth_sendRawTransaction", [tx.raw]) for tx, _ in txs])
        except BenchmarkError as exc:
            results = [exc] * len(txs)
        for (tx, sender), result in zip(txs, results):
            state.window.sent += 1
            if isinstance(result, Exception):
                state.window.refused[refusal_reason(str(result))] += 1
                state.resync.add(sender)
            else:
                state.in_flight[tx.tx_hash.lower()] = (sent_at, sender)
        tick += 1.0
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


async def follow_blocks(client: RpcClient, state: LoadState, stop: asyncio.Event) -> None:
    """Follow the head; mark the run's transactions in each new block received, and give up on old ones.

    A failed read is counted (as a ``follower`` read error) and retried at the next poll."""
    next_block = state.head + 1
    while not stop.is_set():
        try:
            next_block = await read_new_blocks(client, state, next_block)
        except BenchmarkError as exc:
            state.window.read_errors[f"follower: {refusal_reason(str(exc))}"] += 1
        now = time.perf_counter()
        for tx_hash, (sent_at, sender) in list(state.in_flight.items()):
            if now - sent_at > state.lost_after:
                del state.in_flight[tx_hash]
                state.window.lost += 1
                state.resync.add(sender)
        await asyncio.sleep(HEAD_POLL_S)


async def read_new_blocks(client: RpcClient, state: LoadState, next_block: int) -> int:
    """Read the blocks from ``next_block`` to the head with their receipts; return the next block to read."""
    head = int(await client.call("eth_blockNumber"), 16)
    seen_at = time.perf_counter()
    while next_block <= head:
        block, receipts = await client.batch([("eth_getBlockByNumber", [hex(next_block), False]),
                                              ("eth_getBlockReceipts", [hex(next_block)])])
        if isinstance(block, Exception) or isinstance(receipts, Exception) or block is None:
            raise BenchmarkError(f"block {next_block} could not be read: {block if block else receipts}")
        for receipt in receipts or []:
            tx_hash = str(receipt.get("transactionHash", "")).lower()
            sent = state.in_flight.pop(tx_hash, None)
            if sent is None:
                continue
            state.window.committed += 1
            state.window.receipt_ms.append((seen_at - sent[0]) * 1000)
            state.recent_txs.append(tx_hash)
            if int(receipt.get("status", "0x1"), 16) == 0:
                state.window.failed += 1
        next_block += 1
        state.head = next_block - 1
    return next_block


def read_call(state: LoadState, kind: str, rng: random.Random) -> Call:
    """The JSON-RPC call of one read of ``kind``, on a random sender, recent transaction or block."""
    chain = state.chain
    account = rng.choice(chain.accounts).address
    if kind == "getBalance":
        return ("eth_getBalance", [account, "latest"])
    if kind == "getTransactionReceipt" and state.recent_txs:
        return ("eth_getTransactionReceipt", [rng.choice(state.recent_txs)])
    if kind == "getLogs":
        return ("eth_getLogs", [{"address": chain.token, "fromBlock": hex(max(0, state.head - LOGS_SPAN)),
                                 "toBlock": hex(state.head)}])
    if kind == "call":
        return ("eth_call", [{"to": chain.token, "data": "0x" + (BALANCE_OF + abi_encode(["address"], [account])).hex()},
                             "latest"])
    return ("eth_getBlockByNumber", [hex(max(0, state.head - rng.randrange(RECENT))), True])


async def read_load(client: RpcClient, state: LoadState, rate: float, until: float) -> None:
    """Reads of each kind in turn at ``rate`` per second, one at a time; latency and errors per kind."""
    rng = random.Random(1)
    kinds = itertools.cycle(READ_KINDS)
    tick = time.monotonic()
    while tick < until:
        kind = next(kinds)
        method, params = read_call(state, kind, rng)
        started = time.perf_counter()
        try:
            await client.call(method, *params)
            state.window.read_ms[kind].append((time.perf_counter() - started) * 1000)
        except BenchmarkError as exc:
            state.window.read_errors[f"{kind}: {refusal_reason(str(exc))}"] += 1
        tick += 1.0 / rate
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


def ws_url(url: str) -> str:
    """The WebSocket URL of the node serving JSON-RPC at ``url`` (same host and port)."""
    return "ws" + url[len("http"):]


async def ws_subscribe(ws: aiohttp.ClientWebSocketResponse, params: list[Any]) -> str:
    """``eth_subscribe`` with ``params`` on ``ws``; the subscription id."""
    await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": params})
    while True:
        reply = await ws.receive_json(timeout=30)
        if reply.get("id") == 1:
            if "error" in reply:
                raise RpcError("eth_subscribe", int(reply["error"].get("code", -32603)), str(reply["error"].get("message")))
            return str(reply["result"])


async def ws_listen(url: str, state: LoadState, stop: asyncio.Event) -> None:
    """One connection subscribed to ``newHeads`` and the token's ``logs``; reconnect (and count it) if it drops."""
    last_head: int | None = None
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                async with session.ws_connect(ws_url(url), heartbeat=30) as ws:
                    heads = await ws_subscribe(ws, ["newHeads"])
                    await ws_subscribe(ws, ["logs", {"address": state.chain.token}])
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            message = await ws.receive(timeout=1.0)
                            if message.type != aiohttp.WSMsgType.TEXT:
                                raise BenchmarkError(f"connection ended: {message.type.name}")
                            params = json.loads(message.data).get("params", {})
                            if params.get("subscription") == heads:
                                number = int(params["result"]["number"], 16)
                                if last_head is not None and number != last_head + 1:
                                    state.window.ws_problems["newHeads gap"] += 1
                                last_head = number
                                state.window.ws_heads += 1
                            else:
                                state.window.ws_logs += 1
            except (BenchmarkError, aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                state.window.ws_problems[f"reconnect: {refusal_reason(str(exc))}"] += 1
                await asyncio.sleep(1.0)


async def ws_churn(url: str, state: LoadState, every: float, until: float) -> None:
    """Every ``every`` seconds: a new connection subscribes to ``newHeads``, waits for a head, unsubscribes, closes."""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < until:
            try:
                async with session.ws_connect(ws_url(url)) as ws:
                    subscription = await ws_subscribe(ws, ["newHeads"])
                    await ws.receive_json(timeout=CHURN_WAIT_S)
                    await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "eth_unsubscribe", "params": [subscription]})
                state.window.churned += 1
            except (BenchmarkError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                state.window.ws_problems[f"churn: {refusal_reason(str(exc))}"] += 1
            await asyncio.sleep(every)


# --- sampling --------------------------------------------------------------------------------------

async def pool_size(client: RpcClient, accounts: Sequence[Any]) -> int:
    """Transactions of ``accounts`` in the pool: pending nonce minus latest nonce, summed (-1 if unreadable)."""
    total = 0
    for start in range(0, len(accounts), RPC_BATCH_CAP // 2):
        calls: list[Call] = [("eth_getTransactionCount", [a.address, tag])
                             for a in accounts[start:start + RPC_BATCH_CAP // 2] for tag in ("pending", "latest")]
        try:
            counts = [int(r, 16) for r in await client.batch(calls)]
        except (BenchmarkError, TypeError, ValueError):  # an error object in place of a count
            return -1
        total += sum(counts[i] - counts[i + 1] for i in range(0, len(counts), 2))
    return total


def take_sample(
    node: psutil.Process, database: Path | None, minute: float, cpu_percent: float, height: int, pool: int, window: Window,
) -> Sample:
    """A ``Sample`` of ``node`` now, with the figures of ``window``."""
    with node.oneshot():
        rss, fds, threads = node.memory_info().rss, node.num_fds(), node.num_threads()
        connections = len(node.net_connections(kind="inet"))
    return Sample(
        minute=minute, rss_mb=rss / MB, fds=fds, connections=connections, threads=threads, cpu_percent=cpu_percent,
        db_mb=None if database is None or not database.exists() else directory_bytes(database) / MB,
        height=height, pool=pool, sent=window.sent, committed=window.committed, failed=window.failed,
        refused=dict(window.refused), lost=window.lost, receipt_ms=two_percentiles(window.receipt_ms),
        read_ms={k: two_percentiles(v) for k, v in window.read_ms.items()}, read_errors=dict(window.read_errors),
        ws_heads=window.ws_heads, ws_logs=window.ws_logs, ws_problems=dict(window.ws_problems),
        churned=window.churned, load_average=os.getloadavg()[0],
    )


ROW_HEADER = ["min", "RSS MB", "fds", "conns", "thr", "CPU %", "DB MB", "height", "pool", "sent", "done",
              "refused", "lost", "receipt p50/p99 ms", *(f"{k} p50/p99" for k in READ_KINDS), "ws heads/logs/churn",
              "ws problems", "load"]


def sample_row(s: Sample) -> list[str]:
    """One table row of ``s``."""
    def pair(d: dict[str, float]) -> str:
        return f"{format_value(d['p50'], '{:.0f}')}/{format_value(d['p99'], '{:.0f}')}"
    return [f"{s.minute:.1f}", f"{s.rss_mb:.0f}", str(s.fds), str(s.connections), str(s.threads), f"{s.cpu_percent:.0f}",
            format_value(s.db_mb, "{:.1f}"), str(s.height), str(s.pool), str(s.sent), str(s.committed),
            str(sum(s.refused.values())), str(s.lost), pair(s.receipt_ms), *(pair(s.read_ms[k]) for k in READ_KINDS),
            f"{s.ws_heads}/{s.ws_logs}/{s.churned}", str(sum(s.ws_problems.values())), f"{s.load_average:.1f}"]


async def sample_node(
    client: RpcClient, node: NodeUnderTest, state: LoadState, options: SoakOptions, until: float,
    report: Callable[[Sample], None],
) -> list[Sample]:
    """Every ``options.sample_seconds`` until ``until`` (and once more then): sample the node, start a new
    window; refresh the fee caps of the load meanwhile."""
    every = options.sample_seconds
    process = psutil.Process(node.pid)
    started = time.monotonic()
    cpu_before, wall_before = sum(process.cpu_times()[:2]), time.monotonic()
    samples: list[Sample] = []
    while True:
        now = time.monotonic()
        await asyncio.sleep(max(0.0, min(until, now + every) - now) if now < until else 0.0)
        try:
            cpu, wall = sum(process.cpu_times()[:2]), time.monotonic()
        except psutil.Error as exc:
            raise BenchmarkError(f"the node (process {node.pid}) is gone at minute "
                                 f"{(time.monotonic() - started) / 60:.1f}: {exc}") from exc
        height = state.head
        with contextlib.suppress(BenchmarkError):
            height = int(await client.call("eth_blockNumber"), 16)
        pool = await pool_size(client, state.chain.accounts)
        with contextlib.suppress(BenchmarkError):
            state.fees = await read_fees(client, options.base_fee_multiplier)
        window, state.window = state.window, Window()
        sample = await asyncio.to_thread(take_sample, process, node.database, (wall - started) / 60,
                                         100 * (cpu - cpu_before) / (wall - wall_before), height, pool, window)
        cpu_before, wall_before = cpu, wall
        samples.append(sample)
        report(sample)
        if time.monotonic() >= until:
            return samples


# --- the run ---------------------------------------------------------------------------------------

async def setup(url: str, options: SoakOptions) -> LoadState:
    """Fund the senders, deploy and distribute the token; estimate a deployment's gas."""
    accounts = derive_accounts(options.senders, options.mnemonic)
    contract = compile_token(options.contract)
    chain = await prepare_chain(url, accounts, contract, options.fund_wei, options.base_fee_multiplier)
    async with RpcClient(url) as client:
        data = contract.bytecode + abi_encode(["string", "string", "uint256"], ["Soak", "SOAK", TOKEN_SUPPLY])
        estimate = int(await client.call("eth_estimateGas", {"from": accounts[0].address, "data": "0x" + data.hex()}), 16)
        fees = await read_fees(client, options.base_fee_multiplier)
        nonces = await pending_nonces(client, accounts)
        head = int(await client.call("eth_blockNumber"), 16)
    return LoadState(chain, contract, estimate * DEPLOY_GAS_MARGIN_PERCENT // 100, fees, nonces,
                     lost_after=options.lost_after, head=head)


async def soak(node: NodeUnderTest, options: SoakOptions) -> tuple[list[Sample], dict[str, Any]]:
    """Set up, run the mixed load for ``options.minutes`` while sampling, and judge the growth."""
    print(f"[soak] setup: funding {options.senders} senders, deploying and distributing the ERC-20", file=sys.stderr)
    state = await setup(node.url, options)
    until = time.monotonic() + options.minutes * 60
    stop = asyncio.Event()
    print(f"[soak] {options.minutes:g} min of load; a row every {options.sample_seconds:g} s", file=sys.stderr)
    print("  ".join(ROW_HEADER), file=sys.stderr)

    def report(sample: Sample) -> None:
        print("  ".join(sample_row(sample)), file=sys.stderr, flush=True)

    async with contextlib.AsyncExitStack() as stack:
        sender = await stack.enter_async_context(RpcClient(node.url, timeout=60, connections=1))
        reader = await stack.enter_async_context(RpcClient(node.url, timeout=60, connections=1))
        follower = await stack.enter_async_context(RpcClient(node.url, timeout=60, connections=1))
        sampler = await stack.enter_async_context(RpcClient(node.url, timeout=60, connections=1))
        background = [asyncio.create_task(follow_blocks(follower, state, stop)),
                      asyncio.create_task(ws_listen(node.url, state, stop))]
        load = [asyncio.create_task(send_load(sender, state, options, until)),
                asyncio.create_task(read_load(reader, state, options.read_rate, until)),
                asyncio.create_task(ws_churn(node.url, state, options.ws_churn, until))]
        try:
            samples = await sample_node(sampler, node, state, options, until, report)
            for task in (*load, *background):
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.set()
            for task in (*load, *background):
                task.cancel()
            await asyncio.gather(*load, *background, return_exceptions=True)
    return samples, verdict(samples, options.rss_slope_limit)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the soak benchmark."""
    parser = argparse.ArgumentParser(prog="python benchmarks/soak.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_node_arguments(parser)
    parser.add_argument("--minutes", type=positive_float, default=60.0, help="length of the load (default 60)")
    parser.add_argument("--sample-seconds", type=positive_float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--senders", type=positive_int, default=40, help="sending accounts, at most 100 (default 40)")
    parser.add_argument("--tx-rate", type=positive_int, default=10, help="transactions per second, at most 100 (default 10)")
    parser.add_argument("--read-rate", type=positive_float, default=10.0, help="reads per second (default 10)")
    parser.add_argument("--deploy-every", type=positive_float, default=30.0,
                        help="seconds between token deployments (default 30)")
    parser.add_argument("--ws-churn", type=positive_float, default=10.0,
                        help="seconds between short-lived WebSocket subscriptions (default 10)")
    parser.add_argument("--lost-after", type=positive_float, default=120.0,
                        help="seconds after which a transaction not in a block counts as lost (default 120)")
    parser.add_argument("--rss-slope-limit", type=positive_float, default=10.0,
                        help="RSS growth in MB/h over the second half above which the verdict says growing (default 10)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.senders > 100 or args.tx_rate > 100:
        parser.error("--senders and --tx-rate must be at most 100 (the node's JSON-RPC batch cap)")
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that a started node is stopped on the way out."""
    raise KeyboardInterrupt


async def benchmark(args: argparse.Namespace) -> tuple[list[Sample], dict[str, Any]]:
    """Soak the given node, or a development node started for the run."""
    options = SoakOptions(
        minutes=args.minutes, sample_seconds=args.sample_seconds, senders=args.senders, tx_rate=args.tx_rate,
        read_rate=args.read_rate, deploy_every=args.deploy_every, ws_churn=args.ws_churn,
        lost_after=args.lost_after, rss_slope_limit=args.rss_slope_limit,
    )
    async with node_under_test(args.rpc, args.pid, args.block_interval, args.start_timeout, "soak",
                               args.repo.resolve()) as node:
        return await soak(node, options)


def main(argv: list[str] | None = None) -> int:
    """Entry point: soak, print the record and the verdict; exit 1 with a message if the run failed."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        samples, judged = asyncio.run(benchmark(args))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; a started node was stopped", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(json_ready({"cpu_count": os.cpu_count(), "samples": [asdict(s) for s in samples],
                                     "verdict": judged}), indent=1))
        print(verdict_line(judged), file=sys.stderr)
    else:
        print(render_table(ROW_HEADER, [sample_row(s) for s in samples]))
        print(verdict_line(judged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
