"""Merkle proofs of accounts and storage slots (EIP-1186, ``eth_getProof``).

An account proof is the list of RLP-encoded trie nodes from the state root
down to the account's leaf (or to where the path ends, proving absence),
keyed by ``keccak(address)``; a storage proof is the same in the account's
storage trie, keyed by ``keccak(slot as 32 bytes)``. Nodes shorter than 32
bytes are embedded in their parent and so are not listed, as in geth.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rlp
from eth.abc import DatabaseAPI
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from trie import HexaryTrie

from vm.trie_root import BLANK_ROOT_HASH

EMPTY_CODE_HASH = keccak(b"")


@dataclass(frozen=True)
class StorageProof:
    """A storage slot, its value and the nodes that prove it under the account's storage root."""

    slot: int
    value: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class AccountProof:
    """An account (zero fields when absent), the nodes that prove it, and proofs of some of its slots."""

    address: bytes
    balance: int
    nonce: int
    code_hash: bytes
    storage_root: bytes
    proof: tuple[bytes, ...]
    storage: tuple[StorageProof, ...]


def prove_account(db: DatabaseAPI, state_root: bytes, address: bytes, slots: Iterable[int]) -> AccountProof:
    """The proof of ``address`` and of its ``slots`` in the state at ``state_root``."""
    state_trie = HexaryTrie(db, state_root)
    account_key = keccak(address)
    encoded = state_trie.get(account_key)
    account = rlp.decode(encoded, sedes=Account) if encoded else Account(0, 0, BLANK_ROOT_HASH, EMPTY_CODE_HASH)
    storage_trie = HexaryTrie(db, account.storage_root)
    storage = []
    for slot in slots:
        slot_key = keccak(slot.to_bytes(32, "big"))
        stored = storage_trie.get(slot_key)
        value = rlp.decode(stored, sedes=rlp.sedes.big_endian_int) if stored else 0
        proof: tuple[bytes, ...] = ()
        if account.storage_root != BLANK_ROOT_HASH:
            proof = _encoded_nodes(storage_trie.get_proof(slot_key))  # type: ignore[no-untyped-call]
        storage.append(StorageProof(slot, value, proof))
    return AccountProof(
        address=address,
        balance=account.balance,
        nonce=account.nonce,
        code_hash=account.code_hash,
        storage_root=account.storage_root,
        proof=_encoded_nodes(state_trie.get_proof(account_key)),  # type: ignore[no-untyped-call]
        storage=tuple(storage),
    )


def _encoded_nodes(nodes: Iterable[Any]) -> tuple[bytes, ...]:
    """Trie nodes as RLP, leaving out those embedded in their parent (shorter than 32 bytes) but the root."""
    encoded = [rlp.encode(node) for node in nodes]
    return tuple(node for index, node in enumerate(encoded) if index == 0 or len(node) >= 32)
