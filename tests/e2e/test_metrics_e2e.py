"""End to end: metrics, health and logs of a real 2-validator testnet and a late full node that block-syncs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from web3 import Web3

from tests.e2e.nodeproc import free_port_range, wait_for_height, write_testnet
from tests.e2e.test_testnet_e2e import send_transfer

pytestmark = pytest.mark.e2e

BLOCK_INTERVAL_MS = "100"
FULL_NODE = 2


class MonitoredTestnet:
    """``cmnode testnet --validators 2 --full-nodes 1``, every node with ``--metrics-addr``; the full node logs JSON."""

    def __init__(self, output: Path) -> None:
        base = free_port_range(9)
        self.nodes = write_testnet(output, 2, 1, base)
        self.metrics_ports = [base + 6 + index for index in range(3)]
        config = Path(self.nodes[FULL_NODE]["home"]) / "config.toml"
        text = config.read_text().replace('log_format = "text"', 'log_format = "json"')
        config.write_text(text + '\n[sync]\nmode = "full"\n')
        self.output = output
        self.processes: dict[int, subprocess.Popen] = {}

    def start(self, index: int) -> None:
        log = open(self.output / f"node{index}.log", "a")
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", self.nodes[index]["home"],
             "--metrics-addr", f"127.0.0.1:{self.metrics_ports[index]}", "--block-interval", BLOCK_INTERVAL_MS],
            stdout=subprocess.DEVNULL, stderr=log,
        )

    def stop_all(self) -> None:
        for process in self.processes.values():
            os.kill(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            process.wait(timeout=60)
        self.processes.clear()

    def w3(self, index: int) -> Web3:
        return Web3(Web3.HTTPProvider(self.nodes[index]["rpc"], request_kwargs={"timeout": 10}))

    def get(self, index: int, path: str, metrics_port: bool = True) -> requests.Response:
        base = f"http://127.0.0.1:{self.metrics_ports[index]}" if metrics_port else self.nodes[index]["rpc"]
        return requests.get(base + path, timeout=10)

    def wait_up(self, index: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.get(index, "/health").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"node {index} did not serve /health:\n{self.log(index)[-3000:]}")

    def wait_height(self, index: int, height: int, timeout: float = 90) -> None:
        wait_for_height(lambda: self.w3(index).eth.block_number, height, timeout,
                        lambda: f"node {index}:\n{self.log(index)[-3000:]}")

    def scrape(self, index: int) -> dict[str, float]:
        """Every sample of ``/metrics``, by name and labels, via the Prometheus text parser."""
        response = self.get(index, "/metrics")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}"] = sample.value
        return samples

    def log(self, index: int) -> str:
        path = self.output / f"node{index}.log"
        return path.read_text() if path.exists() else ""


def total(samples: dict[str, float], prefix: str) -> float:
    """The sum of the samples whose key starts with ``prefix`` (a name, or a name and labels)."""
    return sum(value for key, value in samples.items() if key.startswith(prefix))


@pytest.mark.parametrize("sync_blocks", [80, pytest.param(1000, marks=[pytest.mark.soak, pytest.mark.timeout(900)])])
def test_metrics_move_health_answers_and_a_late_full_node_logs_json_and_sync_progress(
        tmp_path: Path, sync_blocks: int) -> None:
    net = MonitoredTestnet(tmp_path)
    try:
        # A full node alone: it should have peers and has none, so it is live but not ready.
        net.start(FULL_NODE)
        net.wait_up(FULL_NODE)
        deadline = time.time() + 30
        while True:
            alone = net.get(FULL_NODE, "/ready")
            body = alone.json()
            if alone.status_code == 503 and body["checks"]["peers"] == {"ok": False, "detail": "0 connected"}:
                break
            assert time.time() < deadline, body
            time.sleep(0.2)
        assert net.get(FULL_NODE, "/health", metrics_port=False).json() == {"status": "ok"}
        net.stop_all()

        for index in (0, 1):
            net.start(index)
        net.wait_height(0, 3)
        first = net.scrape(0)
        w3 = net.w3(0)
        receipt = w3.eth.wait_for_transaction_receipt(send_transfer(w3, 10), timeout=30)
        net.wait_height(0, receipt.blockNumber + 3)
        second = net.scrape(0)

        assert second["cmnode_height{}"] > first["cmnode_height{}"] >= 3
        assert second["cmnode_blocks_total{}"] > first["cmnode_blocks_total{}"]
        assert second["cmnode_transactions_total{}"] >= first["cmnode_transactions_total{}"] + 1
        assert second["cmnode_block_interval_seconds_count{}"] > first["cmnode_block_interval_seconds_count{}"]
        assert second["cmnode_block_execution_seconds_count{}"] > first["cmnode_block_execution_seconds_count{}"]
        assert second["cmnode_database_write_seconds_count{}"] > first["cmnode_database_write_seconds_count{}"]
        assert second["cmnode_database_size_bytes{}"] > 0
        assert total(second, "cmnode_p2p_peers{") == 1
        assert second["cmnode_mempool_admissions_total{}"] == first["cmnode_mempool_admissions_total{}"] + 1
        assert total(second, "cmnode_rpc_requests_total{method=eth_sendRawTransaction}") == 1
        assert total(second, "cmnode_rpc_requests_total{") > total(first, "cmnode_rpc_requests_total{")
        for direction in ("sent", "received"):
            key = f"cmnode_p2p_payload_bytes_total{{channel=0x21,direction={direction}}}"
            assert second[key] > first.get(key, 0)
        signed = "cmnode_validator_blocks_total{outcome=signed}"
        assert second[signed] > first.get(signed, 0)
        assert second["cmnode_validator_voting_power{}"] > 0 and second["cmnode_validator_set_size{}"] == 2
        assert total(second, "cmnode_consensus_step{") == 1

        for metrics_port in (True, False):
            ready = net.get(0, "/ready", metrics_port)
            assert ready.status_code == 200, ready.text
            assert all(check["ok"] for check in ready.json()["checks"].values())
            assert net.get(0, "/health", metrics_port).json() == {"status": "ok"}

        # The late full node block-syncs: not ready while it catches up, then ready.
        net.wait_height(0, sync_blocks, timeout=120 + sync_blocks / 2)
        net.start(FULL_NODE)
        net.wait_up(FULL_NODE)
        seen_catching_up = False
        deadline = time.time() + 120 + sync_blocks / 5
        while True:
            ready = net.get(FULL_NODE, "/ready")
            if ready.status_code == 503 and not ready.json()["checks"]["synced"]["ok"]:
                seen_catching_up = True
            if ready.status_code == 200:
                break
            assert time.time() < deadline, ready.text
            time.sleep(0.05)
        assert seen_catching_up
        synced = net.scrape(FULL_NODE)
        assert synced["cmnode_height{}"] >= sync_blocks and synced["cmnode_sync_catching_up{}"] == 0
        assert synced["cmnode_validator_voting_power{}"] == 0

        # Its logs are JSON lines; while syncing it printed progress with a rate at least every 10 s.
        lines = [json.loads(line) for line in net.log(FULL_NODE).splitlines() if line.strip()]
        assert {"time", "level", "logger", "message"} <= set(lines[-1])
        stamps = [datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()
                  for line in lines if line["logger"] == "cmnode.sync"]
        assert stamps, "no sync progress line"
        assert all("blocks/s" in line["message"] and "ETA" in line["message"] for line in lines
                   if line["logger"] == "cmnode.sync")
        caught_up = [line for line in lines if line["message"].startswith("caught up at height")][-1]
        ends = stamps + [datetime.fromisoformat(caught_up["time"].replace("Z", "+00:00")).timestamp()]
        assert all(later - earlier <= 10 for earlier, later in zip(ends, ends[1:], strict=False)), ends
        assert "Traceback" not in net.log(0) + net.log(1) + net.log(FULL_NODE)
    finally:
        net.stop_all()
