"""The rules of Algorithm 1 ("The latest gossip on BFT consensus"), one by one, on a single state machine.

Four validators of equal power (f = 1): the machine under test is one of them,
the others are played by signing their messages with their real keys.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from eth_hash.auto import keccak

from consensus.commit import verify_commit
from consensus.errors import ConsensusError
from consensus.keys import ValidatorKey
from consensus.messages import NIL, Proposal, Vote
from consensus.proposer import ProposerPriorities
from consensus.tendermint import (
    BlockValidated,
    Broadcast,
    BuildProposal,
    Decide,
    Effect,
    EvidenceFound,
    InvalidProposal,
    ProposalBlockReady,
    ProposalReceived,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    Start,
    Step,
    TendermintMachine,
    TimeoutConfig,
    TimeoutFired,
    ValidateBlock,
    VoteReceived,
)
from consensus.types import EMPTY_COMMIT, PRECOMMIT, PREVOTE, ZERO_HASH32, Block, Header
from consensus.validators import Validator, ValidatorSet
from consensus.votes import InvalidVote

CHAIN_ID = 15
HEIGHT = 1
TIMEOUTS = TimeoutConfig(propose_ms=3000, propose_delta_ms=500, prevote_ms=1000, prevote_delta_ms=200,
                         precommit_ms=1100, precommit_delta_ms=300)
KEYS = [ValidatorKey(keccak(b"tendermint test %d" % i)) for i in range(4)]
ADDRESSES = [k.address for k in KEYS]
VALIDATORS = ValidatorSet.of([Validator(k.public_key, 10, b"\x00" * 20) for k in KEYS])
PRIORITIES = ProposerPriorities.initial(VALIDATORS)


def proposer(round_: int, height_priorities: ProposerPriorities = PRIORITIES) -> int:
    """Index of the proposer of ``round_``."""
    return ADDRESSES.index(height_priorities.incremented(round_).proposer)


def block(tag: bytes, height: int = HEIGHT) -> Block:
    """A block at ``height``, distinct per ``tag``."""
    header = Header(
        parent_hash=ZERO_HASH32, ommers_hash=ZERO_HASH32, coinbase=b"", state_root=keccak(tag),
        transactions_root=ZERO_HASH32, receipts_root=ZERO_HASH32, logs_bloom=0, difficulty=0, number=height,
        gas_limit=1, gas_used=0, timestamp=1, extra_data=tag, mix_hash=ZERO_HASH32, nonce=b"\x00" * 8,
        base_fee_per_gas=0, chain_id=CHAIN_ID, proposer_address=b"", validators_hash=VALIDATORS.hash,
        next_validators_hash=VALIDATORS.hash, last_commit_hash=EMPTY_COMMIT.hash, evidence_hash=ZERO_HASH32,
        randao_reveal=b"\x00" * 32,
    )
    return Block(header=header, transactions=[tag], last_commit=EMPTY_COMMIT, evidence=[])


A, B = block(b"a"), block(b"b")


def signed_vote(index: int, vote_type: int, round_: int, value: bytes, height: int = HEIGHT) -> Vote:
    """A vote of validator ``index``."""
    unsigned = Vote(vote_type, height, round_, value, 1_000 + round_, ADDRESSES[index])
    return unsigned.with_signature(KEYS[index].sign(unsigned.sign_bytes(CHAIN_ID)))


def signed_proposal(round_: int, proposed: Block, pol_round: int = -1, signer: int | None = None) -> Proposal:
    """The proposal of ``round_`` signed by its proposer (or by ``signer``)."""
    index = proposer(round_) if signer is None else signer
    unsigned = Proposal(proposed.number, round_, pol_round, proposed, 2_000, ADDRESSES[index])
    return unsigned.with_signature(KEYS[index].sign(unsigned.sign_bytes(CHAIN_ID)))


def votes_cast(effects: Sequence[Effect]) -> list[tuple[int, int, bytes]]:
    """(type, round, value) of the votes the machine asked to sign."""
    return [(e.vote.type, e.vote.round, e.vote.block_hash) for e in effects if isinstance(e, SignVote)]


def timeouts(effects: Sequence[Effect]) -> list[ScheduleTimeout]:
    """The timeouts the machine asked for."""
    return [e for e in effects if isinstance(e, ScheduleTimeout)]


class Rig:
    """One machine (validator ``me``, or an observer) at height 1, and the other validators around it."""

    def __init__(self, me: int | None) -> None:
        self.me = me
        self.machine = TendermintMachine(CHAIN_ID, TIMEOUTS, ADDRESSES[me] if me is not None else None)
        self.start_effects = self.machine.handle(Start(HEIGHT, VALIDATORS, PRIORITIES))

    def feed(self, event: object) -> list[Effect]:
        """Handle one event; own votes and proposals asked for are signed and fed back, as a driver does."""
        effects = self.machine.handle(event)  # type: ignore[arg-type]
        collected = list(effects)
        for effect in effects:
            if isinstance(effect, SignVote) and self.me is not None:
                vote = effect.vote
                collected += self.feed(VoteReceived(vote.with_signature(KEYS[self.me].sign(vote.sign_bytes(CHAIN_ID)))))
            elif isinstance(effect, SignProposal) and self.me is not None:
                proposal = effect.proposal
                signature = KEYS[self.me].sign(proposal.sign_bytes(CHAIN_ID))
                collected += self.feed(ProposalReceived(proposal.with_signature(signature)))
        return collected

    def votes(self, vote_type: int, round_: int, value: bytes, voters: Sequence[int]) -> list[Effect]:
        """Votes of ``voters`` arrive."""
        effects: list[Effect] = []
        for index in voters:
            effects += self.feed(VoteReceived(signed_vote(index, vote_type, round_, value)))
        return effects

    def propose(self, round_: int, proposed: Block, pol_round: int = -1, valid: bool = True) -> list[Effect]:
        """The round's proposal arrives and the application judges its block."""
        effects = self.feed(ProposalReceived(signed_proposal(round_, proposed, pol_round)))
        if any(isinstance(e, ValidateBlock) for e in effects):
            effects += self.feed(BlockValidated(proposed.hash, valid))
        return effects

    def next_round(self) -> list[Effect]:
        """The precommit timeout of the current round fires (line 65)."""
        return self.feed(TimeoutFired(HEIGHT, self.machine.round, Step.PRECOMMIT))

    def others(self, count: int) -> list[int]:
        """``count`` validators other than the machine's."""
        return [i for i in range(4) if i != self.me][:count]

    def lock_on(self, round_: int, proposed: Block) -> None:
        """Bring the machine to lock on ``proposed`` in ``round_``."""
        while self.machine.round < round_:
            self.next_round()
        self.propose(round_, proposed)
        self.votes(PREVOTE, round_, proposed.hash, self.others(2))
        assert (self.machine.locked_round, self.machine.locked_value) == (round_, proposed)


