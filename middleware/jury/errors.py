"""Errors of the jury package; ``JuryError`` is the root.

The contract's refusals are ``vm.errors.NativeContractError`` (they become the call's revert
reason); ``JuryError`` covers the juror's own side: the vote salts kept in a node home.
"""
from __future__ import annotations


class JuryError(Exception):
    """Root of every error raised by the ``middleware.jury`` package."""


class SaltFileError(JuryError):
    """The file of a juror's vote salts cannot be read, is damaged, or has no salt for the case and seat asked."""
