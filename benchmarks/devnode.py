"""The node a long-running benchmark watches: a fresh ``cmnode start --dev`` or one already running.

``node_under_test`` yields the RPC URL, the id of the process to sample and, where it
can be found, the node's LevelDB directory (for its size on disk).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.errors import BenchmarkError
from benchmarks.load import node_pid_for, positive_float, positive_int, rpc_url
from benchmarks.targets import LaunchPlan, NodeProcess, free_port

DATABASE_DIR_NAME = "chain.ldb"  # the node's LevelDB directory inside its home's data folder
REPO = Path(__file__).resolve().parents[1]
RPC_BATCH_CAP = 100  # calls the node answers in one JSON-RPC batch (``[rpc] max_batch_size``)


@dataclass(frozen=True)
class NodeUnderTest:
    """Where to reach and watch the node."""

    url: str
    pid: int
    database: Path | None


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """The options naming the node to watch: ``--rpc``/``--pid`` of a running one, or how to start one."""
    parser.add_argument("--rpc", type=rpc_url, help="JSON-RPC URL of a running node (default: start cmnode start --dev)")
    parser.add_argument("--pid", type=positive_int, help="that node's process (default: the one listening on the RPC port)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose node is started (default: this one)")
    parser.add_argument("--block-interval", type=positive_int, help="block interval in ms of the started node")
    parser.add_argument("--start-timeout", type=positive_float, default=90.0,
                        help="seconds the started node may take to answer RPC (default 90)")


def dev_plan(home: Path, port: int, block_interval_ms: int | None, repo: Path = REPO) -> LaunchPlan:
    """``cmnode start --dev`` in ``home`` with the code of checkout ``repo``, RPC on loopback ``port``.

    The node runs as ``python -m cybermiles_node.cli`` in ``repo``, so that checkout's
    packages come first on its import path."""
    command = [sys.executable, "-m", "cybermiles_node.cli", "start", "--dev", "--home", str(home),
               "--rpc-addr", f"127.0.0.1:{port}"]
    if block_interval_ms is not None:
        command += ["--block-interval", str(block_interval_ms)]
    return LaunchPlan("cmnode --dev", str(repo), (), tuple(command), repo)


def database_of(pid: int) -> Path | None:
    """The LevelDB directory process ``pid`` has open, if it can be seen."""
    with contextlib.suppress(psutil.Error):
        for opened in psutil.Process(pid).open_files():
            path = Path(opened.path)
            if path.parent.name == DATABASE_DIR_NAME:
                return path.parent
    return None


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (files vanishing meanwhile are skipped)."""
    total = 0
    for item in path.rglob("*"):
        with contextlib.suppress(OSError):
            if item.is_file():
                total += item.stat().st_size
    return total


@contextlib.asynccontextmanager
async def node_under_test(
    rpc: str | None, pid: int | None, block_interval_ms: int | None, start_timeout: float, label: str,
    repo: Path = REPO,
) -> AsyncIterator[NodeUnderTest]:
    """Yield the node at ``rpc`` (its process ``pid`` or the one listening on its port), or, without
    ``rpc``, a development node of checkout ``repo`` started in a temporary home and stopped on the way out."""
    if rpc is not None:
        found = pid if pid is not None else node_pid_for(rpc)
        if found is None or not psutil.pid_exists(found):
            raise BenchmarkError(f"cannot find the process serving {rpc}: give --pid")
        yield NodeUnderTest(rpc, found, database_of(found))
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as workdir:
        port = free_port()
        node = NodeProcess(dev_plan(Path(workdir) / "home", port, block_interval_ms, repo), port, Path(workdir) / "node.log")
        try:
            node.start()
            found = await node.wait_ready(start_timeout)
            yield NodeUnderTest(node.url, found, Path(workdir) / "home" / "data" / DATABASE_DIR_NAME)
        except BenchmarkError:
            print(f"[{label}] last lines of the node's output:\n{node.log_tail(8)}", file=sys.stderr)
            raise
        finally:
            node.stop()
