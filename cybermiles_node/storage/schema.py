"""The LevelDB key layout of a node home: every key the node writes is built here.

Each kind of record lives under its own one-byte prefix, so kinds never collide and
every kind can be range-scanned on its own. Heights are fixed 8-byte big-endian so
that LevelDB's byte order is numeric order.

==========  =====================================  ==========================================
prefix      key                                    value
==========  =====================================  ==========================================
``s``       ``s`` + py-evm key                     state trie node or contract code (py-evm's own keys)
``h``       ``h`` + block hash                     RLP header
``n``       ``n`` + height                         block hash (the canonical chain)
``b``       ``b`` + block hash                     RLP body: transactions, last commit, evidence
``c``       ``c`` + height                         RLP seen commit: the +2/3 precommits that finalised that height
``r``       ``r`` + block hash + tx index (4 B)    RLP receipt (``Receipt.to_storage()``)
``t``       ``t`` + tx hash                        RLP ``[height, tx index]``
``l``       ``l`` + height                         256-byte logs bloom, only for blocks that have logs
``m``       ``m`` + name                           meta record (see ``MetaName``)
``w``       ``w`` + sequence (8 B)                 webhook outbox entry (pending delivery)
``d``       ``d`` + sequence (8 B)                 webhook dead letter (delivery that exhausted its attempts)
``u``       ``u`` + subscription id (UTF-8)        webhook subscription added over the admin RPC (JSON)
``v``       ``v`` + height                         RLP validator set in force from that height (written at changes)
``e``       ``e`` + block hash                     RLP events of the block's begin/end hooks (only when there are any)
==========  =====================================  ==========================================
"""
from __future__ import annotations

from typing import Final

from cybermiles_node.storage.errors import InvalidKey

SCHEMA_VERSION: Final = 1

STATE_PREFIX: Final = b"s"
HEADER_PREFIX: Final = b"h"
CANONICAL_HASH_PREFIX: Final = b"n"
BODY_PREFIX: Final = b"b"
SEEN_COMMIT_PREFIX: Final = b"c"
RECEIPT_PREFIX: Final = b"r"
TX_LOCATION_PREFIX: Final = b"t"
LOG_BLOOM_PREFIX: Final = b"l"
META_PREFIX: Final = b"m"
WEBHOOK_OUTBOX_PREFIX: Final = b"w"
WEBHOOK_DEAD_LETTER_PREFIX: Final = b"d"
WEBHOOK_SUBSCRIPTION_PREFIX: Final = b"u"
VALIDATOR_SET_PREFIX: Final = b"v"
BLOCK_EVENTS_PREFIX: Final = b"e"
DEV_RECORD_PREFIX: Final = b"x"

HASH_SIZE: Final = 32
HEIGHT_SIZE: Final = 8
TX_INDEX_SIZE: Final = 4
MAX_HEIGHT: Final = 2**64 - 1
MAX_TX_INDEX: Final = 2**32 - 1
MAX_META_NAME_SIZE: Final = 64


class MetaName:
    """Names of the meta records (values are raw bytes owned by whoever writes them)."""

    LAST_HEIGHT: Final = b"last_height"
    """8-byte height of the last committed block; written only by ``ChainStore.commit_block``."""
    SCHEMA_VERSION: Final = b"schema_version"
    """8-byte version of this key layout; written only by ``ChainStore`` on a new database."""
    GENESIS_HASH: Final = b"genesis_hash"
    """Hash identifying the genesis the chain was initialised from."""
    CONSENSUS_STATE: Final = b"consensus_state"
    """The validator's last signed height, round and step (double-sign protection)."""
    PROPOSER_PRIORITIES: Final = b"proposer_priorities"
    """A height and the proposer-priority state of that height (consensus driver)."""
    BEACON_PRIORITIES: Final = b"beacon_priorities"
    """A height and its proposer-priority state, to name missed proposer slots (``cybermiles_node/beacon.py``)."""
    WEBHOOK_OUTBOX: Final = b"webhook_outbox"
    """8-byte last height appended to the webhook outbox + 8-byte next outbox sequence."""
    STATE_BASE: Final = b"state_base"
    """8-byte height from which this node holds the state (fast sync); absent: it holds all of it."""
    FAST_SYNC: Final = b"fast_sync"
    """Present while fast sync stores blocks without state, until the state at a pivot is complete."""

    RESERVED: Final = frozenset({LAST_HEIGHT, SCHEMA_VERSION, STATE_BASE, FAST_SYNC})
    """Names callers of ``put_meta`` may not write."""


