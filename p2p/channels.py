"""Channel ids of the node's protocols and the interface a channel handler implements."""
from __future__ import annotations

from typing import Protocol

# Channel ids follow CometBFT's numbering.
PEX_CHANNEL = 0x00
CONSENSUS_STATE_CHANNEL = 0x20
CONSENSUS_DATA_CHANNEL = 0x21
CONSENSUS_VOTE_CHANNEL = 0x22
CONSENSUS_VOTE_SET_BITS_CHANNEL = 0x23
MEMPOOL_CHANNEL = 0x30
EVIDENCE_CHANNEL = 0x38
BLOCKSYNC_CHANNEL = 0x40
# Reserved for keepalive frames; never delivered to a handler.
KEEPALIVE_CHANNEL = 0xFF


class ChannelHandler(Protocol):
    """The protocol (reactor) behind one channel.

    ``receive`` is awaited on the sending peer's reader task: a slow handler
    slows only that peer (back-pressure), and an exception is logged and does
    not disconnect the peer. ``peer_added``/``peer_removed`` are called on the
    event loop when a peer connects or disconnects and must not block.
    """

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Handle one message from ``peer_id`` on this channel."""

    def peer_added(self, peer_id: str) -> None:
        """A peer connected (after the handshake and the node-info check)."""

    def peer_removed(self, peer_id: str) -> None:
        """A peer disconnected."""
