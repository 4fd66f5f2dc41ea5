"""Errors raised by the transaction pool; ``MempoolError`` is the root.

Every message starts with the phrase geth uses for the same rejection
("nonce too low", "insufficient funds for gas * price + value", ...), since
wallets and libraries show it to users and some match on it. Where geth adds
details after a colon, so do we.
"""
from __future__ import annotations

from vm.errors import InvalidTransaction


class MempoolError(Exception):
    """Root of every error raised by the ``cybermiles_node.mempool`` package."""


class MempoolConfigError(MempoolError):
    """A pool configuration value out of range."""


class InvalidTransactionError(MempoolError):
    """A transaction that failed decoding or stateless validation in ``vm``."""


class InvalidSenderError(InvalidTransactionError):
    """The signature does not recover a sender."""


class InvalidChainIdError(InvalidTransactionError):
    """The transaction is signed for another chain."""


class TipAboveFeeCapError(InvalidTransactionError):
    """The priority fee per gas exceeds the maximum fee per gas."""


class IntrinsicGasError(InvalidTransactionError):
    """The gas limit does not cover the intrinsic gas of the transaction."""


class FloorDataGasError(InvalidTransactionError):
    """The gas limit does not cover the EIP-7623 calldata floor cost."""


class InitCodeSizeError(MempoolError):
    """A contract creation whose init code exceeds the EIP-3860 limit."""


class OversizedDataError(MempoolError):
    """The encoded transaction is larger than the pool accepts."""


class GasLimitError(MempoolError):
    """The gas limit exceeds the block gas limit."""


class TxGasLimitTooHighError(MempoolError):
    """The gas limit exceeds the per-transaction gas cap."""


class UnderpricedError(MempoolError):
    """The maximum fee per gas is below the pool's minimum gas price."""


class FeeCapTooLowError(MempoolError):
    """The maximum fee per gas is below the current block base fee."""


class NonceTooLowError(MempoolError):
    """The nonce has already been used by a committed transaction."""


class NonceTooHighError(MempoolError):
    """The nonce is further ahead of the account nonce than the pool queues."""


class InsufficientFundsError(MempoolError):
    """The balance does not cover gas * max fee per gas + value."""


class AlreadyKnownError(MempoolError):
    """The very same transaction is already in the pool."""


class ReplacementUnderpricedError(MempoolError):
    """A transaction with the same sender and nonce exists and the new one does not bump its fees enough."""


class PoolFullError(MempoolError):
    """The pool is full and the transaction does not outbid what could be evicted."""


class SponsorshipError(MempoolError):
    """A zero-price transaction that no sponsorship pays for, or that breaks its sponsor's bounds."""


_DECODE_ERROR_CLASSES: tuple[tuple[str, type[InvalidTransactionError]], ...] = (
    ("invalid sender", InvalidSenderError),
    ("invalid chain id", InvalidChainIdError),
    ("max priority fee per gas higher than max fee per gas", TipAboveFeeCapError),
)

# py-evm's own validation of legacy transactions reports a gas limit below the
# intrinsic gas in its own words; the pool reports it as geth does.
_PY_EVM_INTRINSIC_GAS_MESSAGE = "invalid transaction: Insufficient gas"


def from_decode_error(exc: InvalidTransaction) -> InvalidTransactionError:
    """The pool error for a ``vm`` decoding error, keeping its (geth-worded) message."""
    message = str(exc)
    if message == _PY_EVM_INTRINSIC_GAS_MESSAGE:
        return IntrinsicGasError("intrinsic gas too low")
    for prefix, error_class in _DECODE_ERROR_CLASSES:
        if message.startswith(prefix):
            return error_class(message)
    return InvalidTransactionError(message)
