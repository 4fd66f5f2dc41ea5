"""Governance rules as pure functions: casting votes, the 2/3 thresholds, expiry, stored forms."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.dpos.election import Voter
from consensus.dpos.governance import (
    Answer,
    Kind,
    Proposal,
    Status,
    Tally,
    Vote,
    cast,
    decision,
    is_expired,
    reaches_threshold,
    tally,
    voter_power,
)
from consensus.dpos.governance_store import (
    CorruptGovernanceState,
    decode_proposal,
    encode_proposal,
)

A, B, C, D = (bytes([i]) * 20 for i in range(1, 5))


def voter(owner: bytes, power: int, backup: bool = False) -> Voter:
    return Voter(owner=owner, pub_key=owner + b"\x00" * 12, voting_power=power, is_backup=backup)


VOTERS = (voter(A, 40), voter(B, 30), voter(C, 20), voter(D, 10, backup=True))


def test_a_later_vote_replaces_the_earlier_one_in_place() -> None:
    votes = cast((), Vote(A, Answer.YES, 40))
    votes = cast(votes, Vote(B, Answer.NO, 30))
    votes = cast(votes, Vote(A, Answer.ABSTAIN, 41))
    assert votes == (Vote(A, Answer.ABSTAIN, 41), Vote(B, Answer.NO, 30))


def test_tally_weights_votes_by_their_recorded_power_out_of_all_voters() -> None:
    votes = (Vote(A, Answer.YES, 40), Vote(C, Answer.NO, 20), Vote(D, Answer.ABSTAIN, 10))
    assert tally(votes, VOTERS) == Tally(yes=40, no=20, abstain=10, total=100)


def test_approval_at_two_thirds_of_all_voting_power_including_backups() -> None:
    # 40 + 20 = 60 of 100: not enough; 40 + 30 = 70 >= 66.7: approved
    assert decision(tally((Vote(A, Answer.YES, 40), Vote(C, Answer.YES, 20)), VOTERS)) == Status.PENDING
    assert decision(tally((Vote(A, Answer.YES, 40), Vote(B, Answer.YES, 30)), VOTERS)) == Status.APPROVED
    assert decision(tally((Vote(A, Answer.NO, 40), Vote(B, Answer.NO, 30)), VOTERS)) == Status.REJECTED
    # abstentions count towards the total, never towards a decision
    abstained = tuple(Vote(v.owner, Answer.ABSTAIN, v.voting_power) for v in VOTERS)
    assert decision(tally(abstained, VOTERS)) == Status.PENDING


def test_exact_two_thirds_is_enough() -> None:
    three = (voter(A, 1), voter(B, 1), voter(C, 1))
    assert decision(tally((Vote(A, Answer.YES, 1), Vote(B, Answer.YES, 1)), three)) == Status.APPROVED
    assert decision(tally((Vote(A, Answer.YES, 1),), three)) == Status.PENDING


def test_no_voters_never_decide() -> None:
    assert not reaches_threshold(0, 0)
    assert decision(Tally(0, 0, 0, 0)) == Status.PENDING


@given(
    powers=st.lists(st.integers(1, 10**9), min_size=1, max_size=30),
    answers=st.lists(st.sampled_from(list(Answer) + [None]), min_size=30, max_size=30),
)
def test_decision_is_approval_iff_yes_reaches_two_thirds_else_rejection_iff_no_does(
    powers: list[int], answers: list[Answer | None]
) -> None:
    voters = tuple(voter(i.to_bytes(20, "big"), power) for i, power in enumerate(powers, start=1))
    votes: tuple[Vote, ...] = ()
    for v, answer in zip(voters, answers):
        if answer is not None:
            votes = cast(votes, Vote(v.owner, answer, v.voting_power))
    total = sum(powers)
    yes = sum(v.power for v in votes if v.answer == Answer.YES)
    no = sum(v.power for v in votes if v.answer == Answer.NO)
    outcome = decision(tally(votes, voters))
    # the thresholds as exact fractions, independently of the implementation's integer test
    approved = Fraction(yes, total) >= Fraction(2, 3)
    rejected = not approved and Fraction(no, total) >= Fraction(2, 3)
    assert outcome == (Status.APPROVED if approved else Status.REJECTED if rejected else Status.PENDING)


def test_expiry_is_reached_at_the_expiry_time() -> None:
    proposal = Proposal(id=0, kind=Kind.TRANSFER, proposer=A, reason="", created_at=100, expire_at=200, to=B, amount=1)
    assert not is_expired(proposal, 199)
    assert is_expired(proposal, 200)


def test_only_current_voters_have_power() -> None:
    assert voter_power(VOTERS, D) == 10
    assert voter_power(VOTERS, b"\x09" * 20) is None


@pytest.mark.parametrize(
    "proposal",
    [
        Proposal(id=7, kind=Kind.TRANSFER, proposer=A, reason="fund the audit ✓", created_at=1, expire_at=2,
                 to=B, amount=10**24),
        Proposal(id=8, kind=Kind.PARAM, proposer=C, reason="", created_at=5, expire_at=6, name="max_validators",
                 value="21", status=Status.FAILED, decided_at=6, detail="max_validators: 500 is outside [1, 100]"),
    ],
)
def test_stored_proposals_round_trip(proposal: Proposal) -> None:
    assert decode_proposal(encode_proposal(proposal)) == proposal


def test_a_corrupt_stored_proposal_is_reported() -> None:
    with pytest.raises(CorruptGovernanceState, match="stored proposal does not decode"):
        decode_proposal(b"\xc1\x80")
