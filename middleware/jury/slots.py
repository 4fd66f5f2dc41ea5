"""Storage slots of the jury contract, and reads metered EIP-2929 style (a slot read twice in a call is warm).

Every slot is ``keccak("cmt.jury." + tag + keys as 32-byte words)``, so no two records overlap
and no layout depends on the order things were created in. ``MeteredSlots`` charges a slot's
first read in a call as the framework's storage read (``SLOAD_GAS``, 2,100) and every later
read of it, or a read after a write, as ``WARM_SLOAD_GAS`` (100): a draw walks the same upper
nodes of the sum tree for every juror and pays for them once. Writes keep the framework's
schedule. Only this contract meters this way; the framework's ``CallContext`` is unchanged.
"""
from __future__ import annotations

from typing import Protocol

from eth_hash.auto import keccak
from eth_typing import Address

from vm.native.framework import CallContext

WARM_SLOAD_GAS = 100


def slot_of(tag: bytes, *keys: int) -> int:
    """The storage slot of the record ``tag`` with integer ``keys`` (addresses as integers)."""
    return int.from_bytes(keccak(b"cmt.jury." + tag + b"".join(k.to_bytes(32, "big") for k in keys)), "big")


class Slots(Protocol):
    """Integer storage slots: what the sum tree and the records are kept in."""

    def load(self, slot: int) -> int:
        """The value of ``slot`` (0 when never written)."""
        ...

    def store(self, slot: int, value: int) -> None:
        """Write ``value`` into ``slot``."""
        ...


class MeteredSlots:
    """The contract's storage seen through one call: cold first reads, warm repeated reads, framework writes."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self._warm: set[int] = set()

    def load(self, slot: int) -> int:
        """Read ``slot``: the framework's storage read the first time in this call, ``WARM_SLOAD_GAS`` after."""
        if slot in self._warm:
            self.ctx.charge(WARM_SLOAD_GAS, "native warm SLOAD")
            return int(self.ctx.state.get_storage(Address(self.ctx.address), slot))
        self._warm.add(slot)
        return self.ctx.load(slot)

    def store(self, slot: int, value: int) -> None:
        """Write ``slot`` at the framework's price; the slot is warm afterwards."""
        self._warm.add(slot)
        self.ctx.store(slot, value)


class DictSlots:
    """Unmetered slots in a dictionary: the sum tree off the chain (tests, simulations)."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {}

    def load(self, slot: int) -> int:
        """The value of ``slot`` (0 when never written)."""
        return self.values.get(slot, 0)

    def store(self, slot: int, value: int) -> None:
        """Write ``value`` into ``slot`` (0 removes it)."""
        if value:
            self.values[slot] = value
        else:
            self.values.pop(slot, None)
