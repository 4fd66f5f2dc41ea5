"""HMAC-SHA256 signatures of webhook bodies, both ways.

Header (outbound deliveries and inbound callbacks alike)::

    X-CMT-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The timestamp is part of the signed bytes, so an old signature cannot be re-dated; a
receiver refuses timestamps more than a window (default 300 s) away from its clock and
remembers the signatures it accepted within that window to refuse replays.
"""
from __future__ import annotations

import hashlib
import hmac
import re

from middleware.webhooks.errors import SignatureError, StaleSignature

SIGNATURE_HEADER = "X-CMT-Signature"
IDEMPOTENCY_HEADER = "X-CMT-Idempotency-Key"
ATTEMPT_HEADER = "X-CMT-Delivery-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300
_HEADER = re.compile(r"^t=(\d{1,12}),v1=([0-9a-f]{64})$")


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-CMT-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_header(header: str | None) -> tuple[int, str]:
    """The (timestamp, hex signature) of a header value; ``SignatureError`` if malformed."""
    if header is None:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    match = _HEADER.match(header.strip())
    if match is None:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,v1=<64 hex digits>")
    return int(match.group(1)), match.group(2)


def verify(secret: bytes, header: str | None, body: bytes, now: int,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> tuple[int, str]:
    """Check ``header`` against ``body``; return its (timestamp, signature).

    Raises ``SignatureError`` when the header is missing, malformed or does not match,
    and ``StaleSignature`` when its timestamp is more than ``tolerance`` seconds from ``now``.
    """
    timestamp, given = parse_header(header)
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise SignatureError("signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise StaleSignature(f"signature timestamp {timestamp} is more than {tolerance} s from now ({now})")
    return timestamp, given
