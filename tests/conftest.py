"""Shared fixtures: an executor over an in-memory state database, and application nodes over LevelDB."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eth.db.account import AccountDB
from eth.db.backends.memory import MemoryDB
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from consensus.keys import ValidatorKey
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.beacon import key_reveals
from cybermiles_node.natives import local_chain_genesis
from cybermiles_node.storage import ChainStore, LevelDB
from genesis.document import GenesisDocument
from genesis.networks import dev_accounts
from vm.execution import (
    BlockEnv,
    CallMessage,
    CallOutcome,
    ChainExecutor,
    ExecutionResult,
    GenesisAccount,
)
from vm.native.framework import NativeContract
from vm.native.hooks import ConsensusInfo
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9
ETHER = 10**18
GENESIS_TIME = 1_700_000_000
COINBASE = bytes.fromhex("c0" * 20)
VALIDATOR_SEED = keccak(b"cmnode test validator")


def _sign_tx(account: LocalAccount, chain_id: int = CHAIN_ID, **fields: Any) -> Any:
    """Sign ``fields`` (EIP-1559 unless ``gasPrice`` is given) and decode the result as the chain does."""
    tx = {"nonce": 0, "gas": 100_000, "value": 0, "data": b"", "chainId": chain_id, **fields}
    if "gasPrice" not in tx:
        tx.setdefault("maxFeePerGas", 10 * GWEI)
        tx.setdefault("maxPriorityFeePerGas", 1 * GWEI)
    raw = bytes(account.sign_transaction(tx).raw_transaction)
    return decode_transaction(raw, chain_id)


class MemoryChain:
    """A chain of executed blocks over an in-memory database, applying each block's writes as storage does."""

    def __init__(self, executor: ChainExecutor, accounts: Sequence[GenesisAccount]) -> None:
        self.executor = executor
        self.db = MemoryDB()
        self.root, writes = executor.genesis_state(self.db, accounts)
        self.apply(writes)
        self.number = 0
        self.hashes: list[bytes] = [keccak(b"block 0")]  # newest first

    def apply(self, writes: dict[bytes, bytes | None]) -> None:
        """Write a block's captured state writes into the database."""
        for key, value in sorted(writes.items()):
            if value is not None:
                self.db[key] = value

    def env(self, *, timestamp: int = GENESIS_TIME + 10, base_fee: int = GWEI, gas_limit: int = 30_000_000,
            coinbase: bytes = COINBASE, consensus: ConsensusInfo | None = None) -> BlockEnv:
        """The environment of the next block."""
        return BlockEnv(
            number=self.number + 1, timestamp=timestamp, coinbase=coinbase, gas_limit=gas_limit,
            base_fee=base_fee, prev_randao=self.hashes[0], chain_id=CHAIN_ID,
            recent_hashes=tuple(self.hashes[:256]), consensus=consensus or ConsensusInfo(),
        )

    def execute(self, txs: Sequence[Any], *, strict: bool = False, **env: Any) -> ExecutionResult:
        """Execute and commit the next block."""
        result = self.executor.execute_block(self.db, self.root, self.env(**env), txs, strict=strict)
        self.apply(result.state_writes)
        self.root = result.state_root
        self.number += 1
        self.hashes.insert(0, keccak(b"block %d" % self.number))
        return result

    def call(self, message: CallMessage, **env: Any) -> CallOutcome:
        """Run ``message`` on the latest state in the next block's environment."""
        return self.executor.call(self.db, self.root, self.env(**env), message)

    @property
    def state(self) -> AccountDB:
        """The accounts at the latest state root."""
        return AccountDB(self.db, self.root)


@pytest.fixture(scope="session")
def sign_tx() -> Callable[..., Any]:
    """``sign_tx(account, **fields)``: a signed transaction for chain 15, decoded (sender cached)."""
    return _sign_tx


@pytest.fixture(scope="session")
def dev_keys() -> list[LocalAccount]:
    """The 20 funded development accounts of the local network, as signing accounts."""
    return [Account.from_key(account.private_key) for account in dev_accounts()]


@pytest.fixture(scope="session")
def validator_key() -> ValidatorKey:
    """The consensus key of the local network's only validator."""
    return ValidatorKey(seed=VALIDATOR_SEED)


@pytest.fixture(scope="session")
def genesis(validator_key: ValidatorKey) -> GenesisDocument:
    """The local network's genesis, with ``validator_key`` as its validator."""
    return local_chain_genesis(validator_key.public_key, genesis_time=GENESIS_TIME, chain_id=CHAIN_ID)


@pytest.fixture
def memory_chain() -> Callable[..., MemoryChain]:
    """Factory: ``memory_chain(accounts, natives=())`` starts a chain from those genesis accounts."""

    def make(accounts: Sequence[GenesisAccount], natives: Sequence[NativeContract] = ()) -> MemoryChain:
        return MemoryChain(ChainExecutor(natives), accounts)

    return make


class Node:
    """One application over its own LevelDB directory."""

    def __init__(self, path: Path, genesis: GenesisDocument) -> None:
        self.path = path
        self.db = LevelDB(path)
        self.store = ChainStore(self.db)
        self.app = CyberMilesApp(self.store, genesis)
        self.app.reveals = key_reveals(ValidatorKey(VALIDATOR_SEED), genesis.chain_id)

    def close(self) -> None:
        """Close the database (as a stopping node does)."""
        if not self.db.closed:
            self.db.close()


@pytest.fixture
def open_node(tmp_path: Path, genesis: GenesisDocument) -> Iterator[Callable[[str], Node]]:
    """Factory: ``open_node(name)`` opens (or reopens) the node whose database is ``tmp_path/name``."""
    opened: list[Node] = []

    def make(name: str) -> Node:
        node = Node(tmp_path / name, genesis)
        opened.append(node)
        return node

    yield make
    for node in opened:
        node.close()
