"""Prometheus metrics of one node: definitions, recording, and the ``/metrics`` exposition.

Each node has its own ``CollectorRegistry`` (several nodes may share a process in tests). Events
(blocks committed, RPC requests, mempool admissions) are recorded as they happen by ``NodeMetrics``;
everything that is a current value (height, peers, mempool size, traffic totals, ...) is read at
scrape time from a ``NodeState`` the node assembles, so recording never touches chain state and
costs a few additions per event. Names: ``cmnode_`` prefix, base units (seconds, bytes), ``_total``
counters. ``docs/operations.md`` lists every family with its meaning.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from p2p.traffic import ChannelCount

CONSENSUS_STEPS = ("propose", "prevote", "precommit", "commit")
#: Buckets of block interval and commit latency (seconds).
BLOCK_TIME_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
#: Buckets of block execution and database write times (seconds).
WORK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Buckets of RPC latency (seconds).
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Buckets of transactions per block.
TX_BUCKETS = (0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


@dataclass(frozen=True)
class NodeState:
    """Current values of the node, read when ``/metrics`` is scraped."""

    height: int
    round: int = 0
    step: str = ""
    voting_power: int = 0  # this node's validator power; 0 when not in the set
    validator_set_size: int = 0
    validator_set_power: int = 0
    peers_inbound: int = 0
    peers_outbound: int = 0
    traffic: Mapping[tuple[str, int], ChannelCount] = field(default_factory=dict)
    bans_total: int = 0
    bans_active: int = 0
    mempool_pending: int = 0
    mempool_queued: int = 0
    mempool_bytes: int = 0
    ws_connections: int = 0
    ws_subscriptions: Mapping[str, int] = field(default_factory=dict)
    database_bytes: int = 0
    webhook_pending: int = 0
    webhook_dead_letters: int = 0
    webhook_delivered_total: int = 0
    webhook_failed_attempts_total: int = 0
    best_peer_height: int = 0
    catching_up: bool = False
    fast_syncing: bool = False


StateReader = Callable[[], NodeState]
"""Assembles the node's ``NodeState`` (on the event loop; cheap)."""


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _StateCollector(Collector):
    """Turns a ``NodeState`` into gauges and counters at each scrape."""

    def __init__(self, read: StateReader) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        """The current-value families."""
        state = self._read()
        yield _gauge("cmnode_height", "Height of the latest committed block", state.height)
        yield _gauge("cmnode_consensus_round", "Consensus round of the height being decided", state.round)
        step = GaugeMetricFamily("cmnode_consensus_step", "1 for the current consensus step", labels=["step"])
        for name in CONSENSUS_STEPS:
            step.add_metric([name], 1.0 if state.step == name else 0.0)
        yield step
        yield _gauge("cmnode_validator_voting_power", "Voting power of this node's validator key (0: not a validator)",
                     state.voting_power)
        yield _gauge("cmnode_validator_set_size", "Validators in the current set", state.validator_set_size)
        yield _gauge("cmnode_validator_set_power", "Total voting power of the current set", state.validator_set_power)
        peers = GaugeMetricFamily("cmnode_p2p_peers", "Connected peers by direction", labels=["direction"])
        peers.add_metric(["inbound"], state.peers_inbound)
        peers.add_metric(["outbound"], state.peers_outbound)
        yield peers
        messages = CounterMetricFamily("cmnode_p2p_messages", "Channel messages sent and received",
                                       labels=["direction", "channel"])
        payload = CounterMetricFamily("cmnode_p2p_payload_bytes", "Payload bytes of channel messages",
                                      labels=["direction", "channel"])
        for (direction, channel), count in sorted(state.traffic.items()):
            messages.add_metric([direction, f"{channel:#04x}"], count.messages)
            payload.add_metric([direction, f"{channel:#04x}"], count.payload_bytes)
        yield messages
        yield payload
        yield CounterMetricFamily("cmnode_p2p_bans", "Peers banned since start", value=state.bans_total)
        yield _gauge("cmnode_p2p_banned_peers", "Node ids banned now", state.bans_active)
        txs = GaugeMetricFamily("cmnode_mempool_txs", "Transactions in the mempool", labels=["state"])
        txs.add_metric(["pending"], state.mempool_pending)
        txs.add_metric(["queued"], state.mempool_queued)
        yield txs
        yield _gauge("cmnode_mempool_bytes", "Bytes of the transactions in the mempool", state.mempool_bytes)
        yield _gauge("cmnode_rpc_websocket_connections", "Open WebSocket connections", state.ws_connections)
        subscriptions = GaugeMetricFamily("cmnode_rpc_websocket_subscriptions", "Open subscriptions by kind",
                                          labels=["kind"])
        for kind, count in sorted(state.ws_subscriptions.items()):
            subscriptions.add_metric([kind], count)
        yield subscriptions
        yield _gauge("cmnode_database_size_bytes", "Size of the LevelDB files on disk", state.database_bytes)
        yield _gauge("cmnode_webhook_pending", "Webhook deliveries waiting in the outbox", state.webhook_pending)
        yield _gauge("cmnode_webhook_dead_letters", "Webhook deliveries that gave up", state.webhook_dead_letters)
        yield CounterMetricFamily("cmnode_webhook_deliveries", "Webhook deliveries acknowledged by receivers",
                                  value=state.webhook_delivered_total)
        yield CounterMetricFamily("cmnode_webhook_failed_attempts", "Webhook attempts that failed (retried later)",
                                  value=state.webhook_failed_attempts_total)
        yield _gauge("cmnode_sync_best_peer_height", "Highest height a peer reports", state.best_peer_height)
        yield _gauge("cmnode_sync_catching_up", "1 while the node block-syncs behind its peers", state.catching_up)
        yield _gauge("cmnode_sync_fast_syncing", "1 while fast sync has not finished", state.fast_syncing)


