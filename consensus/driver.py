"""The asyncio driver of the Tendermint state machine: timers, signing, WAL, application, network.

``TendermintMachine`` is sans-IO; this driver feeds it events one at a time
from a bounded queue and carries out the effects it returns:

* ``BuildProposal`` / ``ValidateBlock`` / ``Decide`` run the application's
  blocking calls on the execution thread (one thread, in order);
* ``SignProposal`` / ``SignVote`` timestamp the message, sign it through the
  ``ConsensusSigner`` (the local ``PrivValidator`` or a remote signer, either of
  which persists its last-signed record first), append it to the WAL with
  fsync, and only then feed it back and let it be broadcast; a step the signer
  refuses or cannot answer goes unsigned (the round goes on without this vote);
* ``ScheduleTimeout`` arms a loop timer; ``Broadcast`` hands the message to the
  network; ``EvidenceFound`` is kept for the next proposal's evidence.

On start the driver replays the WAL records of the height in progress (its
own signed messages and those it had received), so a restarted validator
resumes where it was and cannot sign anything conflicting.

The validator set of each height comes from the application
(``validators_at``): updates returned when block H is finalised govern block
H + 2. The proposer-priority state of each height, carried forward through
every set change, is saved through a ``PriorityStore`` after each commit; at
start-up the driver continues from the saved state (recomputing forward the
few heights a crash may have skipped), or from genesis when there is none.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Protocol

from consensus.application import Application, ProposalRequest, TxSource
from consensus.errors import DoubleSignRefused, ProposalUnavailable, RemoteSignerError, SignerUnavailable
from consensus.evidence import DuplicateVoteEvidence, EvidencePool, InvalidEvidence
from consensus.messages import (
    MalformedMessage,
    Message,
    Proposal,
    Vote,
    decode_message,
    encode_message,
)
from consensus.privval import ConsensusSigner
from consensus.proposer import ProposerPriorities
from consensus.tendermint import (
    BlockValidated,
    Broadcast,
    BuildProposal,
    Decide,
    Effect,
    Event,
    EvidenceFound,
    InvalidProposal,
    ProposalBlockReady,
    ProposalReceived,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    Start,
    TendermintMachine,
    TimeoutConfig,
    TimeoutFired,
    ValidateBlock,
    VoteReceived,
)
from consensus.types import EMPTY_COMMIT, Block, Commit
from consensus.votes import InvalidVote
from consensus.wal import WAL

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 10_000
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
MAX_EVIDENCE_PER_BLOCK = 16
MAX_SEEN_PAYLOADS = 8192


class ConsensusNetwork(Protocol):
    """Where the driver sends consensus messages and evidence."""

    def broadcast_message(self, message: Message) -> None:
        """Gossip a proposal or vote to every peer."""
        ...

    def broadcast_evidence(self, payload: bytes) -> None:
        """Gossip encoded evidence to every peer."""
        ...

    def peer_behind(self, peer_id: str, height: int) -> None:
        """``peer_id`` sent a message of ``height``, below this node's: send it what this node signed there."""
        ...


class PriorityStore(Protocol):
    """Where the driver keeps the proposer-priority state, so start-up does not replay it from genesis."""

    def load_priorities(self) -> tuple[int, bytes] | None:
        """The last saved (height, encoded priorities), if any."""
        ...

    def save_priorities(self, height: int, encoded: bytes) -> None:
        """Remember the priorities of ``height`` (need not be durable: they can be recomputed)."""
        ...


@dataclass(frozen=True)
class DriverConfig:
    """Consensus settings of one node."""

    chain_id: int
    timeouts: TimeoutConfig
    timeout_commit_ms: int
    max_block_bytes: int
    max_future_drift_ms: int = 10_000  # a proposed block may be timed at most this far ahead of our clock


@dataclass(frozen=True)
class Adopt:
    """A block decided by the network, received by block sync (its commit already verified)."""

    block: Block
    commit: Commit
    done: asyncio.Future[None]


