"""The node service: opens the home, wires storage, application, mempool, consensus, p2p and RPC.

Two modes. A chain with one validator and no peers configured (the local
development chain) runs the single-validator producer. Otherwise the node
joins the p2p network, catches up by block sync until no peer is ahead, then
runs the Tendermint driver: as a validator if its key is in the validator set,
else as a full node that follows and serves RPC.

Consensus signs with the home's validator key file, or, when ``[privval]
laddr`` is set, through a remote signer that dials the node there
(``consensus.remote_signer``); while that signer is away the node does not
vote and everything else goes on.

Threads: the asyncio event loop (RPC, mempool, p2p, consensus driver), one
execution thread (block building, checking and committing), and a small pool
of RPC reader threads. Shutdown on SIGINT/SIGTERM finishes the block in
progress, stops the RPC server and p2p, and closes the database and WAL.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, replace

from consensus.application import DecodedTx, TxSource
from consensus.blocksync import SyncedBlock
from consensus.driver import ConsensusDriver, DriverConfig
from consensus.keys import ValidatorKey
from consensus.privval import ConsensusSigner, PrivValidator
from consensus.reactor.gossip import ConsensusGossip, EvidenceGossip
from consensus.reactor.sync import BlockSyncService
from consensus.remote_signer.endpoint import RemoteSigner, RemoteSignerConfig
from consensus.solo import EngineConfig, SingleValidatorEngine
from consensus.tendermint import TimeoutConfig
from consensus.types import Block
from consensus.wal import WAL
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.beacon import key_reveals, remote_reveals
from cybermiles_node.blockfirst import BlockWorkFirst, ExecutionThread
from cybermiles_node.config import NodeConfig
from cybermiles_node.decodepool import DecodePool, worker_count
from cybermiles_node.devblocks import DevBlockBuilder
from cybermiles_node.devchain import DevChain, DevTxSource
from cybermiles_node.errors import NodeError
from cybermiles_node.fastsync import FastSync
from cybermiles_node.health import ReadinessFacts, readiness
from cybermiles_node.home import NodeHome
from cybermiles_node.mempool.gossip import MempoolGossip
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.metrics import NodeMetrics, NodeState
from cybermiles_node.metrics_server import MetricsServer
from cybermiles_node.rpc_backend import NodeBackend, ReadLimits
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.storage.schema import MetaName
from cybermiles_node.syncprogress import report_sync_progress
from cybermiles_node.version import VERSION
from cybermiles_node.webhook_service import WebhookService
from genesis.document import GenesisDocument
from genesis.networks import dev_accounts
from p2p.channels import (
    BLOCKSYNC_CHANNEL,
    CONSENSUS_DATA_CHANNEL,
    CONSENSUS_VOTE_CHANNEL,
    EVIDENCE_CHANNEL,
    MEMPOOL_CHANNEL,
)
from p2p.keys import NodeKey
from p2p.switch import P2PNode
from rpc.admin import AdminAPI
from rpc.backend import ConsensusStatus, SyncStatus
from rpc.dev import DevAPI
from rpc.dev_signing import DevSigningAPI
from rpc.health import Readiness
from rpc.server import HUB, RPCServer

log = logging.getLogger("cmnode")

PROPOSAL_FRAME_MARGIN = 64 * 1024  # proposal fields, block header and commit around the transactions
RECEIPTS_FRAME_MARGIN = 1024 * 1024  # a fast-sync block response also carries the block's receipts
CATCH_UP_GRACE_MS = 2_000  # time for peers' statuses to arrive before deciding nobody is ahead


class MempoolTxSource:
    """The engine's view of the mempool: executable transactions for the next block."""

    def __init__(self, mempool: Mempool, app: CyberMilesApp) -> None:
        self._mempool = mempool
        self._app = app

    def reap(self, max_bytes: int) -> list[DecodedTx]:
        """Decoded transactions (senders cached) in inclusion order."""
        gas_limit = self._app.gas_limit_after(self._app.latest_header)
        chosen = self._mempool.reap(gas_limit, max_bytes, self._app.next_base_fee())
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


