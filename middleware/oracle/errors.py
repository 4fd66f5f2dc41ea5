"""Errors of the oracle middleware; ``OracleError`` is the root."""
from __future__ import annotations


class OracleError(Exception):
    """Root of every error raised by the ``middleware.oracle`` package."""


class SourceError(OracleError):
    """The configured answer source failed: unreachable, too slow, a non-2xx answer or one too large."""
