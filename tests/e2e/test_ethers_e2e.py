"""End to end: ethers v6 (a real JavaScript client) against a running node."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import NodeProcess

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "ethers_flow.mjs"


def test_ethers_reads_sends_deploys_and_sees_revert_reasons(node: NodeProcess, tmp_path: Path) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("Node.js and `npm ci` (ethers) are required for the JavaScript client test")
    token = compile_file(REPO / "examples" / "contracts" / "Token.sol")["Token"]
    artifact = tmp_path / "Token.json"
    artifact.write_text(json.dumps({"abi": token.abi, "bytecode": "0x" + bytes(token.bytecode).hex()}))
    result = subprocess.run(
        ["node", str(SCRIPT), node.url, str(artifact)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chainId"] == "15"
    assert int(report["maxFeePerGas"]) > 0
    assert report["transferStatus"] == 1
    assert report["balance"] == str(125 * 10**16)
    assert report["tokenBalance"] == "42"
    assert report["event"] == "Transfer"
    assert report["revertReason"] == "ERC20: transfer amount exceeds balance"
