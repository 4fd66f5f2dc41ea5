"""The prestate tracer: the accounts and storage slots a transaction touched, before and after.

An account or slot is recorded the first time anything (an opcode, py-evm's
transaction logic, a native contract, a block hook) is about to read or
change it, with its value at that moment, which is its value before the
transaction. ``diff`` then reads the same accounts and slots again and keeps
what changed, as geth's ``prestateTracer`` does with ``diffMode``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from eth.abc import StateAPI
from eth_typing import Address

from vm.errors import TraceLimitExceeded
from vm.tracing.tracer import Tracer

MAX_ENTRIES = 200_000


@dataclass
class AccountState:
    """An account's fields as a trace shows them; ``storage`` holds the slots that were touched."""

    balance: int
    nonce: int
    code: bytes
    exists: bool
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountChange:
    """The fields of an account that changed (None: unchanged) and its changed non-zero slots."""

    balance: int | None
    nonce: int | None
    code: bytes | None
    storage: dict[int, int]


@dataclass(frozen=True)
class StateDiff:
    """What changed: ``pre`` holds changed accounts as they were (only changed slots), ``post`` the changes.

    An account created by the transaction is only in ``post``; one it removed only in ``pre``.
    """

    pre: dict[bytes, AccountState]
    post: dict[bytes, AccountChange]


class PrestateTracer(Tracer):
    """Records the pre-transaction state of everything touched (at most ``max_entries`` accounts and slots)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.accounts: dict[bytes, AccountState] = {}
        self.changes: StateDiff | None = None  # set by ``finish``
        self._entries = 0

    def account(self, state: StateAPI, address: bytes) -> None:
        """Record ``address`` unless already recorded."""
        if address not in self.accounts:
            self._count()
            self.accounts[address] = _read_account(state, address)

    def storage(self, state: StateAPI, address: bytes, slot: int) -> None:
        """Record ``slot`` of ``address`` (and the account) unless already recorded."""
        self.account(state, address)
        slots = self.accounts[address].storage
        if slot not in slots:
            self._count()
            with state.untraced():  # type: ignore[attr-defined]
                slots[slot] = state.get_storage(Address(address), slot)

    def _count(self) -> None:
        self._entries += 1
        if self._entries > self.max_entries:
            raise TraceLimitExceeded(f"trace too large: more than {self.max_entries} accounts and storage slots")

    def finish(self, state: StateAPI) -> None:
        """Keep the transaction's changes (``changes``)."""
        self.changes = self.diff(state)

    def diff(self, state: StateAPI) -> StateDiff:
        """The changes between the recorded values and ``state`` now, as geth's ``diffMode`` shows them."""
        pre: dict[bytes, AccountState] = {}
        post: dict[bytes, AccountChange] = {}
        for address, before in self.accounts.items():
            after = _read_account(state, address)
            with state.untraced():  # type: ignore[attr-defined]
                after.storage = {slot: state.get_storage(Address(address), slot) for slot in before.storage}
            changed_slots = {slot for slot, value in before.storage.items() if after.storage[slot] != value}
            same = (before.balance, before.nonce, before.code, before.exists) == (
                after.balance, after.nonce, after.code, after.exists)
            if same and not changed_slots:
                continue
            if before.exists:
                pre[address] = AccountState(before.balance, before.nonce, before.code, True,
                                            {slot: before.storage[slot] for slot in sorted(changed_slots)})
            if after.exists:
                post[address] = AccountChange(
                    after.balance if after.balance != before.balance else None,
                    after.nonce if after.nonce != before.nonce else None,
                    after.code if after.code != before.code else None,
                    {slot: after.storage[slot] for slot in sorted(changed_slots) if after.storage[slot] != 0},
                )
        return StateDiff(pre, post)


def _read_account(state: StateAPI, address: bytes) -> AccountState:
    with state.untraced():  # type: ignore[attr-defined]
        return AccountState(state.get_balance(Address(address)), state.get_nonce(Address(address)), state.get_code(Address(address)),
                            state.account_exists(Address(address)))
