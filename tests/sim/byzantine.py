"""Byzantine validators: honest state machines whose driver misbehaves with the real key.

They sign with the raw key (no last-signed guard) and choose per peer what to
send, so honest nodes see conflicting messages from them.
"""
from __future__ import annotations

from dataclasses import replace

from eth_hash.auto import keccak

from consensus.messages import NIL, Message, Proposal, Vote, encode_message
from consensus.tendermint import (
    Effect,
    ProposalReceived,
    SignProposal,
    SignVote,
    VoteReceived,
)
from tests.sim.node import SimNode


class _SplitSender(SimNode):
    """Sends each of its own messages itself (to chosen peers) instead of to everyone."""

    def _hold_and_send(self, message: Message) -> None:
        own = message.proposer_address if isinstance(message, Proposal) else message.validator_address
        if own != self.address:
            super()._hold_and_send(message)

    def _sign_raw(self, message: Message) -> Message:
        signed = message.with_signature(self.key.sign(message.sign_bytes(self.sim.chain_id)))
        self.sim.record_signed(self.index, signed)
        return signed

    def _split(self, first: Message, second: Message) -> None:
        """Send ``first`` to the first half of the peers and ``second`` to the rest; keep ``first`` itself."""
        peers = [i for i in self.sim.indices if i != self.index]
        half = len(peers) // 2
        for position, peer in enumerate(peers):
            self.sim.network.send(self.index, peer, encode_message(first if position < half else second))
        self._handle(ProposalReceived(first) if isinstance(first, Proposal) else VoteReceived(first))


class Equivocator(_SplitSender):
    """Signs two different votes at every vote step: the honest one to half of its peers, a conflicting one to
    the other half (nil against a block, or a made-up block hash against nil)."""

    def apply(self, effect: Effect) -> None:
        """Equivocate on votes; behave honestly otherwise."""
        if not isinstance(effect, SignVote):
            super().apply(effect)
            return
        vote: Vote = replace(effect.vote, timestamp_ms=self.sim.timestamp_ms(effect.vote.height, effect.vote.round,
                                                                            effect.privval_step))
        other_value = NIL if vote.block_hash else keccak(b"equivocation %d %d" % (vote.height, vote.round))
        self._split(self._sign_raw(vote), self._sign_raw(replace(vote, block_hash=other_value)))


class ConflictingProposer(_SplitSender):
    """As proposer, signs two different blocks for the round and sends one to each half of its peers."""

    def apply(self, effect: Effect) -> None:
        """Propose conflicting blocks; behave honestly otherwise."""
        if not isinstance(effect, SignProposal):
            super().apply(effect)
            return
        proposal = replace(effect.proposal, timestamp_ms=self.sim.timestamp_ms(
            effect.proposal.height, effect.proposal.round, effect.privval_step))
        alternative = self.chain.build(self.address, proposal.height,
                                       b"conflict-%d-%d" % (self.index, proposal.round), [])
        self._split(self._sign_raw(proposal), self._sign_raw(replace(proposal, block=alternative)))


class SilentProposer(SimNode):
    """Votes honestly but never proposes."""

    def apply(self, effect: Effect) -> None:
        """Drop own proposals; behave honestly otherwise."""
        if not isinstance(effect, SignProposal):
            super().apply(effect)


class InvalidProposer(SimNode):
    """As proposer, proposes a block whose transactions do not match its header."""

    def apply(self, effect: Effect) -> None:
        """Propose an invalid block; behave honestly otherwise."""
        if isinstance(effect, SignProposal):
            block = effect.proposal.block
            effect = SignProposal(replace(effect.proposal, block=block.copy(transactions=[b"junk"])))
        super().apply(effect)
