"""One chaos run: a testnet under transfer load, a seeded fault schedule, healing, and the checks.

``run_chaos(seed, workdir, profile)`` returns a report whose ``failures`` must
be empty; its ``describe()`` names the seed and the schedule, which reproduce the
run (``CMNODE_CHAOS_SEED=<seed>`` reruns one in the test).
"""
from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.chaos.checker import audit_stores, check_logs, check_staking, scan_final_chains
from tests.chaos.history import ChainHistory, Observer, wait_for_agreement, wait_for_progress
from tests.chaos.load import TransferLoad
from tests.chaos.network import ChaosNet
from tests.chaos.rpc import RpcFailure, call
from tests.chaos.schedule import Fault, Profile, draw_schedule

VALIDATORS = 4
FULL_NODES = 1
SENDERS = 6
START_BOUND_S = 120.0
START_POLL_S = 2.0
RECOVERY_BOUND_S = 60.0
SETTLE_S = 3.0


@dataclass
class ChaosReport:
    """The figures and findings of one run."""

    seed: int
    schedule: list[Fault]
    workdir: Path
    recoveries_s: list[float | None] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    sent: int = 0
    acknowledged: int = 0
    precommits_compared: int = 0
    final_catch_up_s: float | None = None
    duration_s: float = 0.0
    safety_violations: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # liveness and robustness: recovery, exits, tracebacks

    @property
    def failures(self) -> list[str]:
        """Every violation found, safety first."""
        return [*self.safety_violations, *self.violations]

    @property
    def faults_by_kind(self) -> Counter[str]:
        """How many faults of each kind struck (those before a failed recovery included)."""
        return Counter(fault.kind for fault in self.schedule[:len(self.recoveries_s)])

    def describe(self) -> str:
        """The seed, the schedule with each recovery, the figures and the violations, for a report."""
        lines = [f"chaos seed {self.seed} (rerun: CMNODE_CHAOS_SEED={self.seed}); logs in {self.workdir}"]
        for number, fault in enumerate(self.schedule):
            recovery = self.recoveries_s[number] if number < len(self.recoveries_s) else "not reached"
            recovered = f"{recovery:.1f} s" if isinstance(recovery, float) else str(recovery)
            lines.append(f"  fault {number + 1}: {fault.describe()}; recovered in {recovered}")
        lines.append(f"  heads {self.heads}; transfers sent {self.sent}, acknowledged {self.acknowledged}; "
                     f"{self.precommits_compared} precommits compared; every node at the final height after "
                     f"{self.final_catch_up_s if self.final_catch_up_s is None else round(self.final_catch_up_s, 1)} s; "
                     f"{self.duration_s:.0f} s in all")
        lines.extend(f"  SAFETY VIOLATION: {violation}" for violation in self.safety_violations)
        lines.extend(f"  VIOLATION: {violation}" for violation in self.violations)
        return "\n".join(lines)


async def _current_top(session: aiohttp.ClientSession, urls: list[str]) -> int:
    heights = []
    for url in urls:
        with contextlib.suppress(RpcFailure):
            heights.append(int(str(await call(session, url, "eth_blockNumber")), 16))
    return max(heights, default=0)


async def _strike(net: ChaosNet, fault: Fault, seed: int, report: ChaosReport) -> None:
    """Inject ``fault`` and keep it for its duration."""
    node = fault.nodes[0]
    if fault.kind == "kill":
        await net.kill(node)
    elif fault.kind == "pause":
        net.pause(node)
    elif fault.kind == "restart":
        code = await net.stop(node)
        if code != 0:
            report.violations.append(f"node {node} exited with {code} on SIGTERM")
    elif fault.kind.startswith("partition"):
        await net.command_proxy({"links": net.links_between(set(fault.nodes)), "cut": True})
    else:
        await net.command_proxy({"links": net.links_of(set(fault.nodes)), "delay_ms": fault.delay_ms,
                                 "drop": fault.drop, "seed": seed})
    await asyncio.sleep(fault.duration_s)


async def _heal(net: ChaosNet, fault: Fault) -> None:
    node = fault.nodes[0]
    if fault.kind in ("kill", "restart"):
        await net.start(node)
    elif fault.kind == "pause":
        net.resume(node)
    else:
        await net.command_proxy({"heal": True})