def non_proposer(*rounds: int) -> int:
    """A validator that proposes none of ``rounds``."""
    return next(i for i in range(4) if all(proposer(r) != i for r in rounds))


# StartRound


def test_start_schedules_the_propose_timeout_and_waits() -> None:
    rig = Rig(non_proposer(0))
    assert rig.start_effects == [ScheduleTimeout(HEIGHT, 0, Step.PROPOSE, 3000)]
    assert (rig.machine.height, rig.machine.round, rig.machine.step) == (HEIGHT, 0, Step.PROPOSE)


def test_proposer_asks_for_a_block_and_proposes_it() -> None:
    rig = Rig(proposer(0))
    assert rig.start_effects[0] == BuildProposal(HEIGHT, 0)
    effects = rig.feed(ProposalBlockReady(HEIGHT, 0, A))
    sign = next(e for e in effects if isinstance(e, SignProposal))
    assert (sign.proposal.round, sign.proposal.pol_round, sign.proposal.block) == (0, -1, A)
    assert ValidateBlock(A) in effects and any(isinstance(e, Broadcast) for e in effects)
    assert votes_cast(rig.feed(BlockValidated(A.hash, True))) == [(PREVOTE, 0, A.hash)]


def test_a_late_block_for_an_old_round_is_not_proposed() -> None:
    rig = Rig(proposer(0))
    rig.next_round()
    assert not [e for e in rig.feed(ProposalBlockReady(HEIGHT, 0, A)) if isinstance(e, SignProposal)]


