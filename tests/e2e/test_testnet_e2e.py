"""End to end: a 4-validator testnet plus a late full node, as real processes on loopback."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

from tests.e2e.nodeproc import dev_account, free_port_range

pytestmark = pytest.mark.e2e

CHAIN_ID = 15
DEAD = "0x000000000000000000000000000000000000dEaD"


class LocalTestnet:
    def __init__(self, output: Path) -> None:
        base = free_port_range(12)
        result = subprocess.run(
            [sys.executable, "-m", "cybermiles_node.cli", "testnet", "--validators", "4", "--full-nodes", "1",
             "--output", str(output), "--base-port", str(base), "--json"],
            capture_output=True, text=True, check=True, timeout=120,
        )
        self.nodes = json.loads(result.stdout)
        self.processes: dict[int, subprocess.Popen] = {}
        self.output = output

    def start(self, index: int) -> None:
        log = open(self.output / f"node{index}.log", "a")
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", self.nodes[index]["home"]],
            stdout=log, stderr=subprocess.STDOUT,
        )

    def stop(self, index: int, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(index)
        os.kill(process.pid, sig)
        process.wait(timeout=60)

    def stop_all(self) -> None:
        for index in list(self.processes):
            self.stop(index)

    def w3(self, index: int) -> Web3:
        return Web3(Web3.HTTPProvider(self.nodes[index]["rpc"], request_kwargs={"timeout": 10}))

    def height(self, index: int) -> int:
        return self.w3(index).eth.block_number

    def wait_height(self, index: int, height: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while True:
            try:
                if self.height(index) >= height:
                    return
            except Exception:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"node {index} did not reach height {height}")
            time.sleep(0.2)

    def hashes(self, index: int, upto: int) -> list[bytes]:
        w3 = self.w3(index)
        return [w3.eth.get_block(n).hash for n in range(upto + 1)]

    def log_text(self) -> str:
        return "".join((self.output / f"node{i}.log").read_text() for i in range(5)
                       if (self.output / f"node{i}.log").exists())


def send_transfer(w3: Web3, account_index: int) -> bytes:
    account = dev_account(account_index)
    tx = {"to": DEAD, "value": 1, "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
          "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": CHAIN_ID}
    return bytes(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))


def test_four_validators_tolerate_one_fault_halt_at_two_and_a_late_full_node_syncs(tmp_path: Path) -> None:
    net = LocalTestnet(tmp_path)
    try:
        for index in range(4):
            net.start(index)
        for index in range(4):
            net.wait_height(index, 2)

        # Transactions sent to any validator are committed, and every node agrees.
        sent = [send_transfer(net.w3(index), 10 + index) for index in range(4)]
        receipts = [net.w3(0).eth.wait_for_transaction_receipt(h, timeout=30) for h in sent]
        assert all(r.status == 1 for r in receipts)
        top = max(r.blockNumber for r in receipts)
        for index in range(4):
            net.wait_height(index, top)
        assert len({tuple(net.hashes(index, top)) for index in range(4)}) == 1

        # One validator down: the other three keep committing.
        net.stop(3)
        before = net.height(0)
        net.wait_height(0, before + 3, timeout=60)
        receipt = net.w3(1).eth.wait_for_transaction_receipt(send_transfer(net.w3(1), 14), timeout=60)
        assert receipt.status == 1

        # Two down: less than 2/3 of the power remains, the chain halts without forking.
        net.stop(2)
        time.sleep(2)
        halted = net.height(0)
        time.sleep(8)
        assert net.height(0) <= halted + 1 and net.height(1) <= halted + 1
        stalled = min(net.height(0), net.height(1))
        assert net.hashes(0, stalled) == net.hashes(1, stalled)

        # Both back: the chain resumes and the restarted validators catch up to the same blocks.
        net.start(2)
        net.start(3)
        net.wait_height(0, stalled + 3, timeout=90)
        for index in (2, 3):
            net.wait_height(index, stalled + 3, timeout=90)

        # kill -9 a validator mid-round; it restarts without double-signing.
        net.stop(1, signal.SIGKILL)
        net.start(1)
        mark = net.height(0)
        net.wait_height(1, mark + 3, timeout=90)

        # A full node started late syncs from genesis to identical blocks and state, re-executing every
        # block (fast sync, the default, is tested in test_fastsync_e2e.py).
        with open(Path(net.nodes[4]["home"]) / "config.toml", "a") as config:
            config.write('\n[sync]\nmode = "full"\n')
        net.start(4)
        target = net.height(0)
        net.wait_height(4, target, timeout=120)
        assert net.hashes(4, target) == net.hashes(0, target)
        full, validator = net.w3(4), net.w3(0)
        assert full.eth.get_block(target).stateRoot == validator.eth.get_block(target).stateRoot
        assert full.eth.get_balance(DEAD, target) == validator.eth.get_balance(DEAD, target) == 5
        # The head moved on while it synced: `cmnode status` reports it catching up until it follows consensus.
        deadline = time.time() + 60
        while True:
            status = json.loads(subprocess.run(
                [sys.executable, "-m", "cybermiles_node.cli", "status", "--rpc", net.nodes[4]["rpc"], "--json"],
                capture_output=True, text=True, check=True, timeout=60,
            ).stdout)
            if status["catchingUp"] is False or time.time() > deadline:
                break
            time.sleep(1)
        assert status["validator"] is None and status["peers"] >= 1 and status["catchingUp"] is False
        assert "double signing by validator" not in net.log_text()
        assert "Traceback" not in net.log_text()
    finally:
        net.stop_all()


def test_testnet_start_runs_the_whole_network_in_one_command(tmp_path: Path) -> None:
    base = free_port_range(4)
    output = tmp_path / "net"
    runner = subprocess.Popen(
        [sys.executable, "-m", "cybermiles_node.cli", "testnet", "--validators", "2", "--output", str(output),
         "--base-port", str(base), "--start"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        rpcs = [Web3(Web3.HTTPProvider(f"http://127.0.0.1:{base + 2 * i + 1}")) for i in range(2)]
        deadline = time.time() + 60
        while not all(_height_or_none(w3) is not None and _height_or_none(w3) >= 2 for w3 in rpcs):
            assert time.time() < deadline, "the testnet did not make blocks"
            assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
            time.sleep(0.3)
        assert rpcs[0].eth.get_block(2).hash == rpcs[1].eth.get_block(2).hash
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
    assert runner.returncode == 0
    assert all(_height_or_none(w3) is None for w3 in rpcs)  # every node stopped with it


def _height_or_none(w3: Web3) -> int | None:
    try:
        return w3.eth.block_number
    except Exception:
        return None
