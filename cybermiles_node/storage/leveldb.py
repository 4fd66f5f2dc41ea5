"""A plyvel LevelDB database that py-evm can use directly, plus a key-prefixed view of it.

``LevelDB`` implements py-evm's ``AtomicDatabaseAPI``: plain item access writes at
once, ``atomic_batch()`` gathers writes and applies them as one LevelDB write batch
when the block exits normally (and drops them if it raises). ``write()`` applies a
prepared set of puts and deletes as one batch, optionally fsynced so that it survives
power loss. ``PrefixedDB`` is the same API confined to the keys under one prefix.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Self

import plyvel
from eth.abc import AtomicDatabaseAPI, AtomicWriteBatchAPI, DatabaseAPI
from eth.db.backends.base import BaseDB
from eth.db.diff import DBDiffTracker, DiffMissingError

from cybermiles_node.storage.errors import (
    DatabaseClosed,
    DatabaseCorrupted,
    DatabaseIOError,
    DatabaseLocked,
    StorageError,
)

DEFAULT_CACHE_SIZE = 64 * 1024 * 1024
DEFAULT_WRITE_BUFFER_SIZE = 32 * 1024 * 1024
DEFAULT_MAX_OPEN_FILES = 512
BLOOM_FILTER_BITS = 10


def _open_error(path: str, error: plyvel.Error) -> StorageError:
    """Translate a plyvel open failure into the storage error a user can act on."""
    message = error.args[0].decode("utf-8", "replace") if error.args and isinstance(
        error.args[0], bytes) else str(error)
    if isinstance(error, plyvel.IOError) and "lock" in message.lower():
        return DatabaseLocked(
            f"database {path} is in use by another process (is the node already running?)"
        )
    if isinstance(error, plyvel.CorruptionError):
        return DatabaseCorrupted(f"database {path} is corrupted: {message}")
    return DatabaseIOError(f"cannot open database {path}: {message}")


class LevelDB(BaseDB, AtomicDatabaseAPI):
    """A LevelDB database directory, opened (and created if missing) for exclusive use."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        write_buffer_size: int = DEFAULT_WRITE_BUFFER_SIZE,
        max_open_files: int = DEFAULT_MAX_OPEN_FILES,
    ) -> None:
        """Open the database at ``path``; raise ``DatabaseLocked`` if another handle holds it."""
        self.path = os.fspath(path)
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise DatabaseIOError(f"cannot create database directory {self.path}: {error}") from None
        try:
            self._db = plyvel.DB(
                self.path,
                create_if_missing=True,
                paranoid_checks=False,
                lru_cache_size=cache_size,
                write_buffer_size=write_buffer_size,
                max_open_files=max_open_files,
                bloom_filter_bits=BLOOM_FILTER_BITS,
            )
        except plyvel.Error as error:
            raise _open_error(self.path, error) from None

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the database and release its lock; further use raises ``DatabaseClosed``."""
        self._db.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return bool(self._db.closed)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- DatabaseAPI -------------------------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        try:
            value = self._db.get(key)
        except RuntimeError:
            raise DatabaseClosed(f"database {self.path} is closed") from None
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        """The value under ``key``, or ``default`` if there is none (one LevelDB read)."""
        try:
            value = self._db.get(key)
        except RuntimeError:
            raise DatabaseClosed(f"database {self.path} is closed") from None
        return default if value is None else value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.write({key: value}, (), sync=False)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self.write({}, (key,), sync=False)

    def _exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes], *, sync: bool) -> None:
        """Apply ``puts`` then ``deletes`` as one atomic write batch.

        With ``sync=True`` the write is flushed to stable storage before returning, so it
        survives power loss; otherwise it survives a process crash but maybe not the OS's.
        """
        try:
            batch = self._db.write_batch(sync=sync)
            for key, value in puts.items():
                batch.put(key, value)
            for key in deletes:
                batch.delete(key)
            batch.write()
        except RuntimeError:
            raise DatabaseClosed(f"database {self.path} is closed") from None
        except plyvel.IOError as error:
            raise DatabaseIOError(f"write to database {self.path} failed: {error}") from None
        except plyvel.CorruptionError as error:
            raise DatabaseCorrupted(f"database {self.path} is corrupted: {error}") from None

    @contextmanager
    def atomic_batch(self, *, sync: bool = False) -> Iterator[AtomicWriteBatchAPI]:
        """Gather writes made through the yielded batch and apply them at once on normal exit.

        Reads through the batch see its own pending writes. If the block raises, nothing is
        written.
        """
        batch = _LevelDBWriteBatch(self)
        try:
            yield batch
        finally:
            diff = batch.detach().diff()
        self.write(dict(diff.pending_items()), diff.deleted_keys(), sync=sync)

    def iterate(
        self,
        *,
        prefix: bytes | None = None,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` pairs in key order (descending if ``reverse``).

        Either every key under ``prefix``, or the keys from ``start`` up to but not including
        ``stop`` (each bound optional); ``prefix`` cannot be combined with the bounds.
        """
        try:
            iterator = self._db.iterator(prefix=prefix, start=start, stop=stop, reverse=reverse)
        except RuntimeError:
            raise DatabaseClosed(f"database {self.path} is closed") from None
        with iterator:
            yield from iterator