def test_proposer_reproposes_its_valid_value_with_its_pol_round() -> None:
    me = proposer(1)
    rig = Rig(me)
    rig.lock_on(0, A)
    effects = rig.next_round()
    assert not [e for e in effects if isinstance(e, BuildProposal)]
    proposals = [e.proposal for e in effects if isinstance(e, SignProposal)]
    assert [(p.round, p.pol_round, p.block) for p in proposals] == [(1, 0, A)]
    assert votes_cast(effects) == [(PREVOTE, 1, A.hash)]  # line 28: its own POL and lock allow it


def test_observer_follows_without_signing() -> None:
    rig = Rig(None)
    effects = rig.propose(0, A) + rig.votes(PREVOTE, 0, A.hash, [0, 1, 2]) + rig.votes(PRECOMMIT, 0, A.hash, [0, 1, 2])
    assert not [e for e in effects if isinstance(e, (SignVote, SignProposal, BuildProposal))]
    assert [e.block for e in effects if isinstance(e, Decide)] == [A]


# line 22


def test_line_22_prevote_a_valid_proposal() -> None:
    rig = Rig(non_proposer(0))
    effects = rig.feed(ProposalReceived(signed_proposal(0, A)))
    assert ValidateBlock(A) in effects and votes_cast(effects) == []  # waits for the application
    assert votes_cast(rig.feed(BlockValidated(A.hash, True))) == [(PREVOTE, 0, A.hash)]
    assert rig.machine.step == Step.PREVOTE


def test_line_22_prevote_nil_for_an_invalid_proposal() -> None:
    rig = Rig(non_proposer(0))
    assert votes_cast(rig.propose(0, A, valid=False)) == [(PREVOTE, 0, NIL)]


def test_line_22_locked_validator_prevotes_nil_for_another_value() -> None:
    rig = Rig(non_proposer(0, 1))
    rig.lock_on(0, A)
    rig.next_round()
    assert votes_cast(rig.propose(1, B)) == [(PREVOTE, 1, NIL)]


def test_line_22_locked_validator_prevotes_its_locked_value_again() -> None:
    rig = Rig(non_proposer(0, 1))
    rig.lock_on(0, A)
    rig.next_round()
    assert votes_cast(rig.propose(1, A)) == [(PREVOTE, 1, A.hash)]


# line 28


def test_line_28_pol_newer_than_the_lock_unlocks() -> None:
    rig = Rig(non_proposer(0, 1, 2))
    rig.lock_on(0, A)
    rig.next_round()
    rig.votes(PREVOTE, 1, B.hash, rig.others(3))  # +2/3 prevoted B in round 1 (the machine missed it)
    rig.next_round()
    assert votes_cast(rig.propose(2, B, pol_round=1)) == [(PREVOTE, 2, B.hash)]


def test_line_28_pol_older_than_the_lock_is_refused() -> None:
    rig = Rig(non_proposer(0, 1, 2))
    rig.votes(PREVOTE, 0, B.hash, rig.others(3))  # round 0: +2/3 prevoted B (the machine had no proposal)
    rig.lock_on(1, A)
    rig.next_round()
    assert votes_cast(rig.propose(2, B, pol_round=0)) == [(PREVOTE, 2, NIL)]


def test_line_28_waits_for_the_pol_and_an_invalid_block_gets_nil() -> None:
    rig = Rig(non_proposer(0, 1))
    rig.next_round()
    assert votes_cast(rig.propose(1, A, pol_round=0)) == []  # no +2/3 prevotes of round 0 yet
    assert votes_cast(rig.votes(PREVOTE, 0, A.hash, rig.others(3))) == [(PREVOTE, 1, A.hash)]
    other = Rig(non_proposer(0, 1))
    other.votes(PREVOTE, 0, B.hash, other.others(3))
    other.next_round()
    assert votes_cast(other.propose(1, B, pol_round=0, valid=False)) == [(PREVOTE, 1, NIL)]


