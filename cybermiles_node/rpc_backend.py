"""The node's implementation of the JSON-RPC ``Backend`` protocol.

Reads of LevelDB and py-evm state run on a small reader thread pool, so RPC
never stalls block production (which has its own executor thread) nor the
event loop. Mempool access stays on the event loop, where the mempool lives.

A fast-synced node holds the state from its pivot block on: state queries of
earlier blocks, or of any block while fast sync is still fetching, get a
JSON-RPC error saying so (as geth answers for pruned state) rather than a
missing-trie-node failure.
"""
from __future__ import annotations

import asyncio
import platform
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from consensus.types import Block, Header
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.blockfirst import BlockWorkFirst
from cybermiles_node.config import RPCSection
from cybermiles_node.decodepool import DecodePool, DecodePoolBusy
from cybermiles_node.devblocks import impersonated_sender, set_sender
from cybermiles_node.dpos_queries import DposQueries
from cybermiles_node.ipfs.unixfs import cid_of
from cybermiles_node.mempool.errors import MempoolError, from_decode_error
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.errors import TooManyLogs
from cybermiles_node.trace_backend import TraceRunner
from cybermiles_node.version import VERSION
from rpc.backend import (
    BlockListener,
    CallRequest,
    CallResult,
    ConsensusStatus,
    ContentId,
    DposAbsence,
    DposAward,
    DposCandidate,
    DposDelegator,
    DposParam,
    DposProposal,
    DposSupply,
    LogSearch,
    MinedReceipt,
    MinedTransaction,
    PendingListener,
    PoolContent,
    PoolStatus,
    SimulationRequest,
    SyncStatus,
    TxContext,
)
from rpc.errors import (
    ExecutionReverted,
    InvalidParams,
    LimitExceeded,
    ResourceNotFound,
    ServerError,
    TransactionRejected,
)
from vm.access_list import AccessListOutcome, create_access_list
from vm.errors import InvalidTransaction
from vm.execution import BlockEnv, CallMessage, CallOutcome
from vm.interruptible import CallInterrupted, Checkpoint
from vm.logs import BlockLog
from vm.overrides import NO_OVERRIDES, CallOverrides
from vm.proofs import AccountProof, prove_account
from vm.receipts import Log, Receipt
from vm.simulation import BlockPlan, SimulatedBlock, plan_blocks, simulate
from vm.tracing.session import BlockTraces, TraceSpec, TransactionTrace
from vm.transactions import DecodeFailure, DecodeOutcome, decode_transaction

DEFAULT_TIP = 1  # wei: blocks are rarely full, any tip is enough


class StateAt:
    """Balance and nonce reads at one state root (the mempool's ``StateView``)."""

    def __init__(self, app: CyberMilesApp, state_root: bytes) -> None:
        self._accounts = app.account_db(state_root)
        self._time = app.latest_header.timestamp

    def get_balance(self, address: bytes) -> int:
        """Balance in wei."""
        return self._accounts.get_balance(address)

    def get_nonce(self, address: bytes) -> int:
        """Account nonce."""
        return self._accounts.get_nonce(address)

    def get_storage(self, address: bytes, slot: int) -> int:
        """A storage slot (the sponsor contract's records)."""
        return self._accounts.get_storage(address, slot)

    def block_time(self) -> int:
        """The latest block's timestamp."""
        return self._time


def _check_gas_cap(request: CallRequest, header: Header) -> None:
    """Refuse a call asking for more gas than the block's gas limit (geth's RPC gas cap)."""
    if request.gas is not None and request.gas > header.gas_limit:
        raise TransactionRejected(f"gas required exceeds allowance ({header.gas_limit})")


def _reject_if_not_started(outcome: CallOutcome) -> None:
    """Raise ``TransactionRejected`` for a call that could not start (funds, intrinsic gas, size)."""
    if not outcome.success and outcome.gas_used == 0 and not outcome.output and outcome.error:
        raise TransactionRejected(outcome.error)


