"""Errors of the p2p package: one root, ``P2PError``, with a typed subclass per failure."""
from __future__ import annotations


class P2PError(Exception):
    """Root of every error raised by the p2p package."""


class P2PConfigError(P2PError):
    """A p2p setting or peer address is malformed."""


class NodeKeyFileError(P2PError):
    """A node key file is missing, unreadable or malformed."""


class ConnectionClosed(P2PError):
    """The remote side closed the connection (or it was closed locally)."""


class HandshakeError(P2PError):
    """The handshake with a remote node failed."""


class HandshakeTimeout(HandshakeError):
    """The handshake did not complete within the configured time."""


class PeerIdMismatch(HandshakeError):
    """The remote node authenticated with a different node id than the one dialed."""


class IncompatiblePeer(HandshakeError):
    """The remote node is of another chain or speaks another protocol version."""


class AuthenticationError(P2PError):
    """A frame failed authentication or a handshake signature did not verify."""


class NonceOverflow(P2PError):
    """A direction's frame counter is exhausted; the connection must be closed."""


class FrameTooLarge(P2PError):
    """A frame or message exceeds its configured maximum size."""


class ProtocolViolation(P2PError):
    """A peer sent a well-authenticated but malformed or forbidden message."""


class RateLimitExceeded(ProtocolViolation):
    """A peer repeatedly sent faster than its receive rate limit allows."""


class PeerRefused(P2PError):
    """A connection was refused by local policy (limits, duplicate, self-connection, ban)."""


class PeerBanned(PeerRefused):
    """The remote node or address is currently banned."""


class SelfConnection(PeerRefused):
    """The remote node is this node."""


class DuplicatePeer(PeerRefused):
    """A connection to this node id already exists and is kept."""


class PeerLimitReached(PeerRefused):
    """The maximum number of inbound or outbound peers is reached."""