# lines 34, 36, 44, 47


def test_line_34_prevote_timeout_once_on_any_two_thirds() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    first, second = rig.others(2)
    assert timeouts(rig.votes(PREVOTE, 0, NIL, [first])) == []
    assert timeouts(rig.votes(PREVOTE, 0, B.hash, [second])) == [ScheduleTimeout(HEIGHT, 0, Step.PREVOTE, 1000)]
    assert timeouts(rig.votes(PREVOTE, 0, NIL, rig.others(3)[2:])) == []


def test_line_36_lock_and_precommit_on_two_thirds_prevotes() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    effects = rig.votes(PREVOTE, 0, A.hash, rig.others(2))
    assert votes_cast(effects) == [(PRECOMMIT, 0, A.hash)]
    machine = rig.machine
    assert (machine.locked_value, machine.locked_round, machine.valid_value, machine.valid_round) == (A, 0, A, 0)
    assert machine.step == Step.PRECOMMIT


def test_line_36_after_precommitting_only_the_valid_value_moves() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    first, second, third = rig.others(3)
    rig.votes(PREVOTE, 0, NIL, [first])
    rig.feed(TimeoutFired(HEIGHT, 0, Step.PREVOTE))  # line 61: precommit nil
    assert rig.machine.step == Step.PRECOMMIT
    effects = rig.votes(PREVOTE, 0, A.hash, [second, third])
    assert votes_cast(effects) == []
    machine = rig.machine
    assert (machine.locked_round, machine.valid_value, machine.valid_round) == (-1, A, 0)


def test_line_36_needs_the_block() -> None:
    rig = Rig(non_proposer(0))
    rig.feed(TimeoutFired(HEIGHT, 0, Step.PROPOSE))
    assert votes_cast(rig.votes(PREVOTE, 0, A.hash, rig.others(3))) == []
    assert rig.machine.locked_round == -1
    assert votes_cast(rig.propose(0, A)) == [(PRECOMMIT, 0, A.hash)]


def test_line_44_precommit_nil_on_two_thirds_nil_prevotes() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    assert votes_cast(rig.votes(PREVOTE, 0, NIL, rig.others(3))) == [(PRECOMMIT, 0, NIL)]
    assert rig.machine.locked_round == -1


def test_line_47_precommit_timeout_once_on_any_two_thirds() -> None:
    rig = Rig(non_proposer(0))
    first, second, third = rig.others(3)
    assert timeouts(rig.votes(PRECOMMIT, 0, NIL, [first, second])) == []
    assert timeouts(rig.votes(PRECOMMIT, 0, B.hash, [third])) == [ScheduleTimeout(HEIGHT, 0, Step.PRECOMMIT, 1100)]


# line 49


def test_line_49_decide_with_a_verifiable_commit() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    effects = rig.votes(PREVOTE, 0, A.hash, rig.others(3)) + rig.votes(PRECOMMIT, 0, A.hash, rig.others(2))
    decisions = [e for e in effects if isinstance(e, Decide)]
    assert [(d.height, d.round, d.block) for d in decisions] == [(HEIGHT, 0, A)]
    verify_commit(decisions[0].commit, VALIDATORS, CHAIN_ID, HEIGHT, A.hash)
    assert rig.machine.decided and rig.machine.step == Step.COMMIT
    assert rig.votes(PRECOMMIT, 0, A.hash, rig.others(3)[2:]) == []  # the height is over


def test_line_49_decides_a_past_round_and_waits_for_block_and_validity() -> None:
    rig = Rig(non_proposer(0, 1, 2))
    rig.next_round()
    rig.next_round()
    assert [e for e in rig.votes(PRECOMMIT, 0, A.hash, rig.others(3)) if isinstance(e, Decide)] == []
    effects = rig.feed(ProposalReceived(signed_proposal(0, A)))
    assert ValidateBlock(A) in effects and not [e for e in effects if isinstance(e, Decide)]
    decided = [e for e in rig.feed(BlockValidated(A.hash, True)) if isinstance(e, Decide)]
    assert [(d.round, d.block) for d in decided] == [(0, A)]


