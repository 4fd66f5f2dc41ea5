"""When a transaction is sponsored, and the bounds it must keep.

A transaction is a *candidate* for sponsorship when its gas price is 0
(legacy ``gasPrice`` 0; typed transactions ``maxFeePerGas`` 0, which forces a
tip of 0) and it calls an address. It is *sponsored* when that address has a
configured sponsorship; then it must carry no value, keep the sponsor's bounds
and find the deposit able to cover ``gas limit x base fee``.

``sponsorship_problem`` is the one statement of those bounds: the mempool
calls it with the sponsored transactions it already holds for the target
(their gas and the sender's count), block execution with the gas already
sponsored in the block.
"""
from __future__ import annotations

from eth.abc import SignedTransactionAPI

from vm.sponsorship.records import SenderWindow, Sponsorship

MIN_TX_GAS = 21_000
MAX_WINDOW_SECONDS = 366 * 24 * 3600


def hex_address(address: bytes) -> str:
    """``address`` as 0x and lowercase hex, as the messages show it."""
    return "0x" + address.hex()


def zero_priced_target(tx: SignedTransactionAPI) -> bytes | None:
    """The called address of a transaction with gas price 0 (a candidate for sponsorship), else None."""
    if tx.max_fee_per_gas != 0 or not tx.to:
        return None
    return bytes(tx.to)


def no_sponsorship_message(target: bytes) -> str:
    """The refusal of a zero-price transaction to an address nobody sponsors."""
    return f"no sponsorship for {hex_address(target)}: gas price 0 is only accepted for sponsored contracts"


def sponsorship_problem(
    target: bytes,
    sponsorship: Sponsorship,
    *,
    sender: bytes,
    gas: int,
    value: int,
    base_fee: int,
    now: int,
    window: SenderWindow,
    held_gas: int = 0,
    held_txs: int = 0,
    block_gas: int = 0,
) -> str | None:
    """Why a zero-price transaction to ``target`` cannot be sponsored now, or None.

    ``now`` is the block time the window is judged at; ``held_gas`` and
    ``held_txs`` are the gas limits of the sponsored transactions to ``target``
    already waiting (all senders) and how many of them are ``sender``'s;
    ``block_gas`` the gas limits already sponsored for ``target`` in the block.
    """
    where = hex_address(target)
    if value:
        return f"a sponsored transaction carries no value: value {value} wei to {where}"
    bounds = sponsorship.bounds
    if gas > bounds.max_gas_per_tx:
        return f"gas limit {gas} exceeds the {bounds.max_gas_per_tx} gas per transaction that {where} sponsors"
    if block_gas + gas > bounds.max_gas_per_block:
        return (f"sponsored gas of {where} in this block would reach {block_gas + gas}, "
                f"over its bound of {bounds.max_gas_per_block} per block")
    used = window.used_at(now, bounds.window_seconds)
    if used + held_txs >= bounds.max_txs_per_sender:
        ends = (window.start if used else now) + bounds.window_seconds
        return (f"sender {hex_address(sender)} used its {bounds.max_txs_per_sender} sponsored transactions of this "
                f"window to {where} (the window ends at block time {ends})")
    needs = (held_gas + gas) * base_fee
    if sponsorship.balance < needs:
        return f"sponsorship of {where} is drained (balance {sponsorship.balance} wei, needs {needs})"
    return None
