"""State sync: fetching the state of a pivot block from peers, node by node, without IO.

After fast sync stored the blocks up to a pivot without executing them, the
node needs the state the pivot's header commits to (its state root) before it
can execute the blocks after it. The state is a graph of content-addressed
records: trie nodes, contract code and account storage tries, each stored
under the keccak hash of its bytes. This module asks peers for records by hash
(after geth's ``GetNodeData``) and checks every answer against the hashes
asked; what a record refers to (which child hashes to fetch next) is the
application's business, so each hash carries an opaque integer ``tag`` the
application gives it and gets back with the record.

Requests
    Pending hashes are asked, oldest first, in requests of at most
    ``max_hashes_per_request``, each peer having at most one request in flight.
    A request unanswered after ``request_timeout_ms`` is put back in the queue
    for other peers; its late answer is still accepted, and the slow peer gets
    no new request until it answers or another timeout passes. Hashes a peer left out
    of its answer (it lacks them) are put back and not asked of it again while
    another peer may have them.

Verification
    Every value must hash (keccak) to a hash of the request it answers. A value
    that does not, or an answer to no request, is misbehaviour: the peer is
    dropped from the scheduler and reported for a ban; its request goes back to
    the queue.

Messages
    ``NodeDataRequest`` (hashes) and ``NodeDataResponse`` (values) travel on the
    block-sync channel with their own tag bytes; decoding is strict and bounded
    (``MAX_HASHES_PER_REQUEST`` hashes, ``MAX_VALUE_BYTES`` per value) and
    raises ``StateSyncDecodeError``. ``answer_node_data`` serves them, bounded by
    a response size.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import rlp
from eth_hash.auto import keccak
from rlp.sedes import CountableList, binary

from consensus.blocksync import BlockSyncError, Misbehaviour, PeerId
from vm.rlp_nesting import nesting_exceeds

MAX_HASHES_PER_REQUEST = 384
MAX_VALUE_BYTES = 128 * 1024  # a trie node is < 600 bytes; contract code is at most 24 KiB (EIP-170) or 48 KiB initcode
DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT_MS = 10_000
HASH_SIZE = 32

TAG_NODE_DATA_REQUEST = 6
TAG_NODE_DATA_RESPONSE = 7
STATE_SYNC_TAGS = frozenset({TAG_NODE_DATA_REQUEST, TAG_NODE_DATA_RESPONSE})

_HASHES_SEDES = CountableList(binary, max_length=MAX_HASHES_PER_REQUEST)
_VALUES_SEDES = CountableList(binary, max_length=MAX_HASHES_PER_REQUEST)


class StateSyncDecodeError(BlockSyncError):
    """A state-sync message that is malformed, too large or of an unknown type."""


# -- messages --------------------------------------------------------------------


@dataclass(frozen=True)
class NodeDataRequest:
    """Ask a peer for the records (trie nodes, code) whose keccak hashes are ``hashes``."""

    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class NodeDataResponse:
    """The records a peer has of those asked, in any order (missing ones left out)."""

    values: tuple[bytes, ...]


StateSyncMessage = NodeDataRequest | NodeDataResponse


def encode_message(message: StateSyncMessage) -> bytes:
    """The wire bytes of a state-sync message."""
    if isinstance(message, NodeDataRequest):
        return bytes([TAG_NODE_DATA_REQUEST]) + rlp.encode(list(message.hashes), _HASHES_SEDES)
    if isinstance(message, NodeDataResponse):
        return bytes([TAG_NODE_DATA_RESPONSE]) + rlp.encode(list(message.values), _VALUES_SEDES)
    raise TypeError(f"not a state-sync message: {type(message).__name__}")


def decode_message(data: bytes) -> StateSyncMessage:
    """Parse wire bytes (size-checked by the block-sync channel) into a state-sync message."""
    if not data or data[0] not in STATE_SYNC_TAGS:
        raise StateSyncDecodeError(f"not a state-sync message (type {data[0] if data else 'none'})")
    tag, body = data[0], bytes(data[1:])
    if nesting_exceeds(body, 0, 1):
        raise StateSyncDecodeError(f"state-sync message (type {tag}) is not a flat list")
    try:
        items = rlp.decode(body, _HASHES_SEDES if tag == TAG_NODE_DATA_REQUEST else _VALUES_SEDES)
    except (rlp.exceptions.RLPException, RecursionError) as exc:
        raise StateSyncDecodeError(f"malformed state-sync message (type {tag}): {exc}") from None
    if tag == TAG_NODE_DATA_REQUEST:
        if any(len(item) != HASH_SIZE for item in items):
            raise StateSyncDecodeError("node data request with a hash that is not 32 bytes")
        return NodeDataRequest(tuple(items))
    if any(len(item) > MAX_VALUE_BYTES for item in items):
        raise StateSyncDecodeError(f"node data response with a value over {MAX_VALUE_BYTES} bytes")
    return NodeDataResponse(tuple(items))


def answer_node_data(request: NodeDataRequest, lookup: Callable[[bytes], bytes | None],
                     max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> NodeDataResponse:
    """The records of ``request`` that ``lookup`` finds, in request order, until ``max_bytes`` would be passed."""
    values: list[bytes] = []
    size = 0
    for node_hash in request.hashes:
        value = lookup(node_hash)
        if value is None or len(value) > MAX_VALUE_BYTES:
            continue
        if size + len(value) > max_bytes:
            break
        values.append(value)
        size += len(value)
    return NodeDataResponse(tuple(values))


# -- the scheduler -----------------------------------------------------------------


@dataclass(frozen=True)
class FetchedNode:
    """A record fetched and verified: its hash, its bytes and the tag it was scheduled with."""

    hash: bytes
    value: bytes
    tag: int


@dataclass
class _Request:
    """One request in flight (or expired, awaiting a late answer)."""

    hashes: dict[bytes, int]  # hash -> tag
    sent_ms: int


@dataclass
class _StatePeer:
    """What the scheduler knows of one peer."""

    request: _Request | None = None
    expired: _Request | None = None
    lacks: set[bytes] = field(default_factory=set)


class StateSyncScheduler:
    """Which records to ask of which peer, and which answers are genuine."""

    def __init__(
        self,
        root: bytes,
        root_tag: int,
        *,
        max_hashes_per_request: int = MAX_HASHES_PER_REQUEST,
        request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS,
    ) -> None:
        """Fetch everything reachable from ``root`` (scheduled with ``root_tag``)."""
        if not 1 <= max_hashes_per_request <= MAX_HASHES_PER_REQUEST:
            raise ValueError(f"max_hashes_per_request must be 1..{MAX_HASHES_PER_REQUEST}")
        if request_timeout_ms < 1:
            raise ValueError("request_timeout_ms must be positive")
        self._max_hashes = max_hashes_per_request
        self._timeout_ms = request_timeout_ms
        self._queue: deque[tuple[bytes, int]] = deque()
        self._scheduled: set[bytes] = set()
        self._peers: dict[PeerId, _StatePeer] = {}
        self.fetched_nodes = 0
        self.fetched_bytes = 0
        self.schedule([(root, root_tag)])

    # -- progress ------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether every scheduled record was fetched (nothing queued, nothing in flight)."""
        return not self._queue and all(peer.request is None for peer in self._peers.values())

    @property
    def queued(self) -> int:
        """Hashes waiting to be asked."""
        return len(self._queue)

    def schedule(self, items: list[tuple[bytes, int]]) -> None:
        """Queue records to fetch (the children of a fetched one); hashes already scheduled are skipped."""
        for node_hash, tag in items:
            if node_hash not in self._scheduled:
                self._scheduled.add(node_hash)
                self._queue.append((node_hash, tag))

    # -- peers ---------------------------------------------------------------------

    def add_peer(self, peer_id: PeerId) -> None:
        """A peer that can serve state."""
        self._peers.setdefault(peer_id, _StatePeer())

    def remove_peer(self, peer_id: PeerId) -> None:
        """Forget a peer; its request in flight goes back to the queue."""
        peer = self._peers.pop(peer_id, None)
        if peer is not None and peer.request is not None:
            self._requeue(peer.request.hashes)

    # -- requests ------------------------------------------------------------------

    def next_requests(self, now_ms: int) -> list[tuple[PeerId, NodeDataRequest]]:
        """Expire overdue requests and return the new requests to send, one per idle peer."""
        for peer in self._peers.values():
            if peer.expired is not None and now_ms - peer.expired.sent_ms >= 2 * self._timeout_ms:
                peer.expired = None  # give up on the late answer; the peer may be asked again
            if peer.request is not None and now_ms - peer.request.sent_ms >= self._timeout_ms:
                peer.expired, peer.request = peer.request, None
                self._requeue(peer.expired.hashes)
        requests: list[tuple[PeerId, NodeDataRequest]] = []
        for peer_id in sorted(self._peers):
            peer = self._peers[peer_id]
            if peer.request is not None or peer.expired is not None or not self._queue:
                continue
            chosen = self._take_for(peer)
            if chosen:
                peer.request = _Request(chosen, now_ms)
                requests.append((peer_id, NodeDataRequest(tuple(chosen))))
        return requests

    def _take_for(self, peer: _StatePeer) -> dict[bytes, int]:
        """Up to ``max_hashes`` queued hashes the peer is not known to lack (or any, if all peers lack them)."""
        chosen: dict[bytes, int] = {}
        skipped: list[tuple[bytes, int]] = []
        others_may_have = len(self._peers) > 1
        while self._queue and len(chosen) < self._max_hashes:
            node_hash, tag = self._queue.popleft()
            if node_hash in peer.lacks and others_may_have and not self._all_lack(node_hash):
                skipped.append((node_hash, tag))
                continue
            chosen[node_hash] = tag
        self._queue.extendleft(reversed(skipped))
        return chosen

    def _all_lack(self, node_hash: bytes) -> bool:
        return all(node_hash in peer.lacks for peer in self._peers.values())

    def _requeue(self, hashes: dict[bytes, int]) -> None:
        self._queue.extendleft(reversed(list(hashes.items())))

    # -- responses -----------------------------------------------------------------

    def on_response(self, peer_id: PeerId, response: NodeDataResponse) -> tuple[list[FetchedNode], Misbehaviour | None]:
        """Verify an answer: the records it brings, or the misbehaviour of its sender.

        Hashes of the request left unanswered go back to the queue. The caller
        stores the records and ``schedule``s what they refer to.
        """
        peer = self._peers.get(peer_id)
        request = None if peer is None else (peer.request or peer.expired)
        if peer is None or request is None:
            return [], self._fault(peer_id, "sent node data it was not asked for")
        fetched: list[FetchedNode] = []
        for value in response.values:
            node_hash = keccak(value)
            tag = request.hashes.pop(node_hash, None)
            if tag is None:
                if peer.request is request:
                    request.hashes.update({node.hash: node.tag for node in fetched})
                return [], self._fault(peer_id, f"sent node data 0x{node_hash.hex()} it was not asked for")
            fetched.append(FetchedNode(node_hash, value, tag))
        if peer.request is request:
            peer.request = None
            peer.lacks.update(request.hashes)
            self._requeue(request.hashes)
        else:  # a late answer: its hashes were queued again when it expired
            peer.expired = None
            delivered = {node.hash for node in fetched}
            self._queue = deque(item for item in self._queue if item[0] not in delivered)
        self.fetched_nodes += len(fetched)
        self.fetched_bytes += sum(len(node.value) for node in fetched)
        return fetched, None

    def _fault(self, peer_id: PeerId, reason: str) -> Misbehaviour:
        self.remove_peer(peer_id)
        return Misbehaviour(peer_id=peer_id, reason=reason)