# line 55


def test_line_55_skip_to_a_round_with_f_plus_one_votes() -> None:
    rig = Rig(non_proposer(0, 3))
    first, second = rig.others(2)
    rig.votes(PRECOMMIT, 3, NIL, [first])
    assert rig.machine.round == 0
    effects = rig.votes(PREVOTE, 3, NIL, [second])
    assert rig.machine.round == 3 and rig.machine.step == Step.PROPOSE
    assert ScheduleTimeout(HEIGHT, 3, Step.PROPOSE, 3000 + 3 * 500) in effects


# lines 57, 61, 65


def test_line_57_propose_timeout_prevotes_nil_and_stale_timeouts_are_ignored() -> None:
    rig = Rig(non_proposer(0, 1))
    assert rig.feed(TimeoutFired(HEIGHT, 1, Step.PROPOSE)) == []
    assert rig.feed(TimeoutFired(HEIGHT + 1, 0, Step.PROPOSE)) == []
    assert votes_cast(rig.feed(TimeoutFired(HEIGHT, 0, Step.PROPOSE))) == [(PREVOTE, 0, NIL)]
    assert rig.feed(TimeoutFired(HEIGHT, 0, Step.PROPOSE)) == []


def test_line_61_prevote_timeout_precommits_nil() -> None:
    rig = Rig(non_proposer(0))
    assert rig.feed(TimeoutFired(HEIGHT, 0, Step.PREVOTE)) == []  # not in the prevote step yet
    rig.propose(0, A)
    assert votes_cast(rig.feed(TimeoutFired(HEIGHT, 0, Step.PREVOTE))) == [(PRECOMMIT, 0, NIL)]


def test_line_65_precommit_timeout_starts_the_next_round_with_longer_timeouts() -> None:
    rig = Rig(non_proposer(0, 1, 2))
    for round_ in (1, 2):
        effects = rig.next_round()
        assert rig.machine.round == round_ and rig.machine.step == Step.PROPOSE
        assert timeouts(effects) == [ScheduleTimeout(HEIGHT, round_, Step.PROPOSE, 3000 + round_ * 500)]
    assert TIMEOUTS.duration(Step.PREVOTE, 2) == 1400 and TIMEOUTS.duration(Step.PRECOMMIT, 2) == 1700


# messages the machine refuses or keeps


def test_proposals_from_the_wrong_proposer_or_badly_signed_are_refused() -> None:
    rig = Rig(non_proposer(0))
    impostor = next(i for i in range(4) if i != proposer(0))
    with pytest.raises(InvalidProposal):
        rig.feed(ProposalReceived(signed_proposal(0, A, signer=impostor)))
    forged = replace(signed_proposal(0, A), signature=signed_proposal(0, B).signature)
    with pytest.raises(InvalidProposal):
        rig.feed(ProposalReceived(forged))
    wrong_height = Proposal(HEIGHT, 0, -1, block(b"a", height=HEIGHT + 5), 1, ADDRESSES[proposer(0)])
    wrong_height = wrong_height.with_signature(KEYS[proposer(0)].sign(wrong_height.sign_bytes(CHAIN_ID)))
    with pytest.raises(InvalidProposal):
        rig.feed(ProposalReceived(wrong_height))
    assert votes_cast(rig.propose(0, A)) == [(PREVOTE, 0, A.hash)]  # the state was not disturbed


def test_forged_votes_are_refused() -> None:
    rig = Rig(non_proposer(0))
    forged = replace(signed_vote(1, PREVOTE, 0, A.hash), block_hash=B.hash)
    with pytest.raises(InvalidVote):
        rig.feed(VoteReceived(forged))


