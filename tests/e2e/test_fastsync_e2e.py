"""End to end: a validator and two late full nodes, one catching up by full sync and one by fast sync."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError

from tests.e2e.nodeproc import wait_for_height, write_testnet
from tests.e2e.test_testnet_e2e import DEAD, send_transfer

pytestmark = pytest.mark.e2e

BLOCK_INTERVAL_MS = "150"


class Network:
    """``cmnode testnet --validators 1 --full-nodes 2`` as processes; node1 syncs in full mode, node2 in fast mode."""

    def __init__(self, output: Path) -> None:
        self.nodes = write_testnet(output, 1, 2)
        for index, mode in ((1, "full"), (2, "fast")):
            with open(Path(self.nodes[index]["home"]) / "config.toml", "a") as config:
                config.write(f'\n[sync]\nmode = "{mode}"\n')
        self.output = output
        self.processes: dict[int, subprocess.Popen] = {}

    def start(self, index: int, *args: str) -> None:
        log = open(self.output / f"node{index}.log", "a")
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", self.nodes[index]["home"], *args],
            stdout=log, stderr=subprocess.STDOUT,
        )

    def stop_all(self) -> None:
        for process in self.processes.values():
            os.kill(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            process.wait(timeout=60)
        self.processes.clear()

    def w3(self, index: int) -> Web3:
        return Web3(Web3.HTTPProvider(self.nodes[index]["rpc"], request_kwargs={"timeout": 10}))

    def wait_height(self, index: int, height: int, timeout: float = 90) -> None:
        wait_for_height(lambda: self.w3(index).eth.block_number, height, timeout,
                        lambda: f"node {index}:\n{self.log_text()[-3000:]}")

    def hashes(self, index: int, first: int, last: int) -> list[bytes]:
        w3 = self.w3(index)
        return [w3.eth.get_block(n).hash for n in range(first, last + 1)]

    def log_text(self) -> str:
        return "".join((self.output / f"node{i}.log").read_text() for i in range(3)
                       if (self.output / f"node{i}.log").exists())


def test_late_full_nodes_catch_up_by_full_and_fast_sync_and_follow_consensus(tmp_path: Path) -> None:
    net = Network(tmp_path)
    try:
        net.start(0, "--block-interval", BLOCK_INTERVAL_MS)
        net.wait_height(0, 1)
        validator = net.w3(0)
        sent = [send_transfer(validator, 10 + index) for index in range(3)]
        early = [validator.eth.wait_for_transaction_receipt(tx_hash, timeout=30) for tx_hash in sent]
        net.wait_height(0, max(r.blockNumber for r in early) + 40)

        target = validator.eth.block_number
        net.start(1)
        net.wait_height(1, target)
        # Node 2 starts once every peer it can meet is near the tip: a pivot is chosen from the peers it
        # meets first, and a full node still catching up would offer an early one.
        target = validator.eth.block_number
        net.start(2)
        for index in (1, 2):
            net.wait_height(index, target)
        for index in (1, 2):
            assert net.hashes(index, 0, target) == net.hashes(0, 0, target)
        fast = net.w3(2)
        head = fast.eth.block_number  # the pivot was chosen near the tip when node2 started, after ``target``
        assert fast.eth.get_block(head).stateRoot == validator.eth.get_block(head).stateRoot
        assert fast.eth.get_balance(DEAD, head) == validator.eth.get_balance(DEAD, head) == 3

        # Blocks before the pivot were stored without execution, with receipts whose senders were recovered.
        for receipt in early:
            served = fast.eth.get_transaction_receipt(receipt.transactionHash)
            assert (served.blockHash, served["from"], served.status) == (receipt.blockHash, receipt["from"], 1)
        with pytest.raises(Web3RPCError, match="historical state unavailable: this node's state starts at block"):
            fast.eth.get_balance(DEAD, 1)
        assert net.w3(1).eth.get_balance(DEAD, early[0].blockNumber) >= 1  # the full-synced node has it all
        assert fast.provider.make_request("cmt_getBlockEvents", ["0x1"])["error"]["message"].startswith(
            "block events unavailable: this node's state starts at block")
        assert net.w3(1).provider.make_request("cmt_getBlockEvents", ["0x1"])["result"]  # the block award

        # Both keep following consensus: a transaction sent to the fast-synced node is committed everywhere.
        receipt = fast.eth.wait_for_transaction_receipt(send_transfer(fast, 15), timeout=60)
        assert receipt.status == 1
        for index in (0, 1, 2):
            net.wait_height(index, receipt.blockNumber)
        assert fast.eth.get_balance(DEAD, receipt.blockNumber) == 4
        assert net.hashes(2, target, receipt.blockNumber) == net.hashes(1, target, receipt.blockNumber) \
            == net.hashes(0, target, receipt.blockNumber)
        log = net.log_text()
        assert "fast sync: state at" in log and "Traceback" not in log
    finally:
        net.stop_all()
