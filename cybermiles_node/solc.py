"""Solidity compilation and contract artifact loading.

A ``.sol`` file is compiled through solc's standard-JSON interface, by a
``solc`` binary on ``PATH`` when there is one, else by the npm ``solc``
package (solc-js) run with ``node``. Contracts compiled elsewhere are loaded
from Hardhat or Foundry artifact JSON, or from raw bytecode plus an ABI file.
Every path ends in :class:`CompiledContract`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from middleware.jsonnesting import first_too_deep

#: Environment variable naming a directory holding solc-js (``node_modules/solc``).
SOLCJS_ENV = "CMNODE_SOLCJS"
#: Largest source, artifact or ABI file read.
MAX_INPUT_BYTES = 16 * 1024 * 1024
#: Arrays and objects inside one another in an artifact or ABI file (compiler ASTs nest a few dozen deep).
MAX_JSON_NESTING = 1000
#: Seconds a compiler run may take.
COMPILE_TIMEOUT_S = 300.0
#: Seconds ``npm root -g`` may take.
NPM_TIMEOUT_S = 15.0

#: What the compiler is asked for: ABIs, creation and runtime bytecode of every contract.
_OUTPUT_SELECTION = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}

#: Runs solc-js on a standard-JSON input read from stdin. argv: solc package
#: directory, then the directories imports are resolved against, in order.
_SOLCJS_RUNNER = r"""
const fs = require('fs');
const path = require('path');
const solc = require(process.argv[1]);
const roots = process.argv.slice(2);
function findImports(name) {
  for (const root of roots) {
    const candidate = path.resolve(root, name);
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: 'File not found: ' + name };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
"""


class SolcError(Exception):
    """Root of compilation and artifact errors; the message is fit to show to a user."""


class CompilerNotFoundError(SolcError):
    """Neither a ``solc`` binary nor solc-js with ``node`` is available."""


class CompilationError(SolcError):
    """The compiler rejected the source; ``errors`` holds its formatted messages."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        """Keep the compiler's messages for ``path``."""
        self.errors = errors
        super().__init__(f"compiling {path} failed:\n" + "\n".join(errors))


class ArtifactError(SolcError):
    """An artifact, ABI or bytecode input is missing, unreadable or malformed."""


class ContractNotFoundError(SolcError):
    """The requested contract is not among the compiled or loaded ones."""


@dataclass(frozen=True)
class CompiledContract:
    """A contract ready to deploy or call: its ABI, creation and runtime bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes


@dataclass(frozen=True)
class Compiler:
    """A way to run the Solidity compiler in standard-JSON mode."""

    #: ``"solc"`` for a native binary, ``"solcjs"`` for the npm package under node.
    kind: str
    #: The ``solc`` binary, or the solc-js package directory.
    location: Path

    def describe(self) -> str:
        """A short human description, e.g. ``solc-js at ./node_modules/solc``."""
        return f"{'solc' if self.kind == 'solc' else 'solc-js'} at {self.location}"


def find_compiler(source_dir: Path | None = None) -> Compiler:
    """Find a compiler: ``solc`` on PATH first, then solc-js (see :func:`solcjs_candidates`)."""
    binary = shutil.which("solc")
    if binary:
        return Compiler(kind="solc", location=Path(binary))
    for candidate in solcjs_candidates(source_dir):
        if (candidate / "package.json").is_file() and (candidate / "index.js").is_file():
            if not shutil.which("node"):
                raise CompilerNotFoundError(
                    f"found solc-js at {candidate} but `node` is not installed; install Node.js"
                )
            return Compiler(kind="solcjs", location=candidate)
    raise CompilerNotFoundError(
        "no Solidity compiler found: run `npm install solc` in this directory (or your project), "
        f"put a `solc` binary on PATH, or set {SOLCJS_ENV} to a directory holding node_modules/solc"
    )


def solcjs_candidates(source_dir: Path | None = None) -> Iterator[Path]:
    """Yield directories that may hold the solc-js package, in search order.

    ``$CMNODE_SOLCJS`` (the package itself, a ``node_modules`` or a project
    directory), ``./node_modules/solc``, ``node_modules/solc`` in the source's
    directory and its parents, in this package's project root, and last in
    ``npm root -g`` (asked only when nothing earlier matched).
    """
    seen: set[Path] = set()

    def local() -> Iterator[Path]:
        configured = os.environ.get(SOLCJS_ENV)
        if configured:
            base = Path(configured).expanduser()
            yield from (base, base / "solc", base / "node_modules" / "solc")
        yield Path.cwd() / "node_modules" / "solc"
        if source_dir is not None:
            resolved = source_dir.resolve()
            for directory in (resolved, *resolved.parents):
                yield directory / "node_modules" / "solc"
        yield Path(__file__).resolve().parent.parent / "node_modules" / "solc"

    for candidate in local():
        if candidate not in seen:
            seen.add(candidate)
            yield candidate
    global_root = _npm_global_root()
    if global_root is not None and global_root / "solc" not in seen:
        yield global_root / "solc"


def compile_file(path: Path | str, *, compiler: Compiler | None = None) -> dict[str, CompiledContract]:
    """Compile the Solidity file ``path``; return its contracts by name, as the compiler lists them."""
    source_path = Path(path)
    source = _read_text(source_path, "Solidity source")
    base_dir = source_path.resolve().parent
    compiler = compiler or find_compiler(base_dir)
    unit = source_path.name
    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": source}},
        "settings": {"outputSelection": _OUTPUT_SELECTION},
    }
    import_roots = [base_dir] + [d / "node_modules" for d in (base_dir, *base_dir.parents)]
    output = _run_compiler(compiler, json.dumps(standard_input), base_dir, import_roots)
    return _compiled_contracts(output, unit, source_path)


def compile_project_files(
    paths: Sequence[Path], project_root: Path, remappings: Sequence[str], evm_version: str | None = None,
    *, compiler: Compiler | None = None,
) -> dict[str, CompiledContract]:
    """Compile ``paths`` as files of the project at ``project_root`` (a Foundry project's layout) in one run.

    Source units are named relative to ``project_root`` and imports resolved
    against it after applying ``remappings`` (``prefix=target``, as in
    ``foundry.toml``), so the bytecode is what ``forge build`` produces with the
    same compiler and settings. Returns the contracts of all ``paths`` by name.
    """
    root = project_root.resolve()
    units = {path.resolve().relative_to(root).as_posix(): path.resolve() for path in paths}
    settings: dict[str, Any] = {
        "remappings": list(remappings),
        "outputSelection": _OUTPUT_SELECTION,
    }
    if evm_version:
        settings["evmVersion"] = evm_version
    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": _read_text(path, "Solidity source")} for unit, path in units.items()},
        "settings": settings,
    }
    compiler = compiler or find_compiler(root)
    output = _run_compiler(compiler, json.dumps(standard_input), root, [root])
    contracts: dict[str, CompiledContract] = {}
    for unit, path in units.items():
        contracts.update(_compiled_contracts(output, unit, path))
    return contracts


def _compiled_contracts(output: dict[str, Any], unit: str, source_path: Path) -> dict[str, CompiledContract]:
    """The contracts of ``unit`` in the compiler's standard-JSON ``output``; its errors raised."""
    errors = [
        str(entry.get("formattedMessage") or entry.get("message") or entry).rstrip()
        for entry in output.get("errors", [])
        if isinstance(entry, dict) and entry.get("severity") == "error"
    ]
    if errors:
        raise CompilationError(source_path, errors)
    compiled = output.get("contracts", {}).get(unit, {})
    if not compiled:
        raise CompilationError(source_path, ["the file defines no contract"])
    return {
        name: CompiledContract(
            name=name,
            abi=list(entry.get("abi", [])),
            bytecode=_hex_bytes(entry["evm"]["bytecode"]["object"], f"{name} bytecode"),
            deployed_bytecode=_hex_bytes(
                entry["evm"]["deployedBytecode"]["object"], f"{name} deployed bytecode"
            ),
        )
        for name, entry in compiled.items()
    }


def select_contract(contracts: dict[str, CompiledContract], name: str | None) -> CompiledContract:
    """Pick contract ``name``, or the only deployable one when ``name`` is ``None``."""
    if name is not None:
        if name not in contracts:
            known = ", ".join(contracts) or "none"
            raise ContractNotFoundError(f"no contract named {name!r} (found: {known})")
        return contracts[name]
    deployable = [contract for contract in contracts.values() if contract.bytecode]
    if len(deployable) == 1:
        return deployable[0]
    if len(contracts) == 1:
        return next(iter(contracts.values()))
    known = ", ".join(contracts)
    raise ContractNotFoundError(f"the file defines several contracts ({known}): choose one with --contract")


def load_artifact(path: Path | str) -> CompiledContract:
    """Load a Hardhat (``bytecode`` string) or Foundry (``bytecode.object``) artifact JSON."""
    artifact_path = Path(path)
    document = _read_json(artifact_path, "artifact")
    if not isinstance(document, dict) or not isinstance(document.get("abi"), list):
        raise ArtifactError(f"{artifact_path}: not a contract artifact (no 'abi' list)")
    bytecode = _artifact_code(document, "bytecode", artifact_path)
    deployed = _artifact_code(document, "deployedBytecode", artifact_path)
    name = document.get("contractName")
    return CompiledContract(
        name=name if isinstance(name, str) and name else artifact_path.stem,
        abi=document["abi"],
        bytecode=bytecode,
        deployed_bytecode=deployed,
    )


def load_abi(path: Path | str) -> list[dict[str, Any]]:
    """Load an ABI file: a JSON list, or any JSON object with an ``abi`` list (an artifact)."""
    abi_path = Path(path)
    document = _read_json(abi_path, "ABI")
    if isinstance(document, dict):
        document = document.get("abi")
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise ArtifactError(f"{abi_path}: not an ABI (expected a JSON list of ABI entries)")
    return document


def from_bytecode(bytecode: str, abi: list[dict[str, Any]], name: str = "contract") -> CompiledContract:
    """A contract from creation bytecode in hex (0x optional) and its ABI."""
    return CompiledContract(
        name=name, abi=abi, bytecode=_hex_bytes(bytecode.strip(), "bytecode"), deployed_bytecode=b""
    )


def _run_compiler(
    compiler: Compiler, standard_input: str, base_dir: Path, import_roots: list[Path]
) -> dict[str, Any]:
    """Run ``compiler`` on ``standard_input`` and return its parsed standard-JSON output."""
    if compiler.kind == "solc":
        command = [str(compiler.location), "--standard-json", "--base-path", str(base_dir),
                   "--allow-paths", str(base_dir)]
    else:
        command = ["node", "-e", _SOLCJS_RUNNER, str(compiler.location), *map(str, import_roots)]
    try:
        completed = subprocess.run(
            command,
            input=standard_input,
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CompilerNotFoundError(f"cannot run {compiler.describe()}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired:
        raise SolcError(f"{compiler.describe()} did not finish within {COMPILE_TIMEOUT_S:g} s") from None
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {completed.returncode}"
        raise SolcError(f"{compiler.describe()} failed: {reason}") from None
    if not isinstance(output, dict):
        raise SolcError(f"{compiler.describe()} produced unexpected output")
    return output


def _npm_global_root() -> Path | None:
    """The global ``node_modules`` directory reported by ``npm root -g``, if npm is installed."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        completed = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    root = completed.stdout.strip()
    return Path(root) if completed.returncode == 0 and root else None


def _artifact_code(document: dict[str, Any], key: str, path: Path) -> bytes:
    """Bytecode under ``key``: a hex string (Hardhat) or an object with ``object`` (Foundry)."""
    value = document.get(key)
    if isinstance(value, dict):
        value = value.get("object")
    if value is None and key == "deployedBytecode":
        return b""
    if not isinstance(value, str):
        raise ArtifactError(f"{path}: no '{key}' hex string or '{key}.object' in the artifact")
    return _hex_bytes(value, f"{path}: {key}")


def _hex_bytes(text: str, what: str) -> bytes:
    """Decode hex ``text`` (0x optional), explaining unlinked library placeholders."""
    digits = text[2:] if text[:2].lower() == "0x" else text
    if "__" in digits:
        raise ArtifactError(f"{what} has unlinked library references; link the libraries first")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ArtifactError(f"{what} is not valid hex") from None


def _read_text(path: Path, what: str) -> str:
    """Read a UTF-8 text file of bounded size with a clear error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ArtifactError(f"cannot read {what} {path}: {exc.strerror}") from None
    if size > MAX_INPUT_BYTES:
        raise ArtifactError(f"{what} {path} is larger than {MAX_INPUT_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArtifactError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ArtifactError(f"{what} {path} is not UTF-8 text") from None


def _read_json(path: Path, what: str) -> Any:
    """Read and parse a JSON file with a clear error."""
    text = _read_text(path, what)
    if first_too_deep(text, MAX_JSON_NESTING) is not None:
        raise ArtifactError(f"{what} {path} nests deeper than {MAX_JSON_NESTING} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"{what} {path} is not valid JSON: {exc}") from None
