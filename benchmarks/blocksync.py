"""Block-sync speed: how fast a new full node catches up a chain of blocks of 100 transfers each.

In one run: write ``cmnode testnet --validators 1 --full-nodes 1`` (validator
node0, full node node1 with node0 as a persistent peer) in a temporary folder;
start node0 alone with fast blocks (``--block-interval``, 200 ms by default),
fund 100 senders, then build ``--blocks`` blocks of exactly ``--per-block``
value transfers: right after each block is seen, one batch holding one transfer
of every sender is sent, and the next batch waits until that one is committed.
Then node0 is restarted with the genesis block interval, node1 is started and
timed until it reaches node0's height; its blocks must match node0's.

node1 catches up by fast sync (``--sync-mode fast``, the default: blocks and
receipts verified against their headers without execution, then the state at
a pivot near the tip, then re-execution of the rest) or by full sync
(``--sync-mode full``: every block re-executed), set in its ``[sync]`` config.

    python benchmarks/blocksync.py                   # 1,000 blocks of 100 transfers, fast sync
    python benchmarks/blocksync.py --blocks 200 --sync-mode full --json
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

import psutil

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.errors import BenchmarkError, TargetError
from benchmarks.load import LoadOptions, positive_float, positive_int, prepare
from benchmarks.prepare import ETHER, Chain, pending_nonces, read_fees
from benchmarks.report import MB, format_value, render_table
from benchmarks.rpcclient import RpcClient
from benchmarks.rss import RssSampler
from benchmarks.testnet import (
    KIND,
    TestnetNode,
    chain_height,
    node_process,
    wait_for_height,
    write_testnet,
)
from benchmarks.txbuild import build_workload

MIN_SYNC_BLOCKS_PER_S = 100.0  # target of the multi-validator network for blocks of 100 transfers
PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILE_RATE_HZ = 100
PROFILER_STOP_S = 30.0
SYNC_POLL_S = 0.1  # the syncing node's height is polled this often (each poll is an RPC call it must answer)


@dataclass(frozen=True)
class BuildFigures:
    """The chain node0 built: how many blocks carry exactly one batch, and how long it took."""

    height: int
    full_blocks: int
    partial_blocks: int
    blocks_without_batch: int
    transfers: int
    other_transactions: int
    seconds: float


@dataclass(frozen=True)
class SyncFigures:
    """How node1 caught up with node0."""

    target_height: int
    transactions: int
    startup_s: float
    sync_s: float
    total_s: float
    blocks_per_s: float
    transfers_per_s: float
    blocks_per_s_from_start: float
    peak_rss_mb: float
    longest_stall_s: float
    cpu_share: float
    same_head_hash: bool


async def _read_block_hashes(client: RpcClient, numbers: range) -> dict[int, list[str]]:
    """The transaction hashes of each block of ``numbers``."""
    hashes: dict[int, list[str]] = {}
    for number in numbers:
        block = await client.call("eth_getBlockByNumber", hex(number), False)
        if block is None:
            raise TargetError(f"block {number} is reported but eth_getBlockByNumber returns null")
        hashes[number] = [str(h).lower() for h in block.get("transactions", [])]
    return hashes


async def _wait_for_block(client: RpcClient, above: int, timeout: float, poll: float) -> int:
    """Wait until the head is above ``above``; return the head."""
    deadline = time.perf_counter() + timeout
    while True:
        head = int(await client.call("eth_blockNumber"), 16)
        if head > above:
            return head
        if time.perf_counter() > deadline:
            raise TargetError(f"no block above {above} within {timeout:.0f} s")
        await asyncio.sleep(poll)


async def build_chain(url: str, chain: Chain, blocks: int, per_block: int, poll: float, timeout: float) -> BuildFigures:
    """Commit ``blocks`` batches of ``per_block`` transfers, one batch per block (one transfer per sender each).

    A batch is sent right after a block is seen and the next one only once every
    transfer of it has a block, so each batch lands in the block after the one seen,
    unless it reaches the node after that block's proposal was built: then it is
    split or delayed, which ``BuildFigures`` counts.
    """
    senders = chain.accounts[:per_block]
    started = time.perf_counter()
    ours: dict[int, int] = {}
    others = 0
    async with RpcClient(url, timeout=30.0, connections=1) as client:
        nonces = await pending_nonces(client, senders)
        fees = await read_fees(client, 10)
        head = await _wait_for_block(client, int(await client.call("eth_blockNumber"), 16), timeout, poll)
        start_height = head
        batch = build_workload(KIND, per_block, senders, nonces, chain.chain_id, fees)
        for number in range(blocks):
            sent = batch
            for tx, result in zip(sent, await client.batch([("eth_sendRawTransaction", [t.raw]) for t in sent])):
                if isinstance(result, Exception):
                    raise TargetError(f"block {number + 1} of {blocks}: transfer {tx.tx_hash} rejected: {result}")
            if number + 1 < blocks:  # sign the next batch while this one is being committed
                batch = build_workload(KIND, per_block, senders, [n + number + 1 for n in nonces], chain.chain_id, fees)
            waiting = {tx.tx_hash.lower() for tx in sent}
            while waiting:
                newer = await _wait_for_block(client, head, timeout, poll)
                for block_number, hashes in (await _read_block_hashes(client, range(head + 1, newer + 1))).items():
                    ours[block_number] = sum(1 for h in hashes if h in waiting)
                    others += len(hashes) - ours[block_number]
                    waiting.difference_update(hashes)
                head = newer
            if (number + 1) % 100 == 0:
                print(f"[node0] {number + 1} of {blocks} batches committed, height {head}", file=sys.stderr)
    loaded = range(start_height + 1, head + 1)
    return BuildFigures(
        height=head,
        full_blocks=sum(1 for n in loaded if ours.get(n, 0) == per_block),
        partial_blocks=sum(1 for n in loaded if 0 < ours.get(n, 0) != per_block),
        blocks_without_batch=sum(1 for n in loaded if ours.get(n, 0) == 0),
        transfers=sum(ours.values()),
        other_transactions=others,
        seconds=time.perf_counter() - started,
    )


async def transfers_up_to(url: str, height: int) -> int:
    """Transactions in blocks 1..``height`` (setup and workload alike)."""
    async with RpcClient(url, timeout=30.0, connections=1) as client:
        return sum(len(h) for h in (await _read_block_hashes(client, range(1, height + 1))).values())


async def head_hash(url: str, height: int) -> str:
    """The hash of block ``height`` at ``url``."""
    async with RpcClient(url, timeout=30.0, connections=1) as client:
        block = await client.call("eth_getBlockByNumber", hex(height), False)
    if block is None:
        raise TargetError(f"{url} has no block {height}")
    return str(block["hash"])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process ``pid`` has used so far, all threads together."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error as exc:
        raise TargetError(f"cannot read the CPU time of process {pid}: {exc}") from exc
    return float(times.user + times.system)


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """Attach py-spy to process ``pid``, recording collapsed stacks (idle time excluded) into ``output``."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "--rate", str(PROFILE_RATE_HZ),
               "--nonblocking", "-o", str(output)]
    try:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise TargetError(f"cannot start py-spy: {exc}") from exc


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """Stop py-spy with SIGINT, on which it writes its output; kill it if it does not finish."""
    if profiler.poll() is None:
        profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=PROFILER_STOP_S)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()


