"""Sponsored transactions in a block: the bounds checked at execution and the fee paid from the deposit.

The fee is paid as an ordinary purchase of gas, with the deposit as the
purse: before the transaction runs, ``gas limit x base fee`` moves from the
target's deposit (the sponsor contract's balance) to the sender, py-evm buys
the gas with it at a gas price of exactly the base fee (so the tip is 0), and
afterwards what py-evm refunded to the sender (the unused gas) goes back to the
deposit. The sender's balance ends where it began; ``gas used x base fee``
left the deposit and was burned like every base fee. The transaction's window
count and the block's sponsored gas are recorded before it runs, so a reverted
call counts too. A ``GasSponsored`` log of the sponsor contract is added as the
last log of the receipt.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import eth_abi
from eth.abc import SignedTransactionAPI, StateAPI
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak
from eth_typing import Address

from vm.native.addresses import SPONSOR_ADDRESS
from vm.receipts import Log
from vm.sponsorship.records import (
    Sponsorship,
    load_balance,
    load_sponsorship,
    load_window,
    store_balance,
    store_window,
)
from vm.sponsorship.rule import sponsorship_problem, zero_priced_target

GAS_SPONSORED_EVENT = "GasSponsored(address,address,uint256,uint256)"
GAS_SPONSORED_TOPIC = keccak(GAS_SPONSORED_EVENT.encode())

Outcome = TypeVar("Outcome")
SPONSOR = Address(SPONSOR_ADDRESS)


def gas_sponsored_log(target: bytes, sender: bytes, gas_used: int, fee: int) -> Log:
    """The ``GasSponsored`` log of the sponsor contract for one transaction."""
    return Log(
        address=SPONSOR_ADDRESS,
        topics=(GAS_SPONSORED_TOPIC, target.rjust(32, b"\x00"), sender.rjust(32, b"\x00")),
        data=eth_abi.encode(["uint256", "uint256"], [gas_used, fee]),
    )


class BlockSponsorship:
    """The sponsored transactions of one block, on the block's py-evm state."""

    def __init__(self, state: StateAPI) -> None:
        self._state = state
        self._block_gas: dict[bytes, int] = {}

    def _read(self, slot: int) -> int:
        return self._state.get_storage(SPONSOR, slot)

    def _write(self, slot: int, value: int) -> None:
        self._state.set_storage(SPONSOR, slot, value)

    @property
    def _base_fee(self) -> int:
        return self._state.execution_context.base_fee_per_gas or 0

    def sponsorship_of(self, tx: SignedTransactionAPI) -> Sponsorship | None:
        """The sponsorship paying for ``tx``: its zero-price call's target's, if configured."""
        target = zero_priced_target(tx)
        return None if target is None else load_sponsorship(self._read, target)

    def problem(self, tx: SignedTransactionAPI, sponsorship: Sponsorship) -> str | None:
        """Why the sponsored ``tx`` cannot be included at this point of the block, or None."""
        target = bytes(tx.to)
        return sponsorship_problem(
            target, sponsorship, sender=tx.sender, gas=tx.gas, value=tx.value,
            base_fee=self._base_fee, now=self._state.timestamp,
            window=load_window(self._read, target, tx.sender), block_gas=self._block_gas.get(target, 0),
        )

    def apply(self, tx: SignedTransactionAPI, sponsorship: Sponsorship, run: Callable[[SignedTransactionAPI], Outcome],
              gas_used_of: Callable[[Outcome], int]) -> tuple[Outcome, Log]:
        """Run the sponsored ``tx`` with ``run`` (given it priced at the base fee), paying its fee from the deposit.

        ``gas_used_of`` reads the gas used from what ``run`` returned. Returns
        that and the ``GasSponsored`` log.
        """
        state, target, sender = self._state, bytes(tx.to), tx.sender
        base_fee = self._base_fee
        reserve = tx.gas * base_fee
        store_balance(self._write, target, sponsorship.balance - reserve)
        state.delta_balance(SPONSOR, -reserve)
        state.delta_balance(sender, reserve)
        window = load_window(self._read, target, sender)
        store_window(self._write, target, sender, window.after_one_more(state.timestamp, sponsorship.bounds.window_seconds))
        self._block_gas[target] = self._block_gas.get(target, 0) + tx.gas
        outcome = run(priced_at(tx, base_fee))
        gas_used = gas_used_of(outcome)
        refund = (tx.gas - gas_used) * base_fee
        state.delta_balance(sender, -refund)
        state.delta_balance(SPONSOR, refund)
        after = load_balance(self._read, target)  # the call itself may have deposited or withdrawn
        store_balance(self._write, target, after + refund)
        return outcome, gas_sponsored_log(target, sender, gas_used, gas_used * base_fee)


def priced_at(tx: SignedTransactionAPI, base_fee: int) -> SignedTransactionAPI:
    """``tx`` as py-evm should charge it: a gas price (and fee cap) of ``base_fee``, no tip.

    py-evm's ``SpoofTransaction`` answers every other attribute from ``tx`` itself.
    """
    spoofed = SpoofTransaction(tx, gas_price=base_fee, max_fee_per_gas=base_fee, max_priority_fee_per_gas=0)
    return cast(SignedTransactionAPI, spoofed)
