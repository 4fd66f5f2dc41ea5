"""The node service: opens the home, wires storage, application, mempool, engine and RPC, and runs them.

Threads: the asyncio event loop (RPC, mempool, engine driver), one execution
thread (block building, checking and committing), and a small pool of RPC
reader threads. Shutdown on SIGINT/SIGTERM finishes the block in progress,
stops the RPC server and closes the database.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from consensus.keys import ValidatorKey
from consensus.privval import PrivValidator
from consensus.solo import EngineConfig, SingleValidatorEngine
from consensus.types import Block
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.config import NodeConfig
from cybermiles_node.home import NodeHome
from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from genesis.document import GenesisDocument
from rpc.config import RPCConfig
from rpc.server import RPCServer

log = logging.getLogger("cmnode")


class MempoolTxSource:
    """The engine's view of the mempool: executable transactions for the next block."""

    def __init__(self, mempool: Mempool, app: CyberMilesApp) -> None:
        self._mempool = mempool
        self._app = app

    def reap(self, max_bytes: int) -> list[object]:
        """Decoded transactions (senders cached) in inclusion order."""
        chosen = self._mempool.reap(self._app.genesis.params.gas_limit, max_bytes, self._app.next_base_fee())
        return [pooled.tx for pooled in chosen]

    def has_txs(self) -> bool:
        """Whether any transaction waits."""
        return len(self._mempool) > 0


@dataclass(frozen=True)
class RuntimeOptions:
    """Settings that come from the genesis document and may be overridden by config."""

    block_interval_ms: int
    create_empty_blocks: bool


def runtime_options(genesis: GenesisDocument, config: NodeConfig) -> RuntimeOptions:
    """Block interval and empty-block policy: config overrides genesis."""
    interval = config.consensus.block_interval_ms or genesis.consensus.timeout_commit_ms
    empty = config.consensus.create_empty_blocks
    return RuntimeOptions(interval, genesis.consensus.create_empty_blocks if empty is None else empty)


class Node:
    """A running single-validator node."""

    def __init__(self, home: NodeHome, config: NodeConfig, genesis: GenesisDocument) -> None:
        self.home = home
        self.config = config
        self.genesis = genesis
        self.options = runtime_options(genesis, config)
        home.data.mkdir(parents=True, exist_ok=True)
        self.db = LevelDB(home.database)
        try:
            self.store = ChainStore(self.db)
            self.app = CyberMilesApp(self.store, genesis)
        except BaseException:
            self.db.close()
            raise
        params = genesis.params
        self.mempool = Mempool(
            genesis.chain_id,
            MempoolConfig(
                max_txs=config.mempool.max_txs,
                max_bytes=config.mempool.max_bytes,
                max_per_sender=config.mempool.max_per_sender,
                max_tx_bytes=genesis.consensus.max_tx_bytes,
                block_gas_limit=params.gas_limit,
                max_tx_gas=params.max_gas_per_tx,
                min_gas_price=params.min_gas_price,
            ),
        )
        self.execution = ThreadPoolExecutor(max_workers=1, thread_name_prefix="execution")
        self.engine: SingleValidatorEngine | None = None
        self.backend = NodeBackend(self.app, self.mempool, self._notify_tx)
        self.rpc: RPCServer | None = None

    def _notify_tx(self) -> None:
        if self.engine is not None:
            self.engine.notify_tx()

    def _on_commit(self, block: Block) -> None:
        receipts = self.app.last_receipts
        self.mempool.update(
            [r.tx_hash for r in receipts], self.backend.latest_state(), self.app.next_base_fee(),
            senders=sorted({r.sender for r in receipts}),
        )
        log.debug("block %d 0x%s: gas used %d", block.number, block.hash.hex(), block.header.gas_used)
        self.backend.block_committed(block, receipts)

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await self.start()
            log.info("node started: chain %d at height %d", self.genesis.chain_id, self.app.latest_header.number)
            engine_task = asyncio.create_task(self.engine.run()) if self.engine else None
            stopper = asyncio.create_task(stop.wait())
            waiting = {stopper} | ({engine_task} if engine_task else set())
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if engine_task is not None and engine_task in done:
                engine_task.result()  # surface a failure of the engine
            log.info("shutting down")
            if self.engine is not None:
                self.engine.stop()
            if engine_task is not None:
                await engine_task
            stopper.cancel()
        finally:
            await self.close()

    async def start(self) -> None:
        """Start the RPC server and prepare the block producer."""
        key = ValidatorKey.load(self.home.validator_key)
        privval = PrivValidator(key, self.home.last_signed)
        self.engine = SingleValidatorEngine(
            app=self.app,
            txs=MempoolTxSource(self.mempool, self.app),
            privval=privval,
            validators=self.app.validators,
            config=EngineConfig(
                chain_id=self.genesis.chain_id,
                block_interval_ms=self.options.block_interval_ms,
                create_empty_blocks=self.options.create_empty_blocks,
                max_block_bytes=self.genesis.consensus.max_block_bytes,
            ),
            executor=self.execution,
            on_commit=self._on_commit,
        )
        last_commit = self.store.get_seen_commit(self.app.latest_header.number)
        if last_commit is not None:
            self.engine.resume_commit(last_commit)
        if self.config.rpc.enabled:
            rpc = self.config.rpc
            self.rpc = RPCServer(
                self.backend,
                RPCConfig(
                    max_body_bytes=rpc.max_body_bytes,
                    max_batch_size=rpc.max_batch_size,
                    max_log_block_range=rpc.max_log_block_range,
                    max_ws_connections=rpc.max_ws_connections,
                    cors_origins=rpc.cors_origins,
                ),
            )
            await self.rpc.start(rpc.addr.host, rpc.addr.port)
            log.info("JSON-RPC (HTTP and WebSocket) listening on http://%s", rpc.addr)
        self.home.pid_file.write_text(str(os.getpid()))

    async def close(self) -> None:
        """Stop serving and close the database."""
        if self.rpc is not None:
            await self.rpc.stop()
        self.backend.close()
        self.execution.shutdown(wait=True)
        self.db.close()
        self.home.pid_file.unlink(missing_ok=True)
