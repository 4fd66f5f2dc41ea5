"""Plain value transfers, applied without the EVM interpreter.

A transaction that only moves value runs no EVM code: no data, a positive
value, a recipient that holds no code and is neither a precompile nor a native
contract. Its whole effect is fixed by the protocol: the sender's nonce goes up
by one, the sender pays ``value`` plus the intrinsic gas at the effective gas
price, the recipient receives ``value`` and the coinbase the priority fee on
that gas (the base fee is burned); the receipt has status 1, no logs, and
uses exactly the intrinsic gas (21,000 plus any access list).

Blocks of payments are mostly such transactions, and py-evm spends about
0.4 ms on each building its message and computation and re-encoding the
accounts after every balance change. ``TransferLedger`` keeps the balances and
nonces they change as integers and writes each touched account into the py-evm
state once, before the next transaction that needs the EVM and at the end of
the block's transactions. Everything else goes to py-evm unchanged, including
any transfer whose outcome depends on EIP-161's removal of empty accounts (a
fee of zero to an empty coinbase). A differential test runs blocks mixing both
kinds through this path and through py-evm alone and compares state roots and
receipts.
"""
from __future__ import annotations

from collections.abc import Collection

from eth.abc import SignedTransactionAPI, StateAPI
from eth_typing import Address

MAX_NONCE = 2**64 - 1  # EIP-2681: a nonce never reaches this


class TransferLedger:
    """Balances and nonces changed by plain transfers, not yet written into ``state``."""

    def __init__(self, state: StateAPI, precompiles: Collection[bytes]) -> None:
        """``precompiles``: addresses whose calls run native code (precompiles and native contracts)."""
        self._state = state
        self._precompiles = precompiles
        self._coinbase = state.coinbase
        self._balances: dict[bytes, int] = {}
        self._nonces: dict[bytes, int] = {}

    # -- reads that see the pending changes ------------------------------------

    def get_balance(self, address: bytes) -> int:
        """The balance of ``address``, pending transfers included."""
        balance = self._balances.get(address)
        return self._state.get_balance(Address(address)) if balance is None else balance

    def get_nonce(self, address: bytes) -> int:
        """The nonce of ``address``, pending transfers included."""
        nonce = self._nonces.get(address)
        return self._state.get_nonce(Address(address)) if nonce is None else nonce

    def get_code(self, address: bytes) -> bytes:
        """The code of ``address`` (transfers never change code)."""
        return self._state.get_code(Address(address))

    # -- transfers -------------------------------------------------------------

    def is_plain_transfer(self, tx: SignedTransactionAPI) -> bool:
        """Whether ``tx`` (already found includable) is a plain value transfer this ledger can apply."""
        to = tx.to
        if not to or tx.data or tx.value <= 0 or tx.nonce >= MAX_NONCE - 1:
            return False
        if to in self._precompiles or self._state.get_code(to):
            return False
        # A zero fee only touches the coinbase; py-evm then removes it if it is empty (EIP-161).
        return self._state.get_tip(tx) > 0 or not self._is_empty(self._coinbase)

    def apply(self, tx: SignedTransactionAPI) -> int:
        """Apply the plain transfer ``tx``; returns the gas it used."""
        sender = tx.sender
        gas_used = tx.intrinsic_gas
        self._nonces[sender] = self.get_nonce(sender) + 1
        self._balances[sender] = self.get_balance(sender) - gas_used * self._state.get_gas_price(tx) - tx.value
        self._balances[tx.to] = self.get_balance(tx.to) + tx.value
        self._balances[self._coinbase] = self.get_balance(self._coinbase) + gas_used * self._state.get_tip(tx)
        return gas_used

    def flush(self) -> None:
        """Write the pending balances and nonces into the state, each account once."""
        for address, balance in self._balances.items():
            self._state.set_balance(Address(address), balance)
        for address, nonce in self._nonces.items():
            self._state.set_nonce(Address(address), nonce)
        self._balances.clear()
        self._nonces.clear()

    def _is_empty(self, address: bytes) -> bool:
        return self.get_balance(address) == 0 and self.get_nonce(address) == 0 and not self.get_code(address)
