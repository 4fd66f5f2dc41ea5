"""The webhook outbox kept in the node's LevelDB: pending deliveries under ``w``, dead letters under ``d``,
the cursor (last block scanned) and next sequence number in a meta record (prefixes of ``storage.schema``)."""
from __future__ import annotations

from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.storage.schema import (
    WEBHOOK_DEAD_LETTER_PREFIX,
    WEBHOOK_OUTBOX_PREFIX,
    MetaName,
    decode_height,
    encode_height,
    meta_key,
    webhook_dead_letter_key,
    webhook_outbox_key,
)
from middleware.webhooks.outbox import OutboxChange, OutboxSnapshot


class LevelDBOutboxStore:
    """``OutboxStore`` over the node's LevelDB: pending ``w``, dead ``d``, cursor in a meta record."""

    def __init__(self, db: LevelDB) -> None:
        self._db = db

    def load(self) -> OutboxSnapshot:
        """Everything stored, in sequence order."""
        state = self._db.get(meta_key(MetaName.WEBHOOK_OUTBOX))
        cursor, next_sequence = (None, 1) if state is None else (decode_height(state[:8]), decode_height(state[8:]))
        return OutboxSnapshot(
            pending=[(decode_height(k[1:]), v) for k, v in self._db.iterate(prefix=WEBHOOK_OUTBOX_PREFIX)],
            dead=[(decode_height(k[1:]), v) for k, v in self._db.iterate(prefix=WEBHOOK_DEAD_LETTER_PREFIX)],
            cursor=cursor,
            next_sequence=next_sequence,
        )

    def apply(self, change: OutboxChange) -> None:
        """One LevelDB write batch (not fsynced: a lost tail is re-derived from the blocks after the cursor)."""
        puts = {webhook_outbox_key(seq): record for seq, record in change.put_pending.items()}
        puts.update({webhook_dead_letter_key(seq): record for seq, record in change.put_dead.items()})
        deletes = [webhook_outbox_key(seq) for seq in change.delete_pending]
        deletes += [webhook_dead_letter_key(seq) for seq in change.delete_dead]
        if change.position is not None:
            cursor, next_sequence = change.position
            puts[meta_key(MetaName.WEBHOOK_OUTBOX)] = encode_height(cursor) + encode_height(next_sequence)
        self._db.write(puts, deletes, sync=False)
