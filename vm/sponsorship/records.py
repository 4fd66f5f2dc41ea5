"""The sponsorship records in the sponsor contract's storage, and the bounds they set.

One layout serves every reader: the native contract (metered loads and
stores), block execution (the py-evm state, unmetered) and the mempool (the
latest committed state), each passing its own slot reader and writer.

A target's sponsorship takes three slots at ``mapping_slot(SPONSORSHIPS, target)``:
``+0`` the manager with bit 160 set (so a configured sponsorship is never all
zero), ``+1`` the deposit in wei, ``+2`` the bounds packed as
``maxGasPerTx << 160 | maxTxsPerSenderPerWindow << 128 | windowSeconds << 64 | maxGasPerBlock``.
A sender's window is one slot at ``mapping_slot(mapping_slot(WINDOWS, target), sender)``:
``used << 64 | windowStart``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vm.native.framework import mapping_slot

SPONSORSHIPS = 1
WINDOWS = 2
CONFIGURED_BIT = 1 << 160
ADDRESS_MASK = CONFIGURED_BIT - 1
U64 = (1 << 64) - 1
U32 = (1 << 32) - 1

#: Reads one storage slot of the sponsor contract.
ReadSlot = Callable[[int], int]
#: Writes one storage slot of the sponsor contract.
WriteSlot = Callable[[int, int], None]


@dataclass(frozen=True)
class Bounds:
    """What a sponsor allows: gas per transaction, transactions per sender per window, gas per block."""

    max_gas_per_tx: int
    max_txs_per_sender: int
    window_seconds: int
    max_gas_per_block: int

    def packed(self) -> int:
        """The bounds as one storage word."""
        return (self.max_gas_per_tx << 160 | self.max_txs_per_sender << 128 | self.window_seconds << 64
                | self.max_gas_per_block)

    @classmethod
    def unpacked(cls, word: int) -> Bounds:
        """The bounds stored as ``word``."""
        return cls(word >> 160 & U64, word >> 128 & U32, word >> 64 & U64, word & U64)


@dataclass(frozen=True)
class Sponsorship:
    """A configured sponsorship: who manages it, its deposit and its bounds."""

    manager: bytes
    balance: int
    bounds: Bounds


@dataclass(frozen=True)
class SenderWindow:
    """Sponsored transactions of one sender to one target in the window that began at ``start`` (block time)."""

    used: int = 0
    start: int = 0

    def used_at(self, now: int, window_seconds: int) -> int:
        """The count that applies at block time ``now``: 0 once the window has ended."""
        return self.used if self.used and now < self.start + window_seconds else 0

    def after_one_more(self, now: int, window_seconds: int) -> SenderWindow:
        """The window after one more sponsored transaction at block time ``now``."""
        if self.used_at(now, window_seconds) == 0:
            return SenderWindow(1, now)
        return SenderWindow(self.used + 1, self.start)


def _base(target: bytes) -> int:
    return mapping_slot(SPONSORSHIPS, target)


def _window_slot(target: bytes, sender: bytes) -> int:
    return mapping_slot(mapping_slot(WINDOWS, target), sender)


def load_sponsorship(read: ReadSlot, target: bytes) -> Sponsorship | None:
    """The sponsorship of ``target``, or None when it was never configured."""
    base = _base(target)
    head = read(base)
    if not head & CONFIGURED_BIT:
        return None
    return Sponsorship((head & ADDRESS_MASK).to_bytes(20, "big"), read(base + 1), Bounds.unpacked(read(base + 2)))


def store_settings(write: WriteSlot, target: bytes, manager: bytes, bounds: Bounds) -> None:
    """Record the manager and bounds of ``target`` (its deposit is kept)."""
    base = _base(target)
    write(base, CONFIGURED_BIT | int.from_bytes(manager, "big"))
    write(base + 2, bounds.packed())


def load_balance(read: ReadSlot, target: bytes) -> int:
    """The deposit of ``target`` (0 when never configured)."""
    return read(_base(target) + 1)


def store_balance(write: WriteSlot, target: bytes, balance: int) -> None:
    """Record the deposit of ``target``."""
    write(_base(target) + 1, balance)


def load_window(read: ReadSlot, target: bytes, sender: bytes) -> SenderWindow:
    """The window of ``sender``'s sponsored transactions to ``target``."""
    word = read(_window_slot(target, sender))
    return SenderWindow(word >> 64 & U32, word & U64)


def store_window(write: WriteSlot, target: bytes, sender: bytes, window: SenderWindow) -> None:
    """Record the window of ``sender``'s sponsored transactions to ``target``."""
    write(_window_slot(target, sender), window.used << 64 | window.start)
