"""The package dependency table of docs/architecture.md holds for the code: arrows point down, no cycles.

Imports are read with ``ast`` (module level and inside functions alike, relative ones
resolved), so the check needs nothing imported and runs in a fraction of a second.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
TABLE_ROW = re.compile(r"^\|\s*`(?P<layer>[a-z0-9_.]+)`\s*\|(?P<allowed>[^|]*)\|\s*$")
NAME_IN_CELL = re.compile(r"`([a-z0-9_.]+)`")


@dataclass(frozen=True)
class Violation:
    """An import the table does not allow: where it is and which layers it joins."""

    where: str
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.where}: {self.source} -> {self.target}"


def read_table(markdown: str) -> dict[str, frozenset[str]]:
    """The rows ``| `layer` | `a`, `b` |`` of the document: each layer and the layers it may import."""
    table: dict[str, frozenset[str]] = {}
    for line in markdown.splitlines():
        match = TABLE_ROW.match(line.strip())
        if match:
            table[match["layer"]] = frozenset(NAME_IN_CELL.findall(match["allowed"]))
    return table


def layer_of(module: str, layers: Mapping[str, frozenset[str]]) -> str | None:
    """The most specific layer whose name is ``module`` or a package above it (None: not ours)."""
    best: str | None = None
    for layer in layers:
        if (module == layer or module.startswith(layer + ".")) and (best is None or len(layer) > len(best)):
            best = layer
    return best


def module_name(path: Path, root: Path) -> str:
    """The dotted module name of a source file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (absolute names) with its line number."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            for alias in node.names:
                yield f"{stem}.{alias.name}", node.lineno


def violations(root: Path, layers: Mapping[str, frozenset[str]]) -> tuple[list[Violation], set[tuple[str, str]]]:
    """The imports under ``root`` that the table forbids, and every arrow between layers found."""
    found: list[Violation] = []
    arrows: set[tuple[str, str]] = set()
    tops = {layer.split(".")[0] for layer in layers}
    for top in sorted(tops):
        for path in sorted((root / top).rglob("*.py")):
            source = layer_of(module_name(path, root), layers)
            assert source is not None
            for module, line in imported_modules(path, root):
                target = layer_of(module, layers)
                if target is None or target == source:
                    continue
                arrows.add((source, target))
                violation = Violation(f"{path.relative_to(root)}:{line}", source, target)
                if target not in layers[source] and violation not in found:
                    found.append(violation)
    return found, arrows


def cycle(arrows: set[tuple[str, str]]) -> list[str] | None:
    """A cycle in the directed graph ``arrows`` as a list of nodes, or None when it has none."""
    graph: dict[str, set[str]] = {}
    for source, target in arrows:
        graph.setdefault(source, set()).add(target)
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        trail.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_table_names_every_package_and_has_no_cycle() -> None:
    layers = read_table(ARCHITECTURE.read_text(encoding="utf-8"))
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= set(layers), f"packages missing from the table: {sorted(packages - set(layers))}"
    for layer, allowed in layers.items():
        assert allowed <= set(layers), f"{layer} names unknown layers {sorted(allowed - set(layers))}"
    table_arrows = {(layer, target) for layer, allowed in layers.items() for target in allowed}
    assert cycle(table_arrows) is None


def test_every_import_follows_the_table() -> None:
    layers = read_table(ARCHITECTURE.read_text(encoding="utf-8"))
    found, arrows = violations(ROOT, layers)
    assert not found, "imports against docs/architecture.md's table:\n" + "\n".join(map(str, found))
    assert cycle(arrows) is None


def test_an_upward_import_and_a_cycle_are_caught(tmp_path: Path) -> None:
    for name, body in {
        "low/__init__.py": "",
        "low/core.py": "from high.app import run\n",
        "high/__init__.py": "",
        "high/app.py": "from ..low import core\n\ndef run() -> None:\n    import low.core\n",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(body)
    layers = read_table("| `low` | |\n| `high` | `low` |\n")
    found, arrows = violations(tmp_path, layers)
    assert [str(v) for v in found] == ["low/core.py:1: low -> high"]
    assert cycle(arrows) == ["high", "low", "high"]
