"""The smart business contract library as a catalogue: names, summaries, documented gas, compilation.

The library is the Foundry project's ``contracts/src/library/``: one file per
contract, named after it, with NatSpec (its ``@title`` is the summary). Each
contract's page is listed in ``docs/contracts/README.md``; the page's ``## Gas``
section (a deployment sentence and a table of receipts' gas that ``benchmarks/library_gas.py`` wrote) is
the gas table shown. Contracts are compiled with the repository's pinned solc-js
and the remappings and EVM version of ``contracts/foundry.toml``, so the
bytecode is what ``forge build`` makes, from a fresh clone after ``npm ci``,
offline.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cybermiles_node.solc import CompiledContract, Compiler, SolcError, compile_project_files

#: The repository root (the library lives in its ``contracts/`` Foundry project).
REPOSITORY = Path(__file__).resolve().parent.parent
#: The Foundry project holding the library.
PROJECT = REPOSITORY / "contracts"
#: The library's sources, one contract per file.
SOURCES = PROJECT / "src" / "library"
#: The library's documentation; its README lists each contract's page.
DOCS = REPOSITORY / "docs" / "contracts"
#: The pinned Solidity compiler (``npm ci`` at the repository root).
SOLCJS = REPOSITORY / "node_modules" / "solc"

_CONTRACT = re.compile(r"^(abstract\s+)?contract\s+(\w+)", re.MULTILINE)
_PAGE_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|.*\]\(([\w.-]+\.md)\)\s*\|\s*$", re.MULTILINE)
_DEPLOYMENT = re.compile(r"(Deployment[^:.]*:\s*[0-9,]+ gas(?:, [0-9,]+ bytes)?)")
_BYTES = re.compile(r"([0-9,]+) bytes")


class LibraryError(SolcError):
    """The library, a contract of it or its documentation cannot be found or read."""


@dataclass(frozen=True)
class GasTable:
    """A contract's documented gas: the deployment sentence and the table (its header cells, then its rows)."""

    deployment: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def deployed_bytes(self) -> int | None:
        """The runtime code size the deployment sentence states, if it states one."""
        match = _BYTES.search(self.deployment)
        return int(match.group(1).replace(",", "")) if match else None


@dataclass(frozen=True)
class LibraryContract:
    """One deployable contract of the library."""

    name: str
    source: Path
    summary: str
    page: Path | None


def library_contracts() -> dict[str, LibraryContract]:
    """The library's deployable contracts by name (abstract bases such as ``PullPayments`` left out)."""
    if not SOURCES.is_dir():
        raise LibraryError(f"the contract library is not here: {SOURCES} does not exist "
                           "(run cmnode from a clone of the repository)")
    pages = _documented_pages()
    found: dict[str, LibraryContract] = {}
    for source in sorted(SOURCES.glob("*.sol")):
        text = source.read_text(encoding="utf-8")
        declared = {match.group(2): bool(match.group(1)) for match in _CONTRACT.finditer(text)}
        name = source.stem
        if declared.get(name) is False:
            found[name] = LibraryContract(name, source, _title(text, name), pages.get(name))
    return found


def find_contract(name: str) -> LibraryContract:
    """The library contract ``name`` (case-insensitive), or an error listing the library."""
    contracts = library_contracts()
    matches = [contract for key, contract in contracts.items() if key.lower() == name.strip().lower()]
    if not matches:
        raise LibraryError(f"no library contract named {name!r} (the library: {', '.join(contracts)})")
    return matches[0]


def gas_table(contract: LibraryContract) -> GasTable | None:
    """The ``## Gas`` section of the contract's page, or ``None`` when the page has none."""
    if contract.page is None or not contract.page.is_file():
        return None
    text = contract.page.read_text(encoding="utf-8")
    start = text.find("\n## Gas\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    section = text[start: end if end >= 0 else len(text)]
    deployment = _DEPLOYMENT.search(" ".join(section.split()))
    table = [tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
             for line in section.splitlines() if line.startswith("|")]
    body = [row for row in table[1:] if not all(set(cell) <= set("-: ") for cell in row)]
    return GasTable(deployment.group(1) if deployment else "", table[0] if table else (), tuple(body))


def compile_contracts(contracts: list[LibraryContract]) -> dict[str, CompiledContract]:
    """Compile ``contracts`` in one run of the pinned solc-js, with ``foundry.toml``'s remappings and EVM version."""
    if not (SOLCJS / "package.json").is_file():
        raise LibraryError(f"the pinned Solidity compiler is missing ({SOLCJS}): run `npm ci` in {REPOSITORY}")
    profile = _foundry_profile()
    remappings = [str(item) for item in profile.get("remappings", [])]
    evm_version = profile.get("evm_version")
    compiled = compile_project_files([contract.source for contract in contracts], PROJECT, remappings,
                                     str(evm_version) if evm_version else None,
                                     compiler=Compiler(kind="solcjs", location=SOLCJS))
    return {contract.name: compiled[contract.name] for contract in contracts}


def _foundry_profile() -> dict[str, object]:
    """The default profile of ``contracts/foundry.toml``."""
    try:
        document = tomllib.loads((PROJECT / "foundry.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LibraryError(f"cannot read {PROJECT / 'foundry.toml'}: {exc}") from None
    profile = document.get("profile", {}).get("default", {})
    return profile if isinstance(profile, dict) else {}


def _documented_pages() -> dict[str, Path]:
    """Each contract's page, as the table of ``docs/contracts/README.md`` links it."""
    index = DOCS / "README.md"
    if not index.is_file():
        return {}
    return {match.group(1): DOCS / match.group(2)
            for match in _PAGE_ROW.finditer(index.read_text(encoding="utf-8"))}


def _title(text: str, name: str) -> str:
    """The ``@title`` of the NatSpec block right above ``contract name``, or ``""``."""
    declaration = re.search(rf"^contract\s+{name}\b", text, re.MULTILINE)
    if declaration is None:
        return ""
    comment: list[str] = []
    for line in reversed(text[: declaration.start()].rstrip("\n").splitlines()):
        if not line.lstrip().startswith("///"):
            break
        comment.insert(0, line.lstrip()[3:].strip())
    title = [line for line in comment if line.startswith("@title")]
    return title[0][len("@title"):].strip() if title else ""
