"""Identifiers for filters and subscriptions.

They are hex quantities as geth issues them: 128 random bits with the top bit
set, so the hex string never has a leading zero (the execution-apis schema
types them as ``uint``) and is not guessable by another client.
"""
from __future__ import annotations

import secrets


def new_id() -> str:
    """A fresh unguessable identifier such as ``0x9f3c...`` (32 hex digits, no leading zero)."""
    return hex(secrets.randbits(128) | (1 << 127))
