"""Errors of the randomness beacon; ``RandomnessError`` is the root."""
from __future__ import annotations


class RandomnessError(Exception):
    """Root of every error raised by the ``middleware.randomness`` package."""


class RevealUnavailable(RandomnessError):
    """This validator cannot produce the reveal its stored commitment expects (another key, or a damaged chain)."""
