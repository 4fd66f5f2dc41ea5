"""Validator consensus keys: Ed25519, as in Tendermint.

A validator's address is the first 20 bytes of SHA-256 of its public key. The
key file holds the private seed; it is created with mode 0600 and never
logged. Signing and verification use the ``cryptography`` package (OpenSSL),
about thirty times faster per signature than a pure-Python Ed25519, which
matters because every vote and every commit signature is verified.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from consensus.errors import ValidatorKeyFileError


def address_of(public_key: bytes) -> bytes:
    """The 20-byte validator address of an Ed25519 public key."""
    return hashlib.sha256(public_key).digest()[:20]


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class ValidatorKey:
    """An Ed25519 signing key of a validator."""

    seed: bytes

    @classmethod
    def generate(cls) -> ValidatorKey:
        """A fresh random key (key generation is the one place randomness belongs)."""
        return cls(seed=os.urandom(32))

    @property
    def _key(self) -> Ed25519PrivateKey:
        cached = self.__dict__.get("_private")
        if cached is None:
            cached = Ed25519PrivateKey.from_private_bytes(self.seed)
            object.__setattr__(self, "_private", cached)
        return cached

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._key.public_key().public_bytes_raw()

    @property
    def address(self) -> bytes:
        """The 20-byte validator address."""
        return address_of(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def beacon_seed(self, chain_id: int, epoch: int) -> bytes:
        """The seed of this validator's randomness hash chain ``epoch`` (``docs/randomness.md``).

        ``HMAC-SHA256(secret, b"cmt-randao" || chain id || epoch)`` with ``secret =
        HMAC-SHA256(key seed, b"cmt-randao-secret")``: derived from the key, so nothing new is stored.
        """
        secret = hmac.new(self.seed, b"cmt-randao-secret", hashlib.sha256).digest()
        message = b"cmt-randao" + chain_id.to_bytes(8, "big") + epoch.to_bytes(8, "big")
        return hmac.new(secret, message, hashlib.sha256).digest()

    def save(self, path: Path) -> None:
        """Write the key file (mode 0600); refuses to overwrite an existing key."""
        data = {"address": self.address.hex(), "pub_key": self.public_key.hex(), "priv_key": self.seed.hex()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> ValidatorKey:
        """Read a key file written by ``save``."""
        try:
            data = json.loads(Path(path).read_text())
            key = cls(seed=bytes.fromhex(data["priv_key"]))
        except FileNotFoundError as exc:
            raise ValidatorKeyFileError(f"{path}: validator key file not found") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValidatorKeyFileError(f"{path}: malformed validator key file") from exc
        if len(key.seed) != 32 or key.public_key.hex() != data.get("pub_key"):
            raise ValidatorKeyFileError(f"{path}: validator key file is inconsistent")
        return key
