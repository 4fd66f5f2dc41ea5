"""Flood a node with valid signed transfers and watch whether it keeps answering.

Signs ``-n`` (50,000) value transfers round-robin over ``--senders`` (200) funded
accounts of the dev mnemonic, sends them as fast as possible in
``eth_sendRawTransaction`` batches over ``--connections`` (8) connections, and
meanwhile polls ``eth_blockNumber`` every 20 ms on a connection of its own. The
pool caps how far one sender may queue ahead and how much it holds in total:
transactions refused for a cap are part of the result, counted by reason.

Reports the node's RSS before, at its peak and after the drain; p50/p99/max
``eth_blockNumber`` latency (whole run, while sending, while draining); accepted
and refused counts; committed count and drain time; and whether every accepted
transaction got a receipt. Prints figures; never passes or fails.

    python benchmarks/flood.py                          # starts cmnode start --dev
    python benchmarks/flood.py --rpc http://127.0.0.1:8545 --pid 1234 -n 50000 --json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

import psutil
from eth_account.signers.local import LocalAccount

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.devnode import RPC_BATCH_CAP, add_node_arguments, node_under_test
from benchmarks.errors import BenchmarkError, SetupError
from benchmarks.hdkeys import DEV_MNEMONIC, derive_accounts
from benchmarks.load import positive_float, positive_int
from benchmarks.measure import RunRecord, send_and_observe
from benchmarks.prepare import ETHER, fund_senders, pending_nonces, read_fees
from benchmarks.report import MB, format_value, percentile, render_table
from benchmarks.rpcclient import RpcClient
from benchmarks.rss import RssSampler
from benchmarks.tally import json_ready, refusal_reason
from benchmarks.txbuild import build_workload

FUNDED_AT_GENESIS = 20  # the first accounts of the dev mnemonic: the development chain funds them


@dataclass(frozen=True)
class FloodOptions:
    """What is sent and how."""

    transactions: int = 50_000
    senders: int = 200
    batch: int = 100
    connections: int = 8
    probe_interval: float = 0.02
    drain_timeout: float = 60.0
    settle: float = 10.0
    fund_wei: int = 10 * ETHER
    base_fee_multiplier: int = 10
    mnemonic: str = DEV_MNEMONIC


@dataclass
class Probe:
    """``eth_blockNumber`` answers of the probing client: (asked at, seconds taken), and failures."""

    answers: list[tuple[float, float]]
    failures: Counter[str]

    def latencies_ms(self, start: float = -math.inf, end: float = math.inf) -> list[float]:
        """Latencies in ms of the probes asked between ``start`` and ``end`` (perf_counter seconds)."""
        return [taken * 1000 for asked, taken in self.answers if start <= asked < end]


@dataclass(frozen=True)
class FloodFigures:
    """The reported figures of one flood."""

    transactions: int
    senders: int
    accepted: int
    refused: dict[str, int]
    committed: int
    failed_receipts: int
    accepted_without_receipt: int
    accepted_behind_refused_nonce: int
    every_accepted_has_receipt: bool
    send_seconds: float
    submitted_tps: float
    drain_seconds: float
    committed_tps: float
    blocks: int
    max_txs_per_block: int
    probes: int
    probe_failures: dict[str, int]
    block_number_ms: dict[str, dict[str, float]]
    probes_over_100ms: int
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    cpu_count: int | None
    load_average_before: float
    load_average_after: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures; undefined numbers become null."""
        return {k: json_ready(v) for k, v in asdict(self).items()}


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of ``values`` (ms); NaN when there are none."""
    return {"p50": percentile(values, 0.50), "p99": percentile(values, 0.99), "max": max(values, default=math.nan)}


def behind_refused_nonce(indices: set[int], refused: Iterable[int], senders: int) -> set[int]:
    """Those of ``indices`` whose sender had an earlier nonce refused: they wait behind a gap that is
    never filled, so no node can mine them. Transaction *i* is sender *i mod senders*'s
    nonce step *i // senders* (see ``build_workload``)."""
    first_refused: dict[int, int] = {}
    for i in refused:
        sender, step = i % senders, i // senders
        first_refused[sender] = min(step, first_refused.get(sender, step))
    return {i for i in indices if i // senders > first_refused.get(i % senders, math.inf)}


async def fund_in_groups(url: str, accounts: Sequence[LocalAccount], min_balance: int, fee_multiplier: int) -> None:
    """Top up every account to ``min_balance`` from the accounts funded at genesis, a batch at a time."""
    async with RpcClient(url) as client:
        chain_id = int(await client.call("eth_chainId"), 16)
        fees = await read_fees(client, fee_multiplier)
        funders, others = list(accounts[:FUNDED_AT_GENESIS]), accounts[FUNDED_AT_GENESIS:]
        group = RPC_BATCH_CAP - len(funders)
        for start in range(0, max(1, len(others)), group):
            await fund_senders(client, chain_id, [*funders, *others[start:start + group]], fees, min_balance)


async def probe_block_number(url: str, interval: float, stop: asyncio.Event) -> Probe:
    """Ask ``eth_blockNumber`` every ``interval`` seconds (or as soon as the last answer came) until ``stop``."""
    probe = Probe([], Counter())
    async with RpcClient(url, timeout=30.0, connections=1) as client:
        next_at = time.perf_counter()
        while not stop.is_set():
            asked = time.perf_counter()
            try:
                await client.call("eth_blockNumber")
                probe.answers.append((asked, time.perf_counter() - asked))
            except BenchmarkError as exc:
                probe.failures[refusal_reason(str(exc))] += 1
            next_at = max(next_at + interval, time.perf_counter())
            await asyncio.sleep(next_at - time.perf_counter())
    return probe


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` now."""
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error as exc:
        raise BenchmarkError(f"cannot read the memory of process {pid}: {exc}") from exc


def figures_of(
    record: RunRecord, probe: Probe, options: FloodOptions, rss: tuple[int, int, int], load: tuple[float, float],
) -> FloodFigures:
    """Turn the raw record of a flood into its figures."""
    accepted = set(range(record.count)) - record.rejected.keys()
    first_send = min(record.send_times.values(), default=math.nan)
    last_commit = max(record.commit_times.values(), default=math.nan)
    send_seconds = record.send_end - first_send
    drain_seconds = max(0.0, last_commit - record.send_end)
    commit_span = last_commit - first_send
    without = accepted - record.commit_times.keys()
    behind_gap = behind_refused_nonce(without, record.rejected.keys(), options.senders)
    all_ms = probe.latencies_ms()
    return FloodFigures(
        transactions=record.count, senders=options.senders, accepted=len(accepted),
        refused=dict(Counter(refusal_reason(m) for m in record.rejected.values()).most_common()),
        committed=len(record.commit_times), failed_receipts=len(record.failed),
        accepted_without_receipt=len(without), accepted_behind_refused_nonce=len(behind_gap),
        every_accepted_has_receipt=not without,
        send_seconds=send_seconds, submitted_tps=record.count / send_seconds if send_seconds > 0 else math.nan,
        drain_seconds=drain_seconds,
        committed_tps=len(record.commit_times) / commit_span if commit_span > 0 else math.nan,
        blocks=sum(1 for b in record.blocks if b.ours),
        max_txs_per_block=max((b.transactions for b in record.blocks), default=0),
        probes=len(probe.answers), probe_failures=dict(probe.failures),
        block_number_ms={
            "whole run": latency_summary(all_ms),
            "while sending": latency_summary(probe.latencies_ms(first_send, record.send_end)),
            "while draining": latency_summary(probe.latencies_ms(record.send_end, last_commit)),
        },
        probes_over_100ms=sum(1 for ms in all_ms if ms > 100),
        rss_before_mb=rss[0] / MB, rss_peak_mb=rss[1] / MB, rss_after_mb=rss[2] / MB,
        cpu_count=os.cpu_count(), load_average_before=load[0], load_average_after=load[1],
    )


async def flood(url: str, pid: int, options: FloodOptions) -> FloodFigures:
    """Fund the senders, sign the flood, send it while probing, wait for the drain and settle."""
    load_before = os.getloadavg()[0]
    print(f"[flood] setup: funding {options.senders} senders", file=sys.stderr)
    accounts = derive_accounts(options.senders, options.mnemonic)
    await fund_in_groups(url, accounts, options.fund_wei, options.base_fee_multiplier)
    async with RpcClient(url) as client:
        chain_id = int(await client.call("eth_chainId"), 16)
        nonces = [n for start in range(0, len(accounts), RPC_BATCH_CAP)
                  for n in await pending_nonces(client, accounts[start:start + RPC_BATCH_CAP])]
        fees = await read_fees(client, options.base_fee_multiplier)
    print(f"[flood] signing {options.transactions} transfers", file=sys.stderr)
    txs = await asyncio.to_thread(build_workload, "transfer", options.transactions, accounts, nonces, chain_id, fees)
    rss_before = rss_bytes(pid)
    stop = asyncio.Event()
    probing = asyncio.create_task(probe_block_number(url, options.probe_interval, stop))
    try:
        async with RssSampler(pid) as sampler:
            print(f"[flood] sending over {options.connections} connections", file=sys.stderr)
            record = await send_and_observe(
                url, txs, batch_size=options.batch, connections=options.connections,
                timeout=options.drain_timeout, poll_interval=0.05,
            )
            await asyncio.sleep(options.settle)
    finally:
        stop.set()
        probe = await probing
    if not probe.answers:
        raise SetupError("no eth_blockNumber probe was answered")
    return figures_of(record, probe, options, (rss_before, sampler.peak_bytes, rss_bytes(pid)),
                      (load_before, os.getloadavg()[0]))


def figures_table(figures: FloodFigures) -> str:
    """The figures as a two-column table."""
    rows: list[list[str]] = [
        ["transactions sent (senders)", f"{figures.transactions} ({figures.senders})"],
        ["accepted", str(figures.accepted)],
        *([[f"refused: {reason}", str(count)] for reason, count in figures.refused.items()]),
        ["send s / submitted tx/s", f"{figures.send_seconds:.1f} / {format_value(figures.submitted_tps, '{:.0f}')}"],
        ["committed", str(figures.committed)],
        ["drain s (last batch answered to last commit)", f"{figures.drain_seconds:.1f}"],
        ["committed tx/s", format_value(figures.committed_tps, "{:.0f}")],
        ["blocks carrying the flood / max txs in a block", f"{figures.blocks} / {figures.max_txs_per_block}"],
        ["failed receipts (status 0)", str(figures.failed_receipts)],
        ["every accepted transaction has a receipt",
         "yes" if figures.every_accepted_has_receipt else
         f"NO: {figures.accepted_without_receipt} missing, {figures.accepted_behind_refused_nonce} of them "
         "behind a refused nonce of their sender"],
    ]
    for phase, summary in figures.block_number_ms.items():
        rows.append([f"eth_blockNumber ms p50 / p99 / max, {phase}",
                     " / ".join(format_value(summary[k], "{:.1f}") for k in ("p50", "p99", "max"))])
    rows += [
        ["eth_blockNumber probes (over 100 ms)", f"{figures.probes} ({figures.probes_over_100ms})"],
        *([[f"probe failed: {reason}", str(count)] for reason, count in figures.probe_failures.items()]),
        ["RSS MB before / peak / after", f"{figures.rss_before_mb:.0f} / {figures.rss_peak_mb:.0f} / {figures.rss_after_mb:.0f}"],
        ["machine: cores, load average before / after",
         f"{figures.cpu_count}, {figures.load_average_before:.2f} / {figures.load_average_after:.2f}"],
    ]
    return render_table(["flood", ""], rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the flood benchmark."""
    parser = argparse.ArgumentParser(prog="python benchmarks/flood.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_node_arguments(parser)
    parser.add_argument("-n", "--transactions", type=positive_int, default=50_000, help="transfers (default 50000)")
    parser.add_argument("--senders", type=positive_int, default=200, help="sending accounts (default 200)")
    parser.add_argument("--batch", type=positive_int, default=100, help="calls per JSON-RPC batch (default 100)")
    parser.add_argument("--connections", type=positive_int, default=8, help="sending connections (default 8)")
    parser.add_argument("--probe-ms", type=positive_float, default=20.0,
                        help="ms between eth_blockNumber probes (default 20)")
    parser.add_argument("--drain-timeout", type=positive_float, default=60.0,
                        help="seconds to wait for accepted transactions after the last batch (default 60)")
    parser.add_argument("--settle", type=positive_float, default=10.0,
                        help="seconds to keep probing after the drain, before the last RSS reading (default 10)")
    parser.add_argument("--fund-ether", type=positive_int, default=10, help="ether each sender is topped up to (default 10)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    return parser.parse_args(argv)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that a started node is stopped on the way out."""
    raise KeyboardInterrupt


async def benchmark(args: argparse.Namespace) -> FloodFigures:
    """Flood the given node, or a development node started for the run."""
    options = FloodOptions(
        transactions=args.transactions, senders=args.senders, batch=args.batch, connections=args.connections,
        probe_interval=args.probe_ms / 1000, drain_timeout=args.drain_timeout, settle=args.settle,
        fund_wei=args.fund_ether * ETHER,
    )
    async with node_under_test(args.rpc, args.pid, args.block_interval, args.start_timeout, "flood",
                               args.repo.resolve()) as node:
        return await flood(node.url, node.pid, options)


def main(argv: list[str] | None = None) -> int:
    """Entry point: flood, print the figures; exit 1 with a message if the flood could not be run."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        figures = asyncio.run(benchmark(args))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; a started node was stopped", file=sys.stderr)
        return 130
    print(json.dumps(figures.as_dict(), indent=2) if args.json else figures_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
