"""The due-time index of timer transitions: a binary min-heap in native-contract storage.

Each entry is one instance's next due timer, packed into one storage word
as ``due << 64 | instance_id``, so the heap's order is due time, then
instance id: the order timers fire in. End-block reads only the top of the
heap, never scans instances. An instance that leaves its state before the
timer comes due leaves its entry behind; the entry is recognised as stale
when it surfaces (the instance record names the due time it is indexed
under) and dropped.

Layout: the entry count at ``SIZE_SLOT``, entry ``i`` at ``base + i`` where
``base = keccak("cmt.bpm.timers")``.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from vm.native.framework import CallContext

SIZE_SLOT = 2
BASE_SLOT = int.from_bytes(keccak(b"cmt.bpm.timers"), "big")
ID_BITS = 64
MAX_ID = 2**ID_BITS - 1
MAX_DUE = 2**64 - 1


@dataclass(frozen=True, order=True)
class DueTimer:
    """An instance whose next timer comes due at block time ``due``."""

    due: int
    instance_id: int

    def packed(self) -> int:
        """The storage word: due time in the high bits, instance id in the low 64."""
        return self.due << ID_BITS | self.instance_id

    @classmethod
    def unpack(cls, word: int) -> DueTimer:
        """The entry stored as ``word``."""
        return cls(word >> ID_BITS, word & MAX_ID)


class TimerHeap:
    """The min-heap of due timers in the storage seen by ``context``."""

    def __init__(self, context: CallContext) -> None:
        """Operate on ``context``'s contract storage (its metering applies)."""
        self._context = context

    def __len__(self) -> int:
        return self._context.load(SIZE_SLOT)

    def push(self, entry: DueTimer) -> None:
        """Add ``entry`` (sift up)."""
        if not (0 <= entry.due <= MAX_DUE and 0 <= entry.instance_id <= MAX_ID):
            raise ValueError(f"timer entry out of range: {entry}")
        size = len(self)
        self._context.store(SIZE_SLOT, size + 1)
        word = entry.packed()
        index = size
        while index > 0:
            parent = (index - 1) // 2
            parent_word = self._get(parent)
            if parent_word <= word:
                break
            self._set(index, parent_word)
            index = parent
        self._set(index, word)

    def peek(self) -> DueTimer | None:
        """The earliest entry, or None when the heap is empty."""
        return DueTimer.unpack(self._get(0)) if len(self) else None

    def pop(self) -> DueTimer:
        """Remove and return the earliest entry (sift down); the heap must not be empty."""
        size = len(self)
        if size == 0:
            raise IndexError("pop from an empty timer heap")
        top = self._get(0)
        last = self._get(size - 1)
        self._set(size - 1, 0)
        size -= 1
        self._context.store(SIZE_SLOT, size)
        if size:
            index = 0
            while True:
                child = 2 * index + 1
                if child >= size:
                    break
                child_word = self._get(child)
                if child + 1 < size:
                    right_word = self._get(child + 1)
                    if right_word < child_word:
                        child, child_word = child + 1, right_word
                if last <= child_word:
                    break
                self._set(index, child_word)
                index = child
            self._set(index, last)
        return DueTimer.unpack(top)

    def _get(self, index: int) -> int:
        return self._context.load(BASE_SLOT + index)

    def _set(self, index: int, word: int) -> None:
        self._context.store(BASE_SLOT + index, word)