async def follow_sync(url: str, target: int, timeout: float) -> list[tuple[float, int]]:
    """Poll the syncing node's height every ``SYNC_POLL_S`` until it reaches ``target``; return (time, height) samples."""
    trace: list[tuple[float, int]] = []
    deadline = time.perf_counter() + timeout
    async with RpcClient(url, timeout=10.0, connections=1) as client:
        while not trace or trace[-1][1] < target:
            with contextlib.suppress(BenchmarkError):
                trace.append((time.perf_counter(), int(await client.call("eth_blockNumber"), 16)))
            if time.perf_counter() > deadline:
                raise TargetError(f"{url} did not reach height {target} within {timeout:.0f} s")
            await asyncio.sleep(SYNC_POLL_S)
    return trace


def longest_stall(trace: list[tuple[float, int]]) -> float:
    """The longest time the height did not move between its first and last increase."""
    moves = [t for (_, before), (t, after) in itertools.pairwise(trace) if after > before]
    return max((later - earlier for earlier, later in itertools.pairwise(moves)), default=0.0)


async def measure_sync(node: TestnetNode, source_url: str, target: int, transfers: int, workdir: Path,
                       timeout: float, profile: Path | None) -> SyncFigures:
    """Start ``node`` and time it until it reaches ``target``; sample its memory meanwhile."""
    if profile is not None and not PY_SPY.exists():
        raise TargetError(f"--profile needs py-spy beside the Python interpreter ({PY_SPY.name} not found)")
    process = node_process(node, workdir)
    profiler: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        process.start()
        pid = await process.wait_ready(timeout)
        ready = time.perf_counter()
        if profile is not None:
            profiler = start_profiler(pid, profile)
        cpu_before = cpu_seconds(pid)
        async with RssSampler(pid) as sampler:
            trace = await follow_sync(node.rpc, target, timeout)
        done = trace[-1][0]
        cpu_used = cpu_seconds(pid) - cpu_before
        same = await head_hash(node.rpc, target) == await head_hash(source_url, target)
    except BenchmarkError:
        print(f"[node{node.index}] last lines of its output:\n{process.log_tail(8)}", file=sys.stderr)
        raise
    finally:
        if profiler is not None:
            stop_profiler(profiler)
        process.stop()
    sync_s = done - ready
    return SyncFigures(
        target_height=target, transactions=transfers, startup_s=ready - started, sync_s=sync_s, total_s=done - started,
        blocks_per_s=target / sync_s, transfers_per_s=transfers / sync_s,
        blocks_per_s_from_start=target / (done - started), peak_rss_mb=sampler.peak_bytes / MB, longest_stall_s=longest_stall(trace),
        cpu_share=cpu_used / sync_s,
        same_head_hash=same,
    )


