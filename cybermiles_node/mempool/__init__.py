"""The node's transaction pool: validated transactions waiting for a block.

``Mempool`` admits raw transactions (``check_tx``/``add``), keeps each
sender's transactions in nonce order as pending (executable now) or queued
(behind a nonce gap), picks the next block's transactions (``reap``) and
re-checks itself after every committed block (``update``). Rejections raise
``MempoolError`` subclasses worded as geth words them.
"""
from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.errors import (
    AlreadyKnownError,
    FeeCapTooLowError,
    FloorDataGasError,
    GasLimitError,
    InitCodeSizeError,
    InsufficientFundsError,
    IntrinsicGasError,
    InvalidChainIdError,
    InvalidSenderError,
    InvalidTransactionError,
    MempoolConfigError,
    MempoolError,
    NonceTooHighError,
    NonceTooLowError,
    OversizedDataError,
    PoolFullError,
    ReplacementUnderpricedError,
    TipAboveFeeCapError,
    TxGasLimitTooHighError,
    UnderpricedError,
)
from cybermiles_node.mempool.model import MempoolStats, PooledTx, StateView
from cybermiles_node.mempool.pool import Mempool

__all__ = [
    "AlreadyKnownError",
    "FeeCapTooLowError",
    "FloorDataGasError",
    "GasLimitError",
    "InitCodeSizeError",
    "InsufficientFundsError",
    "IntrinsicGasError",
    "InvalidChainIdError",
    "InvalidSenderError",
    "InvalidTransactionError",
    "Mempool",
    "MempoolConfig",
    "MempoolConfigError",
    "MempoolError",
    "MempoolStats",
    "NonceTooHighError",
    "NonceTooLowError",
    "OversizedDataError",
    "PoolFullError",
    "PooledTx",
    "ReplacementUnderpricedError",
    "StateView",
    "TipAboveFeeCapError",
    "TxGasLimitTooHighError",
    "UnderpricedError",
]
