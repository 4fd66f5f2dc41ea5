"""State and block overrides of a call: what ``eth_call``'s third and fourth parameters change.

Overrides apply to the throw-away state of one call (or one simulation) and
never reach the chain. They follow geth's ``StateOverride`` and
``BlockOverrides``: per account a ``balance``, a ``nonce``, ``code``, and
either ``state`` (the whole storage replaced) or ``stateDiff`` (single slots
changed); per block the number, time, gas limit, fee recipient, PREVRANDAO and
base fee.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth.abc import StateAPI
from eth_typing import Address


@dataclass(frozen=True)
class AccountOverride:
    """What to change of one account before a call; None leaves a field as it is."""

    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: tuple[tuple[int, int], ...] | None = None  # the whole storage, replaced
    state_diff: tuple[tuple[int, int], ...] = ()  # single slots, changed


@dataclass(frozen=True)
class BlockOverrides:
    """Fields of the block a call runs in; None keeps the block's own value."""

    number: int | None = None
    time: int | None = None
    gas_limit: int | None = None
    fee_recipient: bytes | None = None
    prev_randao: bytes | None = None
    base_fee: int | None = None

    def env_changes(self) -> dict[str, int | bytes]:
        """The ``BlockEnv`` fields these overrides set, by field name."""
        changes = {
            "number": self.number, "timestamp": self.time, "gas_limit": self.gas_limit,
            "coinbase": self.fee_recipient, "prev_randao": self.prev_randao, "base_fee": self.base_fee,
        }
        return {name: value for name, value in changes.items() if value is not None}


StateOverrides = tuple[tuple[bytes, AccountOverride], ...]
"""Account overrides by 20-byte address, in the order they were given."""


@dataclass(frozen=True)
class CallOverrides:
    """The state and block overrides of one call."""

    state: StateOverrides = ()
    block: BlockOverrides | None = None


NO_OVERRIDES = CallOverrides()


def apply_state_overrides(state: StateAPI, overrides: Iterable[tuple[bytes, AccountOverride]]) -> None:
    """Write ``overrides`` into ``state`` (a call's throw-away state)."""
    for address, account in overrides:
        if account.balance is not None:
            state.set_balance(Address(address), account.balance)
        if account.nonce is not None:
            state.set_nonce(Address(address), account.nonce)
        if account.code is not None:
            state.set_code(Address(address), account.code)
        if account.state is not None:
            state.delete_storage(Address(address))
            for slot, value in account.state:
                state.set_storage(Address(address), slot, value)
        for slot, value in account.state_diff:
            state.set_storage(Address(address), slot, value)
