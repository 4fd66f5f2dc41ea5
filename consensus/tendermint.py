"""The Tendermint consensus algorithm as a sans-IO state machine.

This is Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
Milosevic, 2018) for one validator (or a non-validating observer). The machine
reads no clock, touches no disk or network and spawns nothing: a driver feeds
it events with ``handle(event)`` and carries out the effects it returns, in
order. Rule numbers below are the paper's line numbers.

Events (driver -> machine)
  ``Start(height, validators, priorities, round=0)``
      Begin a height with its validator set and proposer-priority state
      (``consensus.proposer``). Also how the driver moves to the next height
      after ``Decide`` (after ``timeout_commit``), so the validator set of each
      height is the driver's choice. ``round`` > 0 starts at a later round.
  ``ProposalReceived(proposal)`` / ``VoteReceived(vote)``
      A signed message from the network, or this validator's own message
      after the driver signed it. Messages of the next height are buffered
      (bounded) until its ``Start``; others of other heights are ignored.
      A message that can never be valid (bad signature, not from a validator,
      from the wrong proposer) makes ``handle`` raise ``InvalidProposal`` or
      ``consensus.votes.InvalidVote`` without changing state: the driver may
      penalise the peer that sent it.
  ``TimeoutFired(height, round, step)``
      A timeout the machine asked for has expired (stale ones are ignored).
  ``ProposalBlockReady(height, round, block)``
      The application built the block this validator should propose.
  ``BlockValidated(block_hash, valid)``
      The application checked a proposed block (``process_proposal``).

Effects (machine -> driver)
  ``BuildProposal(height, round)``: ask the application for a new block, answer
      with ``ProposalBlockReady``.
  ``ValidateBlock(block)``: ask the application to check a proposed block,
      answer with ``BlockValidated``. Requested once per block.
  ``SignProposal(proposal)`` / ``SignVote(vote)``: an unsigned message
      (``timestamp_ms`` 0 and no signature). The driver sets the timestamp,
      signs through the ``PrivValidator`` at ``privval_step`` (which persists
      the last-signed record first; if it refuses, the message is dropped),
      writes it to the WAL, and feeds it back as ``ProposalReceived`` /
      ``VoteReceived``.
  ``Broadcast(message)``: a valid proposal or vote (own or another's) seen for
      the first time; gossip it to the peers that do not have it.
  ``ScheduleTimeout(height, round, step, duration_ms)``: fire ``TimeoutFired``
      after ``duration_ms``.
  ``Decide(height, round, block, commit)``: the block is final; ``commit`` (+2/3
      precommits, which verify with ``consensus.commit.verify_commit``) is the
      next block's ``last_commit``. The driver finalizes and commits it through
      the application and, after ``timeout_commit``, sends ``Start`` for the
      next height. The machine ignores this height's messages from now on.
  ``EvidenceFound(evidence)``: a validator signed two different votes for one
      (height, round, type); add it to the evidence pool and gossip it.

Restart: build a new machine, send ``Start`` for the height in progress, then
feed this validator's own signed messages of that height from the WAL as
``ProposalReceived`` / ``VoteReceived``. An own vote of round r moves the
machine to round r at (at least) the step after that vote, and an own
precommit for a block restores lockedValue/lockedRound and
validValue/validRound (by block hash; the block itself arrives with gossip),
so a restarted validator neither votes twice in a step nor forgets its lock.
The machine does this for any own vote it receives; for a vote it has just
asked to sign, it is a no-op.

Deviations from the pseudo-code, all safe: every node (the proposer too)
schedules the propose timeout, so a proposer whose signature is refused after
a restart does not stall its round; a block may be taken from any proposal
carrying it (the decision is on the value, the proposal only carries it); of
conflicting proposals in one round the first is kept, and another is accepted
only when +2/3 of some round prevoted or precommitted its block.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from consensus.errors import ConsensusError
from consensus.evidence import DuplicateVoteEvidence
from consensus.keys import verify
from consensus.messages import NIL, Message, Proposal, Verifier, Vote
from consensus.privval import STEP_PRECOMMIT, STEP_PREVOTE, STEP_PROPOSE
from consensus.proposer import ProposerPriorities
from consensus.types import PRECOMMIT, PREVOTE, Block, Commit
from consensus.validators import ValidatorSet
from consensus.votes import HeightVoteSet, VoteNotTracked

FUTURE_PROPOSAL_ROUNDS = 2
"""Proposals are kept for rounds up to the current round plus this."""

MAX_BUFFERED_VOTES = 2048
MAX_BUFFERED_PROPOSALS = 8


class InvalidProposal(ConsensusError):
    """A proposal that can never be valid: wrong proposer, wrong height, bad POL round or signature."""


class Step(IntEnum):
    """Steps of a round; ``COMMIT`` once the height is decided."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    COMMIT = 4


