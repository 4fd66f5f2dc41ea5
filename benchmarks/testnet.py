"""Throughput, latency and block time of a 4-validator local testnet, next to a single-validator node.

In one run: write a fresh ``cmnode testnet`` in a temporary folder, start its
validators on loopback, run ``load.py``'s value-transfer workload against them
(batches sent round-robin to every validator, then all to node0), stop them;
then start a single-validator node (``cmnode init`` + ``cmnode start
--block-interval 1000``) and run the same workload. Each network's block time
without load is watched too, after the setup. Prints the figures, the ratio of
committed transfers/s (4 validators / single) and whether the targets of the
multi-validator network are met.

    python benchmarks/testnet.py                  # 5,000 transfers from 100 senders
    python benchmarks/testnet.py --modes round-robin --json
    python benchmarks/testnet.py -n 10000 --decode-workers 2   # two decode workers per node, not the automatic count
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.errors import BenchmarkError, TargetError
from benchmarks.load import (
    LoadOptions,
    add_load_arguments,
    name_list,
    options_from,
    positive_float,
    positive_int,
    prepare,
    run_workload_record,
)
from benchmarks.measure import RunRecord
from benchmarks.prepare import Chain
from benchmarks.report import MB, Summary, format_value, percentile, render_table
from benchmarks.rpcclient import RpcClient
from benchmarks.rss import RssSampler
from benchmarks.targets import (
    DEFAULT_OURS_INIT,
    LaunchPlan,
    NodeProcess,
    free_port,
    ours_plan,
)
from genesis.networks import LOCAL_GAS_LIMIT

KIND = "transfer"
MODES = ("round-robin", "node0")
SINGLE_START = "cmnode start --home {home} --rpc-addr 127.0.0.1:{port} --block-interval {interval}"
NODE_COMMAND = (sys.executable, "-m", "cybermiles_node.cli")
FIRST_PORT, LAST_PORT, PORT_STEP = 30000, 60000, 97
IDLE_INTERVALS = 10  # block intervals watched without load, after the setup
# Targets of the multi-validator network on a 2-core machine (a burst of 10,000 transfers accepted and committed
# whole, receipts within 1.5 s at the median, 1 s blocks at the median), and its throughput beside a single node's.
MAX_BLOCK_TIME_P50_S = 1.0
MAX_LATENCY_P50_MS = 1500.0
MAX_LOST = 0  # transfers rejected at submission, lost or failed
MIN_THROUGHPUT_RATIO = 0.4


@dataclass(frozen=True)
class TestnetNode:
    """One node home written by ``cmnode testnet``."""

    index: int
    home: Path
    rpc: str
    p2p: str
    validator: bool

    @property
    def rpc_port(self) -> int:
        """The port of the node's JSON-RPC endpoint."""
        port = urlparse(self.rpc).port
        if port is None:
            raise TargetError(f"node{self.index}: RPC URL {self.rpc} has no port")
        return port


@dataclass
class RunFigures:
    """One workload run against one network: the summary, per-block times and per-node memory."""

    label: str
    summary: Summary
    block_times_s: list[float]
    peak_rss_mb: list[float | None] = field(default_factory=list)
    idle_block_times_s: list[float] = field(default_factory=list)

    @property
    def block_time_p50_s(self) -> float:
        """Median interval between consecutive blocks under load."""
        return percentile(self.block_times_s, 0.50)

    @property
    def idle_block_time_p50_s(self) -> float:
        """Median interval between consecutive blocks of the same network without load."""
        return percentile(self.idle_block_times_s, 0.50)

    @property
    def block_time_p99_s(self) -> float:
        """99th-percentile interval between consecutive blocks under load."""
        return percentile(self.block_times_s, 0.99)

    def as_dict(self) -> dict[str, object]:
        """The figures as a JSON-ready dict; undefined figures become null."""
        def clean(value: float | None) -> float | None:
            return None if value is None or math.isnan(value) else value
        return {
            **self.summary.as_dict(),
            "block_time_p50_s": clean(self.block_time_p50_s),
            "block_time_p99_s": clean(self.block_time_p99_s),
            "block_times_s": self.block_times_s,
            "idle_block_time_p50_s": clean(self.idle_block_time_p50_s),
            "idle_block_times_s": self.idle_block_times_s,
            "peak_rss_mb_per_node": [clean(v) for v in self.peak_rss_mb],
        }


