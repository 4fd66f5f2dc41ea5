"""A simulated validator: the real consensus state machine behind a small deterministic driver.

The driver does what the node's asyncio driver does, on simulated time: it asks
the application to build and check blocks, signs through a guard with the
``PrivValidator`` rule whose record survives crashes, logs its own signed
messages before sending them and replays them into a fresh machine after a
restart, sends messages in their wire encoding, gossips what it holds to peers at the same height, serves
decided blocks (with their commits, verified by the receiver) to peers that are
behind, keeps an evidence pool, and starts the next height ``timeout_commit``
after a decision.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import rlp
from eth_hash.auto import keccak

from consensus.commit import verify_commit
from consensus.errors import ConsensusError, DoubleSignRefused, InvalidBlock
from consensus.evidence import DuplicateVoteEvidence, EvidencePool, InvalidEvidence
from consensus.keys import ValidatorKey, verify
from consensus.messages import Message, Proposal, decode_message, encode_message
from consensus.privval import PrivValidator, SignedStep
from consensus.tendermint import (
    BlockValidated,
    Broadcast,
    BuildProposal,
    Decide,
    Effect,
    EvidenceFound,
    ProposalBlockReady,
    ProposalReceived,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    Start,
    TendermintMachine,
    TimeoutFired,
    ValidateBlock,
    VoteReceived,
)
from consensus.types import Block, Commit
from consensus.validators import ValidatorSet
from tests.sim.app import SimChain

if TYPE_CHECKING:
    from tests.sim.harness import Simulation

MAX_MESSAGE_BYTES = 1 << 20


_VERIFIED: dict[tuple[bytes, bytes, bytes], bool] = {}
_SIGNED: dict[tuple[bytes, bytes], bytes] = {}
_VERIFIED_COMMITS: set[bytes] = set()
_CACHE_LIMIT = 500_000


def caching_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """``consensus.keys.verify``, each (key, message, signature) checked once per test process."""
    key = (public_key, message, signature)
    result = _VERIFIED.get(key)
    if result is None:
        if len(_VERIFIED) > _CACHE_LIMIT:
            _VERIFIED.clear()
        result = _VERIFIED[key] = verify(public_key, message, signature)
    return result


def verify_commit_once(commit: Commit, validators: ValidatorSet, chain_id: int, height: int, block_hash: bytes) -> None:
    """``consensus.commit.verify_commit``, skipped for a commit (same bytes, same claim) already verified."""
    key = keccak(rlp.encode([commit.hash, validators.hash, chain_id, height, block_hash]))
    if key not in _VERIFIED_COMMITS:
        verify_commit(commit, validators, chain_id, height, block_hash)
        _VERIFIED_COMMITS.add(key)


class CachedSigningKey(ValidatorKey):
    """A ``ValidatorKey`` that remembers its (deterministic) Ed25519 signatures and its public key."""

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``, computed once per test process."""
        key = (self.seed, message)
        signature = _SIGNED.get(key)
        if signature is None:
            if len(_SIGNED) > _CACHE_LIMIT:
                _SIGNED.clear()
            signature = _SIGNED[key] = super().sign(message)
        return signature

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key (derived once)."""
        cached = self.__dict__.get("_public_key")
        if cached is None:
            cached = super().public_key
            object.__setattr__(self, "_public_key", cached)
        return cached


class SignedRecordDisk:
    """What survives a crash of the node besides its chain: the last-signed record, and the write-ahead log of
    its own signed messages of the height in progress (written before they are sent)."""

    def __init__(self) -> None:
        self.record: SignedStep | None = None
        self.wal: list[Message] = []


class MemoryPrivValidator(PrivValidator):
    """``PrivValidator`` (same signing rule) whose record lives in a ``SignedRecordDisk``."""

    def __init__(self, key: ValidatorKey, disk: SignedRecordDisk) -> None:
        self._disk = disk
        super().__init__(key, Path("last_signed.json"))

    def _load(self) -> SignedStep | None:
        return self._disk.record

    def _store(self, signed: SignedStep) -> None:
        self._disk.record = signed
        self.last = signed


@dataclass(frozen=True)
class Status:
    """Gossip: the height the sender is working on."""

    height: int


@dataclass(frozen=True)
class SyncBlock:
    """Block sync: a decided block and the commit that finalised it."""

    block: Block
    commit: Commit


@dataclass(frozen=True)
class EvidenceMessage:
    """Gossip of evidence, in its canonical encoding."""

    data: bytes


class SimNode:
    """An honest validator on the simulated network."""

    def __init__(self, index: int, key: ValidatorKey, sim: Simulation) -> None:
        self.index = index
        self.key = key
        self.address = key.address
        self.sim = sim
        self.chain = SimChain(sim.chain_id, sim.validators_at, sim.verifier)
        self.disk = SignedRecordDisk()
        self.up = False
        self.epoch = 0
        self.machine = TendermintMachine(sim.chain_id, sim.timeouts, self.address, sim.verifier)
        self.privval = MemoryPrivValidator(key, self.disk)
        self.pool = EvidencePool(sim.chain_id)
        self.held: dict[int, list[bytes]] = {}

    # life cycle

    def boot(self) -> None:
        """Start (or restart after a crash) from what is on disk: the chain, the last-signed record, the WAL."""
        self.up = True
        self.epoch += 1
        self.machine = TendermintMachine(self.sim.chain_id, self.sim.timeouts, self.address, self.sim.verifier)
        self.privval = MemoryPrivValidator(self.key, self.disk)
        self.pool = EvidencePool(self.sim.chain_id)
        self.held = {}
        self.sim.network.down.discard(self.index)
        self._start_height(self.chain.height + 1)
        self._schedule(self.sim.gossip_interval_ms, self._gossip_tick)

    def crash(self) -> None:
        """Stop at once; everything but the disk is lost."""
        self.up = False
        self.epoch += 1
        self.sim.network.down.add(self.index)

    def _start_height(self, height: int) -> None:
        if not self.up or height != self.chain.height + 1 or (self.machine.started and self.machine.height >= height):
            return
        self.held = {h: m for h, m in self.held.items() if h >= height - 1}
        self._handle(Start(height, self.sim.validators_at(height), self.sim.priorities(height)))
        for message in [m for m in self.disk.wal if m.height == height]:
            self._handle(ProposalReceived(message) if isinstance(message, Proposal) else VoteReceived(message))

    def _schedule(self, delay_ms: int, action: Callable[[], None]) -> None:
        epoch = self.epoch

        def run() -> None:
            if self.up and self.epoch == epoch:
                action()
        self.sim.clock.schedule(delay_ms, run)

    # the driver

    def _handle(self, event: object) -> None:
        for effect in self.machine.handle(event):  # type: ignore[arg-type]
            self.apply(effect)

    def apply(self, effect: Effect) -> None:
        """Carry out one effect of the state machine."""
        if isinstance(effect, BuildProposal):
            self._schedule(self.sim.app_delay_ms, lambda: self._build(effect))
        elif isinstance(effect, ValidateBlock):
            block = effect.block
            self._schedule(self.sim.app_delay_ms, lambda: self._handle(
                BlockValidated(block.hash, self.chain.is_valid(block))))
        elif isinstance(effect, SignProposal):
            self.sign_and_feed(effect.proposal, effect.privval_step)
        elif isinstance(effect, SignVote):
            self.sign_and_feed(effect.vote, effect.privval_step)
        elif isinstance(effect, Broadcast):
            self._hold_and_send(effect.message)
        elif isinstance(effect, ScheduleTimeout):
            event = TimeoutFired(effect.height, effect.round, effect.step)
            self._schedule(effect.duration_ms, lambda: self._handle(event))
        elif isinstance(effect, Decide):
            self._decide(effect.block, effect.commit, effect.round, "consensus")
        elif isinstance(effect, EvidenceFound):
            self.sim.record_evidence(self.index, effect.evidence)
            self._add_evidence(effect.evidence)
            self.sim.network.broadcast(self.index, self.sim.indices, EvidenceMessage(effect.evidence.encode()))

    def _build(self, effect: BuildProposal) -> None:
        evidence = [e.encode() for e in self.pool.pending(4)]
        block = self.chain.build(self.address, effect.height,
                                 b"%d-%d" % (self.index, effect.round), evidence)
        self._handle(ProposalBlockReady(effect.height, effect.round, block))

    def sign_and_feed(self, template: Message, step: int) -> Message | None:
        """Timestamp, sign through the guard, record, and feed back; None if the guard refused."""
        unsigned = replace(template, timestamp_ms=self.sim.timestamp_ms(template.height, template.round, step))
        try:
            signature = self.privval.sign(unsigned.height, unsigned.round, step, unsigned.sign_bytes(self.sim.chain_id))
        except DoubleSignRefused:
            self.sim.refused_signatures += 1
            return None
        signed = unsigned.with_signature(signature)
        self.disk.wal.append(signed)
        self.sim.record_signed(self.index, signed)
        self._handle(ProposalReceived(signed) if isinstance(signed, Proposal) else VoteReceived(signed))
        return signed

    def _hold_and_send(self, message: Message) -> None:
        data = encode_message(message)
        held = self.held.setdefault(message.height, [])
        if len(held) < 4096:
            held.append(data)
        own = message.proposer_address if isinstance(message, Proposal) else message.validator_address
        if own == self.address:
            self.sim.network.broadcast(self.index, self.sim.indices, data)

    def _decide(self, block: Block, commit: Commit, round_: int, via: str) -> None:
        if not self.chain.is_valid(block):
            self.sim.violations.append(f"node {self.index} decided an invalid block at height {block.number}")
        self.sim.record_decision(self.index, block, commit, round_, via)
        self.chain.commit(block, commit)
        self.disk.wal = [m for m in self.disk.wal if m.height > block.number]
        for item in block.evidence:
            self.pool.mark_committed([DuplicateVoteEvidence.decode(item)], block.number)
        height = block.number + 1
        if via == "sync":
            self._start_height(height)
        else:
            self._schedule(self.sim.timeout_commit_ms, lambda: self._start_height(height))

    def _add_evidence(self, evidence: DuplicateVoteEvidence) -> None:
        try:
            self.pool.add(evidence, self.sim.validators_at(evidence.height), self.chain.height + 1,
                          self.sim.verifier)
        except InvalidEvidence:
            self.sim.invalid_messages += 1

    # the network

    def receive(self, sender: int, message: object) -> None:
        """A message from ``sender`` arrived."""
        try:
            if isinstance(message, bytes):
                decoded = decode_message(message, MAX_MESSAGE_BYTES)
                self._handle(ProposalReceived(decoded) if isinstance(decoded, Proposal) else VoteReceived(decoded))
            elif isinstance(message, Status):
                self._serve(sender, message.height)
            elif isinstance(message, SyncBlock):
                self._apply_synced(message)
            elif isinstance(message, EvidenceMessage):
                self._add_evidence(DuplicateVoteEvidence.decode(message.data))
        except (ConsensusError, InvalidBlock):
            self.sim.invalid_messages += 1

    def _gossip_tick(self) -> None:
        self.sim.network.broadcast(self.index, self.sim.indices, Status(self.chain.height + 1))
        self._schedule(self.sim.gossip_interval_ms, self._gossip_tick)

    def _serve(self, peer: int, peer_height: int) -> None:
        if peer_height <= self.chain.height:
            index = peer_height - 1
            self.sim.network.send(self.index, peer, SyncBlock(self.chain.blocks[index], self.chain.commits[index]))
        elif peer_height == self.chain.height + 1:
            for data in self.held.get(peer_height, []):
                self.sim.network.send(self.index, peer, data)

    def _apply_synced(self, message: SyncBlock) -> None:
        block = message.block
        if block.number != self.chain.height + 1:
            return
        verify_commit_once(message.commit, self.sim.validators_at(block.number), self.sim.chain_id, block.number,
                           block.hash)
        if self.chain.is_valid(block):
            self._decide(block, message.commit, message.commit.round, "sync")


