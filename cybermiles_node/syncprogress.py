"""Progress of block sync: a log line every few seconds with blocks/s, the best peer's height and an ETA,
and a progress bar on stderr when it is a terminal."""
from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger("cmnode.sync")

#: Seconds between progress lines.
SYNC_LOG_INTERVAL_S = 5.0
#: Seconds before the first line (so that even a short sync shows its rate).
FIRST_LINE_AFTER_S = 1.0
BAR_WIDTH = 30


@dataclass(frozen=True)
class SyncSample:
    """Our height and the best peer's, at one moment."""

    height: int
    best_peer_height: int
    at: float  # monotonic seconds


def progress_line(start: SyncSample, last: SyncSample, now: SyncSample) -> str:
    """``sync: height H of P (N%), R blocks/s, ETA T s`` from the first, previous and current samples."""
    elapsed = now.at - last.at
    rate = (now.height - last.height) / elapsed if elapsed > 0 else 0.0
    total = max(1, now.best_peer_height - start.height)
    percent = 100.0 * min(1.0, (now.height - start.height) / total)
    remaining = max(0, now.best_peer_height - now.height)
    eta = f"{remaining / rate:.0f} s" if rate > 0 else "unknown"
    return (f"sync: height {now.height} of best peer {now.best_peer_height} ({percent:.1f}%), "
            f"{rate:.1f} blocks/s, ETA {eta}")


def progress_bar(start: SyncSample, now: SyncSample) -> str:
    """A one-line bar for a terminal."""
    total = max(1, now.best_peer_height - start.height)
    done = min(1.0, (now.height - start.height) / total)
    filled = int(done * BAR_WIDTH)
    return f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {now.height}/{now.best_peer_height}"


async def report_sync_progress(heights: Callable[[], tuple[int, int]], interval_s: float = SYNC_LOG_INTERVAL_S,
                               terminal: TextIO | None = None) -> None:
    """Log progress after a second, then every ``interval_s``, while a peer is ahead, until cancelled;
    ``heights()`` is (ours, the best peer's).
    With ``terminal`` (a tty), also redraw a bar there every second."""
    if terminal is None and sys.stderr.isatty():
        terminal = sys.stderr
    height, best = heights()
    start = last = SyncSample(height, best, time.monotonic())
    next_line = start.at + min(FIRST_LINE_AFTER_S, interval_s)
    try:
        while True:
            await asyncio.sleep(min(1.0, interval_s))
            height, best = heights()
            now = SyncSample(height, best, time.monotonic())
            if terminal is not None:
                terminal.write(progress_bar(start, now))
                terminal.flush()
            if now.at >= next_line:
                if now.best_peer_height > now.height:
                    log.info("%s", progress_line(start, last, now))
                last, next_line = now, now.at + interval_s
    finally:
        if terminal is not None:
            terminal.write("\n")
            terminal.flush()