def free_port_base(count: int) -> int:
    """A base port with ``count`` consecutive ports free on 127.0.0.1 right now."""
    for base in range(FIRST_PORT, LAST_PORT, PORT_STEP):
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise TargetError(f"no {count} consecutive free ports between {FIRST_PORT} and {LAST_PORT}")


def write_testnet(output: Path, validators: int, full_nodes: int = 0) -> list[TestnetNode]:
    """Run ``cmnode testnet --json`` into ``output`` on free loopback ports; return its nodes."""
    base = free_port_base(2 * (validators + full_nodes))
    command = [*NODE_COMMAND, "testnet", "--validators", str(validators), "--full-nodes", str(full_nodes),
               "--output", str(output), "--base-port", str(base), "--json"]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetError(f"cmnode testnet: {exc}") from exc
    if proc.returncode != 0:
        raise TargetError(f"cmnode testnet exited with {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-800:]}")
    try:
        described = json.loads(proc.stdout)
        return [TestnetNode(i, Path(n["home"]), str(n["rpc"]), str(n["p2p"]), bool(n["validator"]))
                for i, n in enumerate(described)]
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"cmnode testnet printed no node list: {proc.stdout[:300]!r}") from exc


def set_decode_workers(home: Path, workers: int) -> None:
    """Set ``[mempool] decode_workers`` in the config.toml of the node home ``home``."""
    config = home / "config.toml"
    text, count = re.subn(r"(?m)^decode_workers = \d+$", f"decode_workers = {workers}", config.read_text())
    if count != 1:
        raise TargetError(f"{config} has no [mempool] decode_workers setting to change")
    config.write_text(text)


def node_process(node: TestnetNode, log_dir: Path, extra_args: Sequence[str] = ()) -> NodeProcess:
    """A ``cmnode start --home HOME`` process for ``node``, logging to ``log_dir/nodeN.log``."""
    command = (*NODE_COMMAND, "start", "--home", str(node.home), *extra_args)
    plan = LaunchPlan(f"node{node.index}", "working tree", (), command, node.home.parent)
    return NodeProcess(plan, node.rpc_port, log_dir / f"node{node.index}.log")


async def chain_height(url: str) -> int:
    """The node's latest block number."""
    async with RpcClient(url, timeout=10.0, connections=1) as client:
        return int(await client.call("eth_blockNumber"), 16)


async def wait_for_height(url: str, height: int, timeout: float, poll: float = 0.2) -> float:
    """Wait until the node at ``url`` reports at least ``height``; return the ``perf_counter`` time it did."""
    deadline = time.perf_counter() + timeout
    async with RpcClient(url, timeout=10.0, connections=1) as client:
        while True:
            with contextlib.suppress(BenchmarkError):
                if int(await client.call("eth_blockNumber"), 16) >= height:
                    return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TargetError(f"{url} did not reach height {height} within {timeout:.0f} s")
            await asyncio.sleep(poll)


def block_times(record: RunRecord) -> list[float]:
    """Seconds between consecutive blocks under load, as first seen by the harness.

    The window runs from the block the harness waits for before sending (sending
    starts right after it is seen, so the first batch's send time stands for its
    sighting) to the block carrying the last committed transaction of the run.
    Header timestamps have a resolution of one second, too coarse for this.
    """
    last = max((b.number for b in record.blocks if b.ours), default=-1)
    seen = [(b.number, b.observed_at) for b in record.blocks if b.number <= last]
    if not seen or not record.send_times:
        return []
    points = [(seen[0][0] - 1, min(record.send_times.values())), *seen]
    return [round(later - earlier, 3)
            for (number, earlier), (next_number, later) in itertools.pairwise(points) if next_number == number + 1]