async def _strike_all(net: ChaosNet, session: aiohttp.ClientSession, report: ChaosReport, seed: int,
                      load: TransferLoad, tasks: list[asyncio.Task[None]]) -> None:
    """Start the load once the chain runs, then strike and heal each fault, timing the recoveries."""
    urls = net.rpc_urls
    deadline = time.monotonic() + START_BOUND_S
    while await wait_for_progress(session, urls, 1, START_POLL_S) is None:
        if net.exited() or time.monotonic() > deadline:
            report.violations.append(f"the testnet did not reach height 2 within {START_BOUND_S:.0f} s; "
                                     f"nodes that exited (index: code): {net.exited()}")
            return
    tasks.append(asyncio.create_task(load.run()))
    for fault in report.schedule:
        await asyncio.sleep(fault.gap_s)
        await _strike(net, fault, seed, report)
        await _heal(net, fault)
        top = await _current_top(session, urls)
        recovery = await wait_for_progress(session, urls, top, RECOVERY_BOUND_S)
        report.recoveries_s.append(recovery)
        crashed = net.exited()
        if crashed:
            report.violations.append(f"nodes exited on their own (index: code): {crashed}")
        if recovery is None:
            report.violations.append(
                f"no new block on every node within {RECOVERY_BOUND_S:.0f} s of healing {fault.describe()}")
        if report.violations:
            return
    await asyncio.sleep(SETTLE_S)


async def _run(net: ChaosNet, report: ChaosReport, history: ChainHistory, seed: int) -> None:
    async with aiohttp.ClientSession() as session:
        urls = net.rpc_urls
        observer = Observer(session, urls, net.homes, VALIDATORS, history)
        load = TransferLoad(session, urls, history, SENDERS, random.Random(seed))
        tasks = [asyncio.create_task(observer.run())]
        try:
            await _strike_all(net, session, report, seed, load, tasks)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception):
                    report.violations.append(f"the harness's observer or load failed: {outcome!r}")
            report.sent = load.sent
        await observer.poll_once()
        top = max([await _current_top(session, urls), *(a.block_number for a in history.acknowledged.values())])
        if not report.violations:
            report.final_catch_up_s = await wait_for_progress(session, urls, top - 1, RECOVERY_BOUND_S)
            if report.final_catch_up_s is None:
                report.violations.append(f"not every node reached height {top} within {RECOVERY_BOUND_S:.0f} s "
                                         "after the load stopped")
            elif await wait_for_agreement(session, urls, RECOVERY_BOUND_S) is None:
                report.violations.append(f"some node stayed more than one block behind the others for "
                                         f"{RECOVERY_BOUND_S:.0f} s after the load stopped")
        report.heads = await scan_final_chains(session, urls, top, history)
        await check_staking(session, urls, history)


async def run_chaos_async(seed: int, workdir: Path, profile: Profile, block_interval_ms: int) -> ChaosReport:
    """Run seed ``seed`` in ``workdir`` (node homes and logs stay there)."""
    started = time.monotonic()
    net = ChaosNet(workdir, VALIDATORS, FULL_NODES, block_interval_ms)
    report = ChaosReport(seed, draw_schedule(seed, VALIDATORS + FULL_NODES, VALIDATORS, profile), workdir)
    history = ChainHistory()
    try:
        await net.create()
        await net.start_proxy()
        for index in range(net.size):
            await net.start(index)
        await _run(net, report, history, seed)
        for index in list(net.processes):
            code = await net.stop(index)
            if code != 0:
                report.violations.append(f"node {index} exited with {code} on SIGTERM at the end")
    finally:
        await net.close()
    report.precommits_compared = audit_stores(net.homes, history)
    report.violations.extend(check_logs([net.log_path(index) for index in range(net.size)], history))
    report.acknowledged = len(history.acknowledged)
    unsampled = [index for index in range(VALIDATORS) if index not in history.signed_steps]
    if unsampled and not report.violations:
        history.violations.append(f"validators {unsampled}: data/last_signed.json was never read during the run")
    report.safety_violations = history.violations
    report.duration_s = time.monotonic() - started
    return report


def run_chaos(seed: int, workdir: Path, profile: Profile, block_interval_ms: int = 1000) -> ChaosReport:
    """``run_chaos_async`` on a fresh event loop."""
    return asyncio.run(run_chaos_async(seed, workdir, profile, block_interval_ms))
