"""The records of the staking contract: candidates, delegations, unbondings, and their RLP codecs.

Each record is stored as one byte string (``CallContext.store_bytes``) whose
value is the RLP list of its fields in declaration order: integers and
booleans as RLP big-endian integers, addresses and keys as raw bytes, text as
UTF-8. A stored value that does not decode raises ``DposError`` (a corrupt
state is reported, never a traceback).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import rlp

from consensus.dpos.errors import DposError

PUB_KEY_BYTES = 32


@dataclass(frozen=True)
class Description:
    """What a candidate says about itself (Travis's name, website, location, email, profile)."""

    name: str = ""
    website: str = ""
    location: str = ""
    email: str = ""
    profile: str = ""


@dataclass(frozen=True)
class Candidate:
    """A validator candidate, keyed by ``candidate_id`` and reached through its ``owner`` account.

    ``stake`` is the sum of the amounts of its delegations (the owner's own
    included); ``pending_reward`` is its share of block awards not yet split
    between its delegations (see ``rewards.settle``). ``self_stake`` is what
    the owner must keep delegated: ``max_amount x self_staking_ratio`` at
    declaration or update.
    """

    candidate_id: int
    owner: bytes
    pub_key: bytes
    max_amount: int
    commission_bp: int
    self_stake: int
    description: Description = field(default_factory=Description)
    pending_pub_key: bytes = b""  # swapped in at the next election
    pending_owner: bytes = b""  # named by the owner, takes effect when it accepts
    verified: bool = False
    active: bool = True
    jailed: bool = False
    stake: int = 0
    pending_reward: int = 0
    missed_blocks: int = 0
    declared_at: int = 0


@dataclass(frozen=True)
class Delegation:
    """``amount`` wei of ``delegator`` bonded to candidate ``candidate_id`` at ``commission_bp``."""

    candidate_id: int
    delegator: bytes
    amount: int
    commission_bp: int
    rewarded: int = 0  # total award credited to this delegation (after commission)
    slashed: int = 0  # total slashed from this delegation


@dataclass(frozen=True)
class Unbonding:
    """``amount`` wei withdrawn by ``delegator`` from ``candidate_id`` at block ``height``, paid at ``mature_time``."""

    seq: int
    delegator: bytes
    candidate_id: int
    amount: int
    mature_time: int
    height: int = 0  # the block that queued it: a double sign at or before it still slashes it


Record = TypeVar("Record", Candidate, Delegation, Unbonding)


def _encode_field(value: Any) -> Any:
    if isinstance(value, Description):
        return [getattr(value, f.name).encode() for f in fields(Description)]
    if isinstance(value, bool):
        return int(value)
    return value


def encode_record(record: Candidate | Delegation | Unbonding) -> bytes:
    """The stored form of a record: the RLP list of its fields in declaration order."""
    return rlp.encode([_encode_field(getattr(record, f.name)) for f in fields(record)])


def decode_record(kind: type[Record], data: bytes) -> Record:
    """The record of type ``kind`` stored as ``data`` (``DposError`` when it does not decode)."""
    try:
        items = rlp.decode(data)
        defaults = kind.__dataclass_fields__
        if not isinstance(items, list) or len(items) != len(defaults):
            raise ValueError("wrong field count")
        values: dict[str, Any] = {}
        for f, raw in zip(fields(kind), items):
            values[f.name] = _decode_field(f.type, raw)
        return kind(**values)
    except (rlp.DecodingError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise DposError(f"Staking: stored {kind.__name__.lower()} is corrupt ({exc})") from None


def _decode_field(annotation: Any, raw: Any) -> Any:
    if annotation == "Description":
        if not isinstance(raw, list) or len(raw) != len(fields(Description)):
            raise ValueError("bad description")
        return Description(*(part.decode() for part in raw))
    if not isinstance(raw, bytes):
        raise TypeError("nested value where a scalar was expected")
    if annotation == "bytes":
        return raw
    if annotation == "bool":
        if raw not in (b"", b"\x01"):
            raise ValueError("bad boolean")
        return raw == b"\x01"
    return int.from_bytes(raw, "big")

