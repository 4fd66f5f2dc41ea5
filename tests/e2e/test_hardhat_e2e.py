"""End to end: a Hardhat 2 test suite (hardhat-ethers, network helpers, loadFixture) against ``cmnode start --dev``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.nodeproc import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).parent / "hardhat"


def _rpc(url: str, method: str, *params: object) -> dict[str, object]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture()
def dev_node(tmp_path: Path) -> Iterator[str]:
    """``cmnode start --dev --automine`` on a new home; yields its RPC URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "node.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cybermiles_node.cli", "start", "--dev", "--automine",
             "--home", str(tmp_path / "home"), "--rpc-addr", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.time() + 60
        while True:
            assert process.poll() is None, (tmp_path / "node.log").read_text()
            try:
                _rpc(url, "eth_blockNumber")
                break
            except OSError:
                assert time.time() < deadline, "the dev node did not serve RPC within 60 s"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_hardhat_suite_with_network_helpers_passes_against_the_dev_chain(dev_node: str, tmp_path: Path) -> None:
    if shutil.which("npx") is None or not (REPO / "node_modules" / "hardhat").is_dir():
        pytest.fail("Node.js and `npm ci` (hardhat) are required for the Hardhat test")
    env = {**os.environ, "CMNODE_RPC_URL": dev_node, "HARDHAT_OUT": str(tmp_path / "hardhat"),
           "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "NO_COLOR": "1"}
    result = subprocess.run(["npx", "hardhat", "test", "--network", "cmnode"], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passing" in result.stdout
    assert "failing" not in result.stdout


def test_dev_methods_answer_hardhat_errors_for_bad_parameters(dev_node: str) -> None:
    latest = _rpc(dev_node, "eth_getBlockByNumber", "latest", False)["result"]
    past = int(latest["timestamp"], 16) - 1  # type: ignore[index]
    refused = _rpc(dev_node, "evm_setNextBlockTimestamp", hex(past))["error"]
    assert refused["code"] == -32602  # type: ignore[index]
    assert "is lower than previous block's timestamp" in refused["message"]  # type: ignore[index]
    bad_value = _rpc(dev_node, "hardhat_setStorageAt", "0x" + "11" * 20, "0x0", "0x01")["error"]
    assert bad_value == {"code": -32602, "message": "invalid argument 2: Storage value must be exactly 32 bytes long"}
    assert _rpc(dev_node, "evm_revert", "0x99")["result"] is False
    unknown = _rpc(dev_node, "eth_sendTransaction", {"from": "0x" + "22" * 20, "to": "0x" + "33" * 20})["error"]
    assert unknown == {"code": -32000, "message": "unknown account"}
