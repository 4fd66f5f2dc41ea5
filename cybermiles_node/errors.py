"""Exceptions of the node's composition root; ``NodeError`` is the root.

Storage, mempool and keystore errors have their own roots in their packages.
"""


class NodeError(Exception):
    """Root of errors raised by the node's own modules (config, home, service)."""


class ConfigError(NodeError):
    """An invalid ``config.toml`` setting or command-line value."""


class HomeError(NodeError):
    """A node home that is missing, not initialised, or already initialised."""


class GenesisMismatch(NodeError):
    """The genesis document differs from the one the node's database was created with."""
