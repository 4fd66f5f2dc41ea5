"""A double-signing validator, played by a p2p peer holding a real validator's consensus key.

The peer joins the testnet with its own node key over the ordinary encrypted
p2p handshake and gossips, on the evidence channel, two conflicting precommits
of one height and round signed with the validator's key read from its home.
The receiving node checks them like any gossiped evidence; nothing in the node
is mocked.
"""
from __future__ import annotations

import asyncio

from eth_utils import keccak

from consensus.evidence import DuplicateVoteEvidence
from consensus.keys import ValidatorKey
from consensus.messages import Vote
from consensus.types import PRECOMMIT
from cybermiles_node.home import NodeHome
from cybermiles_node.node import p2p_network_name
from genesis.loader import load_genesis
from p2p.address import NetAddress
from p2p.channels import (
    BLOCKSYNC_CHANNEL,
    CONSENSUS_DATA_CHANNEL,
    CONSENSUS_STATE_CHANNEL,
    CONSENSUS_VOTE_CHANNEL,
    CONSENSUS_VOTE_SET_BITS_CHANNEL,
    EVIDENCE_CHANNEL,
    MEMPOOL_CHANNEL,
)
from p2p.config import P2PConfig
from p2p.keys import NodeKey
from p2p.switch import P2PNode

LISTENED_CHANNELS = (CONSENSUS_STATE_CHANNEL, CONSENSUS_DATA_CHANNEL, CONSENSUS_VOTE_CHANNEL,
                     CONSENSUS_VOTE_SET_BITS_CHANNEL, MEMPOOL_CHANNEL, EVIDENCE_CHANNEL, BLOCKSYNC_CHANNEL)


class _Discard:
    """A channel handler that ignores what the node gossips to the peer."""

    async def receive(self, peer_id: str, payload: bytes) -> None:
        """Ignore the message."""

    def peer_added(self, peer_id: str) -> None:
        """Nothing to do."""

    def peer_removed(self, peer_id: str) -> None:
        """Nothing to do."""


def conflicting_precommits(validator_home: str, chain_id: int, height: int, timestamp_ms: int) -> bytes:
    """Evidence: two precommits for different blocks at ``height``, round 0, signed with the home's validator key."""
    key = ValidatorKey.load(NodeHome.resolve(validator_home).validator_key)
    votes = []
    for block in (b"first", b"second"):
        vote = Vote(type=PRECOMMIT, height=height, round=0, block_hash=keccak(block), timestamp_ms=timestamp_ms,
                    validator_address=key.address)
        votes.append(vote.with_signature(key.sign(vote.sign_bytes(chain_id))))
    return DuplicateVoteEvidence.of(*votes).encode()


async def _gossip(target_home: str, target_p2p: str, evidence: bytes, timeout: float) -> None:
    genesis = load_genesis(NodeHome.resolve(target_home).genesis)
    target = NetAddress.parse(target_p2p)
    peer = P2PNode(NodeKey.generate(), "127.0.0.1", 0, p2p_network_name(genesis), P2PConfig(moniker="double-signer"),
                   persistent_peers=[target])
    for channel in LISTENED_CHANNELS:
        peer.register_channel(channel, _Discard())
    await peer.start()
    try:
        async with asyncio.timeout(timeout):
            while not peer.is_connected(target.node_id):
                await asyncio.sleep(0.05)
        assert peer.send(target.node_id, EVIDENCE_CHANNEL, evidence), "the evidence could not be queued"
        await asyncio.sleep(1.0)  # let the frame leave before closing the connection
    finally:
        await peer.stop()


def gossip_evidence(target_home: str, target_p2p: str, evidence: bytes, timeout: float = 30) -> None:
    """Connect to the node at ``target_p2p`` (``id@host:port``) as a new peer and send it ``evidence``."""
    asyncio.run(_gossip(target_home, target_p2p, evidence, timeout))
