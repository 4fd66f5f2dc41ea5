"""Readiness of a node: synced with its peers, connected to some, and its chain moving.

``GET /ready`` answers 200 only when every check passes:

* ``synced``: consensus runs (block sync handed over) and no peer reports a height more than one block
  above ours; a single-validator chain is always synced.
* ``peers``: a networked node has at least one connected peer; a single-validator chain needs none.
* ``recent_block``: when blocks are made on a clock (empty blocks allowed), the latest block's time is
  at most ``max_block_age_s`` old; a chain that makes blocks only for transactions skips this check.

``GET /health`` answers 200 whenever the process serves HTTP (liveness).
"""
from __future__ import annotations

from dataclasses import dataclass

from rpc.health import Readiness

#: Fewest seconds a block may be old before a node counts as stalled.
MIN_BLOCK_AGE_S = 60
#: Blocks intervals a block may be old before a node counts as stalled.
BLOCK_AGE_INTERVALS = 10


@dataclass(frozen=True)
class ReadinessFacts:
    """What readiness is decided from."""

    networked: bool
    consensus_running: bool
    latest_height: int
    best_peer_height: int
    peers: int
    latest_block_time: int  # unix seconds
    blocks_on_clock: bool  # empty blocks are made, so the chain moves without transactions
    block_interval_ms: int


def max_block_age_s(block_interval_ms: int) -> float:
    """How old the latest block may be on a clocked chain."""
    return max(MIN_BLOCK_AGE_S, BLOCK_AGE_INTERVALS * block_interval_ms / 1000)


def readiness(facts: ReadinessFacts, now: float) -> Readiness:
    """The checks of ``GET /ready`` at wall-clock time ``now``."""
    if not facts.networked:
        synced = (True, "single-validator chain")
        peers = (True, "single-validator chain: no peers needed")
    else:
        behind = facts.best_peer_height - facts.latest_height
        if not facts.consensus_running:
            synced = (False, f"block-syncing: height {facts.latest_height}, best peer {facts.best_peer_height}")
        elif behind > 1:
            synced = (False, f"{behind} blocks behind the best peer ({facts.best_peer_height})")
        else:
            synced = (True, f"height {facts.latest_height}")
        peers = (facts.peers > 0, f"{facts.peers} connected")
    if facts.blocks_on_clock:
        age = now - facts.latest_block_time
        limit = max_block_age_s(facts.block_interval_ms)
        recent = (age <= limit, f"latest block {age:.0f} s old (limit {limit:.0f} s)")
    else:
        recent = (True, "blocks only for transactions: age not checked")
    return Readiness((("synced", *synced), ("peers", *peers), ("recent_block", *recent)))
