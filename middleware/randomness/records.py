"""The randomness contract's storage: the mix, the ring of recent values, pinned values, validators' chains.

Layout (all in the contract's own account storage):

* slot 0: the mix after the latest block (the value of that height);
* slot 1: that height + 1 (0 before the first block);
* slot ``ring_value[h % 8192]`` and ``ring_height[h % 8192]`` (h + 1): the values of the
  last 8,192 heights, each overwritten 8,192 blocks later;
* slot ``requested[h]``: 1 once a contract asked to keep the value of ``h``;
* slot ``pinned[h]``: the value of a requested height, copied when it is produced, kept for ever;
* record ``validator/<public key>`` (RLP): the validator's current commitment (the last
  element of its hash chain it revealed, or its anchor), how many reveals remain in the
  chain, the chain's epoch, and its missed proposer slots (in all, and in the current
  penalty window).
"""
from __future__ import annotations

from dataclasses import dataclass

import rlp
from rlp.exceptions import RLPException

from vm.errors import NativeContractError
from vm.native.framework import CallContext, mapping_slot

RING_SIZE = 8_192
MIX_SLOT = 0
LATEST_SLOT = 1
RING_VALUE_BASE = 2
RING_HEIGHT_BASE = 3
REQUESTED_BASE = 4
PINNED_BASE = 5
VALIDATOR_PREFIX = b"randao/validator/"


@dataclass(frozen=True)
class ValidatorRecord:
    """A validator's hash-chain commitment and its missed proposer slots."""

    commitment: bytes = b""  # empty: no chain yet
    remaining: int = 0  # reveals left before the chain is exhausted
    epoch: int = 0  # which of the validator's chains the commitment belongs to
    missed: int = 0  # proposer slots missed in all
    window: int = 0  # the penalty window of the last miss (height // window length)
    window_missed: int = 0  # misses within that window

    @property
    def has_chain(self) -> bool:
        """Whether a commitment with reveals left is stored (else the next block of this proposer anchors)."""
        return bool(self.commitment) and self.remaining > 0

    @property
    def next_epoch(self) -> int:
        """The epoch of the chain this validator anchors next (0 for a validator never seen)."""
        return self.epoch + 1 if self.commitment else 0

    def encode(self) -> bytes:
        """RLP bytes for storage."""
        return rlp.encode([self.commitment, self.remaining, self.epoch, self.missed, self.window, self.window_missed])

    @classmethod
    def decode(cls, data: bytes) -> ValidatorRecord:
        """Inverse of ``encode``."""
        try:
            commitment, *numbers = rlp.decode(data)
            return cls(bytes(commitment), *(int.from_bytes(n, "big") for n in numbers))
        except (RLPException, TypeError, ValueError) as exc:
            raise NativeContractError(f"Randomness: damaged validator record: {exc}") from exc


class BeaconStore:
    """Reads and writes the beacon's storage through a (metered) context."""

    def __init__(self, context: CallContext) -> None:
        self.context = context

    def mix(self) -> bytes:
        """The mix after the latest block."""
        return self.context.load(MIX_SLOT).to_bytes(32, "big")

    def latest(self) -> int | None:
        """The latest height whose value is stored (None before the first)."""
        stored = self.context.load(LATEST_SLOT)
        return stored - 1 if stored else None

    def record_value(self, height: int, value: bytes) -> None:
        """Store ``value`` as the value of ``height`` (the newest): the mix, the ring, and the pin if requested."""
        number = int.from_bytes(value, "big")
        self.context.store(MIX_SLOT, number)
        self.context.store(LATEST_SLOT, height + 1)
        self.context.store(mapping_slot(RING_VALUE_BASE, height % RING_SIZE), number)
        self.context.store(mapping_slot(RING_HEIGHT_BASE, height % RING_SIZE), height + 1)
        if self.is_requested(height):
            self.context.store(mapping_slot(PINNED_BASE, height), number)

    def ring_value(self, height: int) -> bytes | None:
        """The value of ``height`` while it is in the ring (None once overwritten or never stored)."""
        if self.context.load(mapping_slot(RING_HEIGHT_BASE, height % RING_SIZE)) != height + 1:
            return None
        return self.context.load(mapping_slot(RING_VALUE_BASE, height % RING_SIZE)).to_bytes(32, "big")

    def pinned_value(self, height: int) -> bytes | None:
        """The kept value of a requested height once produced (None otherwise)."""
        stored = self.context.load(mapping_slot(PINNED_BASE, height))
        return stored.to_bytes(32, "big") if stored else None

    def is_requested(self, height: int) -> bool:
        """Whether a contract asked to keep the value of ``height``."""
        return self.context.load(mapping_slot(REQUESTED_BASE, height)) != 0

    def mark_requested(self, height: int) -> None:
        """Keep the value of ``height`` once it is produced."""
        self.context.store(mapping_slot(REQUESTED_BASE, height), 1)

    def validator(self, pub_key: bytes) -> ValidatorRecord:
        """The record of the validator with consensus key ``pub_key`` (empty when never seen)."""
        data = self.context.load_bytes(VALIDATOR_PREFIX + pub_key)
        return ValidatorRecord() if data is None else ValidatorRecord.decode(data)

    def put_validator(self, pub_key: bytes, record: ValidatorRecord) -> None:
        """Store a validator's record."""
        self.context.store_bytes(VALIDATOR_PREFIX + pub_key, record.encode())
