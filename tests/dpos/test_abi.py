"""IStaking.sol is the published ABI: it matches the native contract method for method and event for event."""
from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector

from consensus.dpos import events
from consensus.dpos.staking_contract import StakingContract
from cybermiles_node.solc import CompiledContract, compile_file

INTERFACE = Path(__file__).resolve().parents[2] / "consensus" / "dpos" / "IStaking.sol"


def canonical(param: dict) -> str:
    """The canonical ABI type of a parameter (tuples spelled out)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


@pytest.fixture(scope="module")
def interface() -> CompiledContract:
    return compile_file(INTERFACE)["IStaking"]


def test_every_interface_function_is_a_native_method_with_the_same_outputs(interface: CompiledContract) -> None:
    methods = {spec.signature: spec for spec in StakingContract.methods()}
    functions = [entry for entry in interface.abi if entry["type"] == "function"]
    assert len(functions) == len(methods)
    for entry in functions:
        signature = f"{entry['name']}({','.join(canonical(p) for p in entry['inputs'])})"
        spec = methods[signature]
        assert spec.output_types == tuple(canonical(p) for p in entry["outputs"]), signature
        assert spec.payable == (entry["stateMutability"] == "payable"), signature
        assert (not spec.mutates) == (entry["stateMutability"] == "view"), signature
        assert spec.selector == function_signature_to_4byte_selector(signature)


def test_every_emitted_event_is_declared(interface: CompiledContract) -> None:
    declared = {
        f"{e['name']}({','.join(canonical(p) for p in e['inputs'])})" for e in interface.abi if e["type"] == "event"
    }
    emitted = {value for name, value in vars(events).items() if name.isupper()}
    assert emitted == declared