@dataclass(frozen=True)
class TimeoutConfig:
    """Round timeouts in milliseconds: ``base + round * delta`` for each step (genesis consensus params)."""

    propose_ms: int = 3000
    propose_delta_ms: int = 500
    prevote_ms: int = 1000
    prevote_delta_ms: int = 500
    precommit_ms: int = 1000
    precommit_delta_ms: int = 500

    def duration(self, step: Step, round_: int) -> int:
        """The timeout of ``step`` in ``round_``."""
        if step == Step.PROPOSE:
            return self.propose_ms + round_ * self.propose_delta_ms
        if step == Step.PREVOTE:
            return self.prevote_ms + round_ * self.prevote_delta_ms
        return self.precommit_ms + round_ * self.precommit_delta_ms


# events


@dataclass(frozen=True)
class Start:
    """Begin ``height`` with its validators and proposer priorities, at ``round``."""

    height: int
    validators: ValidatorSet
    priorities: ProposerPriorities
    round: int = 0


@dataclass(frozen=True)
class ProposalReceived:
    """A signed proposal (from a peer, or our own after signing)."""

    proposal: Proposal


@dataclass(frozen=True)
class VoteReceived:
    """A signed vote (from a peer, or our own after signing)."""

    vote: Vote


@dataclass(frozen=True)
class TimeoutFired:
    """A scheduled timeout expired."""

    height: int
    round: int
    step: Step


@dataclass(frozen=True)
class ProposalBlockReady:
    """The application built our block for (height, round)."""

    height: int
    round: int
    block: Block


@dataclass(frozen=True)
class BlockValidated:
    """The application's verdict on a proposed block."""

    block_hash: bytes
    valid: bool


Event = Start | ProposalReceived | VoteReceived | TimeoutFired | ProposalBlockReady | BlockValidated


# effects


@dataclass(frozen=True)
class BuildProposal:
    """Ask the application for a block to propose at (height, round)."""

    height: int
    round: int


@dataclass(frozen=True)
class ValidateBlock:
    """Ask the application whether ``block`` is valid."""

    block: Block


@dataclass(frozen=True)
class SignProposal:
    """Sign (timestamp it first) and feed back this proposal."""

    proposal: Proposal

    @property
    def privval_step(self) -> int:
        """The ``PrivValidator`` step to sign at."""
        return STEP_PROPOSE


@dataclass(frozen=True)
class SignVote:
    """Sign (timestamp it first) and feed back this vote."""

    vote: Vote

    @property
    def privval_step(self) -> int:
        """The ``PrivValidator`` step to sign at."""
        return STEP_PREVOTE if self.vote.type == PREVOTE else STEP_PRECOMMIT


@dataclass(frozen=True)
class Broadcast:
    """Gossip this new, valid message."""

    message: Message


@dataclass(frozen=True)
class ScheduleTimeout:
    """Fire ``TimeoutFired(height, round, step)`` after ``duration_ms``."""

    height: int
    round: int
    step: Step
    duration_ms: int


@dataclass(frozen=True)
class Decide:
    """``block`` is decided at ``height`` (in ``round``), finalised by ``commit``."""

    height: int
    round: int
    block: Block
    commit: Commit


@dataclass(frozen=True)
class EvidenceFound:
    """A validator double-signed."""

    evidence: DuplicateVoteEvidence


Effect = (BuildProposal | ValidateBlock | SignProposal | SignVote | Broadcast | ScheduleTimeout | Decide
          | EvidenceFound)