async def idle_block_times(url: str, intervals: int, timeout: float, poll: float = 0.02) -> list[float]:
    """Seconds between consecutive blocks with no load, as first seen by polling ``url``.

    Watches ``intervals`` + 1 new heads; an interval is kept only when the head moved by one block.
    """
    points: list[tuple[int, float]] = []
    deadline = time.perf_counter() + timeout
    async with RpcClient(url, timeout=10.0, connections=1) as client:
        head = int(await client.call("eth_blockNumber"), 16)
        while len(points) <= intervals:
            if time.perf_counter() > deadline:
                raise TargetError(f"{url}: fewer than {intervals + 1} blocks within {timeout:.0f} s")
            await asyncio.sleep(poll)
            now = int(await client.call("eth_blockNumber"), 16)
            if now > head:
                points.append((now, time.perf_counter()))
                head = now
    return [round(later - earlier, 3)
            for (number, earlier), (next_number, later) in itertools.pairwise(points) if next_number == number + 1]


async def measure_run(label: str, observe_url: str, send_urls: Sequence[str], pids: Sequence[int],
                      chain: Chain, options: LoadOptions) -> RunFigures:
    """Run the transfer workload once (batches to ``send_urls`` in turn, commits seen on ``observe_url``)
    while sampling the RSS of every node in ``pids``."""
    print(f"[{label}] {options.transactions} transfers", file=sys.stderr)
    async with contextlib.AsyncExitStack() as stack:
        samplers = [await stack.enter_async_context(RssSampler(pid)) for pid in pids]
        summary, record = await run_workload_record(observe_url, chain, KIND, options, None, send_urls)
    return RunFigures(label, summary, block_times(record), [s.peak_bytes / MB for s in samplers])


