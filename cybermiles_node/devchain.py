"""Development-chain controls behind the ``evm_`` / ``hardhat_`` / ``anvil_`` methods.

Only a node started with ``cmnode start --dev`` (one validator, no peers, the
validator key in the home) has a ``DevChain``; no other node registers these
methods. Everything still goes through blocks the single-validator engine
makes and signs:

* Mining: ``mine`` makes blocks at once. A development chain starts making
  blocks on its interval, as any chain does. With automine on (``cmnode start
  --dev --automine``, or ``evm_setAutomine(true)``: Hardhat Network's and
  anvil's default) each transaction sent over RPC returns after the block that
  includes it and there are no interval blocks, so a test counts blocks
  exactly; with automine off (``evm_setAutomine(false)``) blocks are made only
  when asked.
* Time: blocks are stamped with the clock plus an offset (``increase_time``),
  or with the timestamp pinned by ``set_next_timestamp``; never earlier than
  the parent.
* State edits (balance, nonce, code, storage) are applied at the beginning of
  the block made at once after them and recorded with it
  (``cybermiles_node.devblocks``).
* Snapshots are heights: ``revert`` rewinds the store to the snapshot's height
  in one batch (``ChainStore.rewind_to``), empties the mempool, and rewinds the
  validator's last-signed record and the engine.
* Impersonated addresses may send transactions without a signature: they are
  built with a marker signature (``r`` the x coordinate of the curve's
  generator, ``s`` the sender plus one, so the hash is unique per sender) and
  their sender is named in the block's development record.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from eth.abc import SignedTransactionAPI
from eth_account import Account

from consensus.application import DecodedTx, TxSource
from consensus.privval import PrivValidator
from consensus.solo import SingleValidatorEngine
from consensus.types import EMPTY_COMMIT
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.devblocks import DevBlockBuilder, EditKind, StateEdit, set_sender
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend
from genesis.networks import dev_accounts
from rpc.backend import CallRequest
from rpc.dev import DevRequestError
from rpc.errors import ServerError, TransactionRejected
from vm.transactions import TransactionBuilder, decode_transaction

log = logging.getLogger(__name__)

MAX_MINE_BLOCKS = 1_000
SECP256K1_GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798


class DevTxSource:
    """The engine's transactions on a development chain: waiting impersonated ones, then the mempool's."""

    def __init__(self, mempool_source: TxSource, builder: DevBlockBuilder) -> None:
        self._mempool_source = mempool_source
        self.builder = builder

    def reap(self, max_bytes: int) -> list[DecodedTx]:
        """Impersonated transactions first (their senders sign nothing else), then the mempool's."""
        return [*self.builder.impersonated_txs(), *self._mempool_source.reap(max_bytes)]

    def has_txs(self) -> bool:
        """Whether any transaction waits."""
        return bool(self.builder.impersonated_txs()) or self._mempool_source.has_txs()


@dataclass(frozen=True)
class Snapshot:
    """A point ``revert`` returns to: a height and the time offset then."""

    height: int
    time_offset: int


def impersonated_transaction(request: CallRequest, chain_id: int, nonce: int, gas: int, fees: tuple[int, int] | int,
                             sender: bytes) -> SignedTransactionAPI:
    """A transaction of ``sender`` with the marker signature and its sender set (it recovers no key)."""
    to = request.to or b""
    r, s = SECP256K1_GX, int.from_bytes(sender, "big") + 1
    if isinstance(fees, int):
        tx = TransactionBuilder.new_transaction(nonce, fees, gas, to, request.value, request.data,
                                                35 + 2 * chain_id, r, s)
    else:
        tip, max_fee = fees
        access_list = tuple((address, slots) for address, slots in request.access_list)
        tx = TransactionBuilder.new_dynamic_fee_transaction(chain_id, nonce, tip, max_fee, gas, to, request.value,
                                                            request.data, access_list, 0, r, s)
    decoded = decode_transaction(tx.encode(), chain_id)  # the sender-caching form the chain executes
    set_sender(decoded, sender)
    return decoded


