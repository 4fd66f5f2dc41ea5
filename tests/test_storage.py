"""Tests of the storage layer: LevelDB backend, prefixed views, py-evm state, chain store and log queries."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import rlp
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.db.batch import BatchDB
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trie.constants import BLANK_NODE_HASH

from consensus.types import (
    EMPTY_COMMIT,
    EMPTY_OMMERS_HASH,
    ZERO_HASH32,
    Block,
    Commit,
    CommitSig,
    Header,
)
from cybermiles_node.storage import (
    BlockNotFound,
    ChainStore,
    DatabaseClosed,
    DatabaseCorrupted,
    DatabaseLocked,
    InvalidBlockCommit,
    InvalidKey,
    InvalidLogQuery,
    LevelDB,
    MetaName,
    PrefixedDB,
    ReservedMetaKey,
    SchemaVersionMismatch,
    TooManyLogs,
    codec,
    schema,
)
from vm.receipts import Log, Receipt, logs_bloom

REPO_ROOT = Path(__file__).resolve().parents[1]


# -- builders -------------------------------------------------------------------


def _addr(n: int) -> bytes:
    return n.to_bytes(20, "big")


def _topic(n: int) -> bytes:
    return n.to_bytes(32, "big")


def make_receipt(tx_hash: bytes, index: int, logs: tuple[Log, ...] = (), gas: int = 21000) -> Receipt:
    """A receipt of a successful transaction."""
    return Receipt(
        tx_hash=tx_hash,
        tx_index=index,
        tx_type=2,
        sender=_addr(0xAA),
        to=_addr(0xBB),
        contract_address=None,
        status=1,
        gas_used=gas,
        cumulative_gas_used=gas * (index + 1),
        effective_gas_price=10**9,
        logs=logs,
    )


def make_block(
    parent_hash: bytes,
    height: int,
    txs: list[bytes],
    receipts: list[Receipt],
    state_root: bytes = BLANK_NODE_HASH,
    last_commit: Commit = EMPTY_COMMIT,
) -> Block:
    """A block whose header carries the bloom of ``receipts``."""
    header = Header(
        parent_hash=parent_hash,
        ommers_hash=EMPTY_OMMERS_HASH,
        coinbase=_addr(7),
        state_root=state_root,
        transactions_root=keccak(b"".join(txs)),
        receipts_root=ZERO_HASH32,
        logs_bloom=logs_bloom([log for r in receipts for log in r.logs]),
        difficulty=0,
        number=height,
        gas_limit=30_000_000,
        gas_used=sum(r.gas_used for r in receipts),
        timestamp=1_700_000_000 + height,
        extra_data=b"",
        mix_hash=ZERO_HASH32,
        nonce=b"\x00" * 8,
        base_fee_per_gas=10**9,
        chain_id=18,
        proposer_address=_addr(7),
        validators_hash=ZERO_HASH32,
        next_validators_hash=ZERO_HASH32,
        last_commit_hash=last_commit.hash,
        evidence_hash=ZERO_HASH32,
        randao_reveal=b"\x00" * 32,
    )
    return Block(header=header, transactions=txs, last_commit=last_commit, evidence=[])


def seen_commit_for(block: Block) -> Commit:
    """A commit with one signature for ``block``."""
    return Commit(
        height=block.number,
        round=0,
        block_hash=block.hash,
        signatures=[CommitSig(validator_address=_addr(7), timestamp_ms=block.number, signature=b"\x01" * 65)],
    )


def next_block(
    store: ChainStore, tx_logs: list[tuple[Log, ...]], state_root: bytes = BLANK_NODE_HASH
) -> tuple[Block, list[Receipt], Commit | None]:
    """The block following the store's last block, one transaction per entry of ``tx_logs``."""
    height = store.latest_height() + 1
    parent = store.get_hash_by_number(height - 1) or ZERO_HASH32
    txs = [b"tx-%d-%d" % (height, i) for i in range(len(tx_logs))]
    receipts = [make_receipt(keccak(tx), i, logs) for i, (tx, logs) in enumerate(zip(txs, tx_logs))]
    last_commit = store.get_seen_commit(height - 1) or EMPTY_COMMIT
    block = make_block(parent, height, txs, receipts, state_root, last_commit)
    return block, receipts, (seen_commit_for(block) if height else None)