class StoredPriorities:
    """The consensus driver's proposer priorities, kept as a meta record of the chain store."""

    def __init__(self, store: ChainStore) -> None:
        self._store = store

    def load_priorities(self) -> tuple[int, bytes] | None:
        """The saved (height, encoded priorities)."""
        record = self._store.get_meta(MetaName.PROPOSER_PRIORITIES)
        if record is None or len(record) < 8:
            return None
        return int.from_bytes(record[:8], "big"), record[8:]

    def save_priorities(self, height: int, encoded: bytes) -> None:
        """Save without fsync: a lost record is recomputed from the previous one."""
        self._store.put_meta(MetaName.PROPOSER_PRIORITIES, height.to_bytes(8, "big") + encoded, sync=False)


class PeerNetworkStatus:
    """Peers and sync progress for the RPC, read from the p2p node and block sync."""

    def __init__(self, p2p: P2PNode, sync: BlockSyncService, store: ChainStore, start_height: int) -> None:
        self._p2p = p2p
        self._sync = sync
        self._store = store
        self._start_height = start_height

    def peer_count(self) -> int:
        """Connected peers."""
        return len(self._p2p.connected_ids())

    def sync_status(self) -> SyncStatus | None:
        """Progress while more than one block behind the best peer."""
        latest = self._store.latest_height()
        highest = self._sync.max_peer_height
        if highest <= latest + 1:
            return None
        return SyncStatus(starting_block=self._start_height, current_block=latest, highest_block=highest)


def p2p_network_name(genesis: GenesisDocument) -> str:
    """The p2p network name: peers with another chain id or genesis refuse each other."""
    return f"cmt-{genesis.chain_id}-{genesis.hash().hex()[:16]}"