class TendermintMachine:
    """One validator's (or observer's) consensus state: ``handle`` events, carry out the returned effects."""

    def __init__(self, chain_id: int, timeouts: TimeoutConfig, address: bytes | None,
                 verifier: Verifier = verify) -> None:
        """``address`` is this validator's, or None for a node that only follows; ``verifier`` checks signatures."""
        self.chain_id = chain_id
        self.timeouts = timeouts
        self.address = address
        self._verifier = verifier
        self.height = 0
        self.round = 0
        self.step = Step.PROPOSE
        self.started = False
        self.validators = ValidatorSet(())
        self.locked_hash: bytes | None = None
        self.locked_round = -1
        self.valid_hash: bytes | None = None
        self.valid_round = -1
        self._priorities: ProposerPriorities | None = None
        self._proposers: dict[int, bytes] = {}
        self._votes = HeightVoteSet(chain_id, 0, self.validators, verifier)
        self._proposals: dict[int, dict[bytes, Proposal]] = {}
        self._blocks: dict[bytes, Block] = {}
        self._validity: dict[bytes, bool] = {}
        self._validation_requested: set[bytes] = set()
        self._prevote_timeouts: set[int] = set()
        self._precommit_timeouts: set[int] = set()
        self._locked_rounds_seen: set[int] = set()
        self._building_round: int | None = None
        self._evidence_seen: set[bytes] = set()
        self._buffered_proposals: list[Proposal] = []
        self._buffered_votes: dict[Vote, None] = {}

    # queries

    @property
    def locked_value(self) -> Block | None:
        """lockedValue: the block locked on, if any (and known)."""
        return self._blocks.get(self.locked_hash) if self.locked_hash is not None else None

    @property
    def valid_value(self) -> Block | None:
        """validValue: the most recent block with a POL seen, if any (and known)."""
        return self._blocks.get(self.valid_hash) if self.valid_hash is not None else None

    @property
    def decided(self) -> bool:
        """Whether the current height is decided."""
        return self.step == Step.COMMIT

    def proposer(self, round_: int) -> bytes:
        """The proposer's address at ``round_`` of the current height."""
        if self._priorities is None:
            raise ConsensusError("the consensus machine has not started a height")
        if round_ not in self._proposers:
            if len(self._proposers) > 64:
                self._proposers.clear()
            self._proposers[round_] = self._priorities.incremented(round_).proposer
        return self._proposers[round_]

    # the event entry point

    def handle(self, event: Event) -> list[Effect]:
        """Apply ``event`` and return the effects to carry out, in order."""
        effects: list[Effect] = []
        if isinstance(event, Start):
            self._start_height(event, effects)
        elif not self.started:
            return effects
        elif isinstance(event, ProposalReceived):
            self._on_proposal(event.proposal, effects)
        elif isinstance(event, VoteReceived):
            self._on_vote(event.vote, effects)
        elif isinstance(event, TimeoutFired):
            self._on_timeout(event, effects)
        elif isinstance(event, ProposalBlockReady):
            self._on_block_ready(event, effects)
        elif isinstance(event, BlockValidated):
            if event.block_hash in self._blocks and event.block_hash not in self._validity:
                self._validity[event.block_hash] = event.valid
        else:
            raise ConsensusError(f"unknown consensus event {type(event).__name__}")
        self._run_rules(effects)
        return effects

    # events

    def _start_height(self, event: Start, effects: list[Effect]) -> None:
        if self.started and event.height <= self.height:
            raise ConsensusError(f"cannot start height {event.height} at height {self.height}")
        self.started = True
        self.height = event.height
        self.validators = event.validators
        self._priorities = event.priorities
        self._proposers = {}
        self.locked_hash, self.locked_round = None, -1
        self.valid_hash, self.valid_round = None, -1
        self._votes = HeightVoteSet(self.chain_id, event.height, event.validators, self._verifier, self._tracks)
        self._proposals = {}
        self._blocks = {}
        self._validity = {}
        self._validation_requested = set()
        self._prevote_timeouts = set()
        self._precommit_timeouts = set()
        self._locked_rounds_seen = set()
        self._building_round = None
        self._evidence_seen = set()
        self._start_round(event.round, effects)
        buffered: list[Message] = [*self._buffered_proposals, *self._buffered_votes]
        self._buffered_proposals, self._buffered_votes = [], {}
        for message in buffered:
            if message.height != event.height:
                continue
            try:
                if isinstance(message, Proposal):
                    self._on_proposal(message, effects)
                else:
                    self._on_vote(message, effects)
            except ConsensusError:
                continue

    def _on_proposal(self, proposal: Proposal, effects: list[Effect]) -> None:
        if self._buffered(proposal):
            return
        if proposal.height != self.height or self.decided:
            return
        if proposal.round > self.round + FUTURE_PROPOSAL_ROUNDS and proposal.proposer_address != self.address:
            return
        round_proposals = self._proposals.get(proposal.round, {})
        if proposal.block_hash in round_proposals:
            return
        if round_proposals and not self._has_majority_anywhere(proposal.block_hash):
            return
        self._check_proposal(proposal)
        self._proposals.setdefault(proposal.round, {})[proposal.block_hash] = proposal
        self._blocks.setdefault(proposal.block_hash, proposal.block)
        effects.append(Broadcast(proposal))
        if proposal.block_hash not in self._validation_requested:
            self._validation_requested.add(proposal.block_hash)
            effects.append(ValidateBlock(proposal.block))

    def _check_proposal(self, proposal: Proposal) -> None:
        expected = self.proposer(proposal.round)
        if proposal.proposer_address != expected:
            raise InvalidProposal(f"proposal for round {proposal.round} from 0x{proposal.proposer_address.hex()}, "
                                  f"the proposer is 0x{expected.hex()}")
        if proposal.block.number != self.height:
            raise InvalidProposal(f"proposal for height {self.height} carries block {proposal.block.number}")
        if not -1 <= proposal.pol_round < proposal.round:
            raise InvalidProposal(f"proposal POL round {proposal.pol_round} in round {proposal.round}")
        validator = self.validators.by_address(expected)
        if validator is None or not proposal.verify(self.chain_id, validator.pub_key, self._verifier):
            raise InvalidProposal(f"invalid signature on the proposal for round {proposal.round}")

    def _on_vote(self, vote: Vote, effects: list[Effect]) -> None:
        if self._buffered(vote):
            return
        if vote.height != self.height or self.decided:
            return
        try:
            result = self._votes.add(vote)
        except VoteNotTracked:
            return
        if result.evidence is not None and result.evidence.hash not in self._evidence_seen:
            self._evidence_seen.add(result.evidence.hash)
            effects.append(EvidenceFound(result.evidence))
        if result.added:
            effects.append(Broadcast(vote))
            if vote.validator_address == self.address:
                self._resume_from_own_vote(vote, effects)

    def _resume_from_own_vote(self, vote: Vote, effects: list[Effect]) -> None:
        """Recover the state a vote of ours implies (a no-op for a vote just cast; a restart's WAL replay).

        Having voted in round r means having reached that step of round r; a precommit for a block in round r
        means having locked on it then, after seeing +2/3 prevotes for it (so it was also the valid value).
        """
        if vote.round > self.round:
            self._start_round(vote.round, effects)
        voted_step = Step.PREVOTE if vote.type == PREVOTE else Step.PRECOMMIT
        if vote.round == self.round and self.step < voted_step:
            self.step = voted_step
        if vote.type == PRECOMMIT and vote.block_hash != NIL and vote.round > self.locked_round:
            self.locked_hash, self.locked_round = vote.block_hash, vote.round
            if vote.round > self.valid_round:
                self.valid_hash, self.valid_round = vote.block_hash, vote.round

    def _buffered(self, message: Message) -> bool:
        """Keep a message of the next height for its ``Start`` (bounded); True if it was for that height."""
        if message.height != self.height + 1:
            return False
        if isinstance(message, Proposal):
            if len(self._buffered_proposals) < MAX_BUFFERED_PROPOSALS:
                self._buffered_proposals.append(message)
        elif len(self._buffered_votes) < MAX_BUFFERED_VOTES:
            self._buffered_votes[message] = None
        return True

    def _on_timeout(self, event: TimeoutFired, effects: list[Effect]) -> None:
        if event.height != self.height or event.round != self.round or self.decided:
            return
        if event.step == Step.PROPOSE and self.step == Step.PROPOSE:  # line 57
            self._vote(PREVOTE, NIL, effects)
        elif event.step == Step.PREVOTE and self.step == Step.PREVOTE:  # line 61
            self._vote(PRECOMMIT, NIL, effects)
        elif event.step == Step.PRECOMMIT:  # line 65
            self._start_round(self.round + 1, effects)

    def _on_block_ready(self, event: ProposalBlockReady, effects: list[Effect]) -> None:
        if (event.height, event.round) != (self.height, self.round) or self._building_round != event.round \
                or self.step != Step.PROPOSE:
            return
        self._building_round = None
        self._propose(event.block, -1, effects)

    # the algorithm

    def _start_round(self, round_: int, effects: list[Effect]) -> None:
        """StartRound (lines 11-21)."""
        self.round = round_
        self.step = Step.PROPOSE
        self._votes.set_round(round_)
        self._building_round = None
        if self._is_validator() and self.proposer(round_) == self.address and round_ not in self._proposals:
            valid_value = self.valid_value
            if valid_value is not None:
                self._propose(valid_value, self.valid_round, effects)
            else:
                self._building_round = round_
                effects.append(BuildProposal(self.height, round_))
        effects.append(ScheduleTimeout(self.height, round_, Step.PROPOSE,
                                       self.timeouts.duration(Step.PROPOSE, round_)))

    def _run_rules(self, effects: list[Effect]) -> None:
        while self.started and not self.decided:
            if self._rule_decide(effects) or self._rule_round_skip(effects) or self._rules_of_round(effects):
                continue
            return

    def _rule_decide(self, effects: list[Effect]) -> bool:
        """Line 49: a proposal and +2/3 precommits for its valid block in any round decide the height."""
        for round_ in self._votes.rounds():
            precommits = self._votes.precommits(round_)
            if precommits is None:
                continue
            value = precommits.two_thirds_majority()
            if value and self._validity.get(value) is True:
                self.step = Step.COMMIT
                effects.append(Decide(self.height, round_, self._blocks[value], precommits.make_commit()))
                return True
        return False

    def _rule_round_skip(self, effects: list[Effect]) -> bool:
        """Line 55: f+1 voting power sent messages of a higher round; move to it."""
        total = self.validators.total_power
        higher = [r for r in self._votes.rounds() if r > self.round and self._votes.power_in_round(r) * 3 > total]
        if not higher:
            return False
        self._start_round(max(higher), effects)
        return True

    def _rules_of_round(self, effects: list[Effect]) -> bool:
        """Lines 22, 28, 34, 36, 44, 47 for the current round; True if one fired."""
        round_ = self.round
        prevotes = self._votes.prevotes(round_)
        precommits = self._votes.precommits(round_)
        if self.step == Step.PROPOSE and self._rule_prevote_proposal(round_, effects):
            return True
        if self.step == Step.PREVOTE and prevotes and prevotes.has_two_thirds_any() \
                and round_ not in self._prevote_timeouts:  # line 34
            self._prevote_timeouts.add(round_)
            effects.append(ScheduleTimeout(self.height, round_, Step.PREVOTE,
                                           self.timeouts.duration(Step.PREVOTE, round_)))
            return True
        majority = prevotes.two_thirds_majority() if prevotes else None
        if majority and self.step >= Step.PREVOTE and round_ not in self._locked_rounds_seen \
                and self._validity.get(majority) is True:  # line 36
            self._locked_rounds_seen.add(round_)
            if self.step == Step.PREVOTE:
                self.locked_hash, self.locked_round = majority, round_
                self._vote(PRECOMMIT, majority, effects)
            self.valid_hash, self.valid_round = majority, round_
            return True
        if self.step == Step.PREVOTE and majority == NIL:  # line 44
            self._vote(PRECOMMIT, NIL, effects)
            return True
        if precommits and precommits.has_two_thirds_any() and round_ not in self._precommit_timeouts:  # line 47
            self._precommit_timeouts.add(round_)
            effects.append(ScheduleTimeout(self.height, round_, Step.PRECOMMIT,
                                           self.timeouts.duration(Step.PRECOMMIT, round_)))
            return True
        return False

    def _rule_prevote_proposal(self, round_: int, effects: list[Effect]) -> bool:
        """Lines 22 and 28: prevote the round's proposal (or nil) once its validity is known."""
        proposals = self._proposals.get(round_)
        if not proposals:
            return False
        proposal = next(iter(proposals.values()))
        value = proposal.block_hash
        valid = self._validity.get(value)
        if valid is None:
            return False
        if proposal.pol_round == -1:  # line 22
            accept = valid and (self.locked_round == -1 or self.locked_hash == value)
        else:  # line 28
            pol_prevotes = self._votes.prevotes(proposal.pol_round)
            if pol_prevotes is None or not pol_prevotes.has_two_thirds_for(value):
                return False
            accept = valid and (self.locked_round <= proposal.pol_round or self.locked_hash == value)
        self._vote(PREVOTE, value if accept else NIL, effects)
        return True

    def _propose(self, block: Block, pol_round: int, effects: list[Effect]) -> None:
        effects.append(SignProposal(Proposal(self.height, self.round, pol_round, block, 0, self.address or b"")))

    def _vote(self, vote_type: int, value: bytes, effects: list[Effect]) -> None:
        """Cast a vote (if this node is a validator) and move to the step after it."""
        self.step = Step.PREVOTE if vote_type == PREVOTE else Step.PRECOMMIT
        if self._is_validator():
            effects.append(SignVote(Vote(vote_type, self.height, self.round, value, 0, self.address or b"")))

    def _tracks(self, block_hash: bytes) -> bool:
        """Values whose conflicting votes count: nil and blocks of proposals of this height."""
        return block_hash == NIL or block_hash in self._blocks

    def _is_validator(self) -> bool:
        return self.address is not None and self.validators.by_address(self.address) is not None

    def _has_majority_anywhere(self, block_hash: bytes) -> bool:
        for round_ in self._votes.rounds():
            for votes in (self._votes.prevotes(round_), self._votes.precommits(round_)):
                if votes is not None and votes.has_two_thirds_for(block_hash):
                    return True
        return False
