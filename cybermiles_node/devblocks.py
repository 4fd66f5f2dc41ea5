"""What a development chain's blocks carry besides transactions: state edits and impersonated senders.

On a chain started with ``cmnode start --dev`` the ``hardhat_set*`` / ``anvil_set*``
methods never change a committed block's state. Each edit is queued here and
applied at the beginning of the next block the chain makes, before its
begin-block hooks and transactions, so the block's state root covers it.
Transactions sent from impersonated addresses carry no valid signature; their
senders are named here. Both are stored with the block as its *development
record* (``ChainStore.get_dev_record``): replaying a block means applying its
record's edits to the parent state and then executing the block with the named
senders, which gives the same state root.

Record encoding (RLP): ``[[[kind, address, value, slot], ...], [[tx_hash, sender], ...]]``
with ``kind`` 1 balance, 2 nonce, 3 code, 4 storage slot; integers big-endian.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import rlp
from eth.abc import DatabaseAPI

from cybermiles_node.errors import NodeError
from vm.execution import BlockEnv, ChainExecutor, ExecutionResult
from vm.statedb import overlay_atomic_db

MAX_PENDING_EDITS = 10_000
MAX_IMPERSONATED_TXS = 1_024


class EditKind(IntEnum):
    """Which account field a state edit sets."""

    BALANCE = 1
    NONCE = 2
    CODE = 3
    STORAGE = 4


@dataclass(frozen=True)
class StateEdit:
    """One account field set at the beginning of a block: balance, nonce, code or a storage slot."""

    kind: EditKind
    address: bytes
    value: int | bytes
    slot: int = 0

    def apply(self, state: Any) -> None:
        """Write this edit into a py-evm state."""
        if self.kind is EditKind.BALANCE:
            state.set_balance(self.address, self.value)
        elif self.kind is EditKind.NONCE:
            state.set_nonce(self.address, self.value)
        elif self.kind is EditKind.CODE:
            state.set_code(self.address, self.value)
        else:
            state.set_storage(self.address, self.slot, self.value)

    def encode_fields(self) -> list[Any]:
        """The RLP fields of this edit."""
        return [int(self.kind), self.address, self.value, self.slot]


class DevRecordError(NodeError):
    """A stored development record that cannot be decoded."""


@dataclass(frozen=True)
class DevRecord:
    """What a development-chain block applied besides its signed transactions."""

    edits: tuple[StateEdit, ...] = ()
    impersonated: tuple[tuple[bytes, bytes], ...] = ()  # (transaction hash, sender)

    def encode(self) -> bytes:
        """The stored form."""
        return rlp.encode([[edit.encode_fields() for edit in self.edits], [list(pair) for pair in self.impersonated]])

    @classmethod
    def decode(cls, data: bytes) -> DevRecord:
        """Parse a stored record; raises ``DevRecordError``."""
        try:
            edits_fields, senders = rlp.decode(data)
            edits = []
            for kind, address, value, slot in edits_fields:
                edit_kind = EditKind(rlp.sedes.big_endian_int.deserialize(kind))
                decoded = value if edit_kind is EditKind.CODE else rlp.sedes.big_endian_int.deserialize(value)
                edits.append(StateEdit(edit_kind, bytes(address), decoded, rlp.sedes.big_endian_int.deserialize(slot)))
            return cls(tuple(edits), tuple((bytes(tx_hash), bytes(sender)) for tx_hash, sender in senders))
        except (rlp.DecodingError, rlp.DeserializationError, ValueError, TypeError) as exc:
            raise DevRecordError(f"malformed development record: {exc}") from None


def set_sender(tx: Any, sender: bytes) -> None:
    """Give a decoded transaction the sender a development record names (the one ``vm.transactions`` caches)."""
    tx.__dict__["_sender"] = sender


def impersonated_sender(record: bytes | None, tx_hash: bytes) -> bytes | None:
    """The sender a block's stored development record names for ``tx_hash``, or None."""
    if record is None:
        return None
    return dict(DevRecord.decode(record).impersonated).get(tx_hash)


def apply_edits(executor: ChainExecutor, base: DatabaseAPI, state_root: bytes, env: BlockEnv,
                edits: Sequence[StateEdit]) -> tuple[bytes, Any]:
    """The state root after ``edits`` on ``state_root``, and the overlay holding their writes."""
    atomic, overlay = overlay_atomic_db(base)
    state = executor.open_state(atomic, state_root, env)
    for edit in edits:
        edit.apply(state)
    state.persist()
    return state.state_root, overlay


class DevBlockBuilder:
    """Pending state edits and impersonated transactions of the next development block.

    Filled on the event loop; ``execute`` runs on the execution thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edits: list[StateEdit] = []
        self._impersonated: dict[bytes, Any] = {}  # transaction hash -> transaction (sender set)
        self.left_out: dict[bytes, str] = {}  # impersonated transactions the last block could not include: why

    def add_edit(self, edit: StateEdit) -> None:
        """Queue an edit for the next block."""
        with self._lock:
            if len(self._edits) >= MAX_PENDING_EDITS:
                raise DevRecordError(f"too many pending state edits: at most {MAX_PENDING_EDITS}")
            self._edits.append(edit)

    def add_impersonated(self, tx: Any) -> None:
        """Queue a transaction whose sender is impersonated (not signed) for the next block."""
        with self._lock:
            if len(self._impersonated) >= MAX_IMPERSONATED_TXS:
                raise DevRecordError(f"too many impersonated transactions waiting: at most {MAX_IMPERSONATED_TXS}")
            self._impersonated[tx.hash] = tx

    def impersonated_txs(self) -> list[Any]:
        """The waiting impersonated transactions, by sender then nonce."""
        with self._lock:
            return sorted(self._impersonated.values(), key=lambda tx: (tx.sender, tx.nonce))

    def drop_impersonated(self, tx_hash: bytes) -> bool:
        """Remove a waiting impersonated transaction; whether it was there."""
        with self._lock:
            return self._impersonated.pop(tx_hash, None) is not None

    def clear(self) -> None:
        """Forget every pending edit and waiting transaction (after a rewind)."""
        with self._lock:
            self._edits.clear()
            self._impersonated.clear()

    def execute(self, executor: ChainExecutor, base: DatabaseAPI, parent_root: bytes, env: BlockEnv,
                txs: list[Any]) -> tuple[ExecutionResult, bytes | None]:
        """Execute the next block: pending edits first, then ``txs``; the result and the block's record."""
        with self._lock:
            edits = tuple(self._edits)
            self._edits.clear()
        root, pre_writes = parent_root, {}
        if edits:
            root, overlay = apply_edits(executor, base, parent_root, env, edits)
            base, pre_writes = overlay, overlay.writes
        result = executor.execute_block(base, root, env, txs, strict=False)
        if pre_writes:
            result.state_writes = {**pre_writes, **result.state_writes}
        included = {receipt.tx_hash: receipt.sender for receipt in result.receipts}
        with self._lock:
            self.left_out = {h: reason for h, reason in result.rejected if h in self._impersonated}
            senders = tuple((h, included[h]) for h in self._impersonated if h in included)
            for tx_hash in [h for h in self._impersonated if h in included or h in self.left_out]:
                del self._impersonated[tx_hash]
        if not edits and not senders:
            return result, None
        return result, DevRecord(edits, senders).encode()
