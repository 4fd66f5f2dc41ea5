"""py-evm's account database with the account encoding done by hand.

py-evm re-encodes an account through pyrlp's ``Serializable`` machinery, after
a ``copy`` of the account object, on every balance or nonce change: each
transaction changes the sender twice and the coinbase once, so this is a
tenth of an ERC-20 transfer's execution. ``FastAccountDB`` builds the changed
account with the plain constructor and encodes its four fields directly
(``encode_account``; the same bytes as pyrlp's, a property test checks it).
"""
from __future__ import annotations

from eth.db.account import AccountDB
from eth.rlp.accounts import Account
from eth.validation import validate_canonical_address, validate_uint64, validate_uint256
from eth_typing import Address


def _encode_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(data),)) + data


def encode_account(account: Account) -> bytes:
    """The RLP encoding of ``account`` (nonce, balance, storage root, code hash)."""
    payload = b"".join((_encode_int(account.nonce), _encode_int(account.balance),
                        b"\xa0", account.storage_root, b"\xa0", account.code_hash))
    # At most 9 + 33 + 66 bytes: a one-byte length always suffices.
    return (bytes((0xC0 + len(payload),)) if len(payload) < 56 else bytes((0xF8, len(payload)))) + payload


class FastAccountDB(AccountDB):
    """``AccountDB`` whose account writes skip pyrlp's ``Serializable`` copy and encoder."""

    def _set_account(self, address: Address, account: Account) -> None:
        self._account_cache[address] = account
        self._journaltrie[address] = encode_account(account)

    def set_balance(self, address: Address, balance: int) -> None:
        """Set the balance of ``address``."""
        validate_canonical_address(address, title="Storage Address")
        validate_uint256(balance, title="Account Balance")
        account = self._get_account(address)
        self._set_account(address, Account(account.nonce, balance, account.storage_root, account.code_hash))

    def set_nonce(self, address: Address, nonce: int) -> None:
        """Set the nonce of ``address``."""
        validate_canonical_address(address, title="Storage Address")
        validate_uint64(nonce, title="Nonce")
        account = self._get_account(address)
        self._set_account(address, Account(nonce, account.balance, account.storage_root, account.code_hash))