def commit_next(store: ChainStore, tx_logs: list[tuple[Log, ...]]) -> tuple[Block, list[Receipt]]:
    """Build and commit the next block."""
    block, receipts, commit = next_block(store, tx_logs)
    store.commit_block(block, receipts, commit, {})
    return block, receipts


def state_changes(store: ChainStore, root: bytes, balances: dict[bytes, int]) -> tuple[bytes, dict[bytes, bytes]]:
    """Apply balances on top of ``root`` the way block execution does; return new root and py-evm writes."""
    collector = BatchDB(store.state_db())
    accounts = AccountDB(AtomicDB(collector), root)
    for address in sorted(balances):
        accounts.set_balance(address, balances[address])
    accounts.persist()
    return accounts.state_root, dict(collector.diff().pending_items())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chaindata"


@pytest.fixture
def db(db_path: Path) -> Iterator[LevelDB]:
    database = LevelDB(db_path)
    yield database
    database.close()


@pytest.fixture
def store(db: LevelDB) -> ChainStore:
    return ChainStore(db)


# -- schema -----------------------------------------------------------------------


def test_height_keys_sort_in_numeric_order() -> None:
    heights = [0, 1, 2, 255, 256, 65535, 65536, 2**40, 2**64 - 1]
    keys = [schema.canonical_hash_key(h) for h in heights]
    assert sorted(keys) == keys
    assert all(len(k) == 9 for k in keys)


def test_key_builders_reject_bad_components() -> None:
    with pytest.raises(InvalidKey):
        schema.header_key(b"\x01" * 31)
    with pytest.raises(InvalidKey):
        schema.canonical_hash_key(-1)
    with pytest.raises(InvalidKey):
        schema.seen_commit_key(2**64)
    with pytest.raises(InvalidKey):
        schema.meta_key(b"")


def test_prefixes_are_distinct() -> None:
    prefixes = [
        schema.STATE_PREFIX, schema.HEADER_PREFIX, schema.CANONICAL_HASH_PREFIX, schema.BODY_PREFIX,
        schema.SEEN_COMMIT_PREFIX, schema.RECEIPT_PREFIX, schema.TX_LOCATION_PREFIX,
        schema.LOG_BLOOM_PREFIX, schema.META_PREFIX, schema.WEBHOOK_OUTBOX_PREFIX,
    ]
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(p) == 1 for p in prefixes)


# -- LevelDB ----------------------------------------------------------------------


def test_item_access(db: LevelDB) -> None:
    db[b"a"] = b"1"
    assert db[b"a"] == b"1"
    assert b"a" in db and db.exists(b"a")
    assert b"b" not in db
    with pytest.raises(KeyError):
        db[b"b"]
    del db[b"a"]
    assert b"a" not in db
    with pytest.raises(KeyError):
        del db[b"a"]
    db.delete(b"a")  # py-evm's tolerant delete


def test_atomic_batch_commits_on_success(db: LevelDB) -> None:
    db[b"old"] = b"x"
    with db.atomic_batch() as batch:
        batch[b"k1"] = b"v1"
        batch[b"k2"] = b"v2"
        del batch[b"old"]
        assert batch[b"k1"] == b"v1"
        assert b"old" not in batch
        assert b"k1" not in db  # not visible before the batch ends
        assert db[b"old"] == b"x"
    assert db[b"k1"] == b"v1" and db[b"k2"] == b"v2"
    assert b"old" not in db


def test_atomic_batch_interrupted_by_exception_leaves_nothing(db: LevelDB) -> None:
    db[b"keep"] = b"1"
    with pytest.raises(RuntimeError, match="boom"), db.atomic_batch() as batch:
        batch[b"k1"] = b"v1"
        del batch[b"keep"]
        raise RuntimeError("boom")
    assert b"k1" not in db
    assert db[b"keep"] == b"1"


