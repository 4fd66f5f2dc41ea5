"""Peer addresses of the form ``<node id>@<host>:<port>``, and the source an inbound connection is counted under."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from p2p.errors import P2PConfigError
from p2p.keys import is_node_id

MAX_HOST_LENGTH = 253
IPV6_SOURCE_PREFIX = 64


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback IP address (127.0.0.0/8, ::1, or IPv4-mapped loopback)."""
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def source_of(host: str) -> str:
    """The key under which connections from the IP address ``host`` are limited, struck and banned.

    An IPv4 address is its own source; an IPv6 address counts as its /64 network
    (what one subscriber is usually given), an IPv4-mapped one as the IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SOURCE_PREFIX), strict=False))
    return str(ip)


def check_host_port(host: str, port: int) -> None:
    """Raise ``P2PConfigError`` unless ``host`` is a plausible host name or IP literal and ``port`` a TCP port."""
    if not isinstance(host, str) or not 0 < len(host) <= MAX_HOST_LENGTH:
        raise P2PConfigError(f"bad host {host!r}")
    if not all(c.isascii() and (c.isalnum() or c in ".-:_[]") for c in host):
        raise P2PConfigError(f"bad host {host!r}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise P2PConfigError(f"bad port {port!r}")


@dataclass(frozen=True)
class NetAddress:
    """An authenticated peer address: the node id expected at ``host:port``."""

    node_id: str
    host: str
    port: int

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not is_node_id(self.node_id):
            raise P2PConfigError(f"bad node id {self.node_id!r} (expected 40 lowercase hex characters)")
        check_host_port(self.host, self.port)

    @classmethod
    def parse(cls, text: str) -> NetAddress:
        """Parse ``id@host:port`` (an IPv6 host in brackets: ``id@[::1]:26656``)."""
        node_id, at, hostport = text.strip().partition("@")
        host, colon, port = hostport.rpartition(":")
        if not at or not colon:
            raise P2PConfigError(f"bad peer address {text!r} (expected id@host:port)")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        try:
            port_number = int(port)
        except ValueError as exc:
            raise P2PConfigError(f"bad port in peer address {text!r}") from exc
        return cls(node_id=node_id.lower(), host=host, port=port_number)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.node_id}@{host}:{self.port}"