class Node:
    """A running node: the single-validator producer, or a BFT validator / full node on a p2p network."""

    def __init__(self, home: NodeHome, config: NodeConfig, genesis: GenesisDocument, dev: bool = False,
                 automine: bool = False) -> None:
        """``dev``: a development chain (``cmnode start --dev``) with the ``evm_``/``hardhat_`` methods;
        ``automine``: it makes a block per transaction instead of interval blocks."""
        self.home = home
        self.config = config
        self.genesis = genesis
        self.options = runtime_options(genesis, config)
        home.data.mkdir(parents=True, exist_ok=True)
        self.db = LevelDB(home.database)
        try:
            self.store = ChainStore(self.db)
            self.app = CyberMilesApp(self.store, genesis)
            self.webhooks = WebhookService(config.webhooks, genesis.chain_id, self.store, self.db)
        except BaseException:
            self.db.close()
            raise
        params = genesis.params
        self.mempool = Mempool(
            genesis.chain_id,
            replace(
                config.mempool.pool,
                max_tx_bytes=genesis.consensus.max_tx_bytes,
                block_gas_limit=params.gas_limit,
                max_tx_gas=params.max_gas_per_tx,
                min_gas_price=params.min_gas_price,
            ),
        )
        self.networked = len(genesis.validators) > 1 or bool(config.p2p.persistent_peers or config.p2p.seeds)
        self.block_work = BlockWorkFirst()
        self.decode_pool = DecodePool(genesis.chain_id, worker_count(config.mempool.decode_workers),
                                      step_aside=self.block_work.step_aside)
        self.app.decode_txs = self.decode_pool.decode_blocking
        self.execution = ExecutionThread(self.block_work)
        self.engine: SingleValidatorEngine | None = None
        self.driver: ConsensusDriver | None = None
        self.p2p: P2PNode | None = None
        self.wal: WAL | None = None
        self.tx_gossip: MempoolGossip | None = None
        self.fast_sync: FastSync | None = None
        read_limits = ReadLimits(
            max_pending=config.rpc.max_pending_reads, call_timeout_seconds=config.rpc.call_timeout_ms / 1000
        )
        self.backend = NodeBackend(self.app, self.mempool, self._on_new_tx, limits=read_limits,
                                   block_work=self.block_work, decoder=self.decode_pool)
        self.rpc: RPCServer | None = None
        self.remote_signer: RemoteSigner | None = None
        self.dev_chain: DevChain | None = None
        self.dev = dev
        self.automine = automine
        self.sync: BlockSyncService | None = None
        self.metrics = NodeMetrics(self.node_state) if config.metrics.enabled else None
        self.metrics_server: MetricsServer | None = None
        if self.metrics is not None:
            self.backend.admission_observer = self.metrics.tx_admission

    # -- callbacks -------------------------------------------------------------------

    def _on_new_tx(self, raw: bytes) -> None:
        if self.engine is not None:
            self.engine.notify_tx()
        if self.tx_gossip is not None:
            self.tx_gossip.relay(raw)


    def _on_commit(self, block: Block) -> None:
        receipts = self.app.last_receipts
        self.mempool.update(
            [r.tx_hash for r in receipts], self.backend.latest_state(), self.app.next_base_fee(),
            senders=sorted({r.sender for r in receipts}),
        )
        # single-validator chains: the engine logs each block at info with its build and commit times
        level = logging.INFO if self.networked else logging.DEBUG
        if log.isEnabledFor(level):
            seen = self.store.get_seen_commit(block.number)
            log.log(level, "committed block %d: %d txs, round %d, time %d, gas used %d, hash 0x%s", block.number,
                    len(block.transactions), seen.round if seen is not None else 0, block.header.timestamp,
                    block.header.gas_used, block.hash.hex())
        if self.metrics is not None:
            self.metrics.block_committed(len(block.transactions), block.header.timestamp, time.time(),
                                         time.monotonic(), self.app.last_execution_seconds,
                                         self.app.last_store_seconds, self._signed_parent(block))
        self.backend.block_committed(block, receipts)
        self.webhooks.on_commit(block, receipts)

    def _signed_parent(self, block: Block) -> bool | None:
        """Whether this node's validator signed ``block``'s parent (None: not a validator of that height)."""
        address = self._validator_address()
        if address is None or block.number < 2 or self.app.validators_at(block.number - 1).by_address(address) is None:
            return None
        return any(sig.validator_address == address for sig in block.last_commit.signatures)

    def _validator_address(self) -> bytes | None:
        if self.driver is not None:
            return self.driver.machine.address
        return self.backend.consensus().validator

    # -- monitoring ------------------------------------------------------------------

    def node_state(self) -> NodeState:
        """Current values for ``/metrics``."""
        consensus = self.backend.consensus()
        validators = self.app.validators
        address = self._validator_address()
        mine = validators.by_address(address) if address is not None else None
        peers = self.p2p.peers() if self.p2p is not None else []
        stats = self.mempool.stats()
        hub = self.rpc.app[HUB] if self.rpc is not None else None
        outbox, dispatcher = self.webhooks.outbox, self.webhooks.dispatcher
        latest = self.store.latest_height()
        best = self.sync.max_peer_height if self.sync is not None else latest
        return NodeState(
            height=latest,
            round=consensus.round,
            step=consensus.step,
            voting_power=mine.power if mine is not None else 0,
            validator_set_size=len(validators.validators),
            validator_set_power=validators.total_power,
            peers_inbound=sum(not peer.outbound for peer in peers),
            peers_outbound=sum(peer.outbound for peer in peers),
            traffic=self.p2p.traffic.snapshot() if self.p2p is not None else {},
            bans_total=self.p2p.traffic.bans if self.p2p is not None else 0,
            bans_active=len(self.p2p.bans()) if self.p2p is not None else 0,
            mempool_pending=stats.pending,
            mempool_queued=stats.queued,
            mempool_bytes=stats.size_bytes,
            ws_connections=hub.connection_count if hub is not None else 0,
            ws_subscriptions=hub.subscription_counts() if hub is not None else {},
            database_bytes=sum(f.stat().st_size for f in self.home.database.iterdir() if f.is_file()),
            webhook_pending=outbox.pending_count(),
            webhook_dead_letters=outbox.dead_count(),
            webhook_delivered_total=dispatcher.delivered,
            webhook_failed_attempts_total=dispatcher.failed_attempts,
            best_peer_height=max(best, latest),
            catching_up=self.networked and self.driver is None,
            fast_syncing=self.store.fast_sync_in_progress(),
        )

    def readiness(self) -> Readiness:
        """The checks of ``GET /ready`` (see ``cybermiles_node.health``)."""
        latest = self.store.latest_height()
        return readiness(ReadinessFacts(
            networked=self.networked,
            consensus_running=self.driver is not None,
            latest_height=latest,
            best_peer_height=self.sync.max_peer_height if self.sync is not None else latest,
            peers=len(self.p2p.connected_ids()) if self.p2p is not None else 0,
            latest_block_time=self.app.latest_header.timestamp,
            blocks_on_clock=self.options.create_empty_blocks and not self.automine,
            block_interval_ms=self.options.block_interval_ms,
        ), time.time())

    async def _start_metrics(self) -> None:
        """Serve ``/metrics``, ``/health`` and ``/ready`` on ``[metrics] addr`` when enabled."""
        if self.metrics is None:
            return
        self.metrics_server = MetricsServer(self.metrics, self.readiness)
        await self.metrics_server.start(self.config.metrics.addr)

    async def _apply_synced(self, synced: SyncedBlock) -> None:
        """Apply (re-execute) a block fetched by block sync before consensus runs.

        The first block executed after fast sync's pivot may announce a validator set
        this node did not compute (the pivot block decided it): it is recorded first.
        """
        block, commit = synced.block, synced.commit
        loop = asyncio.get_running_loop()
        announced = synced.next_validators
        if announced is not None and self.app.validators_at(block.number + 1).hash != announced.hash:
            def record() -> None:
                self.store.put_validator_set(block.number + 1, announced)
                self.app.reload_chain_head()
            await loop.run_in_executor(self.execution, record)
        if not await loop.run_in_executor(self.execution, self.app.process_proposal, block):
            raise NodeError(f"block {block.number} from block sync does not re-execute to its header")
        await loop.run_in_executor(self.execution, self.app.finalize_block, block)
        await loop.run_in_executor(self.execution, self.app.commit, block, commit)
        self._on_commit(block)

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        background: list[asyncio.Task[None]] = []
        try:
            await self.webhooks.start(self.backend, self.home.keystore, self.home.root)
            self._build_dev_chain()
            await self._start_rpc()
            await self._start_metrics()
            await self._start_remote_signer()
            mode = "networked" if self.networked else "single-validator"
            log.info("node started (%s): chain %d at height %d", mode, self.genesis.chain_id,
                     self.app.latest_header.number)
            main = asyncio.create_task(self._run_networked(background) if self.networked else self._run_solo())
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if main in done:
                main.result()  # surface a failure
            log.info("shutting down")
            if self.engine is not None:
                self.engine.stop()
            if self.driver is not None:
                self.driver.stop()
            if main not in done:
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await main
            stopper.cancel()
        finally:
            for task in background:
                task.cancel()
            await self.close()

    async def _start_remote_signer(self) -> None:
        """Listen for the remote signer when ``[privval] laddr`` is set."""
        settings = self.config.privval
        if settings.laddr is None or settings.signer_id is None or settings.validator_pub_key is None:
            return
        if self.home.validator_key.exists():
            log.warning("%s is not used: this node signs through its remote signer", self.home.validator_key)
        self.remote_signer = RemoteSigner(NodeKey.load(self.home.node_key), RemoteSignerConfig(
            settings.laddr.host, settings.laddr.port, settings.signer_id, settings.validator_pub_key,
            self.genesis.chain_id, request_timeout_s=settings.timeout_ms / 1000))
        try:
            await self.remote_signer.start()
        except OSError as exc:
            self.remote_signer = None
            raise NodeError(f"[privval] laddr {settings.laddr}: cannot listen for the signer: {exc.strerror}") from None
        self.app.reveals = remote_reveals(self.remote_signer, asyncio.get_running_loop())

    def _signer(self) -> ConsensusSigner:
        """The remote signer if configured, else the home's validator key guarded by its last-signed record."""
        if self.remote_signer is not None:
            return self.remote_signer
        key = ValidatorKey.load(self.home.validator_key)
        self.app.reveals = key_reveals(key, self.genesis.chain_id)
        return PrivValidator(key, self.home.last_signed)

    def _build_dev_chain(self) -> None:
        """On a development chain, make the engine now with the controls the RPC server offers."""
        if not self.dev:
            return
        if self.networked or self.config.privval.laddr is not None:
            log.warning("--dev ignored: a development chain has one validator, no peers and its key in the home")
            return
        key = ValidatorKey.load(self.home.validator_key)
        self.app.reveals = key_reveals(key, self.genesis.chain_id)
        signer = PrivValidator(key, self.home.last_signed)
        txs = DevTxSource(MempoolTxSource(self.mempool, self.app), DevBlockBuilder())
        engine = self._solo_engine(signer, txs)
        self.dev_chain = DevChain(engine, self.app, self.mempool, self.backend, signer, self.execution, txs.builder,
                                  automine=self.automine)

    async def _run_solo(self) -> None:
        engine = self.engine or self._solo_engine(self._signer(), MempoolTxSource(self.mempool, self.app))
        last_commit = self.store.get_seen_commit(self.app.latest_header.number)
        if last_commit is not None:
            engine.resume_commit(last_commit)
        await engine.run()

    def _solo_engine(self, signer: ConsensusSigner, txs: TxSource) -> SingleValidatorEngine:
        self.engine = SingleValidatorEngine(
            app=self.app,
            txs=txs,
            privval=signer,
            config=EngineConfig(
                chain_id=self.genesis.chain_id,
                block_interval_ms=self.options.block_interval_ms,
                create_empty_blocks=self.options.create_empty_blocks,
                max_block_bytes=self.genesis.consensus.max_block_bytes,
            ),
            executor=self.execution,
            on_commit=self._on_commit,
        )
        self.backend.consensus = lambda: ConsensusStatus(
            self.store.latest_height(), 0, "propose", signer.address, None, self.config.moniker)
        return self.engine

    async def _run_networked(self, background: list[asyncio.Task[None]]) -> None:
        p2p_settings = self.config.p2p
        self.p2p = P2PNode(
            NodeKey.load(self.home.node_key),
            p2p_settings.addr.host,
            p2p_settings.addr.port,
            p2p_network_name(self.genesis),
            replace(p2p_settings.transport, moniker=self.config.moniker, software_version=VERSION,
                    # a proposal carries its whole block: frames must hold the largest block
                    max_frame_size=self.genesis.consensus.max_block_bytes + PROPOSAL_FRAME_MARGIN
                    + RECEIPTS_FRAME_MARGIN),
            persistent_peers=p2p_settings.persistent_peers,
            seeds=p2p_settings.seeds,
        )
        evidence = EvidenceGossip(self.p2p)
        self.p2p.register_channel(EVIDENCE_CHANNEL, evidence)
        gossip = ConsensusGossip(self.p2p, evidence)
        self.p2p.register_channel(CONSENSUS_DATA_CHANNEL, gossip)
        self.p2p.register_channel(CONSENSUS_VOTE_CHANNEL, gossip)
        # A new node (genesis only) fast-syncs if configured to; one interrupted while fast-syncing must finish.
        fast_sync = self.store.fast_sync_in_progress() or (
            self.config.sync.mode == "fast" and self.store.latest_height() == 0)
        if fast_sync:
            self.fast_sync = FastSync(self.app, self.execution)
        sync = BlockSyncService(self.p2p, self.store, self.genesis.chain_id, self.app.validators_at,
                                self._apply_synced, fast=self.fast_sync,
                                max_message_bytes=self.genesis.consensus.max_block_bytes + PROPOSAL_FRAME_MARGIN
                                + RECEIPTS_FRAME_MARGIN // 2)
        self.p2p.register_channel(BLOCKSYNC_CHANNEL, sync)
        self.sync = sync
        self.tx_gossip = MempoolGossip(self.p2p, MEMPOOL_CHANNEL, self.backend.admit, self.backend.decode_for_admission)
        self.p2p.register_channel(MEMPOOL_CHANNEL, self.tx_gossip)
        background.append(asyncio.create_task(self.tx_gossip.run()))
        self.backend.network = PeerNetworkStatus(self.p2p, sync, self.store, self.store.latest_height())
        await self.p2p.start()
        log.info("p2p node %s listening on %s", self.p2p.node_id, p2p_settings.addr)
        background.append(asyncio.create_task(sync.run()))
        background.append(asyncio.create_task(gossip.regossip()))
        progress = asyncio.create_task(report_sync_progress(lambda: (self.store.latest_height(),
                                                                    sync.max_peer_height)))
        try:
            while not sync.caught_up(CATCH_UP_GRACE_MS):
                await asyncio.sleep(0.1)
        finally:
            progress.cancel()
        async with sync.hand_over():
            driver = self._start_driver(gossip, evidence, sync)
        self.backend.consensus = lambda: self._consensus_status(self.p2p.node_id if self.p2p else None)
        await driver.run()

    def _start_driver(self, gossip: ConsensusGossip, evidence: EvidenceGossip,
                      sync: BlockSyncService) -> ConsensusDriver:
        """Build the consensus driver at the application's height and route synced blocks to it."""
        log.info("caught up at height %d; starting consensus", self.store.latest_height())
        if self.fast_sync is not None:
            self.fast_sync.close()  # its worker processes are not needed any more
        signer = self._signer()
        # Every node signs with its key whenever the key is in the height's validator set
        # (a full node whose key is elected later becomes a validator without a restart).
        is_validator = self.app.validators.by_address(signer.address) is not None
        self.wal = WAL(self.home.wal)
        consensus = self.genesis.consensus
        self.driver = ConsensusDriver(
            app=self.app,
            txs=MempoolTxSource(self.mempool, self.app),
            privval=signer,
            wal=self.wal,
            network=gossip,
            config=DriverConfig(
                chain_id=self.genesis.chain_id,
                timeouts=TimeoutConfig(
                    consensus.timeout_propose_ms, consensus.timeout_propose_delta_ms,
                    consensus.timeout_prevote_ms, consensus.timeout_prevote_delta_ms,
                    consensus.timeout_precommit_ms, consensus.timeout_precommit_delta_ms,
                ),
                timeout_commit_ms=self.options.block_interval_ms,
                max_block_bytes=consensus.max_block_bytes,
            ),
            executor=self.execution,
            on_commit=self._on_commit,
            priority_store=StoredPriorities(self.store),
        )
        last_commit = self.store.get_seen_commit(self.app.latest_header.number)
        if last_commit is not None:
            self.driver.resume_commit(last_commit)
        self.driver.on_misbehaviour(self.p2p.report_misbehavior)
        gossip.attach(self.driver)
        evidence.attach(self.driver)
        driver = self.driver
        sync.set_apply(lambda synced: driver.adopt(synced.block, synced.commit))
        log.info("consensus running as %s", "a validator" if is_validator else "a full node (not in the validator set)")
        return driver

    def _consensus_status(self, node_id: str | None) -> ConsensusStatus:
        """Height committed, round and step of consensus, this node's validator address (if its key is in the set)."""
        key_address = self.driver.machine.address if self.driver is not None else None
        if key_address is not None and self.app.validators.by_address(key_address) is None:
            key_address = None  # a full node now (its key may be elected later)
        round_, step = (self.driver.machine.round, self.driver.machine.step.name.lower()) if self.driver else (0, "")
        return ConsensusStatus(self.store.latest_height(), round_, step, key_address, node_id, self.config.moniker)

    async def _start_rpc(self) -> None:
        if self.config.rpc.enabled:
            rpc = self.config.rpc
            self.rpc = RPCServer(
                self.backend,
                replace(rpc.server, explorer=rpc.serves_explorer(dev=self.dev_chain is not None)),
                [*([AdminAPI(self.webhooks)] if self.config.webhooks.admin_rpc else ()),
                 *([DevAPI(self.dev_chain, self.backend)] if self.dev_chain is not None else ()),
                 *([DevSigningAPI({a.address: a.private_key for a in dev_accounts()})]
                   if self.dev_chain is not None else ())],
                observer=self.metrics.rpc_request if self.metrics is not None else None,
                readiness=self.readiness,
            )
            await self.rpc.start(rpc.addr.host, rpc.addr.port)
            log.info("JSON-RPC (HTTP and WebSocket) listening on http://%s", rpc.addr)
        self.home.pid_file.write_text(str(os.getpid()))

    async def close(self) -> None:
        """Stop serving and close the database."""
        if self.rpc is not None:
            await self.rpc.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        if self.remote_signer is not None:
            await self.remote_signer.stop()
        if self.p2p is not None:
            await self.p2p.stop()
        await self.webhooks.stop()
        self.backend.close()
        self.decode_pool.close()
        if self.fast_sync is not None:
            self.fast_sync.close()
        self.execution.shutdown(wait=True)
        if self.wal is not None:
            self.wal.close()
        self.db.close()
        self.home.pid_file.unlink(missing_ok=True)
