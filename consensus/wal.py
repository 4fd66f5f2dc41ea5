"""The consensus write-ahead log: every message consensus acts on, on disk before it matters.

On restart the consensus driver replays the messages of the height in progress,
so a validator resumes in the round and step it was in, with the votes it had
seen and those it had sent.

Layout
    The log is a directory of segment files ``<index>.wal`` (twelve decimal
    digits; the highest index is the head, the only one written to) and a
    ``LOCK`` file held with ``flock`` while the log is open, so two processes
    never write one log.

Record framing
    ``length`` (4 bytes, big-endian) | ``crc`` (4 bytes, big-endian) | ``body``.
    ``crc`` is the CRC-32 of ``zlib.crc32`` (IEEE polynomial) over the length
    field followed by the body, so a damaged length is caught as surely as a
    damaged body. The body starts with a one-byte tag: ``0x01`` a message
    (followed by the caller's opaque payload, at most ``max_record_bytes``),
    ``0x02`` an end-height marker (followed by the height as 8 bytes,
    big-endian). A record never spans two segments.

Crash safety
    ``write`` appends to a user-space buffer; ``write_sync`` and
    ``write_end_height`` flush it and ``fsync`` the segment before returning, so
    a message the node is about to send is on disk first. When the head segment
    ends in a record that a crash cut short (an incomplete header, a length
    running past the end of the file, a last record whose checksum fails, or a
    zero-filled tail), opening the log truncates it there with a warning. Any
    other damage raises ``WALCorrupted`` unless the log is opened with
    ``repair=True``, which truncates at the first damaged record and deletes the
    segments after it (with a warning for what is lost).

Rotation and pruning
    A record that would take the head segment past ``segment_bytes`` goes into
    a new segment (the old one is fsynced first, so only the head can hold a
    torn record). After each end-height marker, segments wholly older than the
    segment holding the ``keep_end_heights``-th newest marker are deleted: the
    messages after each of the last ``keep_end_heights`` markers stay
    replayable. The messages of the height in progress are never deleted, so
    the log is bounded by ``keep_end_heights`` heights of messages plus one
    segment.

Restart protocol for the driver: commit the block to the store, then
``write_end_height(height)``. On start, with the store at height ``H``, write
``write_end_height(H)`` if ``last_end_height`` is ``None`` or lower (a crash
between the store commit and the marker, or a fresh log), then replay
``replay_from(H + 1)``.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Self

from consensus.errors import ConsensusError

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORD_BYTES = 8 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
DEFAULT_KEEP_END_HEIGHTS = 3

_HEADER = struct.Struct(">II")
_HEIGHT = struct.Struct(">Q")
_TAG_MESSAGE = 0x01
_TAG_END_HEIGHT = 0x02
_SEGMENT_NAME = re.compile(r"^(\d{12})\.wal$")
_LOCK_NAME = "LOCK"
_MAX_HEIGHT = 2**64 - 1


class WALError(ConsensusError):
    """Root of the write-ahead log's errors (also raised, wrapping ``OSError``, when the disk fails)."""


class WALCorrupted(WALError):
    """A damaged record that is not a torn tail (opened without ``repair``), or an undecodable record."""


class WALRecordTooLarge(WALError):
    """A payload larger than the log's ``max_record_bytes``."""


class WALHeightNotFound(WALError):
    """``replay_from(h)`` found no end-height marker for ``h - 1``."""


class WALLocked(WALError):
    """Another process holds the log open."""


class WALClosed(WALError):
    """The log was used after ``close``."""


@dataclass(frozen=True)
class _Record:
    """One decoded record: a message payload, or an end-height marker (``payload`` is then empty)."""

    end_height: int | None
    payload: bytes


@dataclass(frozen=True)
class _Damage:
    """Where a segment stops being readable, and whether that is a torn tail."""

    offset: int
    torn: bool
    reason: str


def _segment_path(directory: Path, index: int) -> Path:
    return directory / f"{index:012d}.wal"


def _frame(body: bytes) -> bytes:
    length = len(body).to_bytes(4, "big")
    return length + zlib.crc32(body, zlib.crc32(length)).to_bytes(4, "big") + body


def _parse(data: bytes, max_body: int) -> tuple[list[_Record], _Damage | None]:
    """The records of one segment up to the first damaged one, and that damage if any."""
    records: list[_Record] = []
    offset = 0
    while offset < len(data):
        record, next_offset, damage = _parse_one(data, offset, max_body)
        if damage is not None:
            if not damage.torn and not any(data[offset:]):
                damage = _Damage(offset, True, "zero-filled tail")
            return records, damage
        assert record is not None
        records.append(record)
        offset = next_offset
    return records, None


