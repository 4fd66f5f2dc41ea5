"""Metric families of a node, readiness checks and sync progress lines (no processes)."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cybermiles_node.health import ReadinessFacts, max_block_age_s, readiness
from cybermiles_node.metrics import NodeMetrics, NodeState, reason_label
from cybermiles_node.syncprogress import SyncSample, progress_bar, progress_line, report_sync_progress
from p2p.traffic import ChannelCount, TrafficCounters


def samples(metrics: NodeMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed with the Prometheus text parser."""
    parsed = text_string_to_metric_families(metrics.exposition().decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in parsed for s in family.samples}


def test_events_and_state_appear_under_prometheus_names() -> None:
    traffic = TrafficCounters()
    traffic.record("sent", 0x21, 100)
    traffic.record("sent", 0x21, 50)
    traffic.record("received", 0x30, 7)
    state = NodeState(height=12, round=1, step="prevote", voting_power=10, validator_set_size=4,
                      validator_set_power=40, peers_inbound=2, peers_outbound=1, traffic=traffic.snapshot(),
                      mempool_pending=3, mempool_bytes=330, ws_subscriptions={"newHeads": 2}, best_peer_height=15,
                      catching_up=True)
    metrics = NodeMetrics(lambda: state)
    metrics.block_committed(2, header_time=1_000, now_wall=1_000.5, now_monotonic=10.0, execution_seconds=0.01,
                            store_seconds=0.002, signed=True)
    metrics.block_committed(0, header_time=1_001, now_wall=1_002.0, now_monotonic=11.25, execution_seconds=0.01,
                            store_seconds=0.002, signed=False)
    metrics.block_committed(0, header_time=1_002, now_wall=1_003.0, now_monotonic=12.0, execution_seconds=0.01,
                            store_seconds=0.002, signed=None)
    metrics.tx_admission(None)
    metrics.tx_admission("NonceTooLowError")
    metrics.rpc_request("eth_call", 0.02, None)
    metrics.rpc_request("eth_call", 0.03, -32000)
    got = samples(metrics)

    assert got[("cmnode_height", ())] == 12
    assert got[("cmnode_consensus_round", ())] == 1
    assert got[("cmnode_consensus_step", (("step", "prevote"),))] == 1
    assert got[("cmnode_consensus_step", (("step", "propose"),))] == 0
    assert got[("cmnode_blocks_total", ())] == 3
    assert got[("cmnode_transactions_total", ())] == 2
    assert got[("cmnode_block_interval_seconds_count", ())] == 2  # intervals between three commits
    assert got[("cmnode_block_interval_seconds_sum", ())] == pytest.approx(2.0)
    assert got[("cmnode_commit_latency_seconds_sum", ())] == pytest.approx(2.5)
    assert got[("cmnode_block_transactions_bucket", (("le", "1.0"),))] == 2
    assert got[("cmnode_block_transactions_bucket", (("le", "5.0"),))] == 3
    assert got[("cmnode_validator_blocks_total", (("outcome", "signed"),))] == 1
    assert got[("cmnode_validator_blocks_total", (("outcome", "missed"),))] == 1
    assert got[("cmnode_validator_voting_power", ())] == 10
    assert got[("cmnode_p2p_peers", (("direction", "inbound"),))] == 2
    assert got[("cmnode_p2p_messages_total", (("channel", "0x21"), ("direction", "sent")))] == 2
    assert got[("cmnode_p2p_payload_bytes_total", (("channel", "0x21"), ("direction", "sent")))] == 150
    assert got[("cmnode_p2p_payload_bytes_total", (("channel", "0x30"), ("direction", "received")))] == 7
    assert got[("cmnode_mempool_admissions_total", ())] == 1
    assert got[("cmnode_mempool_rejections_total", (("reason", "nonce_too_low"),))] == 1
    assert got[("cmnode_mempool_txs", (("state", "pending"),))] == 3
    assert got[("cmnode_mempool_bytes", ())] == 330
    assert got[("cmnode_rpc_requests_total", (("method", "eth_call"),))] == 2
    assert got[("cmnode_rpc_request_duration_seconds_count", (("method", "eth_call"),))] == 2
    assert got[("cmnode_rpc_errors_total", (("code", "-32000"),))] == 1
    assert got[("cmnode_rpc_websocket_subscriptions", (("kind", "newHeads"),))] == 2
    assert got[("cmnode_sync_best_peer_height", ())] == 15 and got[("cmnode_sync_catching_up", ())] == 1


