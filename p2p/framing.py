"""Channel messages inside encrypted frames, and safe msgpack decoding of peer data.

A frame's plaintext is the msgpack array ``[channel_id, payload]`` where
``channel_id`` is an integer in 0..255 and ``payload`` is a bin. Decoding never
trusts the peer: sizes are capped before allocation, ext types are refused,
strings must be valid UTF-8 and map keys must be strings or bytes.
"""
from __future__ import annotations

from typing import Any

import msgpack

from p2p.errors import FrameTooLarge, ProtocolViolation

MAX_CHANNEL_ID = 255
# Overhead of the [channel, payload] envelope: array header + uint8 channel + bin32 header.
ENVELOPE_OVERHEAD = 1 + 2 + 5


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ProtocolViolation(f"msgpack ext type {code} is not allowed")


def safe_unpack(data: bytes, max_size: int, max_items: int = 10_000) -> Any:
    """Decode peer-supplied msgpack with every container and string bounded; raises ``ProtocolViolation``."""
    if len(data) > max_size:
        raise FrameTooLarge(f"message of {len(data)} bytes exceeds the maximum of {max_size}")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_bin_len=max_size,
            max_str_len=max_size,
            max_array_len=max_items,
            max_map_len=max_items,
            max_ext_len=0,
            ext_hook=_refuse_ext,
        )
    except ProtocolViolation:
        raise
    except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
        raise ProtocolViolation(f"malformed msgpack: {exc}") from exc


def pack(obj: Any) -> bytes:
    """Encode ``obj`` as msgpack (bytes as bin, str as UTF-8 str)."""
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def encode_message(channel_id: int, payload: bytes) -> bytes:
    """The frame plaintext carrying ``payload`` on ``channel_id``."""
    if not 0 <= channel_id <= MAX_CHANNEL_ID:
        raise ProtocolViolation(f"channel id {channel_id} out of range")
    return pack([channel_id, bytes(payload)])


def decode_message(data: bytes, max_size: int) -> tuple[int, bytes]:
    """Decode a frame plaintext into ``(channel_id, payload)``; raises ``ProtocolViolation`` if malformed."""
    message = safe_unpack(data, max_size, max_items=2)
    if not isinstance(message, list) or len(message) != 2:
        raise ProtocolViolation("a message is a two-element array [channel, payload]")
    channel_id, payload = message
    if not isinstance(channel_id, int) or isinstance(channel_id, bool) or not 0 <= channel_id <= MAX_CHANNEL_ID:
        raise ProtocolViolation(f"bad channel id {channel_id!r}")
    if not isinstance(payload, bytes):
        raise ProtocolViolation("a message payload must be bin")
    return channel_id, payload
