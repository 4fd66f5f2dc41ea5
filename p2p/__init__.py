"""Authenticated, encrypted peer-to-peer transport for the node: channels, peer management and bounds.

Imports no other package of the project. Reactors (consensus, mempool, block
sync, evidence) implement ``ChannelHandler`` and register it on a ``P2PNode``.
"""
from p2p.address import NetAddress
from p2p.channels import (
    BLOCKSYNC_CHANNEL,
    CONSENSUS_DATA_CHANNEL,
    CONSENSUS_STATE_CHANNEL,
    CONSENSUS_VOTE_CHANNEL,
    CONSENSUS_VOTE_SET_BITS_CHANNEL,
    EVIDENCE_CHANNEL,
    MEMPOOL_CHANNEL,
    PEX_CHANNEL,
    ChannelHandler,
)
from p2p.config import P2PConfig
from p2p.errors import (
    AuthenticationError,
    ConnectionClosed,
    DuplicatePeer,
    FrameTooLarge,
    HandshakeError,
    HandshakeTimeout,
    IncompatiblePeer,
    NodeKeyFileError,
    NonceOverflow,
    P2PConfigError,
    P2PError,
    PeerBanned,
    PeerIdMismatch,
    PeerLimitReached,
    PeerRefused,
    ProtocolViolation,
    RateLimitExceeded,
    SelfConnection,
)
from p2p.keys import NodeKey, node_id_of
from p2p.node_info import NodeInfo
from p2p.peer import PeerInfo
from p2p.switch import P2PNode

__all__ = [
    "BLOCKSYNC_CHANNEL",
    "CONSENSUS_DATA_CHANNEL",
    "CONSENSUS_STATE_CHANNEL",
    "CONSENSUS_VOTE_CHANNEL",
    "CONSENSUS_VOTE_SET_BITS_CHANNEL",
    "EVIDENCE_CHANNEL",
    "MEMPOOL_CHANNEL",
    "PEX_CHANNEL",
    "AuthenticationError",
    "ChannelHandler",
    "P2PConfigError",
    "ConnectionClosed",
    "DuplicatePeer",
    "FrameTooLarge",
    "HandshakeError",
    "HandshakeTimeout",
    "IncompatiblePeer",
    "NodeKeyFileError",
    "NetAddress",
    "NodeInfo",
    "NodeKey",
    "NonceOverflow",
    "P2PConfig",
    "P2PError",
    "P2PNode",
    "PeerBanned",
    "PeerIdMismatch",
    "PeerInfo",
    "PeerLimitReached",
    "PeerRefused",
    "ProtocolViolation",
    "RateLimitExceeded",
    "SelfConnection",
    "node_id_of",
]
