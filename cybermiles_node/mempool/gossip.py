"""Transaction gossip on the p2p mempool channel.

Every transaction this node admits (from RPC or from a peer) is relayed to the
peers that did not send it. Messages are msgpack lists of raw transactions,
batched for a few milliseconds so a burst costs few frames. A bounded cache of
recently seen transaction hashes stops a transaction from circulating: it is
checked and relayed once.

Checking a transaction (decoding it, recovering its signer) costs about
0.1 ms, so a burst of them must not hold up consensus. A received batch is
only parsed and queued (``receive`` returns at once, so the peer's connection
goes on to its consensus messages); ``run`` has the batch's unseen
transactions decoded at once by ``decode`` (the node's decode workers), then
admits them in small chunks, yielding to the event loop between chunks, so a
proposal or vote that arrives meanwhile waits for at most one chunk. The queue is bounded in bytes; a
batch that does not fit is dropped (its transactions stay in the pools of the
nodes that sent them, and are not marked as seen). A peer that relays a transaction no honest node
would have admitted (undecodable, badly signed, for another chain) is
reported as misbehaving; ordinary races (``already known``, ``nonce too
low``, a full pool) are not its fault and are dropped silently.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgpack
from eth_hash.auto import keccak

from cybermiles_node.mempool.errors import InvalidTransactionError, MempoolError
from vm.transactions import DecodeOutcome

Admit = Callable[[bytes, DecodeOutcome | None], bytes]
Decode = Callable[[list[bytes]], Awaitable[Sequence[DecodeOutcome | None]]]

log = logging.getLogger(__name__)

MAX_TXS_PER_MESSAGE = 256
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SEEN_CACHE_SIZE = 100_000
FLUSH_DELAY_SECONDS = 0.01
MAX_QUEUED_BYTES = 16 * 1024 * 1024
ADMIT_CHUNK = 16  # transactions admitted between two yields to the event loop


class GossipNetwork(Protocol):
    """The part of the p2p node gossip uses."""

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        """Queue ``payload`` for one peer; False if its queue is full."""
        ...

    def connected_ids(self) -> list[str]:
        """Ids of connected peers."""
        ...

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        """Disconnect and ban a peer that sent what no honest node sends."""
        ...


class MalformedTxMessage(MempoolError):
    """A mempool-channel message that is not a bounded list of transactions."""


def encode_txs(raws: list[bytes]) -> bytes:
    """The wire form of a batch of raw transactions."""
    return msgpack.packb(raws, use_bin_type=True)


def decode_txs(payload: bytes) -> list[bytes]:
    """Parse a batch, refusing anything but a bounded list of byte strings."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MalformedTxMessage("mempool message too large")
    try:
        value = msgpack.unpackb(
            payload, raw=False, use_list=True, max_bin_len=MAX_MESSAGE_BYTES,
            max_array_len=MAX_TXS_PER_MESSAGE, max_str_len=0, max_map_len=0, max_ext_len=0,
        )
    except (ValueError, msgpack.exceptions.ExtraData, msgpack.exceptions.UnpackException) as exc:
        raise MalformedTxMessage(f"undecodable mempool message: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(item, bytes) for item in value):
        raise MalformedTxMessage("mempool message is not a list of transactions")
    return value


class MempoolGossip:
    """The mempool channel's handler: admits peers' transactions and relays admitted ones."""

    def __init__(self, network: GossipNetwork, channel_id: int, admit: Admit, decode: Decode | None = None) -> None:
        """``admit(raw, decoded)`` adds a transaction to the pool (raising ``MempoolError``) and returns its hash.

        ``decode(raws)`` decodes a batch for admission (None for one it leaves to ``admit``); without
        it ``admit`` decodes each transaction itself.
        """
        self._network = network
        self._channel_id = channel_id
        self._admit = admit
        self._decode = decode
        self._queue: deque[tuple[str, list[tuple[bytes, bytes]], int]] = deque()
        self._queued_bytes = 0
        self._queued = asyncio.Event()
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._outbox: list[tuple[bytes, str | None]] = []
        self._flush_handle: asyncio.TimerHandle | None = None

    def _remember(self, tx_hash: bytes) -> bool:
        """Record ``tx_hash``; False if it was already seen."""
        if tx_hash in self._seen:
            self._seen.move_to_end(tx_hash)
            return False
        self._seen[tx_hash] = None
        if len(self._seen) > SEEN_CACHE_SIZE:
            self._seen.popitem(last=False)
        return True

    def relay(self, raw: bytes, source: str | None = None) -> None:
        """Queue an admitted transaction for every peer except ``source``."""
        self._remember(keccak(raw))
        self._send_later(raw, source)

    def _send_later(self, raw: bytes, source: str | None) -> None:
        """Queue ``raw`` (already remembered as seen) for the next flush to peers other than ``source``."""
        self._outbox.append((raw, source))
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_DELAY_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        outbox, self._outbox = self._outbox, []
        for peer_id in self._network.connected_ids():
            raws = [raw for raw, source in outbox if source != peer_id]
            for start in range(0, len(raws), MAX_TXS_PER_MESSAGE):
                if not self._network.send(peer_id, self._channel_id, encode_txs(raws[start:start + MAX_TXS_PER_MESSAGE])):
                    log.debug("mempool gossip to %s dropped: its send queue is full", peer_id)
                    break

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Parse a peer's batch and queue its unseen transactions for ``run`` to admit."""
        try:
            raws = decode_txs(payload)
        except MalformedTxMessage as exc:
            self._network.report_misbehavior(peer_id, str(exc))
            return
        hashed = [(tx_hash, raw) for raw in raws if (tx_hash := keccak(raw)) not in self._seen]
        if not hashed:
            return
        size = sum(len(raw) for _, raw in hashed)
        if self._queued_bytes + size > MAX_QUEUED_BYTES:
            log.debug("mempool gossip from %s dropped: %d bytes already wait for admission", peer_id, self._queued_bytes)
            return
        self._queue.append((peer_id, hashed, size))
        self._queued_bytes += size
        self._queued.set()

    async def run(self) -> None:
        """Admit queued transactions for as long as the node runs, and relay the new ones."""
        while True:
            await self._queued.wait()
            if not self._queue:
                self._queued.clear()
                continue
            peer_id, hashed, size = self._queue.popleft()
            self._queued_bytes -= size
            if not self._queue:
                self._queued.clear()
            hashed = [(tx_hash, raw) for tx_hash, raw in hashed if tx_hash not in self._seen]
            raws = [raw for _, raw in hashed]
            decoded = list(await self._decode(raws)) if self._decode is not None and raws else [None] * len(raws)
            for start in range(0, len(hashed), ADMIT_CHUNK):
                end = start + ADMIT_CHUNK
                if not self._admit_chunk(peer_id, hashed[start:end], decoded[start:end]):
                    break
                await asyncio.sleep(0)

    def _admit_chunk(self, peer_id: str, hashed: list[tuple[bytes, bytes]],
                     decoded: list[DecodeOutcome | None]) -> bool:
        """Admit ``(hash, raw)`` pairs from ``peer_id``; False if the peer turned out to relay invalid transactions."""
        for (tx_hash, raw), outcome in zip(hashed, decoded):
            if not self._remember(tx_hash):
                continue
            try:
                self._admit(raw, outcome)
            except InvalidTransactionError as exc:
                self._network.report_misbehavior(peer_id, f"relayed an invalid transaction: {exc}")
                self.peer_removed(peer_id)
                return False
            except MempoolError:
                continue  # already known, nonce raced ahead, pool full: nobody's fault
            self._send_later(raw, peer_id)
        return True

    def peer_added(self, peer_id: str) -> None:
        """Nothing to do: a new peer receives transactions admitted from now on."""

    def peer_removed(self, peer_id: str) -> None:
        """Drop what the peer sent that is still waiting for admission."""
        kept = [entry for entry in self._queue if entry[0] != peer_id]
        if len(kept) != len(self._queue):
            self._queue = deque(kept)
            self._queued_bytes = sum(size for _, _, size in kept)
            if not kept:
                self._queued.clear()
