"""Block production by a single validator through the consensus application interface.

With one validator holding all voting power, its own precommit is a +2/3
commit, so each height is one round: propose, check, precommit, commit. The
engine still goes through the same ``Application`` calls and signs through the
same ``ConsensusSigner`` as the multi-validator engine, so a block made here is
indistinguishable from one made by a BFT round.

After a crash between signing and committing a height, the engine redoes that
height at the round after the one the signer last signed: the last-signed
record makes re-signing a different block at the same round impossible, and
its refusal names that round. While a remote signer cannot answer, no block is
made; the engine tries again at the next interval.

A development chain drives the same engine: it pauses the interval blocks
(``auto_blocks``), asks for blocks (``produce_block``), stamps them
(``block_time``) and, after rewinding the store, continues from the stored
head (``reset``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from consensus.application import Application, ProposalRequest, TxSource
from consensus.errors import ConsensusError, DoubleSignRefused, SignerUnavailable
from consensus.privval import STEP_PRECOMMIT, ConsensusSigner
from consensus.types import (
    EMPTY_COMMIT,
    PRECOMMIT,
    Block,
    Commit,
    CommitSig,
    vote_sign_bytes,
)
from consensus.validators import Validator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    """Block production settings."""

    chain_id: int
    block_interval_ms: int = 1000
    create_empty_blocks: bool = True
    max_block_bytes: int = 4 * 1024 * 1024


class SingleValidatorEngine:
    """Commits a block every ``block_interval_ms`` (or when transactions wait, if empty blocks are off)."""

    def __init__(
        self,
        app: Application,
        txs: TxSource,
        privval: ConsensusSigner,
        config: EngineConfig,
        executor: Executor,
        on_commit: Callable[[Block], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._txs = txs
        self._privval = privval
        self._config = config
        self._executor = executor
        self._on_commit = on_commit
        self._clock = clock
        self._stopped = asyncio.Event()
        self._wake = asyncio.Event()
        info = app.info()
        self.height = info.last_height
        self._proposer = self._sole_validator(self.height + 1)
        self._last_header = info.last_header
        self._last_commit = EMPTY_COMMIT
        self.block_lock = asyncio.Lock()  # held while a block is made (and by a development chain's rewind)
        self.auto_blocks = True  # whether blocks are made on the interval; if not, only by ``produce_block`` calls
        self.block_time: Callable[[int], int] = lambda parent_time: max(int(self._clock()), parent_time)

    def notify_tx(self) -> None:
        """Tell the engine a transaction arrived (matters when empty blocks are off)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask ``run`` to return after the block in progress."""
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Produce blocks until stopped."""
        interval = self._config.block_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_time = loop.time() + interval
        while not self._stopped.is_set():
            await self._sleep_until(next_time)
            if self._stopped.is_set():
                break
            if not self.auto_blocks:
                self._wake.clear()
                await self._wake.wait()
                next_time = loop.time() + interval
                continue
            if not self._config.create_empty_blocks and not self._txs.has_txs():
                self._wake.clear()
                await self._wake.wait()
                continue
            next_time = loop.time() + interval
            try:
                await self.produce_block()
            except SignerUnavailable as exc:
                log.warning("no block at height %d: %s", self.height + 1, exc)

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - asyncio.get_running_loop().time()
        if delay > 0:
            try:
                await asyncio.wait_for(self._stopped.wait(), delay)
            except TimeoutError:
                pass

    def _sole_validator(self, height: int) -> Validator:
        """This node's validator entry at ``height``; it must hold +2/3 of the power to commit alone."""
        validators = self._app.validators_at(height)
        proposer = validators.by_address(self._privval.address)
        if proposer is None or proposer.power * 3 <= validators.total_power * 2:
            raise ConsensusError(
                f"this node's validator key does not hold +2/3 of the voting power at height {height}: "
                "the chain needs its other validators (start the node with peers)"
            )
        return proposer

    async def produce_block(self) -> Block:
        """Propose, check, sign and commit the next block (one at a time)."""
        async with self.block_lock:
            return await self._produce_block()

    async def _produce_block(self) -> Block:
        loop = asyncio.get_running_loop()
        height = self.height + 1
        self._proposer = self._sole_validator(height)
        parent_time = self._last_header.timestamp if self._last_header is not None else 0
        request = ProposalRequest(
            height=height,
            timestamp=self.block_time(parent_time),
            proposer_address=self._proposer.address,
            proposer_owner=self._proposer.owner,
            last_commit=self._last_commit,
            txs=self._txs.reap(self._config.max_block_bytes),
            max_bytes=self._config.max_block_bytes,
        )
        started = time.perf_counter()
        block = await loop.run_in_executor(self._executor, self._app.prepare_proposal, request)
        built = time.perf_counter()
        if not await loop.run_in_executor(self._executor, self._app.process_proposal, block):
            raise ConsensusError(f"own proposal at height {height} failed its own check")
        timestamp_ms = int(self._clock() * 1000)
        round_, signature = await self._sign_precommit(height, block.hash, timestamp_ms)
        commit = Commit(
            height=height, round=round_, block_hash=block.hash,
            signatures=[CommitSig(self._privval.address, timestamp_ms, signature)],
        )
        await loop.run_in_executor(self._executor, self._app.finalize_block, block)
        await loop.run_in_executor(self._executor, self._app.commit, block, commit)
        committed = time.perf_counter()
        log.info(
            "block %d: %d txs, built in %d ms, committed in %d ms",
            height, len(block.transactions), (built - started) * 1000, (committed - built) * 1000,
        )
        self.height = height
        self._last_header = block.header
        self._last_commit = commit
        self._on_commit(block)
        return block

    async def _sign_precommit(self, height: int, block_hash: bytes, timestamp_ms: int) -> tuple[int, bytes]:
        """(round, signature) of this node's precommit of ``block_hash``, in the first round still unsigned."""
        round_ = 0
        while True:
            sign_bytes = vote_sign_bytes(self._config.chain_id, PRECOMMIT, height, round_, block_hash, timestamp_ms)
            try:
                return round_, await self._privval.sign_step(height, round_, STEP_PRECOMMIT, sign_bytes)
            except DoubleSignRefused as exc:
                if exc.signed is None or exc.signed[0] != height or exc.signed[1] < round_:
                    raise
                round_ = exc.signed[1] + 1  # a crash after signing this height: redo it in a later round

    def resume_commit(self, commit: Commit) -> None:
        """Set the commit of the last block (read from storage at start-up)."""
        self._last_commit = commit

    def reset(self, last_commit: Commit) -> None:
        """Continue from the application's last block, whose commit is ``last_commit`` (after a rewind)."""
        info = self._app.info()
        self.height = info.last_height
        self._last_header = info.last_header
        self._last_commit = last_commit
        self._wake.set()