def test_a_second_proposal_of_a_round_is_ignored_unless_two_thirds_back_it() -> None:
    rig = Rig(non_proposer(0))
    assert votes_cast(rig.propose(0, A)) == [(PREVOTE, 0, A.hash)]
    assert rig.feed(ProposalReceived(signed_proposal(0, B))) == []
    rig.votes(PRECOMMIT, 0, B.hash, rig.others(3))
    effects = rig.feed(ProposalReceived(signed_proposal(0, B)))
    assert ValidateBlock(B) in effects
    assert [e.block for e in rig.feed(BlockValidated(B.hash, True)) if isinstance(e, Decide)] == [B]


def test_equivocation_is_reported_once() -> None:
    rig = Rig(non_proposer(0))
    rig.propose(0, A)
    other = rig.others(1)[0]
    rig.votes(PREVOTE, 0, A.hash, [other])
    effects = rig.votes(PREVOTE, 0, B.hash, [other]) + rig.votes(PREVOTE, 0, B.hash, [other])
    found = [e.evidence for e in effects if isinstance(e, EvidenceFound)]
    assert len(found) == 1 and found[0].validator_address == ADDRESSES[other]
    found[0].verify(CHAIN_ID, VALIDATORS)


def test_next_height_messages_wait_for_its_start() -> None:
    rig = Rig(non_proposer(0))
    next_priorities = PRIORITIES.next_height(VALIDATORS)
    early = signed_vote(0, PREVOTE, 0, NIL, height=HEIGHT + 1)
    assert rig.feed(VoteReceived(early)) == []
    assert rig.feed(VoteReceived(signed_vote(0, PREVOTE, 0, NIL, height=HEIGHT + 2))) == []
    rig.propose(0, A)
    rig.votes(PREVOTE, 0, A.hash, rig.others(3))
    rig.votes(PRECOMMIT, 0, A.hash, rig.others(3))
    assert rig.machine.decided
    effects = rig.feed(Start(HEIGHT + 1, VALIDATORS, next_priorities))
    assert Broadcast(early) in effects
    with pytest.raises(ConsensusError):
        rig.feed(Start(HEIGHT, VALIDATORS, PRIORITIES))


def test_validator_set_change_at_the_next_height() -> None:
    rig = Rig(0)
    smaller = ValidatorSet.of(list(VALIDATORS.validators[:3]))
    removed = next(i for i in range(4) if smaller.by_address(ADDRESSES[i]) is None)
    rig.propose(0, A)
    rig.votes(PREVOTE, 0, A.hash, [i for i in range(1, 4)])
    rig.votes(PRECOMMIT, 0, A.hash, [i for i in range(1, 4)])
    rig.feed(Start(HEIGHT + 1, smaller, PRIORITIES.next_height(smaller)))
    with pytest.raises(InvalidVote):
        rig.feed(VoteReceived(signed_vote(removed, PREVOTE, 0, NIL, height=HEIGHT + 1)))


# restart


def test_replayed_own_votes_restore_round_step_and_lock() -> None:
    me = non_proposer(0, 1, 2)
    own = [signed_vote(me, PREVOTE, 1, A.hash), signed_vote(me, PRECOMMIT, 1, A.hash)]  # it had locked on A
    after = Rig(me)  # the restarted machine: fresh state, then the WAL's own votes
    for vote in own:
        assert votes_cast(after.feed(VoteReceived(vote))) == []
    machine = after.machine
    assert (machine.round, machine.step, machine.locked_round, machine.locked_hash) == (1, Step.PRECOMMIT, 1, A.hash)
    assert (machine.valid_round, machine.valid_hash) == (1, A.hash)
    after.next_round()
    assert votes_cast(after.propose(2, B)) == [(PREVOTE, 2, NIL)]  # the lock survived the restart


def test_a_restarted_proposer_does_not_build_a_second_proposal() -> None:
    me = proposer(2)
    rig = Rig(me)
    replayed = signed_proposal(2, A)
    rig.feed(ProposalReceived(replayed))
    effects = rig.feed(VoteReceived(signed_vote(me, PREVOTE, 2, A.hash)))
    assert rig.machine.round == 2 and rig.machine.step == Step.PREVOTE
    assert not [e for e in effects if isinstance(e, (BuildProposal, SignProposal, SignVote))]
