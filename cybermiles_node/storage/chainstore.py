"""The committed chain: blocks, receipts, indexes, seen commits, meta records and state.

``ChainStore.commit_block`` writes everything a block brings (its state changes,
header, body, receipts, transaction and log index entries, seen commit and the new
last height) in one fsynced LevelDB write batch, so after a crash at any instant the
store holds exactly the blocks whose batch completed, each of them whole. Committed
records are never rewritten, so reads need no lock: a reader that first reads
``latest_height()`` sees complete blocks up to it.

Fast sync stores verified blocks without executing them (``commit_synced_block``,
fsynced per batch of blocks rather than per block), then the state trie of a pivot
block fetched node by node (``put_state_nodes``), and finally records from which
height the state is held (``mark_state_available``, ``state_base``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from eth.abc import AtomicDatabaseAPI

from consensus.types import Block, Commit, Header
from consensus.validators import ValidatorSet
from cybermiles_node.storage import codec, schema
from cybermiles_node.storage.errors import (
    BlockNotFound,
    DatabaseCorrupted,
    InvalidBlockCommit,
    InvalidLogQuery,
    ReservedMetaKey,
    SchemaVersionMismatch,
    TooManyLogs,
)
from cybermiles_node.storage.leveldb import LevelDB, PrefixedDB
from cybermiles_node.storage.schema import MetaName
from vm.errors import InvalidLogFilter
from vm.logs import BlockLog, LogFilter
from vm.receipts import Log, Receipt

BLOOM_SIZE = 256
RECENT_HASHES = 256


class TxLocation(NamedTuple):
    """Where a committed transaction is: its block, index, first log's block-wide index, and bytes in the body."""

    block_hash: bytes
    height: int
    index: int
    first_log_index: int
    span: tuple[int, int] | None


