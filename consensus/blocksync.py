"""Block sync: catching up with the chain from peers, without IO.

A node that starts late or was down fetches the committed blocks it lacks from
its peers (after CometBFT's block-sync "pool"), verifies each one and hands it
to the application in height order, then switches to consensus once it is
caught up. This module holds the logic only: the driver feeds it peer statuses
and responses with the current time in milliseconds, sends the requests it
produces, applies the blocks it releases and bans the peers it reports.

Requests
    Heights from the next one to apply up to ``max_blocks_ahead`` beyond the
    applied height are requested, lowest first, each from a peer whose reported
    range holds it, preferring peers not yet asked for that height and then the
    peer with the fewest outstanding requests (ties by peer id), with at most
    ``max_pending_requests`` heights in flight and ``max_pending_per_peer``
    outstanding requests per peer. A request unanswered after
    ``request_timeout_ms`` goes to another peer; the slow peer gets no new
    requests until it answers one, and its late answer is still accepted.

Verification (``next_to_apply``)
    Block ``h`` must extend the last applied block, match its chain id,
    validator-set hash, last-commit hash and evidence hash, and be finalised by
    +2/3 of the validator set of ``h``: through the commit its sender attached, or,
    when the sender attached none, through the ``last_commit`` of block
    ``h + 1``. A block failing a check is dropped and its sender reported as
    misbehaving, together with every other block it sent; the height is asked
    again of another peer. When an unproven block is contradicted by the next
    block's ``last_commit``, both blocks are dropped and asked again, and the
    sender of the unproven block (who withheld the proof) is reported.

Validator sets
    ``validators_at`` is asked once, for the first height; from there the pool
    follows the sets the verified headers announce: when block ``h``'s
    ``next_validators_hash`` differs from its own set, the response must carry
    the set of ``h + 1`` and the set must hash to it. So a node that stores
    blocks without executing them (fast sync) learns every set from the chain,
    and ``SyncedBlock.next_validators`` tells it when to record one.

Receipts (fast sync)
    A pool built with ``require_receipts`` asks for each block's receipts (opaque
    bytes here: the application verifies them against the header's receipts
    root, ``BlockSyncService`` reports the sender when they do not) and treats a
    response without them as misbehaviour.

Messages
    The block-sync channel carries ``StatusRequest``, ``StatusResponse``,
    ``BlockRequest``, ``BlockResponse`` (a block with the commit that
    finalised it, its receipts when asked, the next validator set when it
    changes) and ``NoBlockResponse``: one tag byte, then RLP using the
    encodings of ``consensus.types``. Decoding is strict (no trailing bytes,
    canonical integers) and bounded (in size, and in list nesting before the
    recursive decoder runs), and raises ``BlockSyncDecodeError``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import rlp
from rlp.sedes import CountableList, List, big_endian_int, binary

from consensus.commit import verify_commit
from consensus.errors import ConsensusError, InvalidBlock, InvalidValidatorUpdate
from consensus.messages import MAX_RLP_NESTING
from consensus.types import Block, Commit
from consensus.validators import ValidatorSet
from consensus.validity import header_problem
from vm.rlp_nesting import nesting_exceeds

DEFAULT_MAX_PENDING_REQUESTS = 64
DEFAULT_MAX_PENDING_PER_PEER = 16
DEFAULT_REQUEST_TIMEOUT_MS = 15_000
DEFAULT_MAX_BLOCKS_AHEAD = 128
DEFAULT_CAUGHT_UP_GRACE_MS = 5_000
DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
MAX_HEIGHT = 2**63 - 1

PeerId = str


class BlockSyncError(ConsensusError):
    """Root of the block-sync errors."""


class BlockSyncDecodeError(BlockSyncError):
    """A block-sync message that is malformed, too large or of an unknown type."""


# -- messages --------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRequest:
    """Ask a peer for the range of blocks it can serve."""


@dataclass(frozen=True)
class StatusResponse:
    """The lowest and highest block a peer can serve."""

    base: int
    height: int


@dataclass(frozen=True)
class BlockRequest:
    """Ask a peer for the block at ``height`` (and its receipts if ``with_receipts``)."""

    height: int
    with_receipts: bool = False


@dataclass(frozen=True)
class BlockResponse:
    """A committed block, the commit that finalised it (``None`` for a genesis block) and what sync needs of it.

    ``receipts``: the block's stored receipt records, if they were asked for.
    ``next_validators``: the validator set of the next height, when it differs from the block's.
    """

    block: Block
    commit: Commit | None
    receipts: tuple[bytes, ...] | None = None
    next_validators: ValidatorSet | None = None


@dataclass(frozen=True)
class NoBlockResponse:
    """The peer does not have the block at ``height``."""

    height: int


BlockSyncMessage = StatusRequest | StatusResponse | BlockRequest | BlockResponse | NoBlockResponse

_TAG_STATUS_REQUEST = 1
_TAG_STATUS_RESPONSE = 2
_TAG_BLOCK_REQUEST = 3
_TAG_BLOCK_RESPONSE = 4
_TAG_NO_BLOCK_RESPONSE = 5

_EMPTY_SEDES = List([])
_HEIGHT_SEDES = List([big_endian_int])
_RANGE_SEDES = List([big_endian_int, big_endian_int])
_BLOCK_RESPONSE_SEDES = List([
    Block,
    CountableList(Commit, max_length=1),
    CountableList(CountableList(binary), max_length=1),  # the receipt records, if asked for
    CountableList(binary, max_length=1),  # the next validator set, if it changes
])


def encode_message(message: BlockSyncMessage) -> bytes:
    """The wire bytes of a block-sync message."""
    if isinstance(message, StatusRequest):
        return bytes([_TAG_STATUS_REQUEST]) + rlp.encode([], _EMPTY_SEDES)
    if isinstance(message, StatusResponse):
        return bytes([_TAG_STATUS_RESPONSE]) + rlp.encode([message.base, message.height], _RANGE_SEDES)
    if isinstance(message, BlockRequest):
        return bytes([_TAG_BLOCK_REQUEST]) + rlp.encode([message.height, int(message.with_receipts)], _RANGE_SEDES)
    if isinstance(message, BlockResponse):
        commits = [] if message.commit is None else [message.commit]
        receipts = [] if message.receipts is None else [list(message.receipts)]
        validators = [] if message.next_validators is None else [message.next_validators.encode()]
        return bytes([_TAG_BLOCK_RESPONSE]) + rlp.encode([message.block, commits, receipts, validators],
                                                         _BLOCK_RESPONSE_SEDES)
    if isinstance(message, NoBlockResponse):
        return bytes([_TAG_NO_BLOCK_RESPONSE]) + rlp.encode([message.height], _HEIGHT_SEDES)
    raise TypeError(f"not a block-sync message: {type(message).__name__}")


def decode_message(data: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> BlockSyncMessage:
    """Parse wire bytes into a block-sync message; ``BlockSyncDecodeError`` on anything malformed."""
    if not isinstance(data, (bytes, bytearray)):
        raise BlockSyncDecodeError(f"message must be bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise BlockSyncDecodeError(f"message of {len(data)} bytes exceeds the limit of {max_bytes}")
    if not data:
        raise BlockSyncDecodeError("empty message")
    tag, body = data[0], bytes(data[1:])
    if nesting_exceeds(body, 0, MAX_RLP_NESTING):
        raise BlockSyncDecodeError(f"block-sync message (type {tag}) nests lists deeper than {MAX_RLP_NESTING} levels")
    try:
        if tag == _TAG_STATUS_REQUEST:
            rlp.decode(body, _EMPTY_SEDES)
            return StatusRequest()
        if tag == _TAG_STATUS_RESPONSE:
            base, height = rlp.decode(body, _RANGE_SEDES)
            if not 0 <= base <= height <= MAX_HEIGHT:
                raise BlockSyncDecodeError(f"status range {base}..{height} is not a valid range")
            return StatusResponse(base=base, height=height)
        if tag == _TAG_BLOCK_REQUEST:
            height, flag = rlp.decode(body, _RANGE_SEDES)
            if height > MAX_HEIGHT or flag > 1:
                raise BlockSyncDecodeError(f"block request for height {height} with flag {flag} out of range")
            return BlockRequest(height, with_receipts=bool(flag))
        if tag == _TAG_NO_BLOCK_RESPONSE:
            (height,) = rlp.decode(body, _HEIGHT_SEDES)
            if height > MAX_HEIGHT:
                raise BlockSyncDecodeError(f"height {height} out of range")
            return NoBlockResponse(height)
        if tag == _TAG_BLOCK_RESPONSE:
            block, commits, receipts, validators = rlp.decode(body, _BLOCK_RESPONSE_SEDES)
            if block.number > MAX_HEIGHT:
                raise BlockSyncDecodeError(f"block height {block.number} out of range")
            return BlockResponse(
                block=block,
                commit=commits[0] if commits else None,
                receipts=tuple(receipts[0]) if receipts else None,
                next_validators=ValidatorSet.decode(validators[0]) if validators else None,
            )
    except (rlp.exceptions.RLPException, RecursionError, InvalidValidatorUpdate) as exc:
        raise BlockSyncDecodeError(f"malformed block-sync message (type {tag}): {exc}") from None
    raise BlockSyncDecodeError(f"unknown block-sync message type {tag}")


class BlockSource(Protocol):
    """The committed chain a node serves to syncing peers (the chain store)."""

    def latest_height(self) -> int:
        """Height of the last committed block, -1 if none."""
        ...

    def get_block_by_number(self, height: int) -> Block | None:
        """The committed block at ``height``, or ``None``."""
        ...

    def get_seen_commit(self, height: int) -> Commit | None:
        """The commit that finalised the block at ``height``, or ``None``."""
        ...

    def get_receipt_records(self, block_hash: bytes) -> list[bytes]:
        """The stored receipts of a block, in transaction order."""
        ...

    def get_validator_set(self, height: int) -> ValidatorSet | None:
        """The validator set in force at ``height``."""
        ...


def answer_request(request: StatusRequest | BlockRequest, source: BlockSource, base: int = 0) -> BlockSyncMessage:
    """The response to a peer's request, served from ``source`` (whose lowest served block is ``base``)."""
    latest = source.latest_height()
    if isinstance(request, StatusRequest):
        return StatusResponse(base=min(base, max(latest, 0)), height=max(latest, 0))
    if base <= request.height <= latest:
        block = source.get_block_by_number(request.height)
        if block is not None:
            header = block.header
            receipts = tuple(source.get_receipt_records(block.hash)) if request.with_receipts else None
            next_validators = None
            if header.next_validators_hash != header.validators_hash:
                next_validators = source.get_validator_set(request.height + 1)
            return BlockResponse(block=block, commit=source.get_seen_commit(request.height), receipts=receipts,
                                 next_validators=next_validators)
    return NoBlockResponse(height=request.height)


