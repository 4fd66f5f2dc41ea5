"""The node description exchanged right after the encrypted handshake, and the compatibility check."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p2p.address import check_host_port
from p2p.errors import IncompatiblePeer, P2PConfigError, ProtocolViolation
from p2p.framing import MAX_CHANNEL_ID, pack, safe_unpack
from p2p.keys import is_node_id

PROTOCOL_VERSION = 1
MAX_NODE_INFO_SIZE = 4096
MAX_TEXT = 64
_FIELDS = ("node_id", "listen_host", "listen_port", "chain_id", "protocol_version", "software_version", "channels", "moniker")


@dataclass(frozen=True)
class NodeInfo:
    """What a node tells its peers about itself once the connection is authenticated."""

    node_id: str
    listen_host: str
    listen_port: int
    chain_id: str
    protocol_version: int
    software_version: str
    channels: tuple[int, ...]
    moniker: str

    def encode(self) -> bytes:
        """The msgpack encoding sent to the peer."""
        return pack({name: list(value) if name == "channels" else value for name, value in self._items()})

    def _items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in _FIELDS]

    @classmethod
    def decode(cls, data: bytes) -> NodeInfo:
        """Decode and validate a peer's node info; raises ``ProtocolViolation`` if malformed."""
        raw = safe_unpack(data, MAX_NODE_INFO_SIZE, max_items=MAX_CHANNEL_ID + 1)
        if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
            raise ProtocolViolation("node info must be a map with exactly the fields " + ", ".join(_FIELDS))
        texts = ("node_id", "listen_host", "chain_id", "software_version", "moniker")
        if not all(isinstance(raw[name], str) and len(raw[name]) <= MAX_TEXT and raw[name].isprintable() for name in texts):
            raise ProtocolViolation("node info text fields must be short printable strings")
        channels = raw["channels"]
        if not isinstance(channels, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= MAX_CHANNEL_ID for c in channels
        ) or len(set(channels)) != len(channels):
            raise ProtocolViolation("node info channels must be distinct channel ids")
        if not isinstance(raw["protocol_version"], int) or isinstance(raw["protocol_version"], bool):
            raise ProtocolViolation("node info protocol_version must be an integer")
        if not is_node_id(raw["node_id"]):
            raise ProtocolViolation("node info node_id is malformed")
        try:
            check_host_port(raw["listen_host"], raw["listen_port"])
        except P2PConfigError as exc:
            raise ProtocolViolation(f"node info listen address: {exc}") from exc
        return cls(**{**raw, "channels": tuple(channels)})

    def check_compatible(self, local: NodeInfo, authenticated_id: str) -> None:
        """Raise unless this (remote) info belongs to ``authenticated_id`` and to the local node's network."""
        if self.node_id != authenticated_id:
            raise ProtocolViolation(f"node info claims id {self.node_id} but the key authenticates {authenticated_id}")
        if self.chain_id != local.chain_id:
            raise IncompatiblePeer(f"peer is on chain {self.chain_id!r}, not {local.chain_id!r}")
        if self.protocol_version != local.protocol_version:
            raise IncompatiblePeer(
                f"peer speaks p2p protocol {self.protocol_version}, this node speaks {local.protocol_version}"
            )
