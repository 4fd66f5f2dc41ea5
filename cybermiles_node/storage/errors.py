"""Exceptions raised by the storage layer; ``StorageError`` is the root."""
from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by ``cybermiles_node.storage``."""


class DatabaseLocked(StorageError):
    """The database directory is held by another process (or another handle in this one)."""


class DatabaseCorrupted(StorageError):
    """The database files, or a record inside them, cannot be read back."""


class DatabaseIOError(StorageError):
    """The operating system refused an operation on the database files."""


class DatabaseClosed(StorageError):
    """An operation on a database handle that has been closed."""


class SchemaVersionMismatch(StorageError):
    """The database was written with a key layout this version of the node does not read."""


class InvalidKey(StorageError):
    """A key component of the wrong size or range (a 31-byte hash, a negative height, ...)."""


class InvalidBlockCommit(StorageError):
    """A block handed to ``commit_block`` that does not extend the stored chain or whose parts disagree."""


class BlockNotFound(StorageError):
    """A height beyond the last committed block where one is required."""


class ReservedMetaKey(StorageError):
    """An attempt to overwrite a meta record that only the store itself maintains."""


class InvalidLogQuery(StorageError):
    """A log query with a bad range, address or topic."""


class TooManyLogs(StorageError):
    """A log query that matches more logs than its limit allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"query returned more than {limit} results")
        self.limit = limit
