"""End to end: a 4-validator testnet where one validator's key lives in a separate ``cmnode signer`` process.

Everything is a real process on loopback: four ``cmnode start`` nodes and one
``cmnode signer start``. Validator 3's home has no key file; its node listens
on ``[privval] laddr`` and the signer dials in. The test follows the commits
live (``cmt_queryAbsentValidators`` names the members missing from the latest
block's last commit) and, once everything is stopped, reads the stored blocks.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consensus.keys import verify
from consensus.types import PRECOMMIT, vote_sign_bytes
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from tests.e2e.nodeproc import cmnode, free_port_range
from tests.e2e.test_testnet_e2e import LocalTestnet

pytestmark = pytest.mark.e2e

CHAIN_ID = 15
REMOTE = 3  # the validator whose key is in the signer process


class SignerTestnet(LocalTestnet):
    """Four validators (no full node), downtime jailing out of reach of the test's signer outage."""

    def __init__(self, output: Path, base_port: int) -> None:
        self.nodes = json.loads(cmnode("testnet", "--validators", "4", "--output", str(output), "--base-port",
                                       str(base_port), "--param", "max_slash_blocks=1000", "--json").stdout)
        self.processes: dict[int, subprocess.Popen] = {}
        self.output = output


class SignerProcess:
    """``cmnode signer start`` for one signer home, logging next to the nodes' logs."""

    def __init__(self, home: Path, node: str, log: Path) -> None:
        self.home, self.node, self.log = home, node, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cybermiles_node.cli", "signer", "start", "--home", str(self.home),
                 "--node", self.node], stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None


def absent(net: LocalTestnet, index: int) -> dict[str, int]:
    """Validators missing from the last commit of node ``index``'s latest block: public key to blocks missed."""
    reply = net.w3(index).provider.make_request("cmt_queryAbsentValidators", [])["result"]["data"]
    return {item["pubKey"].removeprefix("0x"): int(item["missedBlocks"], 16) for item in reply}


def wait_until(condition, what: str, timeout: float) -> None:  # noqa: ANN001 - a predicate
    deadline = time.time() + timeout
    while True:
        try:
            if condition():
                return
        except (OSError, KeyError, ValueError):
            pass
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.25)


def test_a_validator_signing_through_a_remote_signer_survives_the_signer_s_loss_and_return(tmp_path: Path) -> None:
    base = free_port_range(9)
    laddr_port = base + 8
    net = SignerTestnet(tmp_path, base)
    node_home = Path(net.nodes[REMOTE]["home"])
    init = json.loads(cmnode("signer", "init", "--home", str(tmp_path / "signer"), "--chain-id", str(CHAIN_ID),
                             "--import-from", str(node_home), "--laddr", f"tcp://127.0.0.1:{laddr_port}",
                             "--json").stdout)
    public_key = init["validatorPubKey"]
    (node_home / "config" / "validator_key.json").unlink()  # the key now lives only with the signer
    with open(node_home / "config.toml", "a") as config:
        config.write(f'\n[privval]\nladdr = "tcp://127.0.0.1:{laddr_port}"\nsigner_id = "{init["signerId"]}"\n'
                     f'validator_pub_key = "{public_key}"\ntimeout_ms = 2000\n')
    node_id = net.nodes[REMOTE]["p2p"].split("@")[0]
    signer = SignerProcess(tmp_path / "signer", f"{node_id}@127.0.0.1:{laddr_port}", tmp_path / "signer.log")
    try:
        for index in range(4):
            net.start(index)
        signer.start()

        # The remote validator signs: it is in the latest blocks' commits.
        net.wait_height(0, 3, timeout=60)
        wait_until(lambda: public_key not in absent(net, 0) and net.height(0) >= 4,
                   "the remote validator never signed", timeout=30)
        signed_before = net.height(0)

        # The signer dies: the validator stops voting, the other three keep committing, the node keeps serving.
        signer.kill()
        lost_at = net.height(0)
        wait_until(lambda: net.height(0) >= lost_at + 4, "the chain stopped without the signer", timeout=45)
        assert absent(net, 0).get(public_key, 0) >= 2
        assert net.height(REMOTE) >= lost_at + 3  # its node follows the chain and answers RPC
        assert net.w3(REMOTE).eth.get_block("latest").hash == net.w3(0).eth.get_block(net.height(REMOTE)).hash

        # The signer comes back: the validator signs again.
        signer.start()
        back_at = net.height(0)
        wait_until(lambda: public_key not in absent(net, 0) and net.height(0) > back_at,
                   "the remote validator did not sign again", timeout=45)
        top = net.height(0)
    finally:
        signer.stop()
        net.stop_all()

    logs = net.log_text() + (tmp_path / "signer.log").read_text()
    assert "Traceback" not in logs
    assert "double signing by validator" not in logs
    assert "remote signer" in (tmp_path / f"node{REMOTE}.log").read_text()

    # The stored chain: no evidence anywhere; the remote validator's precommits verify and cover the phases.
    db = LevelDB(Path(net.nodes[0]["home"]) / "data" / "chain.ldb")
    try:
        store = ChainStore(db)
        signed_heights = set()
        address = bytes.fromhex(init["validatorAddress"].removeprefix("0x"))
        for height in range(1, store.latest_height() + 1):
            block = store.get_block_by_number(height)
            assert block is not None and list(block.evidence) == []
            commit = block.last_commit
            for sig in commit.signatures:
                if sig.validator_address == address:
                    assert verify(bytes.fromhex(public_key), vote_sign_bytes(
                        CHAIN_ID, PRECOMMIT, commit.height, commit.round, commit.block_hash, sig.timestamp_ms),
                        sig.signature)
                    signed_heights.add(commit.height)
    finally:
        db.close()
    assert any(height <= signed_before for height in signed_heights)
    assert not signed_heights & set(range(lost_at + 2, lost_at + 4))  # nothing signed while the signer was dead
    assert any(height >= back_at for height in signed_heights) and max(signed_heights) < top + 1