# -- the pool --------------------------------------------------------------------


@dataclass(frozen=True)
class SyncedBlock:
    """A block the pool verified, with the commit that finalised it and what its sender attached.

    ``receipts`` are the sender's (unverified) receipt records, when the pool
    requires them; ``next_validators`` is the set of the next height when the
    block's header announces a change (verified against that header).
    """

    block: Block
    commit: Commit
    sender: str
    receipts: tuple[bytes, ...] | None
    next_validators: ValidatorSet | None


@dataclass(frozen=True)
class Misbehaviour:
    """A peer that sent invalid or unrequested data: the driver disconnects and bans it."""

    peer_id: PeerId
    reason: str


@dataclass
class _Peer:
    """What the pool knows of one peer."""

    base: int
    height: int
    requested: dict[int, int] = field(default_factory=dict)  # height -> sent at (ms), unanswered
    expired: dict[int, None] = field(default_factory=dict)  # timed-out heights whose late answer is welcome
    slow: bool = False  # a request timed out and the peer has not answered since


@dataclass
class _Slot:
    """One height of the window: who is asked for it and what arrived."""

    assigned: PeerId | None = None
    asked: set[PeerId] = field(default_factory=set)
    refused: set[PeerId] = field(default_factory=set)
    block: Block | None = None
    commit: Commit | None = None
    sender: PeerId | None = None
    receipts: tuple[bytes, ...] | None = None
    next_validators: ValidatorSet | None = None


