"""Admission checks of a raw transaction against the pool limits and the latest state.

The checks run in geth's order: cheap stateless checks first (size, decoding
and signature, gas caps, intrinsic gas, prices), then the checks that read
state (nonce, balance). The balance must cover this transaction's own
maximum cost; like geth, the cost of the sender's other pooled transactions
is not added.
"""
from __future__ import annotations

from collections.abc import Callable

from eth.abc import SignedTransactionAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth_utils import to_checksum_address

from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.errors import (
    FeeCapTooLowError,
    FloorDataGasError,
    GasLimitError,
    InitCodeSizeError,
    InsufficientFundsError,
    IntrinsicGasError,
    NonceTooHighError,
    NonceTooLowError,
    OversizedDataError,
    TxGasLimitTooHighError,
    UnderpricedError,
    from_decode_error,
)
from cybermiles_node.mempool.model import PooledTx, StateView
from cybermiles_node.mempool.sponsored import SponsoredTxs, admit_sponsored
from vm.errors import InvalidTransaction
from vm.sponsorship.rule import zero_priced_target
from vm.transactions import decode_transaction


def validate_transaction(
    raw: bytes,
    tx_hash: bytes,
    seq: int,
    *,
    chain_id: int,
    config: MempoolConfig,
    state: StateView,
    base_fee: int,
    run_end: Callable[[bytes, int], int],
    decoded: SignedTransactionAPI | None = None,
    sponsored: SponsoredTxs | None = None,
) -> tuple[PooledTx, int]:
    """Check ``raw`` for admission; return it as a ``PooledTx`` numbered ``seq`` and the sender's state nonce.

    ``decoded`` is ``raw`` already decoded for ``chain_id`` (sender recovered),
    by a caller that did that work off the event loop.

    A transaction with gas price 0 to a sponsored contract is checked against
    its sponsorship instead of the minimum price and base fee (``sponsored``:
    the sponsored transactions already held, which count against it).

    ``run_end(sender, state_nonce)`` is the first nonce after the sender's
    pending run in the pool; a nonce more than ``max_queued_per_sender``
    beyond it is "nonce too high". Raises a ``MempoolError`` subclass worded
    as geth words it.
    """
    size = len(raw)
    if size > config.max_tx_bytes:
        raise OversizedDataError(f"oversized data: transaction size {size}, limit {config.max_tx_bytes}")
    try:
        tx = decoded if decoded is not None else decode_transaction(raw, chain_id)
    except InvalidTransaction as exc:
        raise from_decode_error(exc) from exc
    gas = tx.gas
    if gas > config.block_gas_limit:
        raise GasLimitError("exceeds block gas limit")
    if gas > config.max_tx_gas:
        raise TxGasLimitTooHighError(f"transaction gas limit too high (cap: {config.max_tx_gas}, tx: {gas})")
    if tx.to == CREATE_CONTRACT_ADDRESS and len(tx.data) > MAX_INITCODE_SIZE:
        raise InitCodeSizeError(f"max initcode size exceeded: code size {len(tx.data)}, limit {MAX_INITCODE_SIZE}")
    intrinsic = tx.intrinsic_gas
    if gas < intrinsic:
        raise IntrinsicGasError(f"intrinsic gas too low: gas {gas}, minimum needed {intrinsic}")
    floor = PragueTransactionExecutor.calc_data_floor_gas(tx, 0, 0)
    if gas < floor:
        raise FloorDataGasError(f"insufficient gas for floor data gas cost: gas {gas}, minimum needed {floor}")
    target = zero_priced_target(tx)
    sponsor = None
    if target is not None and sponsored is not None:
        sponsor = admit_sponsored(tx, target, state, base_fee, sponsored)
    max_fee = tx.max_fee_per_gas
    if max_fee < config.min_gas_price and sponsor is None:
        raise UnderpricedError(
            f"transaction underpriced: max fee per gas {max_fee}, minimum needed {config.min_gas_price}"
        )
    sender = tx.sender
    if max_fee < base_fee and sponsor is None:
        raise FeeCapTooLowError(
            f"max fee per gas less than block base fee: address {to_checksum_address(sender)}, "
            f"maxFeePerGas: {max_fee}, baseFee: {base_fee}"
        )
    pooled = PooledTx(
        tx=tx,
        raw=raw,
        hash=tx_hash,
        sender=sender,
        nonce=tx.nonce,
        gas=gas,
        max_fee=max_fee,
        tip=tx.max_priority_fee_per_gas,
        size=size,
        seq=seq,
        sponsor=sponsor,
    )
    state_nonce = state.get_nonce(sender)
    if pooled.nonce < state_nonce:
        raise NonceTooLowError(f"nonce too low: next nonce {state_nonce}, tx nonce {pooled.nonce}")
    if pooled.nonce > state_nonce + config.max_queued_per_sender:
        next_nonce = run_end(sender, state_nonce)
        if pooled.nonce > next_nonce + config.max_queued_per_sender:
            raise NonceTooHighError(
                f"nonce too high: next nonce {next_nonce}, tx nonce {pooled.nonce}, "
                f"at most {config.max_queued_per_sender} queued ahead"
            )
    balance = state.get_balance(sender)
    cost = pooled.cost
    if balance < cost:
        raise InsufficientFundsError(
            f"insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, "
            f"overshot {cost - balance}"
        )
    return pooled, state_nonce
