"""Tracing committed transactions and calls for the RPC: replays from the chain store, on the caller's thread.

A committed block is replayed from its parent's state in the environment the
block was executed in: its header's number, time, coinbase, gas limit and
base fee, the parent hash as PREVRANDAO, the recent block hashes, and the
consensus facts its hooks saw (proposer, signers and absentees of the parent,
evidence), so that the begin-block hooks mint and slash exactly as they did.
The node is an archive node, so every parent state is there (a fast-synced
node only from its pivot on; the caller checks).

Every method runs blocking work and takes the checkpoint of the caller's
deadline; it raises ``rpc.errors`` types for the RPC to answer.
"""
from __future__ import annotations

from dataclasses import replace

from consensus.types import Block, Header
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.devblocks import DevRecord, apply_edits, set_sender
from rpc.errors import LimitExceeded, ResourceNotFound, TransactionRejected
from vm.errors import TraceLimitExceeded
from vm.execution import BlockEnv, CallMessage
from vm.interruptible import Checkpoint
from vm.tracing.replay import replay_block, trace_call
from vm.tracing.session import BlockTraces, TraceSpec, TransactionTrace, TxTracers
from vm.tracing.tracer import Tracer
from vm.transactions import decode_transaction


class TraceRunner:
    """Replays blocks and runs calls of ``app``'s chain under tracers."""

    def __init__(self, app: CyberMilesApp) -> None:
        self._app = app
        self._store = app.store

    def replay_env(self, block: Block) -> BlockEnv:
        """The environment ``block`` was executed in."""
        header = block.header
        parent = self._parent(header)
        info = self._app.consensus_info(header.number, header.proposer_address, block.last_commit,
                                        list(block.evidence), header.randao_reveal)
        env = self._app.block_env(parent, header.number, header.timestamp, header.coinbase, info)
        return replace(env, gas_limit=header.gas_limit, base_fee=header.base_fee_per_gas, max_tx_gas=None)

    def _parent(self, header: Header) -> Header:
        parent = self._store.get_header_by_number(header.number - 1)
        if parent is None:
            raise ResourceNotFound(f"parent of block {header.number} not found")
        return parent

    def trace_block(self, block: Block, spec: TraceSpec, checkpoint: Checkpoint, *, only: int | None = None,
                    with_hooks: bool = False) -> BlockTraces:
        """Trace every transaction of ``block`` (or only the ``only``-th) with ``spec``'s tracers.

        ``with_hooks`` also records what the block's begin/end hooks changed.
        """
        if block.number == 0:
            return BlockTraces(block.hash, 0, ())
        chain_id = self._app.chain_id
        transactions = [decode_transaction(raw, chain_id) for raw in block.transactions]
        base, parent_root = self._store.state_db(), self._parent(block.header).state_root
        record = self._store.get_dev_record(block.hash)
        if record is not None:  # a development block: its state edits ran first, its impersonated senders signed nothing
            dev = DevRecord.decode(record)
            parent_root, base = apply_edits(self._app.executor, base, parent_root, self.replay_env(block), dev.edits)
            senders = dict(dev.impersonated)
            for tx in transactions:
                if tx.hash in senders:
                    set_sender(tx, senders[tx.hash])
        sessions: dict[int, TxTracers] = {}

        def tracer_for(index: int) -> Tracer | None:
            if only is not None and index != only:
                return None
            sessions[index] = TxTracers(spec)
            return sessions[index].tracer

        try:
            replay = replay_block(self._app.executor, base, parent_root, self.replay_env(block), transactions,
                                  tracer_for, checkpoint, last=only, with_hooks=with_hooks)
        except TraceLimitExceeded as exc:
            raise LimitExceeded(str(exc)) from None
        traces = tuple(sessions[traced.index].of(traced) for traced in replay.transactions)
        return BlockTraces(block.hash, block.number, traces, replay.hooks)

    def trace_transaction(self, tx_hash: bytes, spec: TraceSpec, checkpoint: Checkpoint) -> BlockTraces | None:
        """The trace of the committed transaction ``tx_hash`` in its block, or None if unknown."""
        location = self._store.get_tx_location(tx_hash)
        if location is None:
            return None
        block = self._store.get_block_by_hash(location.block_hash)
        if block is None:
            return None
        return self.trace_block(block, spec, checkpoint, only=location.index)

    def trace_call(self, message: CallMessage, header: Header, env: BlockEnv, spec: TraceSpec,
                   checkpoint: Checkpoint) -> TransactionTrace:
        """Trace ``message`` run as ``eth_call`` on the state after ``header`` in ``env``."""
        session = TxTracers(spec)
        try:
            outcome = trace_call(self._app.executor, self._store.state_db(), header.state_root, env, message,
                                 session.tracer, checkpoint)
        except TraceLimitExceeded as exc:
            raise LimitExceeded(str(exc)) from None
        if not outcome.success and outcome.gas_used == 0 and not outcome.output and outcome.error:
            raise TransactionRejected(outcome.error)  # the call could not start (funds, gas below intrinsic)
        gas = message.gas if message.gas is not None else env.gas_limit
        return session.findings(b"", 0, gas, outcome.gas_used, outcome.success, outcome.output)