class BlockSyncPool:
    """Which blocks to request from which peer, and which verified block to apply next."""

    def __init__(
        self,
        start_height: int,
        parent_hash: bytes,
        *,
        chain_id: int,
        validators_at: Callable[[int], ValidatorSet],
        now_ms: int,
        check_block: Callable[[Block], None] | None = None,
        require_receipts: bool = False,
        stop_height: int = MAX_HEIGHT,
        max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS,
        max_pending_per_peer: int = DEFAULT_MAX_PENDING_PER_PEER,
        request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS,
        max_blocks_ahead: int = DEFAULT_MAX_BLOCKS_AHEAD,
        caught_up_grace_ms: int = DEFAULT_CAUGHT_UP_GRACE_MS,
    ) -> None:
        """Sync from ``start_height``, whose parent (the last applied block) has hash ``parent_hash``.

        ``validators_at(h)`` is the validator set that must sign block ``h``; it is
        only asked for ``start_height``, the pool follows the sets the headers announce.
        ``check_block``, if given, checks what the commit does not cover (the
        transactions against the header's root) and raises ``InvalidBlock``.
        ``require_receipts``: every block response must carry the block's receipts.
        ``stop_height``: the last block to fetch (fast sync's pivot).
        ``now_ms`` is the start time, from which the caught-up grace period runs.
        """
        for name, value in (("max_pending_requests", max_pending_requests),
                            ("max_pending_per_peer", max_pending_per_peer),
                            ("request_timeout_ms", request_timeout_ms),
                            ("max_blocks_ahead", max_blocks_ahead)):
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if start_height < 1 or caught_up_grace_ms < 0:
            raise ValueError("start_height must be at least 1 and caught_up_grace_ms not negative")
        self._height = start_height
        self._start_height = start_height
        self._parent_hash = parent_hash
        self._chain_id = chain_id
        self._validators_at = validators_at
        self._check_block = check_block
        self._require_receipts = require_receipts
        self._stop_height = stop_height
        self._validators: ValidatorSet | None = None
        self._started_ms = now_ms
        self._max_pending = max_pending_requests
        self._max_per_peer = max_pending_per_peer
        self._timeout_ms = request_timeout_ms
        self._max_ahead = max_blocks_ahead
        self._grace_ms = caught_up_grace_ms
        self._peers: dict[PeerId, _Peer] = {}
        self._slots: dict[int, _Slot] = {}
        self._misbehaviours: list[Misbehaviour] = []

    # -- state -------------------------------------------------------------------

    @property
    def height(self) -> int:
        """The next height to apply (one above the last applied block)."""
        return self._height

    @property
    def require_receipts(self) -> bool:
        """Whether block requests ask for receipts (fast sync)."""
        return self._require_receipts

    @property
    def max_peer_height(self) -> int:
        """The highest height reported by a responsive peer, -1 if there is none."""
        return max((peer.height for peer in self._peers.values() if not peer.slow), default=-1)

    # -- peers -------------------------------------------------------------------

    def set_peer_range(self, peer_id: PeerId, base: int, height: int) -> Misbehaviour | None:
        """Record a peer's status (the blocks it can serve); an impossible range is misbehaviour."""
        if not 0 <= base <= height <= MAX_HEIGHT:
            return self._fault(peer_id, f"reported the impossible range {base}..{height}")
        peer = self._peers.get(peer_id)
        if peer is None:
            self._peers[peer_id] = _Peer(base=base, height=height)
        else:
            peer.base, peer.height = base, height
        return None

    def remove_peer(self, peer_id: PeerId) -> None:
        """Forget a disconnected peer; its outstanding requests go to other peers."""
        if self._peers.pop(peer_id, None) is None:
            return
        for slot in self._slots.values():
            if slot.assigned == peer_id:
                slot.assigned = None

    # -- requests ----------------------------------------------------------------

    def is_outstanding(self, peer_id: PeerId, height: int) -> bool:
        """Whether ``peer_id`` was asked for ``height`` and has not answered yet."""
        peer = self._peers.get(peer_id)
        return peer is not None and (height in peer.requested or height in peer.expired)

    def outstanding_requests(self) -> list[tuple[PeerId, int]]:
        """The ``(peer_id, height)`` requests sent and not answered yet (timed-out ones included)."""
        return sorted((peer_id, height) for peer_id, peer in self._peers.items()
                      for height in (*peer.requested, *peer.expired))


    def next_requests(self, now_ms: int) -> list[tuple[PeerId, int]]:
        """Expire overdue requests and return the new ``(peer_id, height)`` block requests to send."""
        self._expire(now_ms)
        top = min(self._height + self._max_ahead - 1, self.max_peer_height, self._stop_height)
        in_flight = sum(1 for slot in self._slots.values() if slot.assigned is not None)
        requests: list[tuple[PeerId, int]] = []
        for height in range(self._height, top + 1):
            if in_flight >= self._max_pending:
                break
            slot = self._slots.get(height)
            if slot is not None and (slot.block is not None or slot.assigned is not None):
                continue
            peer_id = self._pick_peer(height, slot or _Slot())
            if peer_id is None:
                continue
            if slot is None:
                slot = self._slots[height] = _Slot()
            slot.assigned = peer_id
            slot.asked.add(peer_id)
            self._peers[peer_id].requested[height] = now_ms
            in_flight += 1
            requests.append((peer_id, height))
        return requests

    def _expire(self, now_ms: int) -> None:
        for peer_id in sorted(self._peers):
            peer = self._peers[peer_id]
            overdue = [height for height, sent in peer.requested.items() if now_ms - sent >= self._timeout_ms]
            for height in overdue:
                del peer.requested[height]
                peer.expired[height] = None
                peer.slow = True
                slot = self._slots.get(height)
                if slot is not None and slot.assigned == peer_id:
                    slot.assigned = None
            while len(peer.expired) > self._max_per_peer:
                del peer.expired[next(iter(peer.expired))]

    def _pick_peer(self, height: int, slot: _Slot) -> PeerId | None:
        candidates = [
            (peer_id in slot.asked, len(peer.requested), peer_id)
            for peer_id, peer in self._peers.items()
            if peer.base <= height <= peer.height
            and not peer.slow
            and len(peer.requested) < self._max_per_peer
            and height not in peer.requested
            and peer_id not in slot.refused
        ]
        return min(candidates)[2] if candidates else None

    # -- responses ---------------------------------------------------------------

    def add_block(self, peer_id: PeerId, block: Block, commit: Commit | None,
                  receipts: tuple[bytes, ...] | None = None,
                  next_validators: ValidatorSet | None = None) -> Misbehaviour | None:
        """Take a block response; returns the misbehaviour if the peer sent something it was not asked for.

        A late answer to a request that timed out, or a second copy of a block
        already received, is accepted silently (``None``) and not kept twice.
        """
        height = block.number
        peer = self._take_request(peer_id, height)
        if peer is None:
            return self._fault(peer_id, f"sent block {height}, which was not requested from it")
        if commit is not None and (commit.height != height or commit.block_hash != block.hash):
            return self._fault(peer_id, f"sent block {height} with a commit for height {commit.height} "
                                        f"block 0x{commit.block_hash.hex()}")
        if self._require_receipts and receipts is None:
            return self._fault(peer_id, f"sent block {height} without the receipts asked for")
        slot = self._slots.get(height)
        if height < self._height or slot is None or slot.block is not None:
            return None
        slot.block, slot.commit, slot.sender = block, commit, peer_id
        slot.receipts, slot.next_validators = receipts, next_validators
        slot.assigned = None
        return None

    def no_block(self, peer_id: PeerId, height: int) -> Misbehaviour | None:
        """Take a peer's answer that it lacks ``height``: ask another peer, and stop asking it beyond."""
        peer = self._take_request(peer_id, height)
        if peer is None:
            return self._fault(peer_id, f"answered a request for block {height} it was not asked for")
        if peer.base <= height <= peer.height:
            peer.height = max(peer.base, height - 1)
        slot = self._slots.get(height)
        if slot is not None:
            slot.refused.add(peer_id)
            if slot.assigned == peer_id:
                slot.assigned = None
        return None

    def _take_request(self, peer_id: PeerId, height: int) -> _Peer | None:
        """The peer, with its request for ``height`` marked answered; ``None`` if it was never asked."""
        peer = self._peers.get(peer_id)
        if peer is None or (height not in peer.requested and height not in peer.expired):
            return None
        peer.requested.pop(height, None)
        peer.expired.pop(height, None)
        peer.slow = False
        return peer

    # -- application -------------------------------------------------------------

    def next_to_apply(self) -> SyncedBlock | None:
        """The next block, verified, with the commit that finalised it; ``None`` if it is not provable yet.

        The pool moves past the block it returns (the caller stores the commit as
        its seen commit). Peers found lying are queued for ``take_misbehaviours``.
        """
        height = self._height
        slot = self._slots.get(height)
        if slot is None or slot.block is None or slot.sender is None:
            return None
        block, sender = slot.block, slot.sender
        if self._validators is None:
            self._validators = self._validators_at(height)
        validators = self._validators
        problem = self._header_problem(block, validators) or self._next_validators_problem(slot, validators)
        if problem is not None:
            self._report(sender, f"block {height}: {problem}")
            return None
        if slot.commit is not None:
            try:
                verify_commit(slot.commit, validators, self._chain_id, height, block.hash)
            except InvalidBlock as exc:
                self._report(sender, f"block {height} came with an invalid commit: {exc}")
                return None
            return self._pop(slot.commit)
        following = self._slots.get(height + 1)
        if following is None or following.block is None or following.sender is None:
            return None
        try:
            verify_commit(following.block.last_commit, validators, self._chain_id, height, block.hash)
        except InvalidBlock as exc:
            self._report(sender, f"block {height} is not the one block {height + 1} certifies: {exc}")
            self._drop(following)
            return None
        return self._pop(following.block.last_commit)

    def take_misbehaviours(self) -> list[Misbehaviour]:
        """The peers found lying while verifying blocks since the last call (oldest first)."""
        found, self._misbehaviours = self._misbehaviours, []
        return found

    def _header_problem(self, block: Block, validators: ValidatorSet) -> str | None:
        problem = header_problem(block, self._parent_hash, self._chain_id, validators)
        if problem is not None:
            return problem
        if self._check_block is not None:
            try:
                self._check_block(block)
            except InvalidBlock as exc:
                return str(exc)
        return None

    @staticmethod
    def _next_validators_problem(slot: _Slot, validators: ValidatorSet) -> str | None:
        """Why the validator set the block's header announces for the next height is missing or wrong."""
        assert slot.block is not None
        announced = slot.block.header.next_validators_hash
        if announced == validators.hash:
            slot.next_validators = None  # unchanged: whatever was attached is irrelevant
            return None
        if slot.next_validators is None:
            return "announces a new validator set but came without it"
        if slot.next_validators.hash != announced:
            return "came with a validator set other than the one its header announces"
        return None

    def _pop(self, commit: Commit) -> SyncedBlock:
        slot = self._slots.pop(self._height)
        assert slot.block is not None and slot.sender is not None and self._validators is not None
        self._height += 1
        self._parent_hash = slot.block.hash
        if slot.next_validators is not None:
            self._validators = slot.next_validators
        return SyncedBlock(slot.block, commit, slot.sender, slot.receipts, slot.next_validators)

    # -- misbehaviour ------------------------------------------------------------

    def _report(self, peer_id: PeerId, reason: str) -> None:
        self._misbehaviours.append(self._fault(peer_id, reason))

    def _fault(self, peer_id: PeerId, reason: str) -> Misbehaviour:
        """Forget a lying peer and every block it sent that is not applied yet."""
        self.remove_peer(peer_id)
        for slot in self._slots.values():
            if slot.sender == peer_id:
                self._drop(slot)
        return Misbehaviour(peer_id=peer_id, reason=reason)

    @staticmethod
    def _drop(slot: _Slot) -> None:
        slot.block, slot.commit, slot.sender = None, None, None
        slot.receipts, slot.next_validators = None, None

    # -- switching to consensus --------------------------------------------------

    def is_caught_up(self, now_ms: int) -> bool:
        """Whether the node has applied up to one below the highest responsive peer's height.

        Until a block is applied or ``caught_up_grace_ms`` has passed since the
        start, the answer is ``False``, leaving time for peers' statuses to arrive.
        """
        if self._height == self._start_height and now_ms - self._started_ms < self._grace_ms:
            return False
        return self._height - 1 >= self.max_peer_height - 1
