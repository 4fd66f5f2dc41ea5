"""Fault schedules of a chaos run, drawn from a seed.

A schedule is a sequence of faults, one at a time: a quiet gap, the fault for
its duration, then healing (the process restarted or resumed, the links relaying
again). The same seed draws the same schedule, so a failing run is reproduced by
its seed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

PROCESS_FAULTS = ("kill", "pause", "restart")
NETWORK_FAULTS = ("partition_2_2", "partition_3_1", "delay", "drop")
KINDS = PROCESS_FAULTS + NETWORK_FAULTS


@dataclass(frozen=True)
class Profile:
    """How many faults a run draws and how long they last."""

    faults: int
    gap_s: tuple[float, float]
    duration_s: tuple[float, float]


SHORT = Profile(faults=3, gap_s=(2.0, 4.0), duration_s=(2.0, 5.0))
"""The default test run: a few short faults."""
LONG = Profile(faults=6, gap_s=(2.0, 6.0), duration_s=(2.0, 12.0))
"""The longer runs (``chaos_long`` and the benchmark)."""


@dataclass(frozen=True)
class Fault:
    """One fault: what, on which nodes, after how long a gap and for how long.

    ``nodes`` is the target process for process faults, one side of the cut for
    partitions, and the nodes whose links are degraded for delays and drops.
    """

    kind: str
    gap_s: float
    duration_s: float
    nodes: tuple[int, ...]
    delay_ms: int = 0
    drop: float = 0.0

    def describe(self) -> str:
        """One line for reports."""
        extra = f" delay {self.delay_ms} ms" if self.delay_ms else ""
        extra += f" drop {self.drop:.3f}" if self.drop else ""
        return f"after {self.gap_s:.1f} s: {self.kind} {list(self.nodes)} for {self.duration_s:.1f} s{extra}"


def draw_schedule(seed: int, node_count: int, validator_count: int, profile: Profile) -> list[Fault]:
    """The faults of run ``seed`` over nodes ``0..node_count-1`` (the first ``validator_count`` validate)."""
    rng = random.Random(seed)
    validators = list(range(validator_count))
    faults = []
    for _ in range(profile.faults):
        kind = rng.choice(KINDS)
        gap = round(rng.uniform(*profile.gap_s), 1)
        duration = round(rng.uniform(*profile.duration_s), 1)
        delay_ms, drop = 0, 0.0
        if kind in PROCESS_FAULTS:
            nodes: tuple[int, ...] = (rng.randrange(node_count),)
            if kind == "restart":
                duration = 0.0
        elif kind.startswith("partition"):
            size = 2 if kind == "partition_2_2" else rng.choice((1, 3))
            side = set(rng.sample(validators, size))
            if rng.random() < 0.5:
                side.update(range(validator_count, node_count))  # the full nodes join this side
            nodes = tuple(sorted(side))
        else:
            nodes = tuple(sorted(rng.sample(range(node_count), rng.randint(1, 2))))
            if kind == "delay":
                delay_ms = rng.choice((50, 200, 500, 1500))
            else:
                drop = rng.choice((0.002, 0.01, 0.05))
        faults.append(Fault(kind, gap, duration, nodes, delay_ms, drop))
    return faults