def set_sync_mode(node: TestnetNode, mode: str) -> None:
    """Write ``[sync] mode`` into the node's config file."""
    config = node.home / "config.toml"
    try:
        with config.open("a") as out:
            out.write(f'\n[sync]\nmode = "{mode}"\n')
    except OSError as exc:
        raise TargetError(f"cannot write {config}: {exc}") from exc


async def benchmark(args: argparse.Namespace) -> tuple[BuildFigures, SyncFigures]:
    """Build the chain on node0, restart it with the genesis interval, then time node1's catch-up."""
    options = LoadOptions(senders=max(args.per_block, 3), fund_wei=100 * ETHER)
    with tempfile.TemporaryDirectory(prefix="bench-blocksync-") as name:
        workdir = Path(name)
        validator, full = write_testnet(workdir / "testnet", validators=1, full_nodes=1)
        set_sync_mode(full, args.sync_mode)
        builder = node_process(validator, workdir, ("--block-interval", str(args.build_interval)))
        try:
            builder.start()
            await builder.wait_ready(args.start_timeout)
            await wait_for_height(validator.rpc, 1, args.start_timeout)
            print(f"[node0] setup: funding {options.senders} senders", file=sys.stderr)
            chain = await prepare(validator.rpc, (KIND,), options)
            print(f"[node0] building {args.blocks} blocks of {args.per_block} transfers "
                  f"({args.build_interval} ms block interval)", file=sys.stderr)
            built = await build_chain(validator.rpc, chain, args.blocks, args.per_block, args.poll, args.start_timeout)
        finally:
            builder.stop()
        server = node_process(validator, workdir)
        try:
            server.start()
            await server.wait_ready(args.start_timeout)
            target = await chain_height(validator.rpc)
            transfers = await transfers_up_to(validator.rpc, target)
            print(f"[node1] syncing {target} blocks ({transfers} transactions) from node0", file=sys.stderr)
            synced = await measure_sync(full, validator.rpc, target, transfers, workdir, args.sync_timeout,
                                        args.profile)
        finally:
            server.stop()
    return built, synced


