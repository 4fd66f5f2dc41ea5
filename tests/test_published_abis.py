"""Each native contract's published ABI file is what its Solidity interface compiles to."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cybermiles_node.solc import compile_file

ROOT = Path(__file__).resolve().parent.parent
INTERFACES = [
    "vm/native/interfaces/IVesting.sol",
    "consensus/dpos/IStaking.sol",
    "consensus/dpos/IGovernance.sol",
    "middleware/rules/IRules.sol",
    "middleware/bpm/IWorkflow.sol",
    "middleware/webhooks/IWebhooks.sol",
    "middleware/oracle/IOracle.sol",
    "middleware/randomness/IRandomness.sol",
    "middleware/jury/IJury.sol",
    "vm/sponsorship/ISponsor.sol",
]


@pytest.mark.parametrize("source", INTERFACES)
def test_published_abi_matches_the_interface(source: str) -> None:
    path = ROOT / source
    compiled = compile_file(path)[path.stem].abi
    published = json.loads(path.with_suffix(".abi.json").read_text())
    def key(entry: dict) -> str:
        return json.dumps(entry, sort_keys=True)

    assert sorted(map(key, published)) == sorted(map(key, compiled)), (
        f"{path.with_suffix('.abi.json').name} is stale: regenerate it from {path.name}"
    )
