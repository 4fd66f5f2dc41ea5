"""Content identifiers (CIDv1) of the files the chain refers to.

A CID the chain accepts is CIDv1 of a ``raw`` block (a file of one chunk) or a
``dag-pb`` block (the root of a UnixFS file of several chunks), hashed with
sha2-256 and written in multibase base32 (``b`` followed by lowercase RFC 4648
base32 without padding), for example
``bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4``.
Its binary form is ``0x01 codec 0x12 0x20 digest``: each of the version, codec
and multihash fields is one varint byte for these values.

The 32-byte sha2-256 digest is the form a contract stores in a ``bytes32``
field; a CID is rebuilt from it with its codec (``Cid(codec, digest)``).

This subset is parsed here by hand: it is fixed by the chain's rules, and the
general-purpose CID packages accept every multibase, hash function and CID
version, all of which the chain would have to reject again.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cybermiles_node.ipfs.errors import CidError

#: Multicodec of a block of plain bytes.
RAW = 0x55
#: Multicodec of a dag-pb (UnixFS) block.
DAG_PB = 0x70
#: Codecs by the names ``cmnode`` and IPFS tools give them.
CODECS = {"raw": RAW, "dag-pb": DAG_PB}
#: Multihash function code of sha2-256 and its digest length.
SHA2_256 = 0x12
DIGEST_BYTES = 32
#: Version byte of CIDv1.
CID_VERSION = 1
#: Multibase prefix of lowercase base32.
BASE32_PREFIX = "b"
#: Length of a CID in binary and in text.
CID_BYTES = 4 + DIGEST_BYTES
CID_TEXT_LENGTH = 1 + (CID_BYTES * 8 + 4) // 5


@dataclass(frozen=True)
class Cid:
    """A CIDv1 with a sha2-256 multihash: the block's codec and the digest of its bytes."""

    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.codec not in (RAW, DAG_PB):
            raise CidError(f"unsupported codec 0x{self.codec:x}: expected raw (0x55) or dag-pb (0x70)")
        if len(self.digest) != DIGEST_BYTES:
            raise CidError(f"a sha2-256 digest is {DIGEST_BYTES} bytes, got {len(self.digest)}")

    @classmethod
    def of_block(cls, codec: int, block: bytes) -> Cid:
        """The CID of ``block`` encoded with ``codec``."""
        return cls(codec, hashlib.sha256(block).digest())

    @classmethod
    def parse(cls, text: str) -> Cid:
        """Parse the base32 text form; ``CidError`` says what is wrong with anything else."""
        if not isinstance(text, str) or not text:
            raise CidError("empty CID")
        shown = text if len(text) <= CID_TEXT_LENGTH + 8 else text[:CID_TEXT_LENGTH] + "..."
        if text.startswith("Qm"):
            raise CidError(f"{shown!r} is a CIDv0: the chain uses CIDv1 (base32, starting with 'b')")
        if not text.startswith(BASE32_PREFIX):
            raise CidError(f"{shown!r} is not a base32 CIDv1 (it must start with 'b')")
        if len(text) != CID_TEXT_LENGTH:
            raise CidError(f"{shown!r} is not a CIDv1 of a sha2-256 hash "
                           f"({CID_TEXT_LENGTH} characters, got {len(text)})")
        body = text[1:]
        try:
            if not body.isascii() or body != body.lower():
                raise ValueError
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        except ValueError:
            raise CidError(f"{shown!r} is not lowercase base32") from None
        cid = cls.from_bytes(raw)
        if str(cid) != text:  # the unused low bits of the last character must be zero
            raise CidError(f"{shown!r} is not the canonical base32 form of a CID")
        return cid

    @classmethod
    def from_bytes(cls, raw: bytes) -> Cid:
        """Parse the binary form ``0x01 codec 0x12 0x20 digest``."""
        if len(raw) != CID_BYTES:
            raise CidError(f"a CIDv1 of a sha2-256 hash is {CID_BYTES} bytes, got {len(raw)}")
        if raw[0] != CID_VERSION:
            raise CidError(f"CID version {raw[0]} is not supported: expected 1")
        if raw[2] != SHA2_256 or raw[3] != DIGEST_BYTES:
            raise CidError(f"unsupported multihash 0x{raw[2]:x} of {raw[3]} bytes: expected sha2-256 (0x12) of 32")
        return cls(raw[1], bytes(raw[4:]))

    def to_bytes(self) -> bytes:
        """The binary form."""
        return bytes((CID_VERSION, self.codec, SHA2_256, DIGEST_BYTES)) + self.digest

    def __str__(self) -> str:
        return BASE32_PREFIX + base64.b32encode(self.to_bytes()).decode("ascii").rstrip("=").lower()

    @property
    def codec_name(self) -> str:
        """``raw`` or ``dag-pb``."""
        return "raw" if self.codec == RAW else "dag-pb"

    def digest_hex(self) -> str:
        """The digest as a contract's ``bytes32`` argument: ``0x`` and 64 hex digits."""
        return "0x" + self.digest.hex()


def parse_digest(text: str) -> bytes:
    """A 32-byte digest from ``0x`` and 64 hex digits (a ``bytes32`` value)."""
    body = text[2:] if isinstance(text, str) and text[:2] in ("0x", "0X") else None
    if body is None or len(body) != 2 * DIGEST_BYTES or not all(c in "0123456789abcdefABCDEF" for c in body):
        raise CidError(f"expected a bytes32 digest: 0x and 64 hex digits, got {text[:80]!r}")
    return bytes.fromhex(body)