class StateUnavailable(ServerError):
    """The state of the block asked for is not held by this node (it was fast-synced past it)."""


def check_state_available(store: ChainStore, height: int) -> None:
    """Raise ``StateUnavailable`` unless this node holds the state after block ``height``."""
    if store.fast_sync_in_progress():
        raise StateUnavailable("state unavailable: this node is fast-syncing and has no state yet")
    base = store.state_base()
    if height < base:
        raise StateUnavailable(f"historical state unavailable: this node's state starts at block {base}")


class NetworkStatus(Protocol):
    """What the RPC reports of the p2p network and block sync."""

    def peer_count(self) -> int:
        """Connected peers."""
        ...

    def sync_status(self) -> SyncStatus | None:
        """Progress while catching up, None at the head of the chain."""
        ...


class Standalone:
    """The network status of a node without peers (a single-validator chain)."""

    def peer_count(self) -> int:
        """No peers."""
        return 0

    def sync_status(self) -> SyncStatus | None:
        """It makes its own chain: never behind."""
        return None


@dataclass(frozen=True)
class ReadLimits:
    """How much RPC read work the node takes on at once.

    Cheap reads (blocks, receipts, balances) and calls (``eth_call``,
    ``eth_estimateGas``) have pools of their own, so a slow call never makes a
    balance wait; ``max_pending`` bounds the reads queued or running in both
    (beyond it a request is refused with -32005); a call is abandoned after
    ``call_timeout_seconds`` (geth's ``--rpc.evmtimeout``, 5 s by default).
    """

    readers: int = 2
    callers: int = 2
    max_pending: int = RPCSection.max_pending_reads  # the defaults are config.toml's
    call_timeout_seconds: float = RPCSection.call_timeout_ms / 1000


