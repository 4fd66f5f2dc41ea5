"""Validators and validator sets as consensus sees them, and how updates change a set.

Updates come from the application (``FinalizeResult.validator_updates``): each
names a public key and its new voting power; power 0 removes the validator, a
new key joins. Updates returned when block H is finalised govern block H + 2
(the header of H + 1 already commits to them as its ``next_validators_hash``),
as in CometBFT.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak
from rlp.exceptions import RLPException

from consensus.errors import InvalidValidatorUpdate
from consensus.keys import address_of

MAX_VALIDATORS = 1_000
MAX_TOTAL_POWER = 2**60  # keeps proposer priorities within int64, as CometBFT's bound does


@dataclass(frozen=True)
class Validator:
    """A validator: its Ed25519 public key, voting power and fee/owner account."""

    pub_key: bytes
    power: int
    owner: bytes

    @property
    def address(self) -> bytes:
        """The 20-byte validator address."""
        return address_of(self.pub_key)


@dataclass(frozen=True)
class ValidatorSet:
    """An ordered validator set (by power descending, then address)."""

    validators: tuple[Validator, ...]

    @classmethod
    def of(cls, validators: list[Validator] | tuple[Validator, ...]) -> ValidatorSet:
        """A set in canonical order."""
        return cls(tuple(sorted(validators, key=lambda v: (-v.power, v.address))))

    @property
    def total_power(self) -> int:
        """Sum of voting power."""
        return sum(v.power for v in self.validators)

    @property
    def hash(self) -> bytes:
        """Commitment to the set, carried in headers."""
        return keccak(self.encode())

    def encode(self) -> bytes:
        """Canonical RLP bytes of the set."""
        return rlp.encode([[v.pub_key, v.power, v.owner] for v in self.validators])

    @classmethod
    def decode(cls, data: bytes) -> ValidatorSet:
        """Inverse of ``encode``; raises ``InvalidValidatorUpdate`` on malformed bytes."""
        try:
            items = rlp.decode(data)
            validators = [
                Validator(bytes(pub_key), int.from_bytes(power, "big"), bytes(owner)) for pub_key, power, owner in items
            ]
        except (RLPException, ValueError, TypeError) as exc:
            raise InvalidValidatorUpdate(f"malformed validator set: {exc}") from exc
        return cls.of(validators)

    def updated(self, updates: Iterable[tuple[bytes, int, bytes]]) -> ValidatorSet:
        """The set after ``(pub_key, power, owner)`` updates, applied in order (power 0 removes)."""
        by_key = {v.pub_key: v for v in self.validators}
        for pub_key, power, owner in updates:
            if len(pub_key) != 32 or len(owner) != 20 or power < 0:
                raise InvalidValidatorUpdate(f"malformed update for key 0x{pub_key.hex()}")
            if power == 0:
                if by_key.pop(pub_key, None) is None:
                    raise InvalidValidatorUpdate(f"removing 0x{pub_key.hex()}, which is not a validator")
            else:
                by_key[pub_key] = Validator(pub_key, power, owner)
        if not by_key:
            raise InvalidValidatorUpdate("the updates would leave no validator")
        if len(by_key) > MAX_VALIDATORS:
            raise InvalidValidatorUpdate(f"the updates would make {len(by_key)} validators, limit {MAX_VALIDATORS}")
        if sum(v.power for v in by_key.values()) > MAX_TOTAL_POWER:
            raise InvalidValidatorUpdate("the updates would exceed the maximum total voting power")
        return ValidatorSet.of(list(by_key.values()))

    def by_address(self, address: bytes) -> Validator | None:
        """The validator with ``address``, if in the set."""
        for validator in self.validators:
            if validator.address == address:
                return validator
        return None
