"""Node keys: the Ed25519 key that authenticates a node on the p2p network.

A node id is the lowercase hex of the first 20 bytes of SHA-256 of the node's
public key, as in CometBFT. The key file is JSON holding the private seed; it is
created with mode 0600 and never logged.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from p2p.errors import NodeKeyFileError

NODE_ID_BYTES = 20
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def node_id_of(public_key: bytes) -> str:
    """The node id (40 lowercase hex characters) of an Ed25519 public key."""
    return hashlib.sha256(public_key).digest()[:NODE_ID_BYTES].hex()


def is_node_id(text: str) -> bool:
    """Whether ``text`` is a well-formed node id."""
    return len(text) == 2 * NODE_ID_BYTES and all(c in "0123456789abcdef" for c in text)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        key = eddsa.import_public_key(public_key)
        eddsa.new(key, "rfc8032").verify(message, signature)
    except (ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, repr=False)
class NodeKey:
    """The Ed25519 key of a node; ``repr`` never shows the seed."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise NodeKeyFileError("a node key seed is 32 bytes")

    def __repr__(self) -> str:
        return f"NodeKey(node_id={self.node_id})"

    @classmethod
    def generate(cls) -> NodeKey:
        """A fresh random node key."""
        return cls(seed=os.urandom(32))

    @property
    def _key(self) -> ECC.EccKey:
        return eddsa.import_private_key(self.seed)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._key.public_key().export_key(format="raw")

    @property
    def node_id(self) -> str:
        """The node id derived from the public key."""
        return node_id_of(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return eddsa.new(self._key, "rfc8032").sign(message)

    def save(self, path: Path) -> None:
        """Write the key file with mode 0600; refuses to overwrite an existing file."""
        data = {"id": self.node_id, "pub_key": self.public_key.hex(), "priv_key": self.seed.hex()}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise NodeKeyFileError(f"{path}: node key file already exists") from exc
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> NodeKey:
        """Read a key file written by ``save``, checking that its stored id and public key match the seed."""
        try:
            data = json.loads(Path(path).read_text())
            key = cls(seed=bytes.fromhex(data["priv_key"]))
        except FileNotFoundError as exc:
            raise NodeKeyFileError(f"{path}: node key file not found") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NodeKeyFileError(f"{path}: malformed node key file") from exc
        if data.get("pub_key", key.public_key.hex()) != key.public_key.hex() or data.get("id", key.node_id) != key.node_id:
            raise NodeKeyFileError(f"{path}: node key file is inconsistent (id or public key does not match the seed)")
        return key
