"""The node's side of the randomness beacon: reveals, PREVRANDAO, and who missed a proposer slot.

* ``RevealSource`` computes the reveal this validator puts in the blocks it proposes,
  from its hash chains (``middleware.randomness.hashchain``) and the commitment the
  chain stores for it at the parent block; the chain of an epoch is built once.
* ``beacon_reader`` reads the randomness contract's storage at a state root, so the
  application can take a validator's record and the parent's beacon value (the next
  block's ``mix_hash``, which ``PREVRANDAO`` reads) without executing anything.
* ``ProposerSlots`` names the proposers of the rounds before the one that decided a
  height, from the proposer-priority state of that height: a pure function of the
  validator sets (``consensus.proposer``), advanced one height at a time and saved
  (unsynced) as a meta record so a restart does not replay it from genesis.
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import cast

from eth.abc import StateAPI
from eth.db.account import AccountDB
from eth_hash.auto import keccak

from consensus.errors import RemoteSignerError
from consensus.keys import ValidatorKey
from consensus.proposer import InvalidPriorities, ProposerPriorities
from consensus.remote_signer.endpoint import RemoteSigner
from consensus.validators import ValidatorSet
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.schema import MetaName
from middleware.randomness.errors import RevealUnavailable
from middleware.randomness.hashchain import HashChain
from middleware.randomness.records import BeaconStore, ValidatorRecord
from vm.native.addresses import RANDOMNESS_ADDRESS
from vm.native.framework import SYSTEM_SENDER, CallContext

MAX_COUNTED_ROUNDS = 64  # missed slots counted per height: a bound on the work, far above any real round

#: The seed of this validator's chain ``epoch`` (derived from its consensus key, locally or by its signer).
EpochSeed = Callable[[int], bytes]


def _no_events(address: bytes, topics: tuple[int, ...], data: bytes) -> None:
    """The event sink of a read-only context (never reached: it refuses to emit)."""


def beacon_reader(accounts: AccountDB) -> BeaconStore:
    """The randomness contract's storage in ``accounts``, read-only and unmetered."""
    context = CallContext(cast(StateAPI, accounts), RANDOMNESS_ADDRESS, sender=SYSTEM_SENDER, value=0,
                          is_static=True, consume_gas=None, add_log=_no_events)
    return BeaconStore(context)


def next_prev_randao(accounts: AccountDB, parent_number: int, parent_hash: bytes) -> bytes:
    """The beacon value of the parent (``accounts`` is its state): the next block's ``mix_hash``.

    The genesis value is keccak of the genesis block's hash, as the contract's first block records it.
    """
    store = beacon_reader(accounts)
    if parent_number == 0 or store.latest() is None:
        return keccak(parent_hash)
    return store.mix()


class RevealSource:
    """The reveals of one validator: the next element of its current chain, or a new chain's anchor."""

    def __init__(self, seed_of: EpochSeed) -> None:
        self._seed_of = seed_of
        self._chain: tuple[int, HashChain] | None = None

    def reveal(self, record: ValidatorRecord) -> bytes:
        """What this validator reveals in its next block, given its record at the parent block."""
        if not record.has_chain:
            return self._chain_of(record.next_epoch).anchor
        reveal = self._chain_of(record.epoch).reveal_after(record.remaining)
        if keccak(reveal) != record.commitment:
            raise RevealUnavailable(
                f"the stored randomness commitment 0x{record.commitment.hex()} (epoch {record.epoch}, "
                f"{record.remaining} reveals left) is not from this validator key's hash chain")
        return reveal

    def _chain_of(self, epoch: int) -> HashChain:
        if self._chain is None or self._chain[0] != epoch:
            self._chain = (epoch, chain_from_seed(epoch_seed_checked(self._seed_of, epoch)))
        return self._chain[1]


@functools.lru_cache(maxsize=4)
def chain_from_seed(seed: bytes) -> HashChain:
    """The checkpoints of the chain from ``seed`` (65,536 hashes, about half a second): built once per process,
    so a node reopening its application (or a process running several) does not hash again."""
    return HashChain(seed)


def epoch_seed_checked(seed_of: EpochSeed, epoch: int) -> bytes:
    """``seed_of(epoch)``, refusing anything but 32 bytes (a signer's answer is not trusted blindly)."""
    seed = seed_of(epoch)
    if len(seed) != 32:
        raise RevealUnavailable(f"the seed of randomness epoch {epoch} has {len(seed)} bytes, not 32")
    return seed


def key_reveals(key: ValidatorKey, chain_id: int) -> RevealSource:
    """The reveals of the validator whose key this node holds."""
    return RevealSource(lambda epoch: key.beacon_seed(chain_id, epoch))


def remote_reveals(signer: RemoteSigner, loop: asyncio.AbstractEventLoop) -> RevealSource:
    """The reveals of a validator whose key a remote signer holds: each epoch's seed is asked of the signer.

    Called on the execution thread; the request runs on the node's event loop, bounded by the
    signer's request time-out. A signer that cannot answer leaves this node without a proposal.
    """
    def seed_of(epoch: int) -> bytes:
        try:
            return asyncio.run_coroutine_threadsafe(signer.beacon_seed(epoch), loop).result()
        except RemoteSignerError as exc:
            raise RevealUnavailable(f"the remote signer gave no seed of randomness epoch {epoch}: {exc}") from exc

    return RevealSource(seed_of)


class ProposerSlots:
    """Who held the proposer slots of the rounds before the deciding one, per height."""

    def __init__(self, store: ChainStore, validators_at: Callable[[int], ValidatorSet]) -> None:
        self._store = store
        self._validators_at = validators_at
        self._state: tuple[int, ProposerPriorities] | None = None

    def missed(self, height: int, deciding_round: int) -> tuple[bytes, ...]:
        """Consensus keys of the proposers of rounds ``0 .. deciding_round - 1`` at ``height`` (at most 64)."""
        if height < 1 or deciding_round <= 0:
            return ()
        priorities = self._priorities_at(height)
        validators = self._validators_at(height)
        keys = []
        for round_ in range(min(deciding_round, MAX_COUNTED_ROUNDS)):
            proposer = validators.by_address(priorities.incremented(round_).proposer)
            if proposer is not None:
                keys.append(proposer.pub_key)
        return tuple(keys)

    def _priorities_at(self, height: int) -> ProposerPriorities:
        start, priorities = self._start(height)
        for next_height in range(start + 1, height + 1):
            priorities = priorities.next_height(self._validators_at(next_height))
        if self._state is None or height > self._state[0]:  # a replay of an old block keeps the newest state
            record = height.to_bytes(8, "big") + priorities.encode()
            self._store.put_meta(MetaName.BEACON_PRIORITIES, record, sync=False)
            self._state = (height, priorities)
        return priorities

    def _start(self, height: int) -> tuple[int, ProposerPriorities]:
        """The closest known state at or below ``height``: in memory, saved, or the first height's."""
        if self._state is not None and self._state[0] <= height:
            return self._state
        record = self._store.get_meta(MetaName.BEACON_PRIORITIES)
        if record is not None and len(record) > 8 and 0 < int.from_bytes(record[:8], "big") <= height:
            try:
                return int.from_bytes(record[:8], "big"), ProposerPriorities.decode(record[8:])
            except InvalidPriorities:
                pass  # recomputed below from the first height
        return 1, ProposerPriorities.initial(self._validators_at(1))