class ChainStore:
    """Blocks and their by-products on top of one ``LevelDB``."""

    def __init__(self, db: LevelDB) -> None:
        """Use ``db``; stamp a new database with the schema version, refuse one of another version."""
        self._db = db
        self._state_db = PrefixedDB(db, schema.STATE_PREFIX)
        self._check_schema_version()
        self._latest = self._read_latest_height()

    def _check_schema_version(self) -> None:
        stored = self._db.get(schema.meta_key(MetaName.SCHEMA_VERSION))
        if stored is None:
            self._db.write(
                {schema.meta_key(MetaName.SCHEMA_VERSION): schema.encode_height(schema.SCHEMA_VERSION)},
                (),
                sync=True,
            )
        elif schema.decode_height(stored) != schema.SCHEMA_VERSION:
            raise SchemaVersionMismatch(
                f"database {self._db.path} uses storage schema version {schema.decode_height(stored)}, "
                f"this node reads version {schema.SCHEMA_VERSION}"
            )

    def _read_latest_height(self) -> int:
        stored = self._db.get(schema.meta_key(MetaName.LAST_HEIGHT))
        if stored is None:
            return -1
        height = schema.decode_height(stored)
        block_hash = self._db.get(schema.canonical_hash_key(height))
        if block_hash is None or schema.header_key(block_hash) not in self._db:
            raise DatabaseCorrupted(
                f"database {self._db.path} records last height {height} but holds no block at it"
            )
        return height

    # -- writing -----------------------------------------------------------------

    def commit_block(
        self,
        block: Block,
        receipts: Sequence[Receipt],
        seen_commit: Commit | None,
        state_writes: Mapping[bytes, bytes],
        *,
        block_events: Sequence[Log] = (),
        validator_set_change: tuple[int, ValidatorSet] | None = None,
        dev_record: bytes | None = None,
    ) -> None:
        """Persist a finalised block and everything it brings in one atomic, fsynced batch.

        ``receipts`` are the block's receipts in transaction order; ``seen_commit`` the
        precommits that finalised it (``None`` only for a genesis block, which no one
        votes on); ``state_writes`` the py-evm database writes (trie nodes, code) its
        execution made, keyed as py-evm keys them; ``block_events`` the events of its
        begin/end hooks; ``validator_set_change`` a validator set and the height from
        which it governs, when the block changed it; ``dev_record`` what a development
        chain applied besides the transactions (``cybermiles_node.devblocks``). The block
        must be the next height and extend the last stored block.
        """
        height = block.header.number
        block_hash = block.header.hash
        if len(receipts) != len(block.transactions):
            raise InvalidBlockCommit(
                f"block {height} has {len(block.transactions)} transactions but {len(receipts)} receipts"
            )
        puts = self._block_puts(block, seen_commit, validator_set_change)
        puts.update({schema.state_key(key): value for key, value in state_writes.items()})
        spans = codec.transaction_spans(puts[schema.body_key(block_hash)])
        log_index = 0
        for index, receipt in enumerate(receipts):
            if receipt.tx_index != index:
                raise InvalidBlockCommit(
                    f"receipt {index} of block {height} is for transaction index {receipt.tx_index}"
                )
            puts[schema.receipt_key(block_hash, index)] = codec.encode_receipt(receipt)
            puts[schema.tx_location_key(receipt.tx_hash)] = codec.encode_tx_location(
                height, index, log_index, spans[index]
            )
            log_index += len(receipt.logs)
        has_logs = log_index > 0
        if has_logs:
            if block.header.logs_bloom == 0:
                raise InvalidBlockCommit(f"block {height} has logs but an empty logs bloom")
            puts[schema.log_bloom_key(height)] = block.header.logs_bloom.to_bytes(BLOOM_SIZE, "big")
        if block_events:
            puts[schema.block_events_key(block_hash)] = codec.encode_block_events(tuple(block_events))
        if dev_record is not None:
            puts[schema.dev_record_key(block_hash)] = dev_record
        self._db.write(puts, (), sync=True)
        self._latest = height

    def rewind_to(self, height: int) -> None:
        """Delete every block above ``height`` (development chains only), in one fsynced batch.

        Removed with each block: header, number-to-hash, body, seen commit, receipts,
        transaction index entries, logs bloom, block events, development record, and the
        validator sets its end-block hooks scheduled (those taking effect after
        ``height + 2``); the last-height record becomes ``height``. State records are
        content-addressed and shared between heights, so they stay.
        """
        if not 0 <= height <= self._latest:
            raise BlockNotFound(f"no committed block at height {height} (latest is {self._latest})")
        deletes: list[bytes] = []
        for number in range(height + 1, self._latest + 1):
            block_hash = self.get_hash_by_number(number)
            if block_hash is None:
                raise DatabaseCorrupted(f"block {number} is below the last height but has no hash")
            for key, record in self._db.iterate(prefix=schema.receipts_prefix(block_hash)):
                deletes.append(key)
                deletes.append(schema.tx_location_key(codec.decode_receipt_logs(record)[0]))
            deletes.extend((
                schema.header_key(block_hash), schema.canonical_hash_key(number), schema.body_key(block_hash),
                schema.seen_commit_key(number), schema.log_bloom_key(number), schema.block_events_key(block_hash),
                schema.dev_record_key(block_hash),
            ))
        deletes.extend(key for key, _ in self._db.iterate(
            start=schema.validator_set_key(height + 3), stop=schema.validator_set_key(self._latest + 3)))
        self._db.write({schema.meta_key(MetaName.LAST_HEIGHT): schema.encode_height(height)}, deletes, sync=True)
        self._latest = height

    def get_dev_record(self, block_hash: bytes) -> bytes | None:
        """A development-chain block's record (``cybermiles_node.devblocks``), or ``None``."""
        return self._db.get(schema.dev_record_key(block_hash))

    def commit_synced_block(
        self,
        block: Block,
        receipt_records: Sequence[bytes],
        tx_hashes: Sequence[bytes],
        seen_commit: Commit,
        *,
        validator_set_change: tuple[int, ValidatorSet] | None = None,
        sync: bool = True,
    ) -> None:
        """Persist a block fetched by fast sync, without state: it was verified, not executed.

        ``receipt_records`` are the block's receipts as stored (``codec.encode_receipt``),
        checked by the caller against the header and the transactions, whose hashes are
        ``tx_hashes``. The batch also marks the store as holding blocks without state (see
        ``fast_sync_in_progress``). Without ``sync`` the batch is not fsynced: LevelDB
        applies batches in order, so after a crash the store holds a prefix of the blocks
        written, each of them whole, and a later fsynced batch makes all earlier ones durable.
        """
        height = block.header.number
        block_hash = block.header.hash
        if not len(receipt_records) == len(tx_hashes) == len(block.transactions):
            raise InvalidBlockCommit(
                f"block {height} has {len(block.transactions)} transactions, {len(tx_hashes)} transaction "
                f"hashes and {len(receipt_records)} receipts"
            )
        puts = self._block_puts(block, seen_commit, validator_set_change)
        spans = codec.transaction_spans(puts[schema.body_key(block_hash)])
        log_index = 0
        for index, (record, tx_hash) in enumerate(zip(receipt_records, tx_hashes)):
            puts[schema.receipt_key(block_hash, index)] = record
            puts[schema.tx_location_key(tx_hash)] = codec.encode_tx_location(height, index, log_index, spans[index])
            log_index += len(codec.decode_receipt_logs(record)[1])
        if block.header.logs_bloom != 0:  # a block has logs exactly when its bloom has bits set
            puts[schema.log_bloom_key(height)] = block.header.logs_bloom.to_bytes(BLOOM_SIZE, "big")
        puts[schema.meta_key(MetaName.FAST_SYNC)] = b"\x01"
        self._db.write(puts, (), sync=sync)
        self._latest = height

    def _block_puts(
        self,
        block: Block,
        seen_commit: Commit | None,
        validator_set_change: tuple[int, ValidatorSet] | None,
    ) -> dict[bytes, bytes]:
        """The records of a block every commit writes: header, hash, body, seen commit, set change, last height."""
        header = block.header
        height = header.number
        block_hash = header.hash
        self._check_extends_chain(header)
        if seen_commit is None:
            if height != 0:
                raise InvalidBlockCommit(f"block {height} needs the commit that finalised it")
        elif seen_commit.height != height or seen_commit.block_hash != block_hash:
            raise InvalidBlockCommit(
                f"the seen commit is for height {seen_commit.height} block 0x{seen_commit.block_hash.hex()}, "
                f"not block {height} 0x{block_hash.hex()}"
            )
        puts: dict[bytes, bytes] = {
            schema.header_key(block_hash): codec.encode_header(header),
            schema.canonical_hash_key(height): block_hash,
            schema.body_key(block_hash): codec.encode_body(block),
            schema.meta_key(MetaName.LAST_HEIGHT): schema.encode_height(height),
        }
        if seen_commit is not None:
            puts[schema.seen_commit_key(height)] = codec.encode_commit(seen_commit)
        if validator_set_change is not None:
            effective, validators = validator_set_change
            if effective <= height:
                raise InvalidBlockCommit(f"block {height} changes the validator set of past height {effective}")
            puts[schema.validator_set_key(effective)] = validators.encode()
        return puts

    def _check_extends_chain(self, header: Header) -> None:
        expected = self._latest + 1
        if header.number != expected:
            raise InvalidBlockCommit(f"expected block {expected}, got block {header.number}")
        if self._latest >= 0:
            parent_hash = self.get_hash_by_number(self._latest)
            if header.parent_hash != parent_hash:
                raise InvalidBlockCommit(
                    f"block {header.number} has parent 0x{header.parent_hash.hex()}, "
                    f"the stored block {self._latest} is 0x{(parent_hash or b'').hex()}"
                )

    # -- blocks ------------------------------------------------------------------

    def latest_height(self) -> int:
        """Height of the last committed block, -1 if none is."""
        return self._latest

    def get_header(self, block_hash: bytes) -> Header | None:
        """The header of a committed block, or ``None``."""
        data = self._db.get(schema.header_key(block_hash))
        return None if data is None else codec.decode_header(data)

    def get_hash_by_number(self, height: int) -> bytes | None:
        """The hash of the committed block at ``height``, or ``None``."""
        if height < 0:
            return None
        return self._db.get(schema.canonical_hash_key(height))

    def get_header_by_number(self, height: int) -> Header | None:
        """The header of the committed block at ``height``, or ``None``."""
        block_hash = self.get_hash_by_number(height)
        return None if block_hash is None else self.get_header(block_hash)

    def get_block_by_hash(self, block_hash: bytes) -> Block | None:
        """A committed block, or ``None``."""
        header = self.get_header(block_hash)
        if header is None:
            return None
        body = self._db.get(schema.body_key(block_hash))
        if body is None:
            raise DatabaseCorrupted(f"block 0x{block_hash.hex()} has a header but no body")
        return codec.decode_block(header, body)

    def get_block_by_number(self, height: int) -> Block | None:
        """The committed block at ``height``, or ``None``."""
        block_hash = self.get_hash_by_number(height)
        return None if block_hash is None else self.get_block_by_hash(block_hash)

    def get_seen_commit(self, height: int) -> Commit | None:
        """The commit that finalised the block at ``height``, or ``None`` (also for genesis)."""
        if height < 0:
            return None
        data = self._db.get(schema.seen_commit_key(height))
        return None if data is None else codec.decode_commit(data)

    def recent_hashes(self, height: int, count: int = RECENT_HASHES) -> list[bytes]:
        """Hashes of the blocks ``height``, ``height - 1``, ... (at most ``count``), newest first.

        What the EVM's ``BLOCKHASH`` needs when executing block ``height + 1``.
        """
        if not 0 <= height <= self._latest:
            raise BlockNotFound(f"no committed block at height {height} (latest is {self._latest})")
        if count <= 0:
            return []
        first = max(0, height - count + 1)
        return [
            block_hash
            for _, block_hash in self._db.iterate(
                start=schema.canonical_hash_key(first),
                stop=schema.canonical_hash_key(height + 1),
                reverse=True,
            )
        ]

    # -- receipts and transactions ---------------------------------------------

    def get_receipts(self, block_hash: bytes) -> list[Receipt]:
        """The receipts of a committed block in transaction order (empty if it has none or is unknown)."""
        return [
            codec.decode_receipt(data)
            for _, data in self._db.iterate(prefix=schema.receipts_prefix(block_hash))
        ]

    def get_receipt(self, block_hash: bytes, tx_index: int) -> Receipt | None:
        """The receipt of one transaction of a committed block, or ``None``."""
        data = self._db.get(schema.receipt_key(block_hash, tx_index))
        return None if data is None else codec.decode_receipt(data)

    def get_tx_location(self, tx_hash: bytes) -> TxLocation | None:
        """Where a committed transaction is, or ``None``: a few small reads, whatever the block's size."""
        data = self._db.get(schema.tx_location_key(tx_hash))
        if data is None:
            return None
        stored = codec.decode_tx_location(data)
        block_hash = self.get_hash_by_number(stored.height)
        if block_hash is None:
            raise DatabaseCorrupted(f"transaction 0x{tx_hash.hex()} is indexed at missing block {stored.height}")
        first_log_index = stored.first_log_index
        if first_log_index is None:  # a record of an older node: count the logs before it
            first_log_index = sum(len(r.logs) for r in self.get_receipts(block_hash)[: stored.index])
        return TxLocation(block_hash, stored.height, stored.index, first_log_index, stored.span)

    def get_transaction(self, location: TxLocation) -> bytes:
        """The encoded transaction at ``location``, sliced out of its block's body without decoding it."""
        body = self._db.get(schema.body_key(location.block_hash))
        if body is None:
            raise DatabaseCorrupted(f"block 0x{location.block_hash.hex()} has a transaction index but no body")
        spans = codec.transaction_spans(body) if location.span is None else None  # a record of an older node
        return codec.transaction_at(body, location.span if spans is None else spans[location.index])

    # -- logs --------------------------------------------------------------------

    def find_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes],
        topics: Sequence[Sequence[bytes] | None],
        limit: int,
    ) -> list[BlockLog]:
        """The logs of blocks ``from_block..to_block`` (inclusive) matching the filter, in chain order.

        ``addresses``: any of them (empty: any address). ``topics``: per position, ``None``
        or empty for any topic, else any of the listed ones. Blocks past the last committed
        one are ignored. Raises ``TooManyLogs`` if more than ``limit`` logs match and
        ``InvalidLogQuery`` for a malformed query.
        """
        if from_block < 0 or to_block < from_block:
            raise InvalidLogQuery(f"invalid block range {from_block}..{to_block}")
        if limit < 1:
            raise InvalidLogQuery(f"log limit must be positive, got {limit}")
        try:
            log_filter = LogFilter(tuple(addresses), tuple(tuple(choices) if choices else None for choices in topics))
        except InvalidLogFilter as exc:
            raise InvalidLogQuery(str(exc)) from None
        last = min(to_block, self._latest)
        if from_block > last:
            return []
        found: list[BlockLog] = []
        for key, bloom in self._db.iterate(
            start=schema.log_bloom_key(from_block), stop=schema.log_bloom_key(last + 1)
        ):
            if not log_filter.bloom_may_match(int.from_bytes(bloom, "big")):
                continue
            height = schema.decode_height(key[len(schema.LOG_BLOOM_PREFIX):])
            self._collect_block_logs(height, log_filter, limit, found)
        return found

    def _collect_block_logs(self, height: int, log_filter: LogFilter, limit: int, found: list[BlockLog]) -> None:
        block_hash = self.get_hash_by_number(height)
        if block_hash is None:
            raise DatabaseCorrupted(f"block {height} has a logs bloom but no hash")
        log_index = 0
        for tx_index, (_, data) in enumerate(self._db.iterate(prefix=schema.receipts_prefix(block_hash))):
            tx_hash, logs = codec.decode_receipt_logs(data)
            for raw in logs:
                if log_filter.matches(raw.address, raw.topics):
                    if len(found) == limit:
                        raise TooManyLogs(limit)
                    log = Log(bytes(raw.address), tuple(bytes(t) for t in raw.topics), bytes(raw.data))
                    found.append(BlockLog(height, block_hash, tx_hash, tx_index, log_index, log))
                log_index += 1

    # -- meta and state ----------------------------------------------------------

    def get_block_events(self, block_hash: bytes) -> tuple[Log, ...]:
        """The events of a block's begin/end hooks (empty if it had none)."""
        data = self._db.get(schema.block_events_key(block_hash))
        return () if data is None else codec.decode_block_events(data)

    def validator_set_changes(self) -> list[tuple[int, ValidatorSet]]:
        """Every stored (height, validator set in force from that height), ascending by height."""
        return [
            (schema.decode_height(key[len(schema.VALIDATOR_SET_PREFIX):]), codec.decode_validator_set(value))
            for key, value in self._db.iterate(prefix=schema.VALIDATOR_SET_PREFIX)
        ]

    def get_meta(self, name: bytes) -> bytes | None:
        """The meta record ``name`` (see ``schema.MetaName``), or ``None``."""
        return self._db.get(schema.meta_key(name))

    def put_meta(self, name: bytes, value: bytes, *, sync: bool = True) -> None:
        """Write the meta record ``name``; fsynced unless ``sync`` is false.

        The last height and schema version are the store's own and cannot be written here.
        """
        if name in MetaName.RESERVED:
            raise ReservedMetaKey(f"meta record {name.decode('ascii', 'replace')} is maintained by the store")
        self._db.write({schema.meta_key(name): value}, (), sync=sync)

    def get_receipt_records(self, block_hash: bytes) -> list[bytes]:
        """The stored receipt records of a block in transaction order, undecoded (to serve them to peers)."""
        return [data for _, data in self._db.iterate(prefix=schema.receipts_prefix(block_hash))]

    def get_validator_set(self, height: int) -> ValidatorSet | None:
        """The validator set in force at ``height`` (by the stored changes), ``None`` before any is stored."""
        for _, value in self._db.iterate(
            start=schema.validator_set_key(0), stop=schema.validator_set_key(max(height, 0) + 1), reverse=True
        ):
            return codec.decode_validator_set(value)
        return None

    def put_validator_set(self, effective: int, validators: ValidatorSet) -> None:
        """Record (fsynced) the validator set in force from height ``effective`` on.

        For a set a verified header announces before this node executed the block that
        decided it (the first block executed after fast sync's pivot).
        """
        if effective <= self._latest:
            raise InvalidBlockCommit(f"cannot change the validator set of past height {effective}")
        self._db.write({schema.validator_set_key(effective): validators.encode()}, (), sync=True)

    def get_state_node(self, key: bytes) -> bytes | None:
        """A state trie node or contract code by its keccak hash, or ``None``."""
        return self._db.get(schema.state_key(key))

    def put_state_nodes(self, nodes: Mapping[bytes, bytes]) -> None:
        """Store state trie nodes and contract code (keyed by their keccak hashes) fetched from peers.

        Not fsynced: ``mark_state_available`` is, and makes them durable with it.
        """
        self._db.write({schema.state_key(key): value for key, value in nodes.items()}, (), sync=False)

    def mark_state_available(self, height: int) -> None:
        """Record that the state of block ``height`` (the fast-sync pivot) is complete, ending fast sync."""
        if not 0 <= height <= self._latest:
            raise BlockNotFound(f"no committed block at height {height} (latest is {self._latest})")
        self._db.write(
            {schema.meta_key(MetaName.STATE_BASE): schema.encode_height(height)},
            (schema.meta_key(MetaName.FAST_SYNC),),
            sync=True,
        )

    def state_base(self) -> int:
        """The lowest height whose state this node holds (0 unless it was fast-synced)."""
        stored = self._db.get(schema.meta_key(MetaName.STATE_BASE))
        return 0 if stored is None else schema.decode_height(stored)

    def fast_sync_in_progress(self) -> bool:
        """Whether blocks were stored without state and the state at their pivot is not complete yet."""
        return self._db.get(schema.meta_key(MetaName.FAST_SYNC)) is not None

    def state_db(self) -> AtomicDatabaseAPI:
        """The py-evm database of the chain state (trie nodes and code), under its own prefix."""
        return self._state_db
