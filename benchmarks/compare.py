"""Side-by-side benchmark of our node, hardhat 2 and anvil on this machine, in one run.

For each target: start it on a free loopback port with 1 s blocks, wait for RPC, run
the untimed setup, run the value-transfer and the ERC-20 workloads, stop it. Then
print one table per workload with the ratios ours/hardhat and ours/anvil.

    python benchmarks/compare.py --targets ours,hardhat,anvil -n 5000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.errors import BenchmarkError
from benchmarks.load import (
    KINDS,
    LoadOptions,
    add_load_arguments,
    name_list,
    options_from,
    positive_float,
    positive_int,
    run_all,
)
from benchmarks.report import ROWS, Summary, format_value, render_table
from benchmarks.targets import (
    BLOCK_GAS_LIMIT,
    DEFAULT_OURS_INIT,
    DEFAULT_OURS_START,
    LaunchPlan,
    NodeProcess,
    anvil_plan,
    free_port,
    hardhat_plan,
    ours_plan,
)

TARGETS = ("ours", "hardhat", "anvil")
# Figures for which ours/other is meaningful (throughput, latency, memory).
RATIO_FIELDS = ("submitted_tps", "committed_tps", "p50_latency_ms", "p99_latency_ms", "peak_rss_mb")


@dataclass
class TargetResult:
    """What one target produced: its version and summaries, or why it could not be measured."""

    name: str
    version: str = ""
    summaries: dict[str, Summary] = field(default_factory=dict)
    error: str | None = None


def plan_for(name: str, port: int, home: Path, args: argparse.Namespace) -> LaunchPlan:
    """The launch plan of target ``name``."""
    if name == "hardhat":
        return hardhat_plan(port, args.block_time, args.gas_limit)
    if name == "anvil":
        return anvil_plan(port, args.block_time, args.gas_limit)
    return ours_plan(port, home, args.ours_init, args.ours_start, args.gas_limit)


async def measure_target(name: str, args: argparse.Namespace, options: LoadOptions) -> TargetResult:
    """Start target ``name``, run both workloads against it and stop it, whatever happens."""
    result = TargetResult(name)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
        port = free_port()
        node: NodeProcess | None = None
        try:
            plan = plan_for(name, port, Path(workdir) / "home", args)
            result.version = plan.version
            node = NodeProcess(plan, port, Path(workdir) / "node.log")
            print(f"[{name}] starting: {' '.join(plan.command)}", file=sys.stderr)
            node.start()
            pid = await node.wait_ready(args.start_timeout)
            for summary in await run_all(node.url, KINDS, options, pid):
                result.summaries[summary.kind] = summary
        except BenchmarkError as exc:
            result.error = str(exc)
            print(f"[{name}] failed: {exc}", file=sys.stderr)
            if node is not None:
                tail = node.log_tail()
                if tail and tail not in str(exc):
                    print(f"[{name}] last lines of its output:\n{tail}", file=sys.stderr)
        finally:
            if node is not None:
                node.stop()
    return result


def ratio(ours: object, other: object) -> str:
    """``ours / other`` as a factor like ``0.85x``, or a dash when either is missing or zero."""
    if not isinstance(ours, int | float) or not isinstance(other, int | float) or not other or math.isnan(ours):
        return "-"
    return f"{ours / other:.2f}x"


def comparison_table(kind: str, results: list[TargetResult]) -> str:
    """One workload's figures with a column per target and, if ours ran, ratio columns."""
    measured = [r for r in results if kind in r.summaries]
    if not measured:
        return ""
    ours = next((r.summaries[kind] for r in measured if r.name == "ours"), None)
    others = [r for r in measured if r.name != "ours"] if ours is not None else []
    header = [kind, *(r.name for r in measured), *(f"ours/{r.name}" for r in others)]
    rows = []
    for name, label, fmt in ROWS:
        row = [label, *(format_value(getattr(r.summaries[kind], name), fmt) for r in measured)]
        for other in others:
            ok = name in RATIO_FIELDS
            row.append(ratio(getattr(ours, name), getattr(other.summaries[kind], name)) if ok else "")
        rows.append(row)
    return render_table(header, rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the comparison."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/compare.py",
        description="Run the same transfer and ERC-20 load against our node, hardhat 2 and anvil (1 s blocks) "
                    "and print the figures side by side with ratios.",
    )
    parser.add_argument("--targets", type=name_list(TARGETS, "target"), default=TARGETS,
                        help="comma-separated targets, in run order (default ours,hardhat,anvil)")
    parser.add_argument("--block-time", type=positive_int, default=1,
                        help="block interval in seconds for hardhat and anvil (default 1)")
    parser.add_argument("--gas-limit", type=positive_int, default=BLOCK_GAS_LIMIT,
                        help=f"block gas limit of every target (default {BLOCK_GAS_LIMIT:,}, anvil's and hardhat's; "
                             "a large one, e.g. 1000000000, lets no target be capped by it)")
    parser.add_argument("--ours-init", default=DEFAULT_OURS_INIT,
                        help=f"command preparing our node's home; placeholders {{home}} {{port}} {{rpc_addr}} "
                             f"{{gas_limit}} "
                             f"(default: {DEFAULT_OURS_INIT!r})")
    parser.add_argument("--ours-start", default=DEFAULT_OURS_START,
                        help=f"command starting our node (default: {DEFAULT_OURS_START!r})")
    parser.add_argument("--start-timeout", type=positive_float, default=90.0,
                        help="seconds a node may take to answer RPC after start (default 90)")
    add_load_arguments(parser)
    return parser.parse_args(argv)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that started nodes are stopped on the way out."""
    raise KeyboardInterrupt


async def compare(args: argparse.Namespace) -> list[TargetResult]:
    """Measure every requested target in turn."""
    options = options_from(args)
    return [await measure_target(name, args, options) for name in args.targets]


def main(argv: list[str] | None = None) -> int:
    """Entry point: measure, print the tables (or JSON); exit 1 if any target could not be measured."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    load_before = os.getloadavg()[0]
    try:
        results = asyncio.run(compare(args))
    except KeyboardInterrupt:
        print("interrupted; started nodes were stopped", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps({
            "transactions": args.transactions, "senders": args.senders, "block_time_s": args.block_time,
            "gas_limit": args.gas_limit,
            "cpu_count": os.cpu_count(), "load_average_before": load_before,
            "targets": {r.name: {"version": r.version, "error": r.error,
                                 "results": {k: s.as_dict() for k, s in r.summaries.items()}} for r in results},
        }, indent=2))
    else:
        print(f"{args.transactions} transactions per workload from {args.senders} senders, "
              f"{args.block_time} s blocks of {args.gas_limit:,} gas; versions: " + ", ".join(f"{r.name} {r.version}" for r in results))
        print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} before the run")
        for kind in KINDS:
            table = comparison_table(kind, results)
            if table:
                print(f"\n{table}")
        for r in results:
            if r.error:
                print(f"\n{r.name}: not measured: {r.error}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
