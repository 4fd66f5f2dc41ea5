"""Chaos testnet over many seeds: faults injected, heights reached, recovery after healing, safety violations.

Each seed is one run of ``tests/chaos`` (4 validators and a full node from
``cmnode testnet``, real processes, p2p links through the fault-injecting relay,
a transfer load, a fault schedule drawn from the seed, then the whole-history
checks), in a fresh temporary folder that is kept when the run found a violation.

    python -m benchmarks.chaos --seeds 10                 # seeds 1..10, long schedules
    python -m benchmarks.chaos --seeds 20 --first 100 --profile short --json

Recovery time is measured after each fault heals: from the heal (process
restarted or resumed, links relaying again) to the moment every node reports a
block above the highest height any node had at the heal.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.report import percentile, render_table
from tests.chaos.runner import ChaosReport, run_chaos
from tests.chaos.schedule import KINDS, LONG, SHORT

PROFILES = {"short": SHORT, "long": LONG}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the chaos benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds to run (default 10)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="long",
                        help="fault schedule: short (the test's) or long (default)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def figures(reports: list[ChaosReport], elapsed_s: float) -> dict[str, object]:
    """The figures over all runs."""
    recoveries = [r for report in reports for r in report.recoveries_s if r is not None]
    kinds: Counter[str] = Counter()
    for report in reports:
        kinds.update(report.faults_by_kind)
    failed = [report for report in reports if report.failures]
    return {
        "seeds": len(reports),
        "elapsed_s": round(elapsed_s),
        "faults_by_kind": {kind: kinds[kind] for kind in KINDS},
        "heights_reached": [min(report.heads, default=0) for report in reports],
        "recovery_p50_s": percentile(recoveries, 0.5),
        "recovery_p99_s": percentile(recoveries, 0.99),
        "recovery_max_s": max(recoveries, default=math.nan),
        "recoveries_not_reached": sum(r is None for report in reports for r in report.recoveries_s),
        "transfers_acknowledged": sum(report.acknowledged for report in reports),
        "precommits_compared": sum(report.precommits_compared for report in reports),
        "safety_violations": sum(len(report.safety_violations) for report in reports),
        "other_violations": sum(len(report.violations) for report in reports),
        "failed_seeds": [report.seed for report in failed],
    }


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM and SIGINT into an exception, so that the run in progress stops its nodes on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the seeds, print each run and the figures; exit 1 if any run found a violation."""
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _terminate)
    reports = []
    started = time.monotonic()
    try:
        for seed in range(args.first, args.first + args.seeds):
            workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
            report = run_chaos(seed, workdir, PROFILES[args.profile])
            reports.append(report)
            print(report.describe(), file=sys.stderr, flush=True)
            if not report.failures:
                shutil.rmtree(workdir, ignore_errors=True)
    except KeyboardInterrupt:
        print(f"interrupted; the figures cover the {len(reports)} finished seeds", file=sys.stderr)
    result = figures(reports, time.monotonic() - started)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"chaos testnet: {result['seeds']} seeds ({args.profile} schedules) in {result['elapsed_s']} s "
              f"on {os.cpu_count()} cores")
        rows = [[kind, str(count)] for kind, count in result["faults_by_kind"].items()]  # type: ignore[union-attr]
        print(render_table(["fault", "injected"], rows))
        heights = result["heights_reached"]
        print(f"heights reached (lowest node per seed): {heights}")
        print(f"recovery after healing: p50 {result['recovery_p50_s']:.1f} s, p99 {result['recovery_p99_s']:.1f} s, "
              f"max {result['recovery_max_s']:.1f} s; not within the bound: {result['recoveries_not_reached']}")
        print(f"transfers acknowledged {result['transfers_acknowledged']}; "
              f"precommits compared {result['precommits_compared']}")
        print(f"safety violations: {result['safety_violations']}; liveness and other violations: "
              f"{result['other_violations']}; seeds that failed: {result['failed_seeds']}")
    return 1 if result["failed_seeds"] else 0


if __name__ == "__main__":
    sys.exit(main())
