"""Governance proposals, votes and their tally, as pure data and functions.

Validators and backup validators govern the chain: they propose to transfer
CMT from the foundation reserve (the governance contract's balance) or to
change one chain parameter, and vote on proposals weighted by their voting
power. The rules, as on the CyberMiles "Travis" chain:

* Only current validators and backups (the *voters*) may propose and vote.
* A vote is yes, no or abstain, weighted by the voter's voting power when the
  vote is cast; a voter may change its vote while the proposal is pending.
* After each vote the proposal is **approved** as soon as the yes power reaches
  2/3 of the total voting power of all current voters
  (``3 * yes >= 2 * total``), **rejected** as soon as the no power does.
* A proposal still pending when block time reaches its expiry
  (``created_at + proposal_expire_period``) is **expired**: it needed 2/3 of
  the voting power to pass and did not get it, so it is never executed.
* Approved proposals are executed at the end of a block, in proposal-id order.

Everything here is integer arithmetic over explicit, ordered voter and vote
lists, so it is deterministic.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from consensus.dpos.election import Voter
from consensus.dpos.errors import DposError

MAX_REASON_BYTES = 1_024  # UTF-8 bytes of a proposal's reason
MAX_OPEN_PROPOSALS = 64  # pending proposals at any time
MAX_EXECUTIONS_PER_BLOCK = 8  # approved proposals executed by one block's end
MAX_EXPIRIES_PER_BLOCK = 16  # pending proposals expired by one block's end
APPROVAL_NUMERATOR, APPROVAL_DENOMINATOR = 2, 3


class InvalidProposal(DposError):
    """A proposal or vote that breaks a governance rule (unknown id, already decided, reason too long, ...)."""


class Kind(enum.IntEnum):
    """What a proposal would do."""

    TRANSFER = 0  # pay ``amount`` wei from the reserve to ``to``
    PARAM = 1  # set chain parameter ``name`` to ``value``


class Status(enum.IntEnum):
    """Where a proposal is in its life: pending, then decided, then (if approved) executed or failed."""

    PENDING = 0
    APPROVED = 1  # decided; waits for execution at a block's end
    REJECTED = 2
    EXPIRED = 3
    EXECUTED = 4
    FAILED = 5  # approved, but execution was impossible (e.g. the reserve was too low)


class Answer(enum.IntEnum):
    """A voter's answer."""

    YES = 0
    NO = 1
    ABSTAIN = 2


@dataclass(frozen=True)
class Proposal:
    """One governance proposal and its state; ``to``/``amount`` or ``name``/``value`` by ``kind``."""

    id: int
    kind: Kind
    proposer: bytes
    reason: str
    created_at: int  # block time, seconds
    expire_at: int  # block time, seconds
    to: bytes = b"\x00" * 20
    amount: int = 0
    name: str = ""
    value: str = ""
    status: Status = Status.PENDING
    decided_at: int = 0  # block time of the decision (0 while pending)
    detail: str = ""  # why execution failed

    def decided(self, status: Status, timestamp: int) -> Proposal:
        """This proposal with its decision recorded."""
        return replace(self, status=status, decided_at=timestamp)


@dataclass(frozen=True)
class Vote:
    """One voter's current answer on a proposal and its voting power when it answered."""

    voter: bytes
    answer: Answer
    power: int


@dataclass(frozen=True)
class Tally:
    """Voting power by answer, and the total voting power the thresholds are taken of."""

    yes: int
    no: int
    abstain: int
    total: int


def cast(votes: Sequence[Vote], vote: Vote) -> tuple[Vote, ...]:
    """``votes`` with ``vote`` recorded: a voter's earlier vote is replaced in place, a new one appended."""
    for index, earlier in enumerate(votes):
        if earlier.voter == vote.voter:
            return (*votes[:index], vote, *votes[index + 1 :])
    return (*votes, vote)


def tally(votes: Sequence[Vote], voters: Sequence[Voter]) -> Tally:
    """The power behind each answer, out of the total voting power of ``voters``."""
    power = {answer: 0 for answer in Answer}
    for vote in votes:
        power[vote.answer] += vote.power
    return Tally(
        yes=power[Answer.YES],
        no=power[Answer.NO],
        abstain=power[Answer.ABSTAIN],
        total=sum(voter.voting_power for voter in voters),
    )


def reaches_threshold(power: int, total: int) -> bool:
    """Whether ``power`` is at least 2/3 of ``total`` (exact: ``3 * power >= 2 * total``; never when total is 0)."""
    return total > 0 and APPROVAL_DENOMINATOR * power >= APPROVAL_NUMERATOR * total


def decision(result: Tally) -> Status:
    """APPROVED at 2/3 yes, REJECTED at 2/3 no, otherwise still PENDING."""
    if reaches_threshold(result.yes, result.total):
        return Status.APPROVED
    if reaches_threshold(result.no, result.total):
        return Status.REJECTED
    return Status.PENDING


def is_expired(proposal: Proposal, timestamp: int) -> bool:
    """Whether block time ``timestamp`` has reached the proposal's expiry."""
    return timestamp >= proposal.expire_at


def voter_power(voters: Sequence[Voter], account: bytes) -> int | None:
    """The voting power of ``account`` if it is a current voter, else None."""
    for voter in voters:
        if voter.owner == account:
            return voter.voting_power
    return None
