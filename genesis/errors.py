"""Exceptions raised by the ``genesis`` package; ``GenesisError`` is the root.

Every message names the document it is about and, where it applies, the exact
place inside it, so an operator can fix a genesis file without reading code::

    genesis.json: alloc[3].balance: not a number
    genesis.json:12:5: invalid JSON: Expecting ',' delimiter
"""
from __future__ import annotations


class GenesisError(Exception):
    """Root of every error raised by the ``genesis`` package."""


class GenesisFileError(GenesisError):
    """A genesis file that cannot be read (missing, unreadable, too large, not UTF-8)."""


class GenesisJSONError(GenesisError):
    """A genesis file whose text is not valid JSON; carries the 1-based line and column."""

    def __init__(self, source: str, line: int, column: int, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{source}:{line}:{column}: invalid JSON: {problem}")


class GenesisValidationError(GenesisError):
    """A genesis document that breaks the schema or a rule; ``path`` locates the offending value.

    ``path`` is written the way the value is reached from the document root,
    e.g. ``alloc[3].balance`` or ``params.max_gas_per_tx``.
    """

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        self.problem = problem
        super().__init__(f"{source}: {path}: {problem}")


class DistributionError(GenesisError):
    """Arguments that do not describe a valid white-paper distribution."""
