"""The governance native contract (interface ``IGovernance.sol``) at ``GOVERNANCE_ADDRESS``.

Validators and backups propose transfers from the foundation reserve (this
contract's balance) and chain-parameter changes, and vote on them; the rules
are in ``consensus.dpos.governance``. At the end of every block the contract
expires pending proposals whose time is up (at most ``MAX_EXPIRIES_PER_BLOCK``)
and executes approved ones in proposal-id order (at most
``MAX_EXECUTIONS_PER_BLOCK``; the rest wait for the next block). It also holds
the chain parameters in force, written at genesis (``init_chain``).

Gas: each method's base cost below, plus the framework's storage, balance and
event costs for what it touches (reading the voters reads staking storage).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from consensus.dpos.election import Voter, voters
from consensus.dpos.errors import InvalidAmount, Unauthorized
from consensus.dpos.governance import (
    MAX_EXECUTIONS_PER_BLOCK,
    MAX_EXPIRIES_PER_BLOCK,
    MAX_OPEN_PROPOSALS,
    MAX_REASON_BYTES,
    Answer,
    InvalidProposal,
    Kind,
    Proposal,
    Status,
    Vote,
    cast,
    decision,
    is_expired,
    tally,
    voter_power,
)
from consensus.dpos.governance_execution import execute
from consensus.dpos.governance_store import (
    APPROVED_KEY,
    OPEN_KEY,
    load_ids,
    load_proposal,
    load_votes,
    new_proposal_id,
    proposal_count,
    save_ids,
    save_proposal,
    save_votes,
)
from consensus.dpos.params import (
    PARAMETERS,
    DposParams,
    format_value,
    load_params,
    parse_value,
    spec_of,
    store_params,
)
from vm.native.addresses import GOVERNANCE_ADDRESS
from vm.native.framework import CallContext, NativeContract, method
from vm.native.hooks import ConsensusInfo, ValidatorUpdate

PROPOSAL_CREATED_EVENT = "ProposalCreated(uint256,address,uint8,uint256)"
VOTED_EVENT = "Voted(uint256,address,uint8,uint256)"
PROPOSAL_DECIDED_EVENT = "ProposalDecided(uint256,uint8)"
PROPOSAL_EXECUTED_EVENT = "ProposalExecuted(uint256,uint8,string)"
ZERO_ADDRESS = b"\x00" * 20
PROPOSE_GAS = 30_000
VOTE_GAS = 10_000
QUERY_GAS = 2_000

VotersOf = Callable[[CallContext], Sequence[Voter]]


class GovernanceContract(NativeContract):
    """Proposals, votes, their execution, and the chain parameters in force."""

    address = GOVERNANCE_ADDRESS
    name = "Governance"

    def __init__(self, genesis_params: DposParams | None = None, voters_of: VotersOf = voters) -> None:
        """``genesis_params`` (default: every default) are stored at genesis; ``voters_of`` names the voters."""
        self.genesis_params = DposParams() if genesis_params is None else genesis_params
        self.voters_of = voters_of

    def init_chain(self, context: CallContext) -> None:
        """Store the genesis parameters."""
        store_params(context, self.genesis_params)

    # -- proposals ------------------------------------------------------------------------

    @method("proposeTransfer(address,uint256,string)", returns=["uint256"], gas=PROPOSE_GAS)
    def propose_transfer(self, context: CallContext, to: str, amount: int, reason: str) -> int:
        """Propose paying ``amount`` wei from the reserve to ``to``; returns the proposal id."""
        self._require_voter(context)
        recipient = bytes.fromhex(to[2:])
        if recipient == ZERO_ADDRESS:
            raise InvalidAmount("Governance: cannot transfer to the zero address")
        reserve = context.balance(self.address)
        if not 0 < amount <= reserve:
            raise InvalidAmount(f"Governance: amount must be from 1 to the reserve's {reserve} wei, got {amount}")
        return self._open(context, reason, Kind.TRANSFER, to=recipient, amount=amount)

    @method("proposeParam(string,string,string)", returns=["uint256"], gas=PROPOSE_GAS)
    def propose_param(self, context: CallContext, name: str, value: str, reason: str) -> int:
        """Propose setting chain parameter ``name`` to ``value`` (checked now); returns the proposal id."""
        self._require_voter(context)
        parsed = parse_value(name, value)
        load_params(context).with_value(name, parsed)
        return self._open(context, reason, Kind.PARAM, name=name, value=format_value(parsed))

    def _require_voter(self, context: CallContext) -> None:
        if voter_power(self.voters_of(context), context.sender) is None:
            raise Unauthorized("Governance: only validators and backup validators may propose")

    def _open(
        self, context: CallContext, reason: str, kind: Kind, *, to: bytes = ZERO_ADDRESS, amount: int = 0,
        name: str = "", value: str = "",
    ) -> int:
        if len(reason.encode()) > MAX_REASON_BYTES:
            raise InvalidProposal(f"Governance: reason longer than {MAX_REASON_BYTES} bytes")
        open_ids = load_ids(context, OPEN_KEY)
        if len(open_ids) >= MAX_OPEN_PROPOSALS:
            raise InvalidProposal(f"Governance: {MAX_OPEN_PROPOSALS} proposals are already open")
        proposal = Proposal(
            id=new_proposal_id(context),
            proposer=context.sender,
            reason=reason,
            created_at=context.timestamp,
            expire_at=context.timestamp + load_params(context).proposal_expire_period,
            kind=kind,
            to=to,
            amount=amount,
            name=name,
            value=value,
        )
        save_proposal(context, proposal)
        save_ids(context, OPEN_KEY, (*open_ids, proposal.id))
        context.emit(
            PROPOSAL_CREATED_EVENT,
            [("uint256", proposal.id), ("address", proposal.proposer)],
            [("uint8", int(proposal.kind)), ("uint256", proposal.expire_at)],
        )
        return proposal.id

    # -- votes ----------------------------------------------------------------------------

    @method("vote(uint256,uint8)", gas=VOTE_GAS)
    def vote(self, context: CallContext, proposal_id: int, answer: int) -> None:
        """Vote yes (0), no (1) or abstain (2) on a pending proposal; a later vote replaces an earlier one."""
        if answer not in set(Answer):
            raise InvalidProposal(f"Governance: answer must be 0 (yes), 1 (no) or 2 (abstain), got {answer}")
        proposal = self._existing(context, proposal_id)
        if proposal.status != Status.PENDING:
            raise InvalidProposal(f"Governance: proposal {proposal_id} is already decided ({proposal.status.name.lower()})")
        if is_expired(proposal, context.timestamp):
            raise InvalidProposal(f"Governance: proposal {proposal_id} has expired")
        current = self.voters_of(context)
        power = voter_power(current, context.sender)
        if power is None:
            raise Unauthorized("Governance: only validators and backup validators may vote")
        votes = cast(load_votes(context, proposal_id), Vote(context.sender, Answer(answer), power))
        save_votes(context, proposal_id, votes)
        context.emit(
            VOTED_EVENT, [("uint256", proposal_id), ("address", context.sender)], [("uint8", answer), ("uint256", power)]
        )
        outcome = decision(tally(votes, current))
        if outcome != Status.PENDING:
            self._decide(context, proposal, outcome)

    def _decide(self, context: CallContext, proposal: Proposal, status: Status) -> None:
        save_proposal(context, proposal.decided(status, context.timestamp))
        save_ids(context, OPEN_KEY, tuple(i for i in load_ids(context, OPEN_KEY) if i != proposal.id))
        if status == Status.APPROVED:
            save_ids(context, APPROVED_KEY, (*load_ids(context, APPROVED_KEY), proposal.id))
        context.emit(PROPOSAL_DECIDED_EVENT, [("uint256", proposal.id)], [("uint8", int(status))])

    # -- end of block ---------------------------------------------------------------------

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        """Expire pending proposals whose time is up, then execute approved ones, oldest first (both bounded)."""
        expiring = [
            proposal for proposal in (self._existing(context, i) for i in load_ids(context, OPEN_KEY))
            if is_expired(proposal, context.timestamp)
        ][:MAX_EXPIRIES_PER_BLOCK]
        for proposal in expiring:
            self._decide(context, proposal, Status.EXPIRED)
        approved = load_ids(context, APPROVED_KEY)
        for proposal_id in approved[:MAX_EXECUTIONS_PER_BLOCK]:
            done = execute(context, self._existing(context, proposal_id))
            save_proposal(context, done)
            context.emit(
                PROPOSAL_EXECUTED_EVENT, [("uint256", done.id)], [("uint8", int(done.status)), ("string", done.detail)]
            )
        if approved:
            save_ids(context, APPROVED_KEY, approved[MAX_EXECUTIONS_PER_BLOCK:])
        return ()

    # -- queries --------------------------------------------------------------------------

    @method("proposalCount()", returns=["uint256"], gas=QUERY_GAS, view=True)
    def proposal_count(self, context: CallContext) -> int:
        """How many proposals were ever made; ids run from 0 to this count - 1."""
        return proposal_count(context)

    @method(
        "getProposal(uint256)",
        returns=["uint8", "address", "address", "uint256", "string", "string", "string", "uint8", "uint256",
                 "uint256", "uint256", "string"],
        gas=QUERY_GAS,
        view=True,
    )
    def get_proposal(self, context: CallContext, proposal_id: int) -> tuple[object, ...]:
        """kind, proposer, to, amount, name, value, reason, status, createdAt, expireAt, decidedAt, detail."""
        p = self._existing(context, proposal_id)
        return (int(p.kind), p.proposer, p.to, p.amount, p.name, p.value, p.reason, int(p.status), p.created_at,
                p.expire_at, p.decided_at, p.detail)

    @method("openProposals()", returns=["uint256[]"], gas=QUERY_GAS, view=True)
    def open_proposals(self, context: CallContext) -> list[int]:
        """Ids of the pending proposals, ascending."""
        return list(load_ids(context, OPEN_KEY))

    @method("getVotes(uint256)", returns=["address[]", "uint8[]", "uint256[]"], gas=QUERY_GAS, view=True)
    def get_votes(self, context: CallContext, proposal_id: int) -> tuple[list[bytes], list[int], list[int]]:
        """The votes on a proposal: voters, answers and voting powers, in the order voters first voted."""
        self._existing(context, proposal_id)
        votes = load_votes(context, proposal_id)
        return [v.voter for v in votes], [int(v.answer) for v in votes], [v.power for v in votes]

    @method("getParam(string)", returns=["string"], gas=QUERY_GAS, view=True)
    def get_param(self, context: CallContext, name: str) -> str:
        """The value in force of chain parameter ``name``, as text."""
        spec_of(name)
        return format_value(getattr(load_params(context), name))

    @method("getParams()", returns=["string[]", "string[]"], gas=QUERY_GAS, view=True)
    def get_params(self, context: CallContext) -> tuple[list[str], list[str]]:
        """Every chain parameter's name and value in force, as text, in table order."""
        params = load_params(context)
        return [spec.name for spec in PARAMETERS], [format_value(getattr(params, spec.name)) for spec in PARAMETERS]

    @method("reserve()", returns=["uint256"], gas=QUERY_GAS, view=True)
    def reserve(self, context: CallContext) -> int:
        """The foundation reserve: wei this contract holds for transfers by governance."""
        return context.balance(self.address)

    def _existing(self, context: CallContext, proposal_id: int) -> Proposal:
        proposal = load_proposal(context, proposal_id)
        if proposal is None:
            raise InvalidProposal(f"Governance: no proposal {proposal_id}")
        return proposal