class _LevelDBWriteBatch(BaseDB, AtomicWriteBatchAPI):
    """Pending writes of one ``LevelDB.atomic_batch()``; reads fall through to the database."""

    def __init__(self, db: LevelDB) -> None:
        self._db = db
        self._pending: DBDiffTracker | None = DBDiffTracker()

    def detach(self) -> DBDiffTracker:
        """End the batch's life and hand over its pending writes (it cannot be used afterwards)."""
        pending = self._tracker()
        self._pending = None
        return pending

    def _tracker(self) -> DBDiffTracker:
        if self._pending is None:
            raise StorageError("write batch used outside its atomic_batch() block")
        return self._pending

    def __getitem__(self, key: bytes) -> bytes:
        try:
            return self._tracker()[key]
        except DiffMissingError as missing:
            if missing.is_deleted:
                raise KeyError(key) from None
        return self._db[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._tracker()[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        del self._tracker()[key]

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True


class _PrefixedView(BaseDB):
    """Item access to the keys of ``db`` that start with ``prefix``, with the prefix stripped."""

    def __init__(self, db: DatabaseAPI, prefix: bytes) -> None:
        if not prefix:
            raise ValueError("a prefixed view needs a non-empty prefix")
        self._db = db
        self._prefix = prefix

    def __getitem__(self, key: bytes) -> bytes:
        return self._db[self._prefix + key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._db[self._prefix + key] = value

    def __delitem__(self, key: bytes) -> None:
        del self._db[self._prefix + key]

    def _exists(self, key: bytes) -> bool:
        return (self._prefix + key) in self._db


class _PrefixedWriteBatch(_PrefixedView, AtomicWriteBatchAPI):
    """The prefixed face of an underlying database's write batch."""


class PrefixedDB(_PrefixedView, AtomicDatabaseAPI):
    """An ``AtomicDatabaseAPI`` over the keys of another atomic database that start with ``prefix``.

    Keys are seen without the prefix, so py-evm's hash-keyed trie nodes can share one
    LevelDB with the node's own records without colliding.
    """

    def __init__(self, db: AtomicDatabaseAPI, prefix: bytes) -> None:
        """View the keys of ``db`` under ``prefix`` (which must be non-empty)."""
        super().__init__(db, prefix)
        self._atomic_db = db

    @property
    def prefix(self) -> bytes:
        """The prefix added to every key."""
        return self._prefix

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        """A batch of the underlying database, seen through this prefix; atomic the same way."""
        with self._atomic_db.atomic_batch() as batch:
            yield _PrefixedWriteBatch(batch, self._prefix)
