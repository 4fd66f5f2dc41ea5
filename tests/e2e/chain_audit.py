"""Auditing a stopped node's chain database: balances against the staking contract's supply counters per height."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth.db.account import AccountDB
from eth_typing import Address
from trie import HexaryTrie
from trie.iter import NodeIterator

from consensus.types import Block, Header
from consensus.validators import ValidatorSet
from cybermiles_node.dpos_queries import DposQueries
from cybermiles_node.home import NodeHome
from cybermiles_node.natives import native_contracts
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from genesis.loader import load_genesis
from rpc.backend import DposSupply
from vm.execution import BlockEnv, ChainExecutor
from vm.native.addresses import STAKING_ADDRESS


@dataclass(frozen=True)
class HeightAudit:
    """One height of a node's chain: the summed balances of its state trie and the supply its counters record."""

    height: int
    block_hash: bytes
    balances: int
    staking_balance: int
    supply: DposSupply


@dataclass(frozen=True)
class ChainAudit:
    """Every height of a node's chain, its blocks (for commits and evidence) and the validator set in force."""

    heights: list[HeightAudit]
    blocks: list[Block]
    validator_sets: dict[int, ValidatorSet]  # from height 1 (the genesis block has no signers)


def _environment(chain_id: int) -> Callable[[Header], BlockEnv]:
    """The environment of a stored block, as far as the supply query reads it (number and time)."""
    def env(header: Header) -> BlockEnv:
        return BlockEnv(number=header.number, timestamp=header.timestamp, coinbase=header.coinbase,
                        gas_limit=header.gas_limit, base_fee=header.base_fee_per_gas, prev_randao=header.mix_hash,
                        chain_id=chain_id, recent_hashes=())
    return env


def audit_chain(home: Path) -> ChainAudit:
    """Walk every height of the (stopped) node at ``home``: sum all balances and read the supply counters.

    The counters are read by the same query ``cmt_querySupply`` answers with.
    """
    node_home = NodeHome.resolve(home)
    genesis = load_genesis(node_home.genesis)
    db = LevelDB(node_home.database)
    try:
        store = ChainStore(db)
        queries = DposQueries(ChainExecutor(native_contracts(genesis)), store.state_db, _environment(genesis.chain_id))
        heights, blocks, validator_sets = [], [], {}
        for height in range(store.latest_height() + 1):
            block = store.get_block_by_number(height)
            assert block is not None, f"block {height} missing"
            root = block.header.state_root
            balances = 0
            for value in NodeIterator(HexaryTrie(store.state_db(), root)).values():
                _nonce, balance, _storage, _code = rlp.decode(value)
                balances += int.from_bytes(balance, "big")
            staking_balance = AccountDB(store.state_db(), root).get_balance(Address(STAKING_ADDRESS))
            heights.append(HeightAudit(height, block.hash, balances, staking_balance,
                                       queries.supply(block.header)))
            blocks.append(block)
            if height > 0:
                validators = store.get_validator_set(height)
                assert validators is not None, f"no validator set at height {height}"
                validator_sets[height] = validators
        return ChainAudit(heights, blocks, validator_sets)
    finally:
        db.close()
