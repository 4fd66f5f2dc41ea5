"""Persistent storage of a node: LevelDB backend, key schema and the chain store."""
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.errors import (
    BlockNotFound,
    DatabaseClosed,
    DatabaseCorrupted,
    DatabaseIOError,
    DatabaseLocked,
    InvalidBlockCommit,
    InvalidKey,
    InvalidLogQuery,
    ReservedMetaKey,
    SchemaVersionMismatch,
    StorageError,
    TooManyLogs,
)
from cybermiles_node.storage.leveldb import LevelDB, PrefixedDB
from cybermiles_node.storage.schema import MetaName

__all__ = [
    "BlockNotFound",
    "ChainStore",
    "DatabaseClosed",
    "DatabaseCorrupted",
    "DatabaseIOError",
    "DatabaseLocked",
    "InvalidBlockCommit",
    "InvalidKey",
    "InvalidLogQuery",
    "LevelDB",
    "MetaName",
    "PrefixedDB",
    "ReservedMetaKey",
    "SchemaVersionMismatch",
    "StorageError",
    "TooManyLogs",
]
