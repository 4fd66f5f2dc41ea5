"""Settings of the p2p layer, with production defaults and validation."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from p2p.errors import P2PConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class P2PConfig:
    """Limits, timeouts and peer-management settings of a ``P2PNode``.

    Times are in seconds; sizes in bytes. ``validate`` is called by the node. Each field
    is a setting of ``config.toml``'s ``[p2p]`` table but those the node fills in
    (``"toml": None``); ``metadata["range"]`` bounds it there.
    """

    moniker: str = field(default="cmnode", metadata={"toml": None})
    software_version: str = field(default="", metadata={"toml": None})
    # Address advertised to peers; defaults to the listen host (or the address peers see) when empty.
    external_host: str = ""
    max_frame_size: int = field(default=1 * MIB, metadata={"toml": None})  # the largest block's, from genesis
    # Deadline of a connection's handshake and node-info exchange together (until the peer is admitted).
    handshake_timeout: float = 5.0
    # Inbound connections in their handshake, in all and per source address (see p2p/pending.py).
    max_pending_handshakes: int = 64
    max_pending_per_source: int = 4
    max_inbound_peers: int = field(default=40, metadata={"range": (1, 1_000)})
    max_outbound_peers: int = field(default=10, metadata={"range": (1, 1_000)})
    # Per-peer, per-channel send queue capacity (messages), and per-peer total queued bytes.
    send_queue_size: int = 1024
    send_queue_bytes: int = 32 * MIB
    # Token buckets: bytes/s and messages/s, each with a burst of ``burst_seconds`` worth. Sends are
    # throttled below the receive limits so that peers with the same settings never police each other.
    send_rate: int = 8 * MIB
    recv_rate: int = 10 * MIB
    send_message_rate: int = 1600
    recv_message_rate: int = 2000
    burst_seconds: float = 2.0
    # Consecutive over-rate messages tolerated (each one is throttled) before the peer is banned.
    rate_strikes: int = 20
    # Most receive credit (in seconds of rate) for time spent in handlers while the peer's data piled up.
    max_busy_credit: float = 60.0
    write_timeout: float = 20.0
    ping_interval: float = 10.0
    idle_timeout: float = 45.0
    ban_seconds: float = 600.0
    # A source address collects a strike for each inbound handshake that times out, breaks or is evicted, and
    # for each ban of a node id connected from it; ``address_strikes`` strikes within ``strike_window`` seconds
    # refuse its new inbound connections for ``address_ban_seconds`` (0 disables address bans).
    address_strikes: int = 5
    strike_window: float = 60.0
    address_ban_seconds: float = 60.0
    # Whether loopback connections are limited per source, struck and banned like any other address. Off by
    # default: every node of a local testnet, or every peer relayed by a local proxy, comes from 127.0.0.1,
    # so each loopback connection counts as a source of its own (node ids are still banned).
    limit_loopback: bool = False
    max_bans: int = 10_000
    dial_timeout: float = 5.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    pex_interval: float = 30.0
    pex_max_addresses: int = 100
    address_book_size: int = 1000
    max_dial_failures: int = 8

    def validate(self) -> None:
        """Raise ``P2PConfigError`` when a setting is out of range."""
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise P2PConfigError(f"p2p setting {spec.name} must not be negative (got {value})")
        positive = (
            "max_frame_size", "handshake_timeout", "max_pending_handshakes", "max_pending_per_source",
            "address_strikes", "strike_window", "send_queue_size", "send_queue_bytes",
            "send_rate", "recv_rate", "send_message_rate", "recv_message_rate", "burst_seconds", "rate_strikes", "write_timeout",
            "ping_interval", "idle_timeout", "max_bans", "dial_timeout", "backoff_base", "backoff_max",
            "pex_interval", "pex_max_addresses", "address_book_size", "max_dial_failures",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise P2PConfigError(f"p2p setting {name} must be positive")
        if self.max_frame_size < 4096:
            raise P2PConfigError("p2p setting max_frame_size must be at least 4096")
        if self.max_pending_per_source > self.max_pending_handshakes:
            raise P2PConfigError("p2p setting max_pending_per_source must not exceed max_pending_handshakes")
        if self.idle_timeout <= self.ping_interval:
            raise P2PConfigError("p2p setting idle_timeout must exceed ping_interval")
        if self.send_rate > self.recv_rate or self.send_message_rate > self.recv_message_rate:
            raise P2PConfigError("p2p send rates must not exceed the receive rates")
        if self.backoff_max < self.backoff_base:
            raise P2PConfigError("p2p setting backoff_max must be at least backoff_base")
        if len(self.moniker) > 64 or not self.moniker.isprintable():
            raise P2PConfigError("p2p moniker must be at most 64 printable characters")
        if len(self.software_version) > 64 or not self.software_version.isprintable():
            raise P2PConfigError("p2p software_version must be at most 64 printable characters")
