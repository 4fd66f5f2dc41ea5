"""End to end: the randomness beacon on a 4-validator testnet of real processes.

Every node serves the same beacon value and ``mixHash`` for each height; a validator
whose process is stopped misses its proposer slots, its missed count rises on chain,
and at the documented limit it is jailed while the other three go on.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from web3 import Web3

from cybermiles_node.cli.main import cli
from middleware.randomness.contract import MAX_MISSES_PER_WINDOW
from middleware.randomness.hashchain import CHAIN_LENGTH
from tests.e2e.nodeproc import wait_for_height, write_testnet
from vm.native.addresses import RANDOMNESS_ADDRESS, STAKING_ADDRESS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BEACON_ABI = json.loads((REPO / "middleware" / "randomness" / "IRandomness.abi.json").read_text())
STAKING_ABI = json.loads((REPO / "consensus" / "dpos" / "IStaking.abi.json").read_text())
STOPPED = 3


def cmnode_json(*args: str) -> dict:
    """Run a ``cmnode`` command in this process (its code and the node's RPC are real) and parse its JSON."""
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _fast_rounds(home: Path) -> None:
    """Shorter round timeouts than the testnet default, so missed slots come quickly (same on every node)."""
    path = home / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["consensus"].update(timeout_propose_ms=1500, timeout_commit_ms=300)
    path.write_text(json.dumps(genesis, indent=2))


def test_every_node_serves_the_same_beacon_and_a_withholding_validator_is_jailed(tmp_path: Path) -> None:
    # downtime jailing (12 missed commits by default) is pushed out of the way: the beacon's rule acts first
    nodes = write_testnet(tmp_path, 4, 0, params=("max_slash_blocks=100000",))
    homes = [Path(node["home"]) for node in nodes]
    for home in homes:
        _fast_rounds(home)
    genesis = json.loads((homes[0] / "genesis.json").read_text())
    stopped_key = bytes.fromhex(genesis["validators"][STOPPED]["pub_key"][2:])
    stopped_owner = genesis["validators"][STOPPED]["owner"]
    processes: dict[int, subprocess.Popen] = {}
    w3s = [Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10})) for node in nodes]
    beacons = [w3.eth.contract(address=Web3.to_checksum_address(RANDOMNESS_ADDRESS), abi=BEACON_ABI) for w3 in w3s]
    staking = w3s[0].eth.contract(address=Web3.to_checksum_address(STAKING_ADDRESS), abi=STAKING_ABI)

    def logs() -> str:
        return "".join((tmp_path / f"node{i}.log").read_text()[-3000:] for i in range(4))

    try:
        for index, home in enumerate(homes):
            log = open(tmp_path / f"node{index}.log", "a")
            processes[index] = subprocess.Popen(
                [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", str(home)],
                stdout=log, stderr=subprocess.STDOUT)
        for w3 in w3s:
            wait_for_height(lambda w3=w3: w3.eth.block_number, 4, 90, logs)
        # the same value and mixHash of every height on every node; mixHash of h + 1 is the value of h
        for height in range(1, 4):
            values = {bytes(beacon.functions.valueAt(height).call(block_identifier=4)) for beacon in beacons}
            mixes = {bytes(w3.eth.get_block(height + 1)["mixHash"]) for w3 in w3s}
            assert len(values) == 1 and values == mixes, height
        assert beacons[0].functions.isAvailable(4).call(block_identifier=4) is False
        processes.pop(STOPPED).send_signal(signal.SIGTERM)  # its proposer slots go missing from now on
        running = w3s[:STOPPED]
        # meanwhile, cmnode reads the same: a value, a height not committed yet, a validator's chain
        shown = cmnode_json("randomness", "value", "2", "--rpc", nodes[1]["rpc"])
        assert shown["value"] == "0x" + bytes(beacons[1].functions.valueAt(2).call()).hex()
        assert shown["mixHashOfNext"] == shown["value"]
        future = cmnode_json("randomness", "value", "100000", "--rpc", nodes[1]["rpc"])
        assert future["available"] is False and "is not available yet" in future["reason"]
        mine = cmnode_json("randomness", "status", "--home", str(homes[0]), "--rpc", nodes[0]["rpc"])
        assert mine["commitment"] is not None and 0 < mine["remainingReveals"] <= CHAIN_LENGTH  # anchored
        assert mine["missedSlots"] < MAX_MISSES_PER_WINDOW  # (a slot of the start-up, while peers connect, may miss)

        def missed() -> int:
            return beacons[0].functions.validatorOf(stopped_key).call()[3]

        wait_for_height(missed, MAX_MISSES_PER_WINDOW, 120, logs)
        fields = next(entry for entry in STAKING_ABI if entry.get("name") == "getCandidate")["outputs"][0]
        jailed = [field["name"] for field in fields["components"]].index("jailed")
        assert staking.functions.getCandidate(stopped_owner).call()[jailed] is True  # jailed with the 4th miss
        # the chain goes on with the other three, which still agree on every value
        height = running[0].eth.block_number
        for w3 in running:
            wait_for_height(lambda w3=w3: w3.eth.block_number, height + 3, 60, logs)
        values = {bytes(beacon.functions.valueAt(height).call(block_identifier=height + 2))
                  for beacon in beacons[:STOPPED]}
        assert len(values) == 1
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