class ConsensusDriver:
    """Runs one node's consensus: a validator when given a ``ConsensusSigner``, else a follower."""

    def __init__(
        self,
        app: Application,
        txs: TxSource,
        privval: ConsensusSigner | None,
        wal: WAL,
        network: ConsensusNetwork,
        config: DriverConfig,
        executor: Executor,
        on_commit: Callable[[Block], None],
        priority_store: PriorityStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._priority_store = priority_store
        self._txs = txs
        self._privval = privval
        self._wal = wal
        self._network = network
        self._config = config
        self._executor = executor
        self._on_commit = on_commit
        self._clock = clock
        address = privval.address if privval is not None else None
        self.machine = TendermintMachine(config.chain_id, config.timeouts, address)
        self.evidence = EvidencePool(config.chain_id)
        self._events: asyncio.Queue[Event | Adopt] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._timers: set[asyncio.TimerHandle] = set()
        self._seen_payloads: OrderedDict[bytes, None] = OrderedDict()
        self._seen_position = (0, 0)
        self._height_started = 0.0
        self._stopped = asyncio.Event()
        self._misbehaving: Callable[[str, str], None] = lambda peer, reason: None
        info = app.info()
        self.height = info.last_height
        self._last_time = info.last_header.timestamp if info.last_header is not None else 0
        self._last_commit: Commit = EMPTY_COMMIT
        self._priorities = self._priorities_at(self.height + 1)

    @property
    def priorities(self) -> ProposerPriorities:
        """The proposer-priority state of the height in progress."""
        return self._priorities

    # -- wiring ----------------------------------------------------------------------

    def resume_commit(self, commit: Commit) -> None:
        """The commit of the last stored block (the next block's ``last_commit``)."""
        self._last_commit = commit

    def on_misbehaviour(self, report: Callable[[str, str], None]) -> None:
        """Where to report a peer that sent a message that can never be valid."""
        self._misbehaving = report

    def deliver(self, payload: bytes, peer_id: str) -> None:
        """A consensus message from a peer (called on the event loop; never blocks).

        Peers re-send the messages of the height in progress every second; a
        payload already handled in the current round is dropped before decoding
        (the cache is cleared when the round or height moves, so a message set
        aside for a later round is looked at again).
        """
        position = (self.machine.height, self.machine.round)
        if position != self._seen_position:
            self._seen_payloads.clear()
            self._seen_position = position
        digest = hashlib.sha256(payload).digest()
        if digest in self._seen_payloads:
            return
        self._seen_payloads[digest] = None
        if len(self._seen_payloads) > MAX_SEEN_PAYLOADS:
            self._seen_payloads.popitem(last=False)
        try:
            message = decode_message(payload, MAX_MESSAGE_BYTES)
        except MalformedMessage as exc:
            self._misbehaving(peer_id, f"malformed consensus message: {exc}")
            return
        if message.height < self.machine.height:
            # The peer still works on a height this node committed: it may lack the votes that committed it.
            self._network.peer_behind(peer_id, message.height)
        event: Event = ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)
        self._enqueue(event, peer_id)

    async def adopt(self, block: Block, commit: Commit) -> None:
        """Commit a block the network decided while this node was behind; returns once it is handled."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(Adopt(block, commit, done))
        await done

    def deliver_evidence(self, payload: bytes, peer_id: str) -> None:
        """Evidence gossiped by a peer: verify, keep and relay it (called on the event loop)."""
        try:
            evidence = DuplicateVoteEvidence.decode(payload)
        except InvalidEvidence as exc:
            self._misbehaving(peer_id, f"malformed evidence: {exc}")
            return
        self._keep_evidence(evidence, peer_id)

    def _keep_evidence(self, evidence: DuplicateVoteEvidence, peer_id: str | None) -> None:
        try:
            if evidence.height > self.height + 1:
                raise InvalidEvidence(f"from height {evidence.height}, ahead of this node")
            added = self.evidence.add(evidence, self._app.validators_at(evidence.height), self.height + 1)
        except InvalidEvidence as exc:
            if peer_id is not None:
                self._misbehaving(peer_id, f"invalid evidence: {exc}")
            return
        if added:
            log.warning("double signing by validator 0x%s at height %d", evidence.validator_address.hex(),
                        evidence.height)
            self._network.broadcast_evidence(evidence.encode())

    def _enqueue(self, event: Event | Adopt, peer_id: str | None = None) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("consensus event queue full: dropped %s from %s", type(event).__name__, peer_id or "self")

    def stop(self) -> None:
        """Stop after the event being handled."""
        self._stopped.set()

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Replay the WAL of the height in progress, then handle events until stopped."""
        await self._start_height(self.height + 1, replay=True)
        getter: asyncio.Task[Event | Adopt] | None = None
        stopper = asyncio.create_task(self._stopped.wait())
        try:
            while not self._stopped.is_set():
                getter = asyncio.create_task(self._events.get())
                done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    break
                await self._handle(getter.result())
                getter = None
        finally:
            stopper.cancel()
            if getter is not None:
                getter.cancel()
            for timer in self._timers:
                timer.cancel()

    async def _start_height(self, height: int, *, replay: bool) -> None:
        self._height_started = asyncio.get_running_loop().time()
        effects = self.machine.handle(Start(height, self._app.validators_at(height), self._priorities))
        if replay:
            last_end = self._wal.last_end_height
            if last_end is None or last_end < height - 1:
                self._wal.write_end_height(height - 1)  # the store is ahead of the WAL (fresh log, or a crash in between)
            replayed = 0
            for record in self._wal.replay_from(height):
                try:
                    message = decode_message(record, MAX_MESSAGE_BYTES)
                except MalformedMessage:
                    log.warning("skipping an undecodable WAL record")
                    continue
                event: Event = ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message)
                effects.extend(self._handle_safely(event))
                replayed += 1
            if replayed:
                log.info("replayed %d consensus messages of height %d from the WAL", replayed, height)
        await self._apply(effects)

    def _handle_safely(self, event: Event, peer_id: str | None = None) -> list[Effect]:
        try:
            return self.machine.handle(event)
        except (InvalidProposal, InvalidVote) as exc:
            if peer_id is not None:
                self._misbehaving(peer_id, str(exc))
            log.debug("ignored invalid consensus message: %s", exc)
            return []

    async def _handle(self, event: Event | Adopt) -> None:
        if isinstance(event, Adopt):
            await self._adopt(event)
        else:
            await self._apply(self._handle_safely(event))

    async def _adopt(self, event: Adopt) -> None:
        try:
            block = event.block
            if block.number != self.height + 1:
                return  # consensus got there first, or it is not the next block yet
            loop = asyncio.get_running_loop()
            if not await loop.run_in_executor(self._executor, self._app.process_proposal, block):
                log.error("block %d from block sync failed re-execution; not adopted", block.number)
                return
            log.info("adopting block %d decided by the network", block.number)
            await self._finish_height(block, event.commit)
            await self._start_height(block.number + 1, replay=False)
        finally:
            if not event.done.done():
                event.done.set_result(None)

    async def _apply(self, effects: list[Effect]) -> None:
        """Carry out effects in order; effects of fed-back events are carried out too."""
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            queue.extend(await self._carry_out(effect))

    async def _carry_out(self, effect: Effect) -> list[Effect]:
        loop = asyncio.get_running_loop()
        if isinstance(effect, Broadcast):
            self._network.broadcast_message(effect.message)
        elif isinstance(effect, ScheduleTimeout):
            self._schedule(effect)
        elif isinstance(effect, (SignVote, SignProposal)):
            return await self._sign(effect)
        elif isinstance(effect, BuildProposal):
            try:
                block = await self._build(effect.height, effect.round)
            except ProposalUnavailable as exc:
                log.error("not proposing at %d/%d: %s", effect.height, effect.round, exc)
                return []
            return self._handle_safely(ProposalBlockReady(effect.height, effect.round, block))
        elif isinstance(effect, ValidateBlock):
            valid = self._timely(effect.block) and await loop.run_in_executor(
                self._executor, self._app.process_proposal, effect.block)
            return self._handle_safely(BlockValidated(effect.block.hash, valid))
        elif isinstance(effect, Decide):
            await self._decide(effect)
        elif isinstance(effect, EvidenceFound):
            self._keep_evidence(effect.evidence, None)
        return []

    def _schedule(self, effect: ScheduleTimeout) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self._enqueue(TimeoutFired(effect.height, effect.round, effect.step))

        handle = loop.call_later(effect.duration_ms / 1000, fire)
        self._timers.add(handle)

    async def _sign(self, effect: SignVote | SignProposal) -> list[Effect]:
        if self._privval is None:
            return []
        message: Vote | Proposal = effect.vote if isinstance(effect, SignVote) else effect.proposal
        stamped = replace(message, timestamp_ms=max(int(self._clock() * 1000), self._last_time * 1000))
        try:
            signature = await self._privval.sign_step(
                stamped.height, stamped.round, effect.privval_step, stamped.sign_bytes(self._config.chain_id)
            )
        except SignerUnavailable as exc:
            log.debug("not signing at %d/%d: %s", stamped.height, stamped.round, exc)
            return []
        except (DoubleSignRefused, RemoteSignerError) as exc:
            log.warning("refused to sign: %s", exc)
            return []
        signed = stamped.with_signature(signature)
        self._wal.write_sync(encode_message(signed))
        event: Event = ProposalReceived(signed) if isinstance(signed, Proposal) else VoteReceived(signed)
        return self._handle_safely(event)

    def _timely(self, block: Block) -> bool:
        """Whether ``block`` is not timed in the future beyond the allowed drift of this node's clock.

        Block time drives the block award and unbonding maturity, so a proposer must
        not be able to move it ahead: validators prevote nil on a block timed more
        than ``max_future_drift_ms`` ahead of their clock (blocks already decided,
        adopted from block sync, are not judged by this node's clock).
        """
        ahead_ms = block.header.timestamp * 1000 - int(self._clock() * 1000)
        if ahead_ms > self._config.max_future_drift_ms:
            log.warning("block %d 0x%s is timed %d ms ahead of this node's clock: not valid",
                        block.number, block.hash.hex(), ahead_ms)
            return False
        return True

    async def _build(self, height: int, round_: int) -> Block:
        proposer = self.machine.validators.by_address(self.machine.proposer(round_))
        assert proposer is not None  # the machine picks its proposer from its own set
        request = ProposalRequest(
            height=height,
            timestamp=max(int(self._clock()), self._last_time),
            proposer_address=proposer.address,
            proposer_owner=proposer.owner,
            last_commit=self._last_commit,
            txs=self._txs.reap(self._config.max_block_bytes),
            max_bytes=self._config.max_block_bytes,
            evidence=[item.encode() for item in self.evidence.pending(MAX_EVIDENCE_PER_BLOCK)],
        )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._app.prepare_proposal, request)

    async def _decide(self, effect: Decide) -> None:
        await self._finish_height(effect.block, effect.commit)
        # ``timeout_commit`` is the block interval: the wait after a decision is what
        # is left of it since the height started, so a height that took long to
        # decide and execute is not followed by a full extra interval. A node that
        # decides late (its messages queued behind a pause or a slow link) counts
        # from the network's decision, the newest precommit of the commit, instead:
        # otherwise it waits a full interval per height and never catches up.
        elapsed = asyncio.get_running_loop().time() - self._height_started
        newest_precommit_ms = max((s.timestamp_ms for s in effect.commit.signatures), default=0)
        since_decided = self._clock() - newest_precommit_ms / 1000
        await asyncio.sleep(max(0.0, self._config.timeout_commit_ms / 1000 - max(elapsed, since_decided)))
        await self._start_height(effect.height + 1, replay=False)

    async def _finish_height(self, block: Block, commit: Commit) -> None:
        """Finalize and commit ``block`` through the application, close its height in the WAL."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._app.finalize_block, block)
        await loop.run_in_executor(self._executor, self._app.commit, block, commit)
        self._wal.write_end_height(block.number)
        self.evidence.mark_committed([DuplicateVoteEvidence.decode(item) for item in block.evidence], block.number)
        self.height = block.number
        self._last_time = block.header.timestamp
        self._last_commit = commit
        self._priorities = self._priorities.next_height(self._app.validators_at(block.number + 1))
        if self._priority_store is not None:
            self._priority_store.save_priorities(block.number + 1, self._priorities.encode())
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._on_commit(block)

    def _priorities_at(self, height: int) -> ProposerPriorities:
        """The priorities of ``height``: from the last saved state (or genesis), one increment per height."""
        start, priorities = 1, ProposerPriorities.initial(self._app.validators_at(1))
        saved = self._priority_store.load_priorities() if self._priority_store is not None else None
        if saved is not None and saved[0] <= height:
            start, priorities = saved[0], ProposerPriorities.decode(saved[1])
        for next_height in range(start + 1, height + 1):
            priorities = priorities.next_height(self._app.validators_at(next_height))
        return priorities
