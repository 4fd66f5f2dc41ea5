"""A write-capturing view of the state database.

Block execution must not touch the node's database until the block is
committed, and the commit must write the block's state together with
everything else in one atomic batch. ``OverlayDB`` reads through to the
committed store and keeps every write in memory; ``writes`` is then handed to
storage as part of the block's batch. Unused overlays are simply dropped.
"""
from __future__ import annotations

from eth.abc import DatabaseAPI
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB


class OverlayDB(BaseDB):
    """Reads fall through to ``base``; writes and deletes stay in ``writes``."""

    def __init__(self, base: DatabaseAPI) -> None:
        self.base = base
        self.writes: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self.writes:
            value = self.writes[key]
            if value is None:
                raise KeyError(key)
            return value
        return self.base[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self.writes[key] = None

    def _exists(self, key: bytes) -> bool:
        if key in self.writes:
            return self.writes[key] is not None
        return key in self.base


def overlay_atomic_db(base: DatabaseAPI) -> tuple[AtomicDB, OverlayDB]:
    """An atomic database for py-evm whose writes are captured by the returned overlay."""
    overlay = OverlayDB(base)
    return AtomicDB(overlay), overlay
