"""The JSON encoding of what the RPC server sends: responses, batch size bounds, subscription notifications.

orjson writes compact UTF-8 JSON several times faster than the standard library (the
node answers thousands of requests a second under load); the standard library takes
over for the values orjson refuses, integers beyond 64 bits (should a handler return
one), so any value the server built is still sent.
"""
from __future__ import annotations

import json

import orjson


def encode(payload: object) -> bytes:
    """``payload`` as compact JSON bytes."""
    try:
        return orjson.dumps(payload)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
        return json.dumps(payload, separators=(",", ":")).encode()


def encode_text(payload: object) -> str:
    """``payload`` as compact JSON text (for a WebSocket text frame)."""
    return encode(payload).decode()