def encode_height(height: int) -> bytes:
    """A height (or any 64-bit sequence number) as 8 big-endian bytes."""
    if not 0 <= height <= MAX_HEIGHT:
        raise InvalidKey(f"height {height} is outside 0..2**64-1")
    return height.to_bytes(HEIGHT_SIZE, "big")


def decode_height(data: bytes) -> int:
    """Inverse of ``encode_height``."""
    return int.from_bytes(data, "big")


def _hash(value: bytes, what: str) -> bytes:
    if len(value) != HASH_SIZE:
        raise InvalidKey(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
    return value


def state_key(evm_key: bytes) -> bytes:
    """Where a py-evm state key (trie node hash, code hash, ...) is stored."""
    return STATE_PREFIX + evm_key


def header_key(block_hash: bytes) -> bytes:
    """Key of the RLP header of a block."""
    return HEADER_PREFIX + _hash(block_hash, "block hash")


def canonical_hash_key(height: int) -> bytes:
    """Key of the hash of the committed block at ``height``."""
    return CANONICAL_HASH_PREFIX + encode_height(height)


def body_key(block_hash: bytes) -> bytes:
    """Key of the RLP body (transactions, last commit, evidence) of a block."""
    return BODY_PREFIX + _hash(block_hash, "block hash")


def seen_commit_key(height: int) -> bytes:
    """Key of the commit that finalised the block at ``height``."""
    return SEEN_COMMIT_PREFIX + encode_height(height)


def receipts_prefix(block_hash: bytes) -> bytes:
    """Prefix shared by the receipts of one block; a scan of it yields them in transaction order."""
    return RECEIPT_PREFIX + _hash(block_hash, "block hash")


def receipt_key(block_hash: bytes, tx_index: int) -> bytes:
    """Key of the receipt of transaction ``tx_index`` of a block."""
    if not 0 <= tx_index <= MAX_TX_INDEX:
        raise InvalidKey(f"transaction index {tx_index} is outside 0..2**32-1")
    return receipts_prefix(block_hash) + tx_index.to_bytes(TX_INDEX_SIZE, "big")


def tx_location_key(tx_hash: bytes) -> bytes:
    """Key of the ``[height, index]`` record of a transaction."""
    return TX_LOCATION_PREFIX + _hash(tx_hash, "transaction hash")


def log_bloom_key(height: int) -> bytes:
    """Key of the logs bloom of the block at ``height`` (present only if it has logs)."""
    return LOG_BLOOM_PREFIX + encode_height(height)


def validator_set_key(height: int) -> bytes:
    """Key of the validator set that takes effect at ``height``."""
    return VALIDATOR_SET_PREFIX + encode_height(height)


def block_events_key(block_hash: bytes) -> bytes:
    """Key of the begin/end-block events of a block."""
    return BLOCK_EVENTS_PREFIX + _hash(block_hash, "block hash")


def dev_record_key(block_hash: bytes) -> bytes:
    """Key of a development-chain block's record: its state edits and impersonated senders."""
    return DEV_RECORD_PREFIX + _hash(block_hash, "block hash")


def meta_key(name: bytes) -> bytes:
    """Key of the meta record called ``name`` (see ``MetaName``)."""
    if not 0 < len(name) <= MAX_META_NAME_SIZE:
        raise InvalidKey(f"meta name must be 1..{MAX_META_NAME_SIZE} bytes, got {len(name)}")
    return META_PREFIX + name


def webhook_outbox_key(sequence: int) -> bytes:
    """Key of the webhook outbox entry number ``sequence`` (outbox scans run in sequence order)."""
    return WEBHOOK_OUTBOX_PREFIX + encode_height(sequence)


def webhook_dead_letter_key(sequence: int) -> bytes:
    """Key of the webhook dead letter number ``sequence``."""
    return WEBHOOK_DEAD_LETTER_PREFIX + encode_height(sequence)


def webhook_subscription_key(subscription_id: str) -> bytes:
    """Key of the admin-added webhook subscription ``subscription_id``."""
    return WEBHOOK_SUBSCRIPTION_PREFIX + subscription_id.encode()
