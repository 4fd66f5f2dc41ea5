"""Validators and validator sets as consensus sees them."""
from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from consensus.keys import address_of


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
    def of(cls, validators: list[Validator] | tuple[Validator, ...]) -> "ValidatorSet":
        """A set in canonical order."""
        return cls(tuple(sorted(validators, key=lambda v: (-v.power, v.address))))

    @property
    def total_power(self) -> int:
        """Sum of voting power."""
        return sum(v.power for v in self.validators)

    @property
    def hash(self) -> bytes:
        """Commitment to the set, carried in headers."""
        return keccak(rlp.encode([[v.pub_key, v.power, v.owner] for v in self.validators]))

    def by_address(self, address: bytes) -> Validator | None:
        """The validator with ``address``, if in the set."""
        for validator in self.validators:
            if validator.address == address:
                return validator
        return None
