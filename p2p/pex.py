"""Peer exchange: the PEX channel, on which nodes ask each other for known addresses.

Messages are msgpack maps: ``{"type": "request"}`` and
``{"type": "addrs", "addrs": [[node_id, host, port], ...]}``. A node asks a
peer at most once per ``pex_interval`` and only when its previous request was
answered. Requests from a peer are policed by a token bucket (two per interval,
a burst of three, so delays in transit do not make an honest peer look
abusive). Every message is decoded strictly (``decode_pex_message``): a
response holds at most ``pex_max_addresses`` well-formed entries, and
anything else is misbehaviour. A well-formed response is used only if it
answers an outstanding request (others are ignored).
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from p2p.address import NetAddress
from p2p.address_book import AddressBook
from p2p.channels import PEX_CHANNEL
from p2p.errors import P2PConfigError, ProtocolViolation
from p2p.framing import pack, safe_unpack
from p2p.ratelimit import TokenBucket

log = logging.getLogger(__name__)

ADDRESS_ENTRY_SIZE = 128
REQUEST_BURST = 3


@dataclass(frozen=True)
class AddressRequest:
    """A peer asks for known addresses."""


@dataclass(frozen=True)
class AddressList:
    """A peer's answer: addresses it knows."""

    addresses: tuple[NetAddress, ...]


PexMessage = AddressRequest | AddressList


def max_pex_payload(max_addresses: int) -> int:
    """The size of the largest valid PEX message carrying at most ``max_addresses`` entries."""
    return 64 + max_addresses * ADDRESS_ENTRY_SIZE


def decode_pex_message(payload: bytes, max_addresses: int) -> PexMessage:
    """Decode a PEX message strictly; raises ``ProtocolViolation`` if it is malformed or too long."""
    message = safe_unpack(payload, max_pex_payload(max_addresses), max_items=max_addresses)
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "request" and len(message) == 1:
        return AddressRequest()
    if kind != "addrs" or len(message) != 2:
        raise ProtocolViolation("unknown PEX message")
    entries = message.get("addrs")
    if not isinstance(entries, list) or len(entries) > max_addresses:
        raise ProtocolViolation("address list malformed or too long")
    addresses = []
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != 3:
            raise ProtocolViolation("address entry must be [node_id, host, port]")
        try:
            addresses.append(NetAddress(*entry))
        except P2PConfigError as exc:
            raise ProtocolViolation(f"bad address entry: {exc}") from exc
    return AddressList(tuple(addresses))


class PexHost(Protocol):
    """What the PEX reactor needs from the node."""

    def send(self, peer_id: str, channel_id: int, payload: bytes) -> bool:
        """Queue a message to a peer."""

    def report_misbehavior(self, peer_id: str, reason: str) -> None:
        """Disconnect and ban a peer."""

    def connected_ids(self) -> list[str]:
        """The ids of the connected peers."""

    def addresses_learned(self) -> None:
        """New addresses entered the book."""


class PexReactor:
    """The handler of the PEX channel; it fills the node's address book."""

    def __init__(self, host: PexHost, book: AddressBook, interval: float, max_addresses: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._host = host
        self._book = book
        self._interval = interval
        self._max_addresses = max_addresses
        self._clock = clock
        self._request_budget: dict[str, TokenBucket] = {}
        self._last_sent_to: dict[str, float] = {}
        self._awaiting: set[str] = set()

    def request(self, peer_id: str) -> None:
        """Ask ``peer_id`` for addresses, at most once per ``interval`` and one request at a time."""
        sent = self._last_sent_to.get(peer_id)
        if peer_id in self._awaiting or (sent is not None and self._clock() - sent < self._interval):
            return
        if self._host.send(peer_id, PEX_CHANNEL, pack({"type": "request"})):
            self._last_sent_to[peer_id] = self._clock()
            self._awaiting.add(peer_id)

    def request_round(self) -> None:
        """Ask one random connected peer for addresses."""
        peers = sorted(self._host.connected_ids())
        if peers:
            self.request(random.choice(peers))

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Handle a request or a response."""
        try:
            message = decode_pex_message(payload, self._max_addresses)
            if isinstance(message, AddressRequest):
                self._answer(peer_id)
            else:
                self._learn(peer_id, message.addresses)
        except ProtocolViolation as exc:
            self._host.report_misbehavior(peer_id, f"PEX: {exc}")

    def _answer(self, peer_id: str) -> None:
        budget = self._request_budget.setdefault(
            peer_id, TokenBucket(2 / self._interval, REQUEST_BURST, self._clock)
        )
        if budget.consume(1) > 0:
            raise ProtocolViolation("address requests too frequent")
        addresses = self._book.sample(self._max_addresses, exclude={peer_id})
        self._host.send(
            peer_id, PEX_CHANNEL, pack({"type": "addrs", "addrs": [[a.node_id, a.host, a.port] for a in addresses]})
        )

    def _learn(self, peer_id: str, addresses: tuple[NetAddress, ...]) -> None:
        if peer_id not in self._awaiting:
            log.debug("ignoring an unsolicited address list from %s", peer_id)
            return
        self._awaiting.discard(peer_id)
        learned = sum(self._book.add(address) for address in addresses)
        if learned:
            self._host.addresses_learned()

    def peer_added(self, peer_id: str) -> None:
        """Ask every new peer for addresses once."""
        self.request(peer_id)

    def peer_removed(self, peer_id: str) -> None:
        """Forget per-peer state."""
        self._request_budget.pop(peer_id, None)
        self._last_sent_to.pop(peer_id, None)
        self._awaiting.discard(peer_id)
