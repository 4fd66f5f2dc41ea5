"""The benchmark's ERC-20: ``examples/contracts/Token.sol``, compiled with the node's own Solidity tooling."""
from __future__ import annotations

from pathlib import Path

from benchmarks.errors import CompileError
from cybermiles_node.solc import (
    CompiledContract,
    SolcError,
    compile_file,
    select_contract,
)

TOKEN_SOURCE = Path(__file__).resolve().parent.parent / "examples" / "contracts" / "Token.sol"
TOKEN_CONTRACT = "Token"


def compile_token(source: Path = TOKEN_SOURCE, name: str = TOKEN_CONTRACT) -> CompiledContract:
    """Compile contract ``name`` of ``source`` (solc on PATH or the npm ``solc`` package)."""
    try:
        return select_contract(compile_file(source), name)
    except SolcError as exc:
        raise CompileError(str(exc)) from exc
