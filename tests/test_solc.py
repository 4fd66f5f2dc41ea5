"""Tests of Solidity compilation (solc-js through node) and artifact loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector

from cybermiles_node.solc import (
    ArtifactError,
    CompilationError,
    CompiledContract,
    CompilerNotFoundError,
    ContractNotFoundError,
    compile_file,
    find_compiler,
    from_bytecode,
    load_abi,
    load_artifact,
    select_contract,
)

REPO = Path(__file__).resolve().parent.parent
TOKEN_SOL = REPO / "examples" / "contracts" / "Token.sol"

needs_compiler = pytest.mark.skipif(
    shutil.which("solc") is None and shutil.which("node") is None,
    reason="neither a solc binary nor node (for the npm solc package) is installed",
)


@pytest.fixture(scope="module")
def token() -> CompiledContract:
    """Token.sol compiled once for the module."""
    if shutil.which("solc") is None and shutil.which("node") is None:
        pytest.skip("neither a solc binary nor node (for the npm solc package) is installed")
    return select_contract(compile_file(TOKEN_SOL), "Token")


def _function_names(abi: list[dict]) -> set[str]:
    return {entry["name"] for entry in abi if entry.get("type") == "function"}


@needs_compiler
def test_token_compiles_with_the_erc20_interface(token: CompiledContract) -> None:
    assert token.name == "Token"
    assert _function_names(token.abi) >= {
        "name", "symbol", "decimals", "totalSupply", "balanceOf",
        "transfer", "approve", "transferFrom", "allowance",
    }
    events = {entry["name"] for entry in token.abi if entry["type"] == "event"}
    assert events == {"Transfer", "Approval"}
    (constructor,) = [entry for entry in token.abi if entry["type"] == "constructor"]
    assert [p["type"] for p in constructor["inputs"]] == ["string", "string", "uint256"]
    # Runtime code carries the transfer selector and the revert reason (in 32-byte pieces).
    assert function_signature_to_4byte_selector("transfer(address,uint256)") in token.deployed_bytecode
    assert b"ERC20: transfer amount exceeds b" in token.deployed_bytecode
    assert len(token.bytecode) > len(token.deployed_bytecode) > 0


@needs_compiler
def test_compile_errors_are_readable(tmp_path: Path) -> None:
    broken = tmp_path / "Broken.sol"
    broken.write_text("pragma solidity >=0.8.0;\ncontract Broken { function f() public { x = 1; } }\n")
    with pytest.raises(CompilationError) as raised:
        compile_file(broken)
    message = str(raised.value)
    assert message.startswith(f"compiling {broken} failed:")
    assert "Undeclared identifier" in message
    assert "Broken.sol:2" in message


@needs_compiler
def test_imports_resolve_next_to_the_source(tmp_path: Path) -> None:
    (tmp_path / "Base.sol").write_text(
        "pragma solidity >=0.8.0;\ncontract Base { function answer() public pure returns (uint) { return 42; } }\n"
    )
    (tmp_path / "Child.sol").write_text(
        'pragma solidity >=0.8.0;\nimport "./Base.sol";\ncontract Child is Base {}\n'
        "interface IThing { function thing() external; }\n"
    )
    contracts = compile_file(tmp_path / "Child.sol")
    assert set(contracts) == {"Child", "IThing"}
    assert contracts["IThing"].bytecode == b""
    # The interface has no bytecode, so the only deployable contract is chosen.
    assert select_contract(contracts, None).name == "Child"
    assert "answer" in _function_names(contracts["Child"].abi)


def test_select_contract_errors() -> None:
    a = CompiledContract("A", [], b"\x60\x00", b"")
    b = CompiledContract("B", [], b"\x60\x01", b"")
    with pytest.raises(ContractNotFoundError, match="several contracts \\(A, B\\): choose one with --contract"):
        select_contract({"A": a, "B": b}, None)
    with pytest.raises(ContractNotFoundError, match="no contract named 'C' \\(found: A, B\\)"):
        select_contract({"A": a, "B": b}, "C")
    assert select_contract({"A": a, "B": b}, "B") is b


def test_missing_compiler_tells_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no solc, node or npm
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CMNODE_SOLCJS", raising=False)
    monkeypatch.setattr("cybermiles_node.solc.__file__", str(tmp_path / "pkg" / "solc.py"))
    with pytest.raises(CompilerNotFoundError, match="npm install solc"):
        find_compiler(tmp_path)


@needs_compiler
def test_solcjs_directory_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    compiler = find_compiler(REPO)
    if compiler.kind != "solcjs":
        pytest.skip("a solc binary is on PATH, so solc-js is not looked up")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CMNODE_SOLCJS", str(compiler.location.parent))  # the node_modules directory
    found = find_compiler(tmp_path)
    assert found.kind == "solcjs"
    assert found.location == compiler.location


@needs_compiler
def test_hardhat_artifact(token: CompiledContract, tmp_path: Path) -> None:
    path = tmp_path / "Token.json"
    path.write_text(json.dumps({
        "_format": "hh-sol-artifact-1",
        "contractName": "Token",
        "sourceName": "contracts/Token.sol",
        "abi": token.abi,
        "bytecode": "0x" + token.bytecode.hex(),
        "deployedBytecode": "0x" + token.deployed_bytecode.hex(),
        "linkReferences": {},
        "deployedLinkReferences": {},
    }))
    assert load_artifact(path) == token
    assert load_abi(path) == token.abi


@needs_compiler
def test_foundry_artifact(token: CompiledContract, tmp_path: Path) -> None:
    path = tmp_path / "Token.json"
    path.write_text(json.dumps({
        "abi": token.abi,
        "bytecode": {"object": "0x" + token.bytecode.hex(), "linkReferences": {}},
        "deployedBytecode": {"object": "0x" + token.deployed_bytecode.hex(), "linkReferences": {}},
        "methodIdentifiers": {"transfer(address,uint256)": "a9059cbb"},
    }))
    loaded = load_artifact(path)
    assert loaded.name == "Token"  # from the file name, as Foundry names its artifacts
    assert loaded.bytecode == token.bytecode
    assert loaded.deployed_bytecode == token.deployed_bytecode


def test_unlinked_library_placeholders_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "Uses.json"
    path.write_text(json.dumps({"abi": [], "bytecode": "0x6080__$1234567890abcdef$__6000"}))
    with pytest.raises(ArtifactError, match="unlinked library references"):
        load_artifact(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"bytecode": "0x00"}', "no 'abi' list"),
        ('{"abi": [], "bytecode": 5}', "no 'bytecode' hex string"),
        ('{"abi": [], "bytecode": "0xzz"}', "not valid hex"),
    ],
)
def test_bad_artifacts(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(path)


def test_missing_artifact_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read artifact"):
        load_artifact(tmp_path / "absent.json")


def test_raw_bytecode_and_abi_file(tmp_path: Path) -> None:
    abi = [{"type": "constructor", "inputs": [{"name": "x", "type": "uint256"}], "stateMutability": "nonpayable"}]
    abi_path = tmp_path / "c.abi"
    abi_path.write_text(json.dumps(abi))
    contract = from_bytecode("0x6080604052", load_abi(abi_path))
    assert contract.bytecode == bytes.fromhex("6080604052")
    assert contract.abi == abi
    with pytest.raises(ArtifactError, match="not an ABI"):
        abi_path.write_text('{"abi": 3}')
        load_abi(abi_path)