def test_batch_cannot_be_used_after_its_block(db: LevelDB) -> None:
    from cybermiles_node.storage import StorageError

    with db.atomic_batch() as batch:
        batch[b"k"] = b"v"
    with pytest.raises(StorageError):
        batch[b"k2"] = b"v"
    assert b"k2" not in db


def test_write_applies_puts_and_deletes(db: LevelDB) -> None:
    db[b"gone"] = b"1"
    db.write({b"a": b"1", b"b": b"2"}, [b"gone"], sync=True)
    assert (db[b"a"], db[b"b"], b"gone" in db) == (b"1", b"2", False)


def test_reopen_after_close_gives_identical_data(db_path: Path) -> None:
    items = {os.urandom(8) + bytes([i]): os.urandom(i * 10) for i in range(100)}
    with LevelDB(db_path) as db:
        db.write(items, (), sync=True)
    with LevelDB(db_path) as db:
        assert dict(db.iterate()) == items


def test_closed_database_raises_typed_error(db_path: Path) -> None:
    db = LevelDB(db_path)
    db.close()
    assert db.closed
    with pytest.raises(DatabaseClosed):
        db[b"a"]
    with pytest.raises(DatabaseClosed):
        db[b"a"] = b"b"


def test_second_open_in_same_process_is_locked(db: LevelDB, db_path: Path) -> None:
    with pytest.raises(DatabaseLocked, match="in use by another process"):
        LevelDB(db_path)


