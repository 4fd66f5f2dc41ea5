"""Compile the example ERC-20 (``examples/contracts/Token.sol``) with solc-js (the npm ``solc`` package)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.errors import CompileError

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN_SOURCE = REPO_ROOT / "examples" / "contracts" / "Token.sol"
# Where an npm ``solc`` may be installed: the repository root, then the benchmark tools folder.
NODE_MODULE_DIRS = (REPO_ROOT / "node_modules", Path(__file__).resolve().parent / ".tools" / "node_modules")
# Every node under comparison runs at least Cancun rules; newer solc defaults may emit opcodes they lack.
EVM_VERSION = "cancun"

_COMPILE_JS = """
const solc = require('solc');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


@dataclass(frozen=True)
class CompiledContract:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes


def compile_contract(source: Path, name: str, timeout: float = 120.0) -> CompiledContract:
    """Compile contract ``name`` of the Solidity file ``source`` with solc-js through ``node``."""
    if not source.is_file():
        raise CompileError(f"{source}: no such file")
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH; install Node.js to compile Solidity with the npm 'solc' package")
    standard_input = {
        "language": "Solidity",
        "sources": {source.name: {"content": source.read_text()}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": EVM_VERSION,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    env = dict(os.environ)
    env["NODE_PATH"] = os.pathsep.join(str(d) for d in NODE_MODULE_DIRS if d.is_dir())
    try:
        proc = subprocess.run(
            [node, "-e", _COMPILE_JS], input=json.dumps(standard_input), capture_output=True,
            text=True, timeout=timeout, env=env, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CompileError(f"solc did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        hint = " (run 'npm install solc' in the repository root)" if "Cannot find module" in proc.stderr else ""
        raise CompileError(f"solc-js failed{hint}: {proc.stderr.strip()[-500:]}")
    try:
        output = json.loads(proc.stdout)
    except ValueError as exc:
        raise CompileError(f"solc-js printed something that is not JSON: {proc.stdout[:200]!r}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(f"{source}: " + "; ".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    contract = output.get("contracts", {}).get(source.name, {}).get(name)
    if contract is None:
        raise CompileError(f"{source}: no contract named {name}")
    return CompiledContract(name, contract["abi"], bytes.fromhex(contract["evm"]["bytecode"]["object"]))
