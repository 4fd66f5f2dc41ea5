"""Peak resident memory of a node process and its worker processes, sampled while a workload runs."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Self

import psutil

from benchmarks.errors import BenchmarkError


def find_listening_pid(port: int) -> int | None:
    """Return the id of the local process listening on TCP ``port``, or None if none can be seen."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and all its descendants (0 for any that cannot be read)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


class RssSampler:
    """Samples the resident set size of one process and its children every ``interval`` seconds; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        """Watch process ``pid``; raise ``BenchmarkError`` if it does not exist."""
        try:
            self._process = psutil.Process(pid)
        except psutil.Error as exc:
            raise BenchmarkError(f"cannot watch process {pid}: {exc}") from exc
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        """Take one sample now: the process and its children (a node's decode workers) together."""
        self.peak_bytes = max(self.peak_bytes, tree_rss(self._process))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> Self:
        """Start sampling in the background."""
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Take a last sample and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()