class NodeBackend:
    """Answers the RPC server from the chain store, the state, the mempool and the network."""

    def __init__(self, app: CyberMilesApp, mempool: Mempool, on_new_tx: Callable[[bytes], None],
                 network: NetworkStatus | None = None, limits: ReadLimits = ReadLimits(),
                 block_work: BlockWorkFirst | None = None, decoder: DecodePool | None = None) -> None:
        """``on_new_tx(raw)`` is called for each transaction admitted over RPC (to gossip it or wake the producer).

        Reads step aside while ``block_work`` runs (see ``cybermiles_node.blockfirst``). ``decoder``
        decodes transactions for admission (the node's worker processes; by default in-process, on a thread).
        """
        self._app = app
        self._store = app.store
        self._mempool = mempool
        self._on_new_tx = on_new_tx
        self.network: NetworkStatus = network or Standalone()
        self.consensus: Callable[[], ConsensusStatus] = lambda: ConsensusStatus(
            self._app.latest_header.number, 0, "propose", None, None, "cmnode"
        )
        self._limits = limits
        self.dev_records = False  # a development chain: its blocks may name impersonated senders
        self._block_work = block_work or BlockWorkFirst()
        self._readers = ThreadPoolExecutor(max_workers=limits.readers, thread_name_prefix="rpc-read")
        self._callers = ThreadPoolExecutor(max_workers=limits.callers, thread_name_prefix="rpc-call")
        self._owns_decoder = decoder is None
        self._decoder = decoder if decoder is not None else DecodePool(app.chain_id, workers=0)
        self._pending = 0
        self._listeners: list[BlockListener] = []
        self._pending_listeners: list[PendingListener] = []
        self.admission_observer: Callable[[str | None], None] | None = None  # monitoring: None or why refused
        self._latest_state: tuple[bytes, StateAt] | None = None
        self._traces = TraceRunner(app)
        self._dpos = DposQueries(app.executor, self._store.state_db, self._call_env)

    def latest_state(self) -> StateAt:
        """A view of the latest committed state, shared until the next block (its reads are cached)."""
        root = self._app.latest_header.state_root
        if self._latest_state is None or self._latest_state[0] != root:
            self._latest_state = (root, StateAt(self._app, root))
        return self._latest_state[1]

    def close(self) -> None:
        """Stop the reader threads."""
        self._readers.shutdown(wait=False, cancel_futures=True)
        self._callers.shutdown(wait=False, cancel_futures=True)
        if self._owns_decoder:
            self._decoder.close()

    async def _read(self, function: Callable[..., Any], *args: Any) -> Any:
        return await self._run(self._readers, function, *args)

    async def _run(self, pool: ThreadPoolExecutor, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` on ``pool`` after any block work in progress, within the pending bound."""
        if self._pending >= self._limits.max_pending:
            raise LimitExceeded(f"node busy: {self._pending} RPC reads pending, at most {self._limits.max_pending}")

        def job() -> Any:
            self._block_work.step_aside()
            return function(*args)

        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, job)
        finally:
            self._pending -= 1

    async def _guarded_call(self, function: Callable[[Checkpoint], Any], timeout: float | None = None) -> Any:
        """Run ``function(checkpoint)`` on the call pool; the checkpoint stops it at the deadline.

        The deadline is ``timeout`` seconds away (default: the call timeout).
        """
        timeout = self._limits.call_timeout_seconds if timeout is None else timeout

        def run() -> Any:
            deadline = time.monotonic() + timeout

            def checkpoint() -> None:
                self._block_work.step_aside()
                time.sleep(0)  # hand the interpreter to a waiting thread now, not at the next switch interval
                if time.monotonic() > deadline:
                    raise CallInterrupted(f"execution aborted (timeout = {timeout:g}s)")

            try:
                return function(checkpoint)
            except CallInterrupted as exc:
                raise ServerError(str(exc)) from None

        return await self._run(self._callers, run)

    # -- node ----------------------------------------------------------------------

    def chain_id(self) -> int:
        """The EIP-155 chain id."""
        return self._app.chain_id

    async def client_version(self) -> str:
        """``cmnode/v<version>/<os>-<arch>/python<major>.<minor>``."""
        return f"cmnode/v{VERSION}/{sys.platform}-{platform.machine()}/python{sys.version_info[0]}.{sys.version_info[1]}"

    async def peer_count(self) -> int:
        """Connected p2p peers."""
        return self.network.peer_count()

    async def syncing(self) -> SyncStatus | None:
        """Block-sync progress, None at the head of the chain."""
        return self.network.sync_status()

    # -- chain ---------------------------------------------------------------------

    async def latest_height(self) -> int:
        """Last committed height."""
        return self._app.latest_header.number

    async def consensus_status(self) -> ConsensusStatus:
        """Committed height, and the round and step of the height in progress."""
        return self.consensus()

    async def get_block_by_number(self, number: int) -> Block | None:
        """Committed block at ``number``."""
        return await self._read(self._store.get_block_by_number, number)

    async def get_block_by_hash(self, block_hash: bytes) -> Block | None:
        """Committed block by hash."""
        return await self._read(self._store.get_block_by_hash, block_hash)

    async def get_receipts(self, block_hash: bytes) -> Sequence[Receipt] | None:
        """Receipts of a committed block."""
        def read() -> Sequence[Receipt] | None:
            if self._store.get_header(block_hash) is None:
                return None
            return self._store.get_receipts(block_hash)
        return await self._read(read)

    async def get_block_events(self, block_hash: bytes) -> Sequence[Log]:
        """Events of a committed block's begin/end hooks (not held for blocks a fast sync skipped)."""
        def read() -> Sequence[Log]:
            header = self._store.get_header(block_hash)
            base = self._store.state_base()
            if header is not None and 0 < header.number <= base:
                raise StateUnavailable(
                    f"block events unavailable: this node's state starts at block {base} (fast sync)")
            return self._store.get_block_events(block_hash)
        return await self._read(read)

    async def get_mined_transaction(self, tx_hash: bytes) -> MinedTransaction | None:
        """A committed transaction: its index record, its header and its own bytes, nothing else of its block."""
        def read() -> MinedTransaction | None:
            location = self._store.get_tx_location(tx_hash)
            if location is None:
                return None
            header = self._store.get_header(location.block_hash)
            if header is None:
                return None
            tx = decode_transaction(self._store.get_transaction(location), self._app.chain_id)
            if self.dev_records:
                sender = impersonated_sender(self._store.get_dev_record(location.block_hash), tx_hash)
                if sender is not None:
                    set_sender(tx, sender)
            context = TxContext(header.hash, header.number, header.timestamp, location.index, header.base_fee_per_gas)
            return MinedTransaction(tx, context)
        return await self._read(read)

    async def get_mined_receipt(self, tx_hash: bytes) -> MinedReceipt | None:
        """A committed transaction's receipt: its index record and its own receipt record."""
        def read() -> MinedReceipt | None:
            location = self._store.get_tx_location(tx_hash)
            if location is None:
                return None
            receipt = self._store.get_receipt(location.block_hash, location.index)
            if receipt is None:
                return None
            return MinedReceipt(receipt, location.block_hash, location.height, location.first_log_index)
        return await self._read(read)

    async def get_pending_transaction(self, tx_hash: bytes) -> Any | None:
        """A transaction waiting in the mempool."""
        pooled = self._mempool.get(tx_hash)
        return None if pooled is None else pooled.tx

    # -- state ---------------------------------------------------------------------

    def _header(self, height: int) -> Header:
        header = self._store.get_header_by_number(height)
        if header is None:
            raise ResourceNotFound(f"block {height} not found")
        return header

    def _state_header(self, height: int) -> Header:
        """The header of block ``height``, whose state this node must hold."""
        header = self._header(height)
        check_state_available(self._store, height)
        return header

    async def get_balance(self, address: bytes, height: int) -> int:
        """Balance after block ``height``."""
        return await self._read(
            lambda: self._app.account_db(self._state_header(height).state_root).get_balance(address)
        )

    async def get_nonce(self, address: bytes, height: int) -> int:
        """Nonce after block ``height``."""
        return await self._read(
            lambda: self._app.account_db(self._state_header(height).state_root).get_nonce(address)
        )

    async def pending_nonce(self, address: bytes) -> int:
        """Next nonce counting executable mempool transactions."""
        check_state_available(self._store, self._app.latest_header.number)
        return self._mempool.pending_nonce(address, self.latest_state())

    async def get_code(self, address: bytes, height: int) -> bytes:
        """Code after block ``height``."""
        return await self._read(lambda: self._app.account_db(self._state_header(height).state_root).get_code(address))

    async def get_storage_at(self, address: bytes, slot: int, height: int) -> int:
        """Storage word after block ``height``."""
        return await self._read(
            lambda: self._app.account_db(self._state_header(height).state_root).get_storage(address, slot)
        )

    def _call_env(self, header: Header) -> BlockEnv:
        return BlockEnv(
            number=header.number,
            timestamp=header.timestamp,
            coinbase=header.coinbase,
            gas_limit=header.gas_limit,
            base_fee=header.base_fee_per_gas,
            prev_randao=header.mix_hash,
            chain_id=self._app.chain_id,
            recent_hashes=tuple(self._store.recent_hashes(header.number - 1)) if header.number > 0 else (),
        )

    def _message(self, request: CallRequest) -> CallMessage:
        return CallMessage(
            sender=request.sender or b"\x00" * 20,
            to=request.to,
            data=request.data,
            value=request.value,
            gas=request.gas,
            gas_price=request.gas_price,
            max_fee_per_gas=request.max_fee_per_gas,
            max_priority_fee_per_gas=request.max_priority_fee_per_gas,
            access_list=request.access_list,
            nonce=request.nonce,
        )

    async def call(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> CallResult:
        """Execute a call on the state after ``height`` (abandoned at the call deadline)."""
        def run(checkpoint: Checkpoint) -> CallResult:
            header = self._state_header(height)
            _check_gas_cap(request, header)
            outcome = self._app.executor.call(
                self._store.state_db(), header.state_root, self._call_env(header), self._message(request), checkpoint,
                overrides,
            )
            _reject_if_not_started(outcome)
            return CallResult(outcome.success, outcome.output, outcome.gas_used, outcome.error)
        return await self._guarded_call(run)

    async def estimate_gas(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> int:
        """Smallest sufficient gas limit for ``request`` (abandoned at the call deadline)."""
        def run(checkpoint: Checkpoint) -> int:
            header = self._state_header(height)
            outcome = self._app.executor.estimate_gas(
                self._store.state_db(), header.state_root, self._call_env(header), self._message(request),
                cap=header.gas_limit, checkpoint=checkpoint, overrides=overrides,
            )
            if outcome.success:
                return outcome.gas_used
            if outcome.error == "execution reverted":
                raise ExecutionReverted(outcome.output)
            if outcome.gas_used == 0:
                raise TransactionRejected(outcome.error or "execution failed")
            raise TransactionRejected(f"gas required exceeds allowance ({header.gas_limit})")
        return await self._guarded_call(run)

    async def create_access_list(self, request: CallRequest, height: int,
                                 overrides: CallOverrides = NO_OVERRIDES) -> AccessListOutcome:
        """The access list of a call on the state after ``height`` (abandoned at the call deadline)."""
        def run(checkpoint: Checkpoint) -> AccessListOutcome:
            header = self._state_header(height)
            _check_gas_cap(request, header)
            found = create_access_list(self._app.executor, self._store.state_db(), header.state_root,
                                       self._call_env(header), self._message(request), checkpoint, overrides)
            _reject_if_not_started(found.outcome)
            return found
        return await self._guarded_call(run)

    async def get_proof(self, address: bytes, slots: Sequence[int], height: int) -> AccountProof:
        """EIP-1186 proof of ``address`` and ``slots`` after block ``height``."""
        return await self._read(
            lambda: prove_account(self._store.state_db(), self._state_header(height).state_root, address, slots)
        )

    async def simulate(self, request: SimulationRequest, height: int) -> Sequence[SimulatedBlock]:
        """Simulate blocks of calls on top of block ``height`` (abandoned at the call deadline)."""
        def run(checkpoint: Checkpoint) -> Sequence[SimulatedBlock]:
            header = self._state_header(height)
            parent = replace(self._call_env(header), recent_hashes=tuple(self._store.recent_hashes(header.number)))
            plans = [
                BlockPlan(block.block, block.state, tuple(self._message(call) for call in block.calls))
                for block in request.blocks
            ]
            blocks = plan_blocks(parent, plans, validate=request.validation)
            return simulate(self._app.executor, self._store.state_db(), header.state_root, header.hash, blocks,
                            validate=request.validation, checkpoint=checkpoint)
        return await self._guarded_call(run)

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        """Admit a signed transaction to the mempool.

        Decoding and sender recovery (most of an admission's work) run on the
        decode pool's worker processes, batched with the requests that arrive
        meanwhile; only the pool itself is changed on the loop.
        """
        decoded = (await self.decode_for_admission([raw]))[0]
        try:
            tx_hash = self.admit(raw, decoded)
        except MempoolError as exc:
            raise TransactionRejected(str(exc)) from exc
        self._on_new_tx(raw)
        return tx_hash

    async def decode_for_admission(self, raws: list[bytes]) -> list[DecodeOutcome | None]:
        """Each of ``raws`` decoded by the decode pool; None for one over the size limit (admission refuses it).

        One transaction joins the batch of those arriving within the pool's window; several go at once.
        """
        limit = self._mempool.config.max_tx_bytes
        fitting = [raw for raw in raws if len(raw) <= limit]
        try:
            if len(raws) == 1:
                outcomes = [await self._decoder.decode(fitting[0])] if fitting else []
            else:
                outcomes = await self._decoder.decode_many(fitting)
        except DecodePoolBusy as exc:
            raise LimitExceeded(str(exc)) from exc
        answers = iter(outcomes)
        return [next(answers) if len(raw) <= limit else None for raw in raws]

    def admit(self, raw: bytes, decoded: DecodeOutcome | None = None) -> bytes:
        """Add a transaction (from RPC or a peer) to the mempool and lend its decoding to block checks.

        ``decoded`` is what ``decode_for_admission`` answered for ``raw`` (None: decode it here).
        """
        if self._store.fast_sync_in_progress():
            raise MempoolError("node is fast-syncing: no state to check transactions against yet")
        try:
            if isinstance(decoded, DecodeFailure):
                raise from_decode_error(InvalidTransaction(decoded.message))
            tx_hash = self._mempool.add(raw, self.latest_state(), self._app.next_base_fee(), decoded)
        except MempoolError as exc:
            if self.admission_observer is not None:
                self.admission_observer(type(exc).__name__)
            raise
        if self.admission_observer is not None:
            self.admission_observer(None)
        pooled = self._mempool.get(tx_hash)
        if pooled is not None:
            self._app.decoded_txs.put(tx_hash, pooled.tx)
            for listener in list(self._pending_listeners):
                listener(pooled.tx)
        return tx_hash

    def add_pending_listener(self, listener: PendingListener) -> Callable[[], None]:
        """Register ``listener(tx)`` for transactions admitted to the mempool (over RPC or from a peer)."""
        self._pending_listeners.append(listener)
        return lambda: self._pending_listeners.remove(listener) if listener in self._pending_listeners else None

    async def txpool_content(self, sender: bytes | None = None) -> PoolContent:
        """The mempool's pending and queued transactions (of ``sender`` only, if given)."""
        content = self._mempool.content(sender)
        pending, queued = (
            {address: {nonce: pooled.tx for nonce, pooled in txs.items()} for address, txs in content[group].items()}
            for group in ("pending", "queued")
        )
        return PoolContent(pending, queued)

    async def txpool_status(self) -> PoolStatus:
        """The mempool's pending and queued counts."""
        stats = self._mempool.stats()
        return PoolStatus(stats.pending, stats.queued)

    async def content_id(self, content: bytes) -> ContentId:
        """The file's CID, hashed on the reader pool."""
        cid = await self._read(cid_of, content)
        return ContentId(str(cid), cid.codec_name, cid.digest)

    # -- tracing -------------------------------------------------------------------

    async def trace_block(self, height: int, spec: TraceSpec, with_hooks: bool = False) -> BlockTraces:
        """Replay block ``height`` under ``spec``'s tracers (abandoned at the spec's deadline)."""
        def run(checkpoint: Checkpoint) -> BlockTraces:
            block = self._store.get_block_by_number(height)
            if block is None:
                raise ResourceNotFound(f"block {height} not found")
            check_state_available(self._store, max(height - 1, 0))
            return self._traces.trace_block(block, spec, checkpoint, with_hooks=with_hooks)
        return await self._guarded_call(run, spec.timeout_seconds)

    async def trace_transaction(self, tx_hash: bytes, spec: TraceSpec) -> BlockTraces | None:
        """Replay a committed transaction's block up to it under ``spec``'s tracers."""
        def run(checkpoint: Checkpoint) -> BlockTraces | None:
            location = self._store.get_tx_location(tx_hash)
            if location is not None:
                check_state_available(self._store, max(location.height - 1, 0))
            return self._traces.trace_transaction(tx_hash, spec, checkpoint)
        return await self._guarded_call(run, spec.timeout_seconds)

    async def trace_call(self, request: CallRequest, height: int, spec: TraceSpec) -> TransactionTrace:
        """Trace a call on the state after ``height`` under ``spec``'s tracers."""
        def run(checkpoint: Checkpoint) -> TransactionTrace:
            header = self._state_header(height)
            if request.gas is not None and request.gas > header.gas_limit:
                raise TransactionRejected(f"gas required exceeds allowance ({header.gas_limit})")
            return self._traces.trace_call(self._message(request), header, self._call_env(header), spec, checkpoint)
        return await self._guarded_call(run, spec.timeout_seconds)

    # -- delegated proof of stake ---------------------------------------------------

    async def dpos_candidates(self, height: int) -> Sequence[DposCandidate]:
        """Every candidacy after block ``height``, elected ones first in rank order."""
        return await self._read(lambda: self._dpos.candidates(self._state_header(height)))

    async def dpos_candidate(self, owner: bytes, height: int) -> DposCandidate | None:
        """The candidacy owned by ``owner`` after block ``height``."""
        return await self._read(lambda: self._dpos.candidate(self._state_header(height), owner))

    async def dpos_delegator(self, delegator: bytes, height: int) -> DposDelegator:
        """Delegations and pending unbondings of ``delegator`` after block ``height``."""
        return await self._read(lambda: self._dpos.delegator(self._state_header(height), delegator))

    async def dpos_awards(self, height: int) -> Sequence[DposAward]:
        """Awards of the latest block at or before ``height`` that paid awards."""
        return await self._read(lambda: self._dpos.awards(self._state_header(height)))

    async def dpos_absent_validators(self, height: int) -> Sequence[DposAbsence]:
        """Elected members with consecutive missed blocks after block ``height``."""
        return await self._read(lambda: self._dpos.absent_validators(self._state_header(height)))

    async def dpos_proposals(self, height: int, limit: int) -> Sequence[DposProposal]:
        """Pending proposals and the ``limit`` most recent after block ``height``."""
        return await self._read(lambda: self._dpos.proposals(self._state_header(height), limit))

    async def dpos_params(self, height: int) -> Sequence[DposParam]:
        """Chain parameters in force after block ``height``."""
        return await self._read(lambda: self._dpos.params(self._state_header(height)))

    async def dpos_supply(self, height: int) -> DposSupply:
        """Supply breakdown after block ``height``."""
        return await self._read(lambda: self._dpos.supply(self._state_header(height)))

    # -- fees ----------------------------------------------------------------------

    async def gas_price(self) -> int:
        """Next base fee plus the suggested tip."""
        return self._app.next_base_fee() + DEFAULT_TIP

    async def max_priority_fee(self) -> int:
        """Suggested tip."""
        return DEFAULT_TIP

    async def next_base_fee(self) -> int:
        """Base fee of the next block."""
        return self._app.next_base_fee()

    # -- logs and subscriptions ----------------------------------------------------

    async def get_logs(self, query: LogSearch) -> Sequence[BlockLog]:
        """Committed logs matching the filter (at most ``max_results + 1``)."""
        def run() -> list[BlockLog]:
            log_filter = query.log_filter
            try:
                return self._store.find_logs(
                    query.from_block, query.to_block, list(log_filter.addresses),
                    [None if t is None else list(t) for t in log_filter.topics], query.max_results,
                )
            except TooManyLogs as exc:
                raise InvalidParams(f"query returned more than {query.max_results} results") from exc
        return await self._read(run)

    def add_block_listener(self, listener: BlockListener) -> Callable[[], None]:
        """Register ``listener(block, receipts)`` for committed blocks."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def block_committed(self, block: Block, receipts: Sequence[Receipt]) -> None:
        """Notify listeners of a committed block (called on the event loop)."""
        for listener in list(self._listeners):
            listener(block, receipts)
