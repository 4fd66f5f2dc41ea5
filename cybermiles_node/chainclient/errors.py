"""Errors of the chain client; ``ChainClientError`` is the root, its message fit to show to a user."""
from __future__ import annotations


class ChainClientError(Exception):
    """Root of the chain client's errors; the message is fit to show to a user."""


class AmountError(ChainClientError):
    """An amount or integer text cannot be parsed."""


class ArgumentError(ChainClientError):
    """A method or constructor argument does not fit its ABI type."""


class AbiLookupError(ChainClientError):
    """The named method does not exist in the ABI, or the name is ambiguous."""


class TransactionFailedError(ChainClientError):
    """A mined transaction has status 0; ``revert_reason`` holds the replayed reason if any."""

    def __init__(self, message: str, revert_reason: str | None) -> None:
        """Keep the revert reason for JSON output."""
        super().__init__(message)
        self.revert_reason = revert_reason


class ReceiptTimeoutError(ChainClientError):
    """No receipt arrived within the wait timeout."""
