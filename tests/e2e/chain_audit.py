"""Auditing a stopped node's chain database: balances against the staking contract's supply counters per height."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rlp
from eth.db.account import AccountDB
from trie import HexaryTrie
from trie.iter import NodeIterator

from consensus.dpos.supply import Supply, supply
from consensus.types import Block
from cybermiles_node.home import NodeHome
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from vm.native.addresses import STAKING_ADDRESS
from vm.native.framework import CallContext

ZERO_ADDRESS = b"\x00" * 20


@dataclass(frozen=True)
class HeightAudit:
    """One height of a node's chain: the summed balances of its state trie and the supply its counters record."""

    height: int
    block_hash: bytes
    balances: int
    staking_balance: int
    supply: Supply


@dataclass(frozen=True)
class ChainAudit:
    """Every height of a node's chain, and its blocks (for commits and evidence)."""

    heights: list[HeightAudit]
    blocks: list[Block]


def _ignore_log(address: bytes, topics: tuple[int, ...], data: bytes) -> None:
    """Views emit no events; a read-only context has nowhere to put one."""


def audit_chain(home: Path) -> ChainAudit:
    """Walk every height of the (stopped) node at ``home``: sum all balances and read the supply counters."""
    db = LevelDB(NodeHome.resolve(home).database)
    try:
        store = ChainStore(db)
        heights, blocks = [], []
        for height in range(store.latest_height() + 1):
            block = store.get_block_by_number(height)
            assert block is not None, f"block {height} missing"
            root = block.header.state_root
            balances = 0
            for value in NodeIterator(HexaryTrie(store.state_db(), root)).values():
                _nonce, balance, _storage, _code = rlp.decode(value)
                balances += int.from_bytes(balance, "big")
            accounts = AccountDB(store.state_db(), root)
            context = CallContext(accounts, STAKING_ADDRESS, sender=ZERO_ADDRESS, value=0, is_static=True,
                                  consume_gas=None, add_log=_ignore_log)
            heights.append(HeightAudit(height, block.hash, balances, accounts.get_balance(STAKING_ADDRESS),
                                       supply(context)))
            blocks.append(block)
        return ChainAudit(heights, blocks)
    finally:
        db.close()