def figures_table(built: BuildFigures, synced: SyncFigures, per_block: int) -> str:
    """The built chain and the catch-up, one figure per row."""
    rows = [
        ("chain height synced", synced.target_height, "{:.0f}"),
        (f"blocks with one whole batch of {per_block}", built.full_blocks, "{:.0f}"),
        ("blocks with part of a batch", built.partial_blocks, "{:.0f}"),
        ("blocks without batch transfers (building)", built.blocks_without_batch, "{:.0f}"),
        ("batch transfers / other transactions", f"{built.transfers} / {built.other_transactions}", "{}"),
        ("transactions in blocks 1..height", synced.transactions, "{:.0f}"),
        ("build time s", built.seconds, "{:.1f}"),
        ("node1 start to RPC s", synced.startup_s, "{:.1f}"),
        ("sync time s (RPC up to caught up)", synced.sync_s, "{:.1f}"),
        ("sync blocks/s", synced.blocks_per_s, "{:.1f}"),
        ("sync transactions/s", synced.transfers_per_s, "{:.0f}"),
        ("blocks/s from process start", synced.blocks_per_s_from_start, "{:.1f}"),
        ("longest time without progress s", synced.longest_stall_s, "{:.1f}"),
        ("node1 CPU s / sync s", synced.cpu_share, "{:.2f}"),
        ("node1 peak RSS MB", synced.peak_rss_mb, "{:.0f}"),
        ("same block hash at the synced height", "yes" if synced.same_head_hash else "NO", "{}"),
    ]
    return render_table(["block sync", ""], [[label, format_value(value, fmt)] for label, value, fmt in rows])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the block-sync benchmark."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/blocksync.py",
        description="Build a chain of blocks of value transfers on one validator, then time a new full node "
                    "catching it up over p2p block sync.",
    )
    parser.add_argument("--blocks", type=positive_int, default=1000, help="blocks of transfers to build (default 1000)")
    parser.add_argument("--per-block", type=positive_int, default=100,
                        help="transfers per block, one per sender (default 100; at least 3)")
    parser.add_argument("--build-interval", type=positive_int, default=200,
                        help="node0's block interval in ms while building (default 200)")
    parser.add_argument("--poll", type=positive_float, default=0.01, help="seconds between height polls (default 0.01)")
    parser.add_argument("--start-timeout", type=positive_float, default=90.0,
                        help="seconds a node may take to answer RPC, and a batch to be committed (default 90)")
    parser.add_argument("--sync-timeout", type=positive_float, default=1800.0,
                        help="seconds node1 may take to catch up (default 1800)")
    parser.add_argument("--sync-mode", choices=("fast", "full"), default="fast",
                        help="how node1 catches up: fast (verified blocks and receipts, then the state at a pivot) "
                             "or full (every block re-executed); default fast")
    parser.add_argument("--profile", type=Path,
                        help="attach py-spy to node1 while it syncs and write its collapsed stacks to this file")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.per_block < 3:
        parser.error("--per-block must be at least 3")
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that started nodes are stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point: build, sync, print the figures (or JSON); exit 1 if a step failed."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    load_before = os.getloadavg()[0]
    try:
        built, synced = asyncio.run(benchmark(args))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; started nodes were stopped", file=sys.stderr)
        return 130
    load_after = os.getloadavg()[0]
    met = synced.blocks_per_s >= MIN_SYNC_BLOCKS_PER_S
    if args.json:
        print(json.dumps({
            "blocks": args.blocks, "per_block": args.per_block, "build_interval_ms": args.build_interval,
            "sync_mode": args.sync_mode,
            "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
            "build": asdict(built), "sync": asdict(synced),
            "target": {"blocks_per_s": f">= {MIN_SYNC_BLOCKS_PER_S}", "met": met},
        }, indent=2))
        return 0
    print(f"{args.blocks} blocks of {args.per_block} value transfers built on one validator "
          f"({args.build_interval} ms blocks), caught up by a new full node over loopback "
          f"({args.sync_mode} sync)")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} before, {load_after:.2f} after the run")
    print()
    print(figures_table(built, synced, args.per_block))
    print()
    print(f"{'met    ' if met else 'NOT met'}  sync blocks/s = {synced.blocks_per_s:.1f} "
          f"(target >= {MIN_SYNC_BLOCKS_PER_S:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