def reason_label(error_class: str) -> str:
    """``NonceTooLowError`` -> ``nonce_too_low``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", error_class.removesuffix("Error")).lower()


class NodeMetrics:
    """The metric families of one node, with the recorders its parts call."""

    def __init__(self, read_state: StateReader) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.blocks = Counter("cmnode_blocks", "Blocks committed", registry=registry)
        self.block_interval = Histogram("cmnode_block_interval_seconds", "Time between consecutive commits here",
                                        buckets=BLOCK_TIME_BUCKETS, registry=registry)
        self.commit_latency = Histogram("cmnode_commit_latency_seconds",
                                        "From a block's header time (whole seconds) to its commit here",
                                        buckets=BLOCK_TIME_BUCKETS, registry=registry)
        self.block_txs = Histogram("cmnode_block_transactions", "Transactions per committed block",
                                   buckets=TX_BUCKETS, registry=registry)
        self.transactions = Counter("cmnode_transactions", "Transactions committed", registry=registry)
        self.execution = Histogram("cmnode_block_execution_seconds", "Executing a committed block",
                                   buckets=WORK_BUCKETS, registry=registry)
        self.store_write = Histogram("cmnode_database_write_seconds", "Writing a committed block's batch to LevelDB",
                                     buckets=WORK_BUCKETS, registry=registry)
        self.validator_blocks = Counter("cmnode_validator_blocks", "Blocks this validator signed or missed",
                                        ["outcome"], registry=registry)
        self.admissions = Counter("cmnode_mempool_admissions", "Transactions admitted to the mempool",
                                  registry=registry)
        self.rejections = Counter("cmnode_mempool_rejections", "Transactions refused by the mempool, by reason",
                                  ["reason"], registry=registry)
        self.rpc_requests = Counter("cmnode_rpc_requests", "JSON-RPC requests by method", ["method"],
                                    registry=registry)
        self.rpc_latency = Histogram("cmnode_rpc_request_duration_seconds", "JSON-RPC request handling time",
                                     ["method"], buckets=RPC_BUCKETS, registry=registry)
        self.rpc_errors = Counter("cmnode_rpc_errors", "JSON-RPC error responses by code", ["code"],
                                  registry=registry)
        registry.register(_StateCollector(read_state))
        self._last_commit: float | None = None

    def block_committed(self, txs: int, header_time: int, now_wall: float, now_monotonic: float,
                        execution_seconds: float, store_seconds: float, signed: bool | None) -> None:
        """Record a commit; ``signed`` tells whether this validator's precommit is in the block's last commit
        (None when it was not a validator of the parent)."""
        self.blocks.inc()
        self.transactions.inc(txs)
        self.block_txs.observe(txs)
        self.commit_latency.observe(max(0.0, now_wall - header_time))
        if self._last_commit is not None:
            self.block_interval.observe(now_monotonic - self._last_commit)
        self._last_commit = now_monotonic
        self.execution.observe(execution_seconds)
        self.store_write.observe(store_seconds)
        if signed is not None:
            self.validator_blocks.labels("signed" if signed else "missed").inc()

    def tx_admission(self, refused_because: str | None) -> None:
        """Record a mempool admission (None) or a refusal with its reason (an error class name)."""
        if refused_because is None:
            self.admissions.inc()
        else:
            self.rejections.labels(reason_label(refused_because)).inc()

    def rpc_request(self, method: str, seconds: float, error_code: int | None) -> None:
        """Record a JSON-RPC request (its method name from the registered set)."""
        self.rpc_requests.labels(method).inc()
        self.rpc_latency.labels(method).observe(seconds)
        if error_code is not None:
            self.rpc_errors.labels(str(error_code)).inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