def test_every_family_follows_the_naming_conventions() -> None:
    metrics = NodeMetrics(lambda: NodeState(height=0))
    names = [family.name for family in text_string_to_metric_families(metrics.exposition().decode())]
    assert len(names) >= 35
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        assert family.name.startswith("cmnode_")
        assert not family.name.endswith(("_ms", "_milliseconds", "_kb")), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name


def test_each_node_has_its_own_registry() -> None:
    first, second = NodeMetrics(lambda: NodeState(height=1)), NodeMetrics(lambda: NodeState(height=2))
    first.tx_admission(None)
    assert samples(first)[("cmnode_mempool_admissions_total", ())] == 1
    assert samples(second)[("cmnode_mempool_admissions_total", ())] == 0
    assert samples(second)[("cmnode_height", ())] == 2


@pytest.mark.parametrize("name, label", [("NonceTooLowError", "nonce_too_low"), ("PoolFullError", "pool_full"),
                                         ("AlreadyKnownError", "already_known")])
def test_rejection_reasons_are_snake_case(name: str, label: str) -> None:
    assert reason_label(name) == label


def test_traffic_counters_snapshot() -> None:
    traffic = TrafficCounters()
    traffic.record("received", 0x40, 1_000)
    assert traffic.snapshot() == {("received", 0x40): ChannelCount(1, 1_000)}


FACTS = ReadinessFacts(networked=True, consensus_running=True, latest_height=100, best_peer_height=101, peers=3,
                       latest_block_time=1_000, blocks_on_clock=True, block_interval_ms=1_000)


def checks(facts: ReadinessFacts, now: float = 1_001) -> dict[str, bool]:
    return {name: passed for name, passed, _ in readiness(facts, now).checks}


def test_ready_when_synced_connected_and_recent() -> None:
    assert readiness(FACTS, 1_001).ready


@pytest.mark.parametrize("change, failing", [
    ({"consensus_running": False}, "synced"),  # still block-syncing
    ({"best_peer_height": 120}, "synced"),  # consensus runs but a peer is far ahead
    ({"peers": 0}, "peers"),
])
def test_not_ready(change: dict[str, object], failing: str) -> None:
    facts = ReadinessFacts(**{**FACTS.__dict__, **change})
    assert not readiness(facts, 1_001).ready and not checks(facts)[failing]


def test_stalled_chain_is_not_ready_unless_blocks_wait_for_transactions() -> None:
    stale = 1_000 + max_block_age_s(1_000) + 1
    assert not checks(FACTS, stale)["recent_block"]
    assert checks(ReadinessFacts(**{**FACTS.__dict__, "blocks_on_clock": False}), stale)["recent_block"]
    assert max_block_age_s(30_000) == 300


def test_single_validator_chain_needs_no_peers() -> None:
    facts = ReadinessFacts(**{**FACTS.__dict__, "networked": False, "peers": 0, "consensus_running": False})
    assert readiness(facts, 1_001).ready


def test_progress_line_shows_rate_best_peer_and_eta() -> None:
    start = SyncSample(0, 1_000, 0.0)
    line = progress_line(start, SyncSample(100, 1_000, 5.0), SyncSample(300, 1_000, 10.0))
    assert line == "sync: height 300 of best peer 1000 (30.0%), 40.0 blocks/s, ETA 18 s"
    assert "ETA unknown" in progress_line(start, SyncSample(300, 1_000, 5.0), SyncSample(300, 1_000, 10.0))
    assert progress_bar(start, SyncSample(500, 1_000, 1.0)) == "\r[" + "#" * 15 + "." * 15 + "] 500/1000"


def test_progress_is_logged_while_behind_and_drawn_on_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    heights = iter([(0, 50), *((n * 5, 50) for n in range(1, 100))])
    terminal = io.StringIO()

    async def run() -> None:
        task = asyncio.create_task(report_sync_progress(lambda: next(heights), interval_s=0.05, terminal=terminal))
        await asyncio.sleep(0.4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.INFO, logger="cmnode.sync"):
        asyncio.run(run())
    lines = [r.getMessage() for r in caplog.records if r.name == "cmnode.sync"]
    assert lines and all("blocks/s" in line and "of best peer 50" in line for line in lines)
    assert "/50" in terminal.getvalue() and terminal.getvalue().endswith("\n")
