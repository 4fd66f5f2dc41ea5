"""Chaos testnet: 4 validators and a full node under transfer load survive a seeded fault schedule.

Kills, pauses, restarts, 2-2 and 3-1 partitions, delayed and corrupted links
strike one at a time; after each heals the chain must commit again on every node
within a bound, and over the whole run no two nodes may commit different blocks
at a height, no acknowledged transfer may disappear and no validator may sign
twice. A failure prints the seed and its schedule; ``CMNODE_CHAOS_SEED=<seed>``
reruns that seed alone. ``-m chaos_long`` runs 100 seeds with longer schedules.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.runner import run_chaos
from tests.chaos.schedule import LONG, SHORT

pytestmark = pytest.mark.e2e

CI_SEEDS = [1, 2, 11]  # between them every kind of fault
LONG_SEEDS = list(range(1000, 1100))
CHOSEN = os.environ.get("CMNODE_CHAOS_SEED")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", [int(CHOSEN)] if CHOSEN else CI_SEEDS)
def test_chaos_testnet_stays_safe_and_recovers(seed: int, tmp_path: Path) -> None:
    report = run_chaos(seed, tmp_path, SHORT)
    print(report.describe())
    assert not report.failures, report.describe()
    assert report.acknowledged > 0, report.describe()


@pytest.mark.chaos_long
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("seed", LONG_SEEDS)
def test_chaos_testnet_long_schedules(seed: int, tmp_path: Path) -> None:
    report = run_chaos(seed, tmp_path, LONG)
    print(report.describe())
    assert not report.failures, report.describe()