class DevChain:
    """The controls of a development chain; methods raise ``rpc.errors`` types to refuse."""

    def __init__(self, engine: SingleValidatorEngine, app: CyberMilesApp, mempool: Mempool, backend: NodeBackend,
                 signer: PrivValidator, execution: Executor, builder: DevBlockBuilder,
                 automine: bool = False) -> None:
        """``automine``: start with a block per transaction instead of interval blocks."""
        self._engine = engine
        self._app = app
        self._mempool = mempool
        self._backend = backend
        self._signer = signer
        self._execution = execution
        self.builder = builder
        app.dev_blocks = self.builder
        backend.dev_records = True
        engine.block_time = self._block_time
        self._keys = {account.address: account.private_key for account in dev_accounts()}
        self._impersonated: set[bytes] = set()
        self._offset = 0
        self._next_timestamp: int | None = None
        self._snapshots: dict[int, Snapshot] = {}
        self._next_snapshot = 1
        self._start_automine = automine
        self.automine = False
        if automine:
            self.set_automine(True)

    # -- time and mining ---------------------------------------------------------------

    def _block_time(self, parent_time: int) -> int:
        pinned, self._next_timestamp = self._next_timestamp, None
        return max(pinned if pinned is not None else int(time.time()) + self._offset, parent_time)

    async def mine(self, count: int = 1, interval: int | None = None) -> None:
        """Make ``count`` blocks now; with ``interval``, each timed that many seconds after the one before."""
        if not 0 <= count <= MAX_MINE_BLOCKS:
            raise DevRequestError(f"cannot mine {count} blocks: at most {MAX_MINE_BLOCKS} at once")
        last = None
        for index in range(count):
            if index > 0 and interval is not None and last is not None:
                self._next_timestamp = last + interval
            last = (await self._engine.produce_block()).header.timestamp
        if last is not None:
            self._offset = max(self._offset, last - int(time.time()))

    def increase_time(self, seconds: int) -> int:
        """Move the clock of the next blocks forward; the total offset in seconds."""
        self._offset += seconds
        return self._offset

    def set_next_timestamp(self, timestamp: int) -> None:
        """Stamp the next block with ``timestamp``; later blocks continue from it."""
        latest = self._app.latest_header.timestamp
        if timestamp < latest:
            raise DevRequestError(f"Timestamp error: {timestamp} is lower than previous block's timestamp {latest}")
        self._next_timestamp = timestamp
        self._offset = timestamp - int(time.time())

    def set_automine(self, enabled: bool) -> None:
        """On: a block per transaction sent over RPC; off: blocks only when asked. No interval blocks either way."""
        self.automine = enabled
        self._engine.auto_blocks = False

    async def transaction_sent(self) -> None:
        """After a transaction was accepted over RPC: make its block now when automine is on."""
        if self.automine:
            await self.mine()

    # -- state edits -------------------------------------------------------------------

    async def edit_state(self, edit: StateEdit) -> None:
        """Apply ``edit`` through a block made now."""
        self.builder.add_edit(edit)
        await self.mine()

    async def set_balance(self, address: bytes, balance: int) -> None:
        """Set an account's balance."""
        await self.edit_state(StateEdit(EditKind.BALANCE, address, balance))

    async def set_nonce(self, address: bytes, nonce: int) -> None:
        """Set an account's nonce."""
        await self.edit_state(StateEdit(EditKind.NONCE, address, nonce))

    async def set_code(self, address: bytes, code: bytes) -> None:
        """Set an account's code."""
        await self.edit_state(StateEdit(EditKind.CODE, address, code))

    async def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Set one storage slot of an account."""
        await self.edit_state(StateEdit(EditKind.STORAGE, address, value, slot))

    # -- snapshots ---------------------------------------------------------------------

    def snapshot(self) -> int:
        """Remember the current height; the snapshot's id."""
        snapshot_id = self._next_snapshot
        self._next_snapshot += 1
        self._snapshots[snapshot_id] = Snapshot(self._app.latest_header.number, self._offset)
        return snapshot_id

    async def revert(self, snapshot_id: int) -> bool:
        """Return to a snapshot (it and later ones are used up); False for an unknown id."""
        snapshot = self._snapshots.get(snapshot_id)
        if snapshot is None:
            return False
        self._snapshots = {i: s for i, s in self._snapshots.items() if i < snapshot_id}
        await self._rewind(snapshot.height)
        self._offset = snapshot.time_offset
        return True

    async def reset(self) -> None:
        """Back to the genesis block as started: no snapshots, impersonation, time offset or pending edits."""
        self._snapshots.clear()
        self._impersonated.clear()
        await self._rewind(0)
        self._offset = 0
        self.automine = self._start_automine
        self._engine.auto_blocks = not self._start_automine
        self._engine.notify_tx()

    async def _rewind(self, height: int) -> None:
        loop = asyncio.get_running_loop()
        async with self._engine.block_lock:
            def rewind() -> Any:
                self._app.store.rewind_to(height)
                self._app.reload_chain_head()
                self._signer.rewind(height)
                return self._app.store.get_seen_commit(height) or EMPTY_COMMIT
            last_commit = await loop.run_in_executor(self._execution, rewind)
            self._engine.reset(last_commit)
            self._next_timestamp = None
            self.builder.clear()
            waiting = [tx.hash for group in self._mempool.content().values()
                       for by_nonce in group.values() for tx in by_nonce.values()]
            self._mempool.update(waiting, self._backend.latest_state(), self._app.next_base_fee())
        log.info("development chain rewound to block %d", height)

    # -- accounts and transactions -----------------------------------------------------

    def accounts(self) -> list[bytes]:
        """The addresses whose transactions this node signs (the 20 development accounts)."""
        return list(self._keys)

    def impersonate(self, address: bytes) -> None:
        """Accept ``eth_sendTransaction`` from ``address`` without a signature."""
        self._impersonated.add(address)

    def stop_impersonating(self, address: bytes) -> None:
        """Stop accepting unsigned transactions from ``address``."""
        self._impersonated.discard(address)

    def drop_transaction(self, tx_hash: bytes) -> bool:
        """Remove a waiting transaction; whether there was one."""
        if self.builder.drop_impersonated(tx_hash):
            return True
        if self._mempool.get(tx_hash) is None:
            return False
        self._mempool.update([tx_hash], self._backend.latest_state(), self._app.next_base_fee())
        return True

    async def send_transaction(self, request: CallRequest) -> bytes:
        """Sign (development account) or impersonate the sender of ``request``, submit it; its hash."""
        sender = request.sender
        if sender is None:
            raise DevRequestError("missing value for required argument 'from'")
        key = self._keys.get(sender)
        if key is None and sender not in self._impersonated:
            raise ServerError("unknown account")
        nonce = request.nonce
        if nonce is None:
            waiting = sum(1 for tx in self.builder.impersonated_txs() if tx.sender == sender)
            nonce = await self._backend.pending_nonce(sender) + waiting
        gas = request.gas
        if gas is None:
            gas = await self._backend.estimate_gas(request, await self._backend.latest_height())
        fees: tuple[int, int] | int
        if request.gas_price is not None:
            fees = request.gas_price
        else:
            tip = request.max_priority_fee_per_gas
            if tip is None:
                tip = await self._backend.max_priority_fee()
            max_fee = request.max_fee_per_gas
            if max_fee is None:
                max_fee = 2 * await self._backend.next_base_fee() + tip
            fees = (tip, max_fee)
        if key is not None:
            tx_hash = await self._backend.send_raw_transaction(
                _signed(request, self._app.chain_id, nonce, gas, fees, key))
            await self.transaction_sent()
            return tx_hash
        tx = impersonated_transaction(request, self._app.chain_id, nonce, gas, fees, sender)
        self.builder.add_impersonated(tx)
        if self.automine:
            await self.mine()
            reason = self.builder.left_out.get(tx.hash)
            if reason is not None:
                raise TransactionRejected(reason)
        return bytes(tx.hash)


def _signed(request: CallRequest, chain_id: int, nonce: int, gas: int, fees: tuple[int, int] | int,
            key: bytes) -> bytes:
    """The raw transaction of ``request`` signed with a development account's key."""
    fields: dict[str, Any] = {
        "chainId": chain_id, "nonce": nonce, "gas": gas, "value": request.value, "data": request.data,
    }
    if request.to is not None:
        fields["to"] = request.to
    if isinstance(fees, int):
        fields["gasPrice"] = fees
    else:
        fields["maxPriorityFeePerGas"], fields["maxFeePerGas"] = fees
        fields["type"] = 2
        fields["accessList"] = _access_list(request.access_list)
    return bytes(Account.sign_transaction(fields, key).raw_transaction)


def _access_list(entries: Sequence[tuple[bytes, tuple[int, ...]]]) -> list[dict[str, Any]]:
    return [{"address": "0x" + address.hex(), "storageKeys": [f"0x{slot:064x}" for slot in slots]}
            for address, slots in entries]