def _parse_one(data: bytes, offset: int, max_body: int) -> tuple[_Record | None, int, _Damage | None]:
    """The record at ``offset`` and the offset after it, or the damage found there."""
    end = len(data)
    if end - offset < _HEADER.size:
        return None, offset, _Damage(offset, True, "incomplete record header")
    length, crc = _HEADER.unpack_from(data, offset)
    body_start = offset + _HEADER.size
    body_end = body_start + length
    if body_end > end:
        return None, offset, _Damage(offset, True, f"record of {length} bytes runs past the end of the segment")
    if length == 0 or length > max_body:
        return None, offset, _Damage(offset, False, f"record length {length} outside 1..{max_body}")
    body = data[body_start:body_end]
    if zlib.crc32(body, zlib.crc32(data[offset:offset + 4])) != crc:
        return None, offset, _Damage(offset, body_end == end, "checksum mismatch")
    record = _decode_body(body)
    if record is None:
        return None, offset, _Damage(offset, False, f"unknown record tag 0x{body[0]:02x} or malformed marker")
    return record, body_end, None


def _decode_body(body: bytes) -> _Record | None:
    tag = body[0]
    if tag == _TAG_MESSAGE:
        return _Record(None, body[1:])
    if tag == _TAG_END_HEIGHT and len(body) == 1 + _HEIGHT.size:
        return _Record(_HEIGHT.unpack_from(body, 1)[0], b"")
    return None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WAL:
    """An append-only, CRC-framed, segmented log of consensus messages with end-height markers."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        keep_end_heights: int = DEFAULT_KEEP_END_HEIGHTS,
        repair: bool = False,
    ) -> None:
        """Open (creating if needed) the log in directory ``path``, repairing a torn tail.

        Raises ``WALLocked`` if another process has it open, ``WALCorrupted`` on damage
        other than a torn tail unless ``repair`` is true.
        """
        if max_record_bytes < 1 or max_record_bytes > 2**32 - 2:
            raise ValueError(f"max_record_bytes must be in 1..{2**32 - 2}, got {max_record_bytes}")
        if segment_bytes < 1:
            raise ValueError(f"segment_bytes must be positive, got {segment_bytes}")
        if keep_end_heights < 1:
            raise ValueError(f"keep_end_heights must be at least 1, got {keep_end_heights}")
        self._dir = Path(path)
        self._max_record_bytes = max_record_bytes
        self._max_body = max(max_record_bytes + 1, 1 + _HEIGHT.size)
        self._segment_bytes = segment_bytes
        self._markers: deque[tuple[int, int]] = deque(maxlen=keep_end_heights)  # (height, segment index)
        self._head: BinaryIO | None = None
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self._dir / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise WALError(f"cannot open the write-ahead log in {self._dir}: {exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise WALLocked(f"the write-ahead log in {self._dir} is open in another process") from exc
        try:
            self._segments = self._existing_segments()
            self._check_segments(repair)
            if not self._segments:
                self._segments = [0]
            head_path = _segment_path(self._dir, self._segments[-1])
            self._head = open(head_path, "ab")  # noqa: SIM115 - kept open for the log's lifetime
            self._head_size = self._head.tell()
            _fsync_directory(self._dir)
        except BaseException:
            self._release()
            raise

    # -- public API --------------------------------------------------------------

    @property
    def last_end_height(self) -> int | None:
        """The height of the newest end-height marker, ``None`` if the log holds none."""
        return self._markers[-1][0] if self._markers else None

    def write(self, payload: bytes) -> None:
        """Append a message record to the buffer (not flushed, not fsynced)."""
        if len(payload) > self._max_record_bytes:
            raise WALRecordTooLarge(
                f"record of {len(payload)} bytes exceeds the limit of {self._max_record_bytes} bytes"
            )
        self._append(_frame(bytes([_TAG_MESSAGE]) + payload))

    def write_sync(self, payload: bytes) -> None:
        """Append a message record and fsync the log before returning (for our own votes and proposals)."""
        self.write(payload)
        self.sync()

    def write_end_height(self, height: int) -> None:
        """Append and fsync the marker that height ``height`` is committed; then prune old segments."""
        if not 0 <= height <= _MAX_HEIGHT:
            raise ValueError(f"height {height} out of range")
        self._append(_frame(bytes([_TAG_END_HEIGHT]) + _HEIGHT.pack(height)))
        self.sync()
        self._markers.append((height, self._segments[-1]))
        self._prune()

    def sync(self) -> None:
        """Flush buffered records and fsync the head segment."""
        head = self._open_head()
        try:
            head.flush()
            os.fsync(head.fileno())
        except OSError as exc:
            raise WALError(f"cannot sync the write-ahead log in {self._dir}: {exc}") from exc

    def replay_from(self, height: int) -> Iterator[bytes]:
        """The messages written after the newest end-height marker of ``height - 1``, up to the next marker.

        These are the messages of height ``height`` when it is still in progress.
        Raises ``WALHeightNotFound`` if the log holds no marker for ``height - 1``.
        """
        head = self._open_head()
        try:
            head.flush()
        except OSError as exc:
            raise WALError(f"cannot flush the write-ahead log in {self._dir}: {exc}") from exc
        found = False
        collecting = False
        messages: list[bytes] = []
        for record in self._records():
            if record.end_height is None:
                if collecting:
                    messages.append(record.payload)
            elif record.end_height == height - 1:
                found, collecting, messages = True, True, []
            else:
                collecting = False
        if not found:
            raise WALHeightNotFound(f"the write-ahead log in {self._dir} has no end-height marker for {height - 1}")
        return iter(messages)

    def close(self) -> None:
        """Flush, fsync and close the log; later calls do nothing."""
        if self._head is None:
            return
        try:
            self.sync()
        finally:
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------

    def _open_head(self) -> BinaryIO:
        if self._head is None:
            raise WALClosed(f"the write-ahead log in {self._dir} is closed")
        return self._head

    def _release(self) -> None:
        if self._head is not None:
            self._head.close()
            self._head = None
        os.close(self._lock_fd)

    def _existing_segments(self) -> list[int]:
        indexes = []
        for entry in self._dir.iterdir():
            match = _SEGMENT_NAME.match(entry.name)
            if match:
                indexes.append(int(match.group(1)))
        return sorted(indexes)

    def _check_segments(self, repair: bool) -> None:
        """Validate every segment, truncate a torn tail, remember the newest markers."""
        for position, index in enumerate(self._segments):
            path = _segment_path(self._dir, index)
            records, damage = _parse(path.read_bytes(), self._max_body)
            for record in records:
                if record.end_height is not None:
                    self._markers.append((record.end_height, index))
            if damage is None:
                continue
            is_head = position == len(self._segments) - 1
            if is_head and damage.torn:
                log.warning("write-ahead log %s: truncating a torn last record at byte %d (%s)",
                            path, damage.offset, damage.reason)
            elif repair:
                dropped = self._segments[position + 1:]
                log.warning("write-ahead log %s: damaged record at byte %d (%s); repairing by truncating there "
                            "and deleting %d later segment(s)", path, damage.offset, damage.reason, len(dropped))
                for later in dropped:
                    _segment_path(self._dir, later).unlink()
                self._segments = self._segments[:position + 1]
            else:
                raise WALCorrupted(f"write-ahead log {path}: damaged record at byte {damage.offset} "
                                   f"({damage.reason}); open with repair to truncate it")
            with open(path, "r+b") as handle:
                handle.truncate(damage.offset)
                handle.flush()
                os.fsync(handle.fileno())
            return

    def _append(self, frame: bytes) -> None:
        head = self._open_head()
        try:
            if self._head_size > 0 and self._head_size + len(frame) > self._segment_bytes:
                head = self._rotate()
            head.write(frame)
        except OSError as exc:
            raise WALError(f"cannot write the write-ahead log in {self._dir}: {exc}") from exc
        self._head_size += len(frame)

    def _rotate(self) -> BinaryIO:
        self.sync()
        assert self._head is not None
        self._head.close()
        index = self._segments[-1] + 1
        self._head = open(_segment_path(self._dir, index), "ab")  # noqa: SIM115 - kept open
        self._segments.append(index)
        self._head_size = 0
        _fsync_directory(self._dir)
        return self._head

    def _prune(self) -> None:
        if len(self._markers) < (self._markers.maxlen or 0):
            return
        oldest_kept = self._markers[0][1]
        doomed = [index for index in self._segments if index < oldest_kept]
        if not doomed:
            return
        try:
            for index in doomed:
                _segment_path(self._dir, index).unlink()
            _fsync_directory(self._dir)
        except OSError as exc:
            raise WALError(f"cannot delete old segments of the write-ahead log in {self._dir}: {exc}") from exc
        self._segments = [index for index in self._segments if index >= oldest_kept]

    def _records(self) -> Iterator[_Record]:
        for index in list(self._segments):
            path = _segment_path(self._dir, index)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise WALError(f"cannot read the write-ahead log segment {path}: {exc}") from exc
            records, damage = _parse(data, self._max_body)
            if damage is not None:
                raise WALCorrupted(f"write-ahead log {path}: damaged record at byte {damage.offset} ({damage.reason})")
            yield from records