def test_open_while_another_process_holds_it_is_locked(db: LevelDB, db_path: Path) -> None:
    code = (
        "import sys\n"
        "from cybermiles_node.storage import LevelDB, DatabaseLocked\n"
        "try:\n"
        "    LevelDB(sys.argv[1])\n"
        "except DatabaseLocked as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db_path)],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert "is the node already running?" in out.stdout, out.stderr


def test_corrupted_database_raises_typed_error(db_path: Path) -> None:
    LevelDB(db_path).close()
    (db_path / "CURRENT").write_bytes(b"garbage")
    with pytest.raises(DatabaseCorrupted, match="corrupted"):
        LevelDB(db_path)


_small_bytes = st.binary(min_size=1, max_size=4)
_operation = st.one_of(
    st.tuples(st.just("put"), _small_bytes, st.binary(max_size=8)),
    st.tuples(st.just("delete"), _small_bytes),
    st.tuples(st.just("batch"), st.lists(st.tuples(_small_bytes, st.binary(max_size=8)), max_size=5),
              st.booleans()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation, max_size=30))
def test_leveldb_behaves_like_a_dict(tmp_path: Path, operations: list[tuple]) -> None:
    model: dict[bytes, bytes] = {}
    path = tmp_path / os.urandom(8).hex()
    with LevelDB(path) as db:
        for operation in operations:
            if operation[0] == "put":
                db[operation[1]] = model[operation[1]] = operation[2]
            elif operation[0] == "delete":
                db.delete(operation[1])
                model.pop(operation[1], None)
            else:
                _, puts, fail = operation
                try:
                    with db.atomic_batch() as batch:
                        for key, value in puts:
                            batch[key] = value
                        if fail:
                            raise ValueError("abort")
                except ValueError:
                    continue
                model.update(puts)
    with LevelDB(path) as db:
        assert dict(db.iterate()) == model


_hash32 = st.binary(min_size=32, max_size=32)
_address = st.binary(min_size=20, max_size=20)
_receipts = st.builds(
    Receipt,
    tx_hash=_hash32,
    tx_index=st.integers(0, 2**32 - 1),
    tx_type=st.sampled_from([0, 1, 2]),
    sender=_address,
    to=st.none() | _address,
    contract_address=st.none() | _address,
    status=st.sampled_from([0, 1]),
    gas_used=st.integers(0, 2**64 - 1),
    cumulative_gas_used=st.integers(0, 2**64 - 1),
    effective_gas_price=st.integers(0, 2**256 - 1),
    logs=st.lists(
        st.builds(Log, address=_address, topics=st.lists(_hash32, max_size=4).map(tuple), data=st.binary(max_size=64)),
        max_size=3,
    ).map(tuple),
)


@given(receipt=_receipts)
def test_receipt_encoding_round_trips(receipt: Receipt) -> None:
    data = codec.encode_receipt(receipt)
    assert codec.decode_receipt(data) == receipt
    tx_hash, logs = codec.decode_receipt_logs(data)
    assert tx_hash == receipt.tx_hash
    assert [Log(log.address, tuple(log.topics), log.data) for log in logs] == list(receipt.logs)


def test_undecodable_record_is_reported_corrupted() -> None:
    with pytest.raises(DatabaseCorrupted, match="receipt"):
        codec.decode_receipt(b"\xc1\x01")
    with pytest.raises(DatabaseCorrupted, match="header"):
        codec.decode_header(b"\x80")


# -- PrefixedDB -------------------------------------------------------------------


def test_prefixed_views_are_isolated(db: LevelDB) -> None:
    left, right = PrefixedDB(db, b"L"), PrefixedDB(db, b"R")
    left[b"k"] = b"left"
    right[b"k"] = b"right"
    db[b"k"] = b"raw"
    assert (left[b"k"], right[b"k"], db[b"k"]) == (b"left", b"right", b"raw")
    assert db[b"Lk"] == b"left"
    del left[b"k"]
    assert b"k" not in left and right[b"k"] == b"right" and db[b"k"] == b"raw"
    with pytest.raises(KeyError):
        left[b"k"]


def test_prefixed_batch_is_atomic(db: LevelDB) -> None:
    view = PrefixedDB(db, b"P")
    with pytest.raises(ValueError), view.atomic_batch() as batch:
        batch[b"a"] = b"1"
        assert batch[b"a"] == b"1"
        raise ValueError("abort")
    assert b"a" not in view and b"Pa" not in db
    with view.atomic_batch() as batch:
        batch[b"a"] = b"1"
    assert view[b"a"] == b"1" and db[b"Pa"] == b"1"


# -- py-evm state -----------------------------------------------------------------


def test_pyevm_account_state_survives_reopen(db_path: Path) -> None:
    alice, bob = _addr(1), _addr(2)
    with LevelDB(db_path) as db:
        accounts = AccountDB(PrefixedDB(db, schema.STATE_PREFIX), BLANK_NODE_HASH)
        accounts.set_balance(alice, 10**18)
        accounts.set_code(bob, b"\x60\x00")
        accounts.set_storage(bob, 1, 42)
        accounts.make_state_root()
        accounts.persist()
        root = accounts.state_root
    with LevelDB(db_path) as db:
        accounts = AccountDB(PrefixedDB(db, schema.STATE_PREFIX), root)
        assert accounts.get_balance(alice) == 10**18
        assert accounts.get_code(bob) == b"\x60\x00"
        assert accounts.get_storage(bob, 1) == 42
        assert root not in db  # trie nodes live only under the state prefix


# -- ChainStore -------------------------------------------------------------------


def _transfer_log(token: int, sender: int, receiver: int) -> Log:
    return Log(_addr(token), (_topic(0xDD), _topic(sender), _topic(receiver)), b"\x00" * 31 + b"\x05")


def test_empty_store(store: ChainStore) -> None:
    assert store.latest_height() == -1
    assert store.get_block_by_number(0) is None
    assert store.get_header(b"\x00" * 32) is None
    assert store.get_tx_location(b"\x00" * 32) is None
    assert store.get_receipts(b"\x00" * 32) == []
    assert store.find_logs(0, 10, [], [], 100) == []
    with pytest.raises(BlockNotFound):
        store.recent_hashes(0)


def test_commit_and_read_every_kind(store: ChainStore) -> None:
    genesis, _ = commit_next(store, [])
    logs = (_transfer_log(9, 1, 2), Log(_addr(8), (), b"data"))
    block, receipts = commit_next(store, [logs, ()])
    assert store.latest_height() == 1

    assert store.get_hash_by_number(0) == genesis.hash
    assert store.get_hash_by_number(1) == block.hash
    assert store.get_header(block.hash) == block.header
    assert store.get_header_by_number(1).hash == block.hash
    assert store.get_block_by_hash(block.hash) == block
    assert store.get_block_by_number(1) == block
    assert store.get_block_by_number(1).last_commit == EMPTY_COMMIT  # nobody votes on genesis
    third, _ = commit_next(store, [])
    assert store.get_block_by_number(2).last_commit == seen_commit_for(block)
    assert store.get_block_by_number(3) is None
    assert store.get_receipts(block.hash) == receipts
    assert store.get_receipt(block.hash, 1) == receipts[1]
    assert store.get_receipt(block.hash, 2) is None
    location = store.get_tx_location(receipts[1].tx_hash)
    assert location[:4] == (block.hash, 1, 1, 2)  # the first transaction's receipt holds logs 0 and 1
    assert store.get_transaction(location) == block.transactions[1]
    assert store.get_transaction(store.get_tx_location(receipts[0].tx_hash)) == block.transactions[0]
    assert store.get_seen_commit(1) == seen_commit_for(block)
    assert store.get_seen_commit(0) is None
    assert store.recent_hashes(2) == [third.hash, block.hash, genesis.hash]


def test_recent_hashes_are_the_last_256_newest_first(store: ChainStore) -> None:
    hashes = [commit_next(store, [])[0].hash for _ in range(300)]
    recent = store.recent_hashes(299)
    assert recent == hashes[::-1][:256]
    assert store.recent_hashes(10, count=3) == [hashes[10], hashes[9], hashes[8]]
    with pytest.raises(BlockNotFound):
        store.recent_hashes(300)


def test_reopened_store_has_identical_chain(db_path: Path) -> None:
    with LevelDB(db_path) as db:
        store = ChainStore(db)
        blocks = [commit_next(store, [(_transfer_log(1, i, i + 1),)]) for i in range(20)]
    with LevelDB(db_path) as db:
        store = ChainStore(db)
        assert store.latest_height() == 19
        for block, receipts in blocks:
            assert store.get_block_by_number(block.number) == block
            assert store.get_receipts(block.hash) == receipts
        assert len(store.find_logs(0, 19, [_addr(1)], [], 100)) == 20


def test_block_state_is_readable_through_state_db(db_path: Path) -> None:
    alice = _addr(1)
    with LevelDB(db_path) as db:
        store = ChainStore(db)
        root, writes = state_changes(store, BLANK_NODE_HASH, {alice: 5})
        assert writes and root not in store.state_db()  # nothing written before the commit
        block, receipts, commit = next_block(store, [], state_root=root)
        store.commit_block(block, receipts, commit, writes)
    with LevelDB(db_path) as db:
        store = ChainStore(db)
        header = store.get_header_by_number(0)
        assert AccountDB(store.state_db(), header.state_root).get_balance(alice) == 5


def test_commit_block_is_one_synced_batch(store: ChainStore, db: LevelDB, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_next(store, [])
    root, writes = state_changes(store, BLANK_NODE_HASH, {_addr(1): 1})
    block, receipts, commit = next_block(store, [(_transfer_log(1, 1, 2),)], state_root=root)
    batches: list[tuple[dict[bytes, bytes], bool]] = []
    real_write = db.write

    def recording_write(puts, deletes, *, sync):  # type: ignore[no-untyped-def]
        batches.append((dict(puts), sync))
        real_write(puts, deletes, sync=sync)

    monkeypatch.setattr(db, "write", recording_write)
    store.commit_block(block, receipts, commit, writes)
    assert len(batches) == 1
    puts, sync = batches[0]
    assert sync
    assert set(puts) >= {
        schema.header_key(block.hash), schema.canonical_hash_key(1), schema.body_key(block.hash),
        schema.receipt_key(block.hash, 0), schema.tx_location_key(receipts[0].tx_hash),
        schema.log_bloom_key(1), schema.seen_commit_key(1), schema.meta_key(MetaName.LAST_HEIGHT),
        *(schema.state_key(key) for key in writes),
    }


@pytest.mark.parametrize("defect", ["height", "parent", "receipts", "commit", "receipt_index", "bloom"])
def test_invalid_commit_is_rejected_and_writes_nothing(store: ChainStore, defect: str) -> None:
    commit_next(store, [])
    block, receipts, commit = next_block(store, [(_transfer_log(1, 1, 2),)])
    if defect == "height":
        block = make_block(block.header.parent_hash, 5, block.transactions, receipts)
        commit = seen_commit_for(block)
    elif defect == "parent":
        block = make_block(b"\x01" * 32, 1, block.transactions, receipts)
        commit = seen_commit_for(block)
    elif defect == "receipts":
        receipts = []
    elif defect == "commit":
        commit = Commit(height=1, round=0, block_hash=b"\x02" * 32, signatures=[])
    elif defect == "receipt_index":
        receipts = [make_receipt(receipts[0].tx_hash, 3, receipts[0].logs)]
    elif defect == "bloom":
        block = Block(header=block.header.copy(logs_bloom=0), transactions=block.transactions,
                      last_commit=block.last_commit, evidence=[])
        commit = seen_commit_for(block)
    with pytest.raises(InvalidBlockCommit):
        store.commit_block(block, receipts, commit, {b"\x05" * 32: b"node"})
    assert store.latest_height() == 0
    assert store.get_header(block.hash) is None
    assert store.get_tx_location(block_tx_hash := keccak(block.transactions[0])) is None, block_tx_hash
    assert b"\x05" * 32 not in store.state_db()


def test_non_genesis_block_requires_seen_commit(store: ChainStore) -> None:
    commit_next(store, [])
    block, receipts, _ = next_block(store, [])
    with pytest.raises(InvalidBlockCommit, match="needs the commit"):
        store.commit_block(block, receipts, None, {})


def test_meta_records(store: ChainStore, db_path: Path) -> None:
    assert store.get_meta(MetaName.GENESIS_HASH) is None
    store.put_meta(MetaName.GENESIS_HASH, b"\x11" * 32)
    store.put_meta(MetaName.CONSENSUS_STATE, b"state", sync=False)
    assert store.get_meta(MetaName.GENESIS_HASH) == b"\x11" * 32
    assert store.get_meta(MetaName.CONSENSUS_STATE) == b"state"
    with pytest.raises(ReservedMetaKey):
        store.put_meta(MetaName.LAST_HEIGHT, b"\x00" * 8)


def test_store_of_another_schema_version_is_refused(db_path: Path) -> None:
    with LevelDB(db_path) as db:
        db[schema.meta_key(MetaName.SCHEMA_VERSION)] = schema.encode_height(schema.SCHEMA_VERSION + 1)
    with LevelDB(db_path) as db, pytest.raises(SchemaVersionMismatch):
        ChainStore(db)


def test_last_height_without_its_block_is_reported_corrupted(db_path: Path) -> None:
    with LevelDB(db_path) as db:
        ChainStore(db)
        db[schema.meta_key(MetaName.LAST_HEIGHT)] = schema.encode_height(3)
    with LevelDB(db_path) as db, pytest.raises(DatabaseCorrupted, match="last height 3"):
        ChainStore(db)


# -- log queries ------------------------------------------------------------------

TOKEN_A, TOKEN_B = 0xA, 0xB


@pytest.fixture
def log_chain(store: ChainStore) -> ChainStore:
    """Blocks 0..5: 0 and 3 have no logs, others carry token transfers and an anonymous log."""
    commit_next(store, [])  # 0
    commit_next(store, [(_transfer_log(TOKEN_A, 1, 2),), (_transfer_log(TOKEN_B, 2, 3),)])  # 1
    commit_next(store, [(_transfer_log(TOKEN_A, 2, 1), _transfer_log(TOKEN_A, 3, 1))])  # 2
    commit_next(store, [()])  # 3
    commit_next(store, [(), (Log(_addr(TOKEN_A), (), b"anon"),)])  # 4
    commit_next(store, [(_transfer_log(TOKEN_B, 1, 3),)])  # 5
    return store


def _where(matches: list) -> list[tuple[int, int, int]]:
    return [(m.block_number, m.tx_index, m.log_index) for m in matches]


def test_find_logs_all_in_chain_order(log_chain: ChainStore) -> None:
    matches = log_chain.find_logs(0, 100, [], [], 100)
    assert _where(matches) == [(1, 0, 0), (1, 1, 1), (2, 0, 0), (2, 0, 1), (4, 1, 0), (5, 0, 0)]
    first = matches[0]
    block1 = log_chain.get_block_by_number(1)
    assert first.block_hash == block1.hash
    assert first.tx_hash == keccak(block1.transactions[0])
    assert first.log == _transfer_log(TOKEN_A, 1, 2)


def test_find_logs_by_address(log_chain: ChainStore) -> None:
    assert _where(log_chain.find_logs(0, 5, [_addr(TOKEN_B)], [], 100)) == [(1, 1, 1), (5, 0, 0)]
    assert len(log_chain.find_logs(0, 5, [_addr(TOKEN_A), _addr(TOKEN_B)], [], 100)) == 6
    assert log_chain.find_logs(0, 5, [_addr(0xC)], [], 100) == []


def test_find_logs_topic_positions_wildcards_and_alternatives(log_chain: ChainStore) -> None:
    transfer = _topic(0xDD)
    # position 0 only: every transfer, not the anonymous log
    assert _where(log_chain.find_logs(0, 5, [], [[transfer]], 100)) == [
        (1, 0, 0), (1, 1, 1), (2, 0, 0), (2, 0, 1), (5, 0, 0)]
    # wildcard then a sender: transfers from 2
    assert _where(log_chain.find_logs(0, 5, [], [None, [_topic(2)]], 100)) == [(1, 1, 1), (2, 0, 0)]
    # an empty list is a wildcard too
    assert _where(log_chain.find_logs(0, 5, [], [[], [_topic(2)]], 100)) == [(1, 1, 1), (2, 0, 0)]
    # alternatives at one position: to 1 or to 3
    assert _where(log_chain.find_logs(0, 5, [], [None, None, [_topic(1), _topic(3)]], 100)) == [
        (1, 1, 1), (2, 0, 0), (2, 0, 1), (5, 0, 0)]
    # position matters: topic 1 as receiver is not topic 1 as sender
    assert _where(log_chain.find_logs(0, 5, [], [None, [_topic(1)]], 100)) == [(1, 0, 0), (5, 0, 0)]
    # more positions than a log has topics: no match even with wildcards
    assert log_chain.find_logs(0, 5, [], [None, None, None, None], 100) == []
    # address and topics combine
    assert _where(log_chain.find_logs(0, 5, [_addr(TOKEN_B)], [None, [_topic(1)]], 100)) == [(5, 0, 0)]


def test_find_logs_respects_range(log_chain: ChainStore) -> None:
    assert _where(log_chain.find_logs(2, 4, [], [], 100)) == [(2, 0, 0), (2, 0, 1), (4, 1, 0)]
    assert log_chain.find_logs(3, 3, [], [], 100) == []
    assert log_chain.find_logs(6, 9, [], [], 100) == []


def test_find_logs_past_limit_raises(log_chain: ChainStore) -> None:
    assert len(log_chain.find_logs(0, 5, [], [], 6)) == 6
    with pytest.raises(TooManyLogs, match="more than 5 results"):
        log_chain.find_logs(0, 5, [], [], 5)


@pytest.mark.parametrize(
    "args",
    [
        (3, 2, [], []),
        (-1, 2, [], []),
        (0, 2, [b"\x01" * 19], []),
        (0, 2, [], [[b"\x01" * 31]]),
        (0, 2, [], [None] * 5),
    ],
)
def test_find_logs_rejects_malformed_queries(log_chain: ChainStore, args: tuple) -> None:
    with pytest.raises(InvalidLogQuery):
        log_chain.find_logs(*args, 100)


# -- crash safety -----------------------------------------------------------------

CRASH_TXS_PER_BLOCK = 200
CRASH_ACCOUNTS_PER_BLOCK = 20
CRASH_COUNTER = _addr(1000)


def _crash_balances(height: int) -> dict[bytes, int]:
    """The balances block ``height`` of the crash chain sets."""
    balances = {CRASH_COUNTER: height + 1}
    for j in range(CRASH_ACCOUNTS_PER_BLOCK):
        balances[_addr(2000 + (height * CRASH_ACCOUNTS_PER_BLOCK + j) % 997)] = height
    return balances


def _crash_child(path: str) -> None:
    """Extend the chain at ``path`` block after block until killed, printing each committed height."""
    with LevelDB(path) as db:
        store = ChainStore(db)
        header = store.get_header_by_number(store.latest_height())
        root = BLANK_NODE_HASH if header is None else header.state_root
        print("ready", flush=True)
        while True:
            height = store.latest_height() + 1
            root, writes = state_changes(store, root, _crash_balances(height))
            tx_logs = [(_transfer_log(1, height, i),) for i in range(CRASH_TXS_PER_BLOCK)]
            block, receipts, commit = next_block(store, tx_logs, state_root=root)
            store.commit_block(block, receipts, commit, writes)
            print(height, flush=True)


def _check_crashed_store(path: Path, reported: int) -> int:
    """Assert the store at ``path`` is whole and holds every reported block; return its height."""
    with LevelDB(path) as db:
        store = ChainStore(db)
        latest = store.latest_height()
        assert reported <= latest <= reported + 1, (reported, latest)
        parent = ZERO_HASH32
        for height in range(latest + 1):
            block = store.get_block_by_number(height)
            assert block is not None and block.header.parent_hash == parent
            receipts = store.get_receipts(block.hash)
            assert [r.tx_hash for r in receipts] == [keccak(tx) for tx in block.transactions]
            for receipt in receipts:
                assert store.get_tx_location(receipt.tx_hash)[:3] == (block.hash, height, receipt.tx_index)
            assert (store.get_seen_commit(height) == seen_commit_for(block)) if height else True
            assert block.header.state_root in store.state_db()
            parent = block.hash
        next_height = latest + 1  # the block that may have been in flight left no trace
        assert store.get_hash_by_number(next_height) is None
        assert store.get_seen_commit(next_height) is None
        assert all(store.get_tx_location(keccak(b"tx-%d-%d" % (next_height, i))) is None
                   for i in range(CRASH_TXS_PER_BLOCK))
        if latest >= 0:
            accounts = AccountDB(store.state_db(), store.get_header_by_number(latest).state_root)
            for address, balance in _crash_balances(latest).items():
                assert accounts.get_balance(address) == balance
            logs = store.find_logs(0, latest, [_addr(1)], [], 10**6)
            assert len(logs) == (latest + 1) * CRASH_TXS_PER_BLOCK
        return latest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_loses_no_committed_block(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "chaindata"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    reported = -1
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, __file__, "crash-child", str(path)], stdout=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.05, 1.5))
        child.send_signal(signal.SIGKILL)
        heights = [int(line) for line in child.stdout.read().split()]
        assert child.wait(timeout=30) == -signal.SIGKILL
        if heights:
            reported = heights[-1]
        latest = _check_crashed_store(path, reported)
        reported = latest  # the next child resumes from what is stored
    assert latest > 0  # blocks were really being written when the kills came


if __name__ == "__main__" and sys.argv[1:2] == ["crash-child"]:
    _crash_child(sys.argv[2])


def test_transaction_locations_of_older_nodes_are_still_read(store: ChainStore) -> None:
    """Records of ``[height, index]`` only (no log index, no body span) give the same answers, computed."""
    commit_next(store, [])
    logs = (_transfer_log(9, 1, 2), Log(_addr(8), (), b"data"))
    block, receipts = commit_next(store, [logs, (), logs])
    current = [store.get_tx_location(receipt.tx_hash) for receipt in receipts]
    store._db.write(
        {schema.tx_location_key(r.tx_hash): rlp.encode([1, r.tx_index]) for r in receipts}, (), sync=True
    )
    for receipt, expected in zip(receipts, current):
        legacy = store.get_tx_location(receipt.tx_hash)
        assert legacy.span is None
        assert legacy[:4] == expected[:4]
        assert store.get_transaction(legacy) == store.get_transaction(expected) == block.transactions[receipt.tx_index]