async def measure_testnet(workdir: Path, modes: Sequence[str], options: LoadOptions, start_timeout: float,
                          validators: int, decode_workers: int | None = None) -> list[RunFigures]:
    """Start a fresh testnet of ``validators`` validators, run the workload in each of ``modes``, stop it.

    ``decode_workers``: each node's ``[mempool] decode_workers`` (None: as ``cmnode testnet`` wrote it).
    """
    nodes = write_testnet(workdir / "testnet", validators)
    if decode_workers is not None:
        for node in nodes:
            set_decode_workers(node.home, decode_workers)
    processes = [node_process(node, workdir) for node in nodes]
    try:
        for process in processes:
            process.start()
        pids = [await process.wait_ready(start_timeout) for process in processes]
        url = nodes[0].rpc
        await wait_for_height(url, 2, start_timeout)
        print(f"[testnet] {validators} validators committing blocks; setup: funding {options.senders} senders",
              file=sys.stderr)
        chain = await prepare(url, (KIND,), options)
        idle = await idle_block_times(url, IDLE_INTERVALS, start_timeout)
        runs = []
        for mode in modes:
            send_urls = [n.rpc for n in nodes] if mode == "round-robin" else [url]
            run = await measure_run(f"{validators} validators, {mode}", url, send_urls, pids, chain, options)
            run.idle_block_times_s = idle
            runs.append(run)
        return runs
    except BenchmarkError:
        for process in processes:
            tail = process.log_tail(8)
            if tail:
                print(f"[{process.plan.name}] last lines of its output:\n{tail}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.stop()


async def measure_single(workdir: Path, options: LoadOptions, start_timeout: float, interval_ms: int,
                         decode_workers: int | None = None) -> RunFigures:
    """Start a single-validator node with ``interval_ms`` blocks, run the workload once, stop it."""
    port = free_port()
    start = SINGLE_START.replace("{interval}", str(interval_ms))
    plan = ours_plan(port, workdir / "single", DEFAULT_OURS_INIT, start, LOCAL_GAS_LIMIT)  # as the testnet's
    if decode_workers is not None:  # initialise here, to change the config before the node starts
        NodeProcess(replace(plan, command=("true",)), port, workdir / "single.log").start()
        set_decode_workers(workdir / "single", decode_workers)
        plan = replace(plan, setup_commands=())
    node = NodeProcess(plan, port, workdir / "single.log")
    try:
        node.start()
        pid = await node.wait_ready(start_timeout)
        print("[single validator] setup: funding senders", file=sys.stderr)
        chain = await prepare(node.url, (KIND,), options)
        idle = await idle_block_times(node.url, IDLE_INTERVALS, start_timeout)
        run = await measure_run("single validator", node.url, [node.url], [pid], chain, options)
        run.idle_block_times_s = idle
        return run
    except BenchmarkError:
        print(f"[single validator] last lines of its output:\n{node.log_tail(8)}", file=sys.stderr)
        raise
    finally:
        node.stop()


def throughput_ratio(runs: Sequence[RunFigures], single: RunFigures | None) -> dict[str, float | None]:
    """Committed transfers/s of each testnet run divided by the single validator's."""
    base = single.summary.committed_tps if single is not None else math.nan
    return {r.label: (r.summary.committed_tps / base if base and not math.isnan(base) else None) for r in runs}


def target_checks(runs: Sequence[RunFigures], ratios: dict[str, float | None]) -> list[dict[str, object]]:
    """Each target of each testnet run: the measured value, the limit and whether it is met."""
    checks: list[dict[str, object]] = []
    for run in runs:
        figures = (
            ("block time p50 s", run.block_time_p50_s, "<=", MAX_BLOCK_TIME_P50_S),
            ("p50 send-to-receipt ms", run.summary.p50_latency_ms, "<=", MAX_LATENCY_P50_MS),
            ("committed tx/s vs single", ratios.get(run.label), ">=", MIN_THROUGHPUT_RATIO),
            ("rejected + lost + failed", run.summary.rejected + run.summary.lost + run.summary.failed, "<=", MAX_LOST),
        )
        for name, value, op, limit in figures:
            known = None if value is None or math.isnan(value) else value
            met = known is not None and (known <= limit if op == "<=" else known >= limit)
            checks.append({"run": run.label, "figure": name, "value": known, "target": f"{op} {limit}", "met": met})
    return checks


def figures_table(runs: Sequence[RunFigures], ratios: dict[str, float | None]) -> str:
    """One column per run: throughput, latency, block time, losses and memory per node."""
    nodes = max(len(r.peak_rss_mb) for r in runs)
    rows: list[list[str]] = []
    for label, get, fmt in (
        ("transactions", lambda r: r.summary.transactions, "{:.0f}"),
        ("submitted tx/s", lambda r: r.summary.submitted_tps, "{:.0f}"),
        ("committed tx/s", lambda r: r.summary.committed_tps, "{:.0f}"),
        ("committed tx/s vs single", lambda r: ratios.get(r.label), "{:.2f}x"),
        ("p50 send-to-receipt ms", lambda r: r.summary.p50_latency_ms, "{:.0f}"),
        ("p99 send-to-receipt ms", lambda r: r.summary.p99_latency_ms, "{:.0f}"),
        ("block time p50 s (harness)", lambda r: r.block_time_p50_s, "{:.2f}"),
        ("block time p99 s (harness)", lambda r: r.block_time_p99_s, "{:.2f}"),
        ("block time p50 s without load", lambda r: r.idle_block_time_p50_s, "{:.2f}"),
        ("block intervals measured", lambda r: len(r.block_times_s), "{:.0f}"),
        ("blocks carrying the load", lambda r: r.summary.blocks, "{:.0f}"),
        ("max txs in a block", lambda r: r.summary.max_txs_per_block, "{:.0f}"),
        ("lost / rejected / failed", lambda r: f"{r.summary.lost} / {r.summary.rejected} / {r.summary.failed}", "{}"),
    ):
        rows.append([label, *(format_value(get(r), fmt) for r in runs)])
    for index in range(nodes):
        rows.append([f"peak RSS MB node{index}",
                     *(format_value(r.peak_rss_mb[index] if index < len(r.peak_rss_mb) else None, "{:.0f}")
                       for r in runs)])
    return render_table(["", *(r.label for r in runs)], rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the testnet benchmark."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/testnet.py",
        description="Run the value-transfer load against a fresh 4-validator loopback testnet and a "
                    "single-validator node; print throughput, latency, block time and memory per node.",
    )
    parser.add_argument("--validators", type=positive_int, default=4, help="validators of the testnet (default 4)")
    parser.add_argument("--modes", type=name_list(MODES, "mode"), default=MODES,
                        help="comma-separated sending modes: round-robin (batches to every validator in turn), "
                             "node0 (all to the first) (default both)")
    parser.add_argument("--single-interval", type=positive_int, default=1000,
                        help="block interval in ms of the single-validator node (default 1000)")
    parser.add_argument("--no-single", action="store_true", help="skip the single-validator run")
    parser.add_argument("--start-timeout", type=positive_float, default=90.0,
                        help="seconds a node may take to answer RPC and make blocks (default 90)")
    parser.add_argument("--decode-workers", type=int, default=None,
                        help="[mempool] decode_workers of every node (0: the default, one per core but one, at "
                             "most 4; default: leave the config as written)")
    add_load_arguments(parser)
    return parser.parse_args(argv)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that started nodes are stopped on the way out."""
    raise KeyboardInterrupt


async def benchmark(args: argparse.Namespace) -> tuple[list[RunFigures], RunFigures | None]:
    """The testnet runs, then the single-validator run, each in a fresh temporary folder."""
    options = options_from(args)
    with tempfile.TemporaryDirectory(prefix="bench-testnet-") as workdir:
        runs = await measure_testnet(Path(workdir), args.modes, options, args.start_timeout, args.validators,
                                     args.decode_workers)
    single = None
    if not args.no_single:
        with tempfile.TemporaryDirectory(prefix="bench-single-") as workdir:
            single = await measure_single(Path(workdir), options, args.start_timeout, args.single_interval,
                                          args.decode_workers)
    return runs, single


def main(argv: list[str] | None = None) -> int:
    """Entry point: measure, print the table (or JSON); exit 1 if a network could not be measured."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    load_before = os.getloadavg()[0]
    try:
        runs, single = asyncio.run(benchmark(args))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; started nodes were stopped", file=sys.stderr)
        return 130
    load_after = os.getloadavg()[0]
    ratios = throughput_ratio(runs, single)
    checks = target_checks(runs, ratios)
    if args.json:
        print(json.dumps({
            "transactions": args.transactions, "senders": args.senders, "validators": args.validators,
            "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
            "runs": {r.label: r.as_dict() for r in runs},
            "single": single.as_dict() if single is not None else None,
            "committed_tps_ratio": ratios, "targets": checks,
        }, indent=2))
        return 0
    print(f"{args.transactions} value transfers from {args.senders} senders; {args.validators}-validator testnet "
          f"(genesis timeout_commit) and a single validator ({args.single_interval} ms blocks)")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} before, {load_after:.2f} after the run")
    print()
    print(figures_table([*runs, *([single] if single is not None else [])], ratios))
    print()
    for check in checks:
        value = check["value"]
        shown = "-" if value is None else f"{value:.2f}"
        print(f"{'met    ' if check['met'] else 'NOT met'}  {check['run']}: {check['figure']} = {shown} "
              f"(target {check['target']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
