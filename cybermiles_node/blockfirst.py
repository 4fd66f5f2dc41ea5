"""Block work before RPC reads: the execution thread runs, readers step aside.

CPython runs one thread's bytecode at a time. While an RPC reader thread
interprets an expensive call, the execution thread (building, checking and
committing blocks) gets the interpreter only at switch intervals, and each of
its database reads gives it away again: a block that takes 8 ms alone took
seconds next to a few ``eth_call`` loops. So block work announces itself here,
and readers step aside at safe points (before each read, and at the
checkpoints of a call) until it is done, for at most ``max_wait_seconds`` at a
time so that continuous block work (a long sync) cannot starve RPC entirely.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_MAX_WAIT_SECONDS = 0.1


class BlockWorkFirst:
    """Counts the block work in progress; readers wait while there is any."""

    def __init__(self, max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS) -> None:
        self._max_wait = max_wait_seconds
        self._idle = threading.Condition()
        self._running = 0

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``function`` as block work."""
        with self._idle:
            self._running += 1
        try:
            return function(*args, **kwargs)
        finally:
            with self._idle:
                self._running -= 1
                if not self._running:
                    self._idle.notify_all()

    @property
    def busy(self) -> bool:
        """Whether block work is running now."""
        return self._running > 0

    def step_aside(self) -> None:
        """Wait (at most ``max_wait_seconds``) until no block work runs; free when none does."""
        if not self._running:
            return
        with self._idle:
            self._idle.wait_for(lambda: not self._running, timeout=self._max_wait)


class ExecutionThread(ThreadPoolExecutor):
    """The one thread that builds, checks and commits blocks; everything it runs is block work."""

    def __init__(self, gate: BlockWorkFirst) -> None:
        super().__init__(max_workers=1, thread_name_prefix="execution")
        self._gate = gate

    def submit(self, fn: Callable[..., R], /, *args: object, **kwargs: object) -> Future[R]:  # type: ignore[override]
        """Queue ``fn(*args, **kwargs)`` to run as block work."""
        return super().submit(self._gate.run, fn, *args, **kwargs)
