"""Offline validation of a rule file (``cmnode rules check FILE``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from middleware.rules.compiler import RuleSet
from middleware.rules.engine import Session
from middleware.rules.errors import SourceFileError
from middleware.rules.lexer import MAX_SOURCE_CHARS


@dataclass(frozen=True)
class CheckReport:
    """What a valid rule file declares, and the size of its Rete network."""

    path: str
    templates: int
    rules: int
    alpha_nodes: int
    join_nodes: int

    def summary(self) -> str:
        """One line for people."""
        return (f"OK {self.path}: {self.templates} templates, {self.rules} rules "
                f"({self.alpha_nodes} alpha nodes, {self.join_nodes} join nodes)")


def check_source(source: str, path: str = "<source>") -> CheckReport:
    """Parse and compile ``source``; raises the engine's typed errors (positions in the message)."""
    rules = RuleSet.parse(source)
    alpha_nodes, join_nodes = Session(rules).network_size
    return CheckReport(path, len(rules.templates), len(rules.rules), alpha_nodes, join_nodes)


def check_file(path: Path | str) -> CheckReport:
    """Check the rule file at ``path``.

    Raises SourceFileError (naming the file) when it cannot be read, else the
    engine's typed errors: RuleSyntaxError and RuleTypeError with ``line`` and
    ``column``, RuleLimitError.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(4 * MAX_SOURCE_CHARS + 1)
    except OSError as exc:
        raise SourceFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > 4 * MAX_SOURCE_CHARS:
        raise SourceFileError(f"{path}: larger than {4 * MAX_SOURCE_CHARS} bytes")
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return check_source(source, str(path))
