"""Read-only queries of staking and governance at a committed block, for the ``cmt_query*`` RPC methods.

Each query opens the state after the block (its root and its environment:
number and block time) over a scratch overlay, so nothing can be written,
and reads it through a static ``CallContext`` with the same store, election,
supply and governance functions the native contracts use. Results are the
plain data types of ``rpc.backend``.

Bounds: candidacies are at most ``consensus.dpos.store.MAX_CANDIDATES``;
proposals are the pending ones (at most ``MAX_OPEN_PROPOSALS``) plus the
``limit`` most recent; a delegator has at most ``MAX_CANDIDATES_PER_DELEGATOR``
delegations and ``MAX_UNBONDINGS_PER_DELEGATOR`` unbondings.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eth.abc import DatabaseAPI

from consensus.dpos.governance import Proposal
from consensus.dpos.governance_contract import ZERO_ADDRESS
from consensus.dpos.governance_store import (
    OPEN_KEY,
    load_ids,
    load_proposal,
    load_votes,
    proposal_count,
)
from consensus.dpos.params import PARAMETERS, load_params
from consensus.dpos.records import Candidate, Delegation
from consensus.dpos.store import Member, StakingStore
from consensus.dpos.supply import supply
from consensus.types import Header
from rpc.backend import (
    DposAbsence,
    DposAward,
    DposCandidate,
    DposDelegation,
    DposDelegator,
    DposDescription,
    DposParam,
    DposProposal,
    DposSupply,
    DposUnbonding,
    DposVote,
)
from vm.execution import BlockEnv, ChainExecutor
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS
from vm.native.framework import SYSTEM_SENDER, CallContext
from vm.statedb import overlay_atomic_db

T = TypeVar("T")

#: What ``DposCandidate.state`` says of a candidacy in and out of the elected set.
VALIDATOR, BACKUP, CANDIDATE = "validator", "backup", "candidate"


def _no_events(address: bytes, topics: tuple[int, ...], data: bytes) -> None:
    """The event sink of a static context (never reached: a static context refuses to emit)."""


class DposQueries:
    """Answers staking and governance questions about the state after a committed block."""

    def __init__(self, executor: ChainExecutor, state_db: Callable[[], DatabaseAPI],
                 block_env: Callable[[Header], BlockEnv]) -> None:
        """``state_db()`` gives the node's state database, ``block_env(header)`` the block's environment."""
        self._executor = executor
        self._state_db = state_db
        self._block_env = block_env

    def _read(self, header: Header, query: Callable[[CallContext], T]) -> T:
        """Run ``query`` on a static context of the staking contract over the state after ``header``."""
        atomic, _ = overlay_atomic_db(self._state_db())
        state = self._executor.open_state(atomic, header.state_root, self._block_env(header))
        context = CallContext(state, STAKING_ADDRESS, sender=SYSTEM_SENDER, value=0, is_static=True,
                              consume_gas=None, add_log=_no_events)
        return query(context)

    # -- staking -------------------------------------------------------------------------

    def candidates(self, header: Header) -> list[DposCandidate]:
        """Every candidacy: validators, then backups, in rank order, then the others by id."""
        def query(context: CallContext) -> list[DposCandidate]:
            store = StakingStore(context)
            elected = store.elected()
            found = [_candidate(store, c, elected) for c in store.candidates()]
            return sorted(found, key=lambda c: (len(elected) if c.rank is None else c.rank, c.candidate_id))
        return self._read(header, query)

    def candidate(self, header: Header, owner: bytes) -> DposCandidate | None:
        """The candidacy owned by ``owner``, or None."""
        def query(context: CallContext) -> DposCandidate | None:
            store = StakingStore(context)
            candidate_id = store.id_of_owner(owner)
            found = None if candidate_id is None else store.find_candidate(candidate_id)
            return None if found is None else _candidate(store, found, store.elected())
        return self._read(header, query)

    def delegator(self, header: Header, address: bytes) -> DposDelegator:
        """The delegations and pending unbondings of ``address``."""
        def query(context: CallContext) -> DposDelegator:
            store = StakingStore(context)
            delegations = tuple(_delegation(store, d) for d in store.delegations_of_delegator(address))
            entries = [store.unbonding(seq) for seq in sorted(store.unbondings_of(address))]
            unbondings = tuple(
                DposUnbonding(e.seq, _owner_of(store, e.candidate_id), e.candidate_id, e.amount, e.mature_time)
                for e in entries if e is not None
            )
            return DposDelegator(address, delegations, unbondings)
        return self._read(header, query)

    def awards(self, header: Header) -> list[DposAward]:
        """What each candidacy was credited by the latest block that paid awards."""
        def query(context: CallContext) -> list[DposAward]:
            store = StakingStore(context)
            return [DposAward(_owner_of(store, cid), cid, amount) for cid, amount in store.last_awards()]
        return self._read(header, query)

    def absent_validators(self, header: Header) -> list[DposAbsence]:
        """Members of the elected set with consecutive missed blocks, in rank order."""
        def query(context: CallContext) -> list[DposAbsence]:
            store = StakingStore(context)
            absent = []
            for member in store.elected():
                candidate = store.find_candidate(member.candidate_id)
                if candidate is not None and candidate.missed_blocks:
                    absent.append(DposAbsence(candidate.owner, member.pub_key, candidate.missed_blocks))
            return absent
        return self._read(header, query)

    def supply(self, header: Header) -> DposSupply:
        """The supply breakdown."""
        def query(context: CallContext) -> DposSupply:
            s = supply(context)
            return DposSupply(s.total, s.minted, s.burned, s.bonded, s.unbonding, s.rewards, s.locked, s.reserve,
                              s.circulating)
        return self._read(header, query)

    # -- governance ----------------------------------------------------------------------

    def params(self, header: Header) -> list[DposParam]:
        """The chain parameters in force, in table order."""
        def query(context: CallContext) -> list[DposParam]:
            params = load_params(context)
            return [DposParam(spec.name, getattr(params, spec.name)) for spec in PARAMETERS]
        return self._read(header, query)

    def proposals(self, header: Header, limit: int) -> list[DposProposal]:
        """The pending proposals and the ``limit`` most recent ones, by id."""
        def query(context: CallContext) -> list[DposProposal]:
            governance = context.for_contract(GOVERNANCE_ADDRESS)
            count = proposal_count(governance)
            ids = sorted(set(load_ids(governance, OPEN_KEY)) | set(range(max(0, count - limit), count)))
            found = [load_proposal(governance, proposal_id) for proposal_id in ids]
            return [_proposal(governance, p) for p in found if p is not None]
        return self._read(header, query)


def _owner_of(store: StakingStore, candidate_id: int) -> bytes:
    """The owner of a candidacy (the zero address once it withdrew)."""
    candidate = store.find_candidate(candidate_id)
    return candidate.owner if candidate is not None else ZERO_ADDRESS


def _candidate(store: StakingStore, c: Candidate, elected: list[Member]) -> DposCandidate:
    rank = next((index for index, m in enumerate(elected) if m.candidate_id == c.candidate_id), None)
    member = None if rank is None else elected[rank]
    state = CANDIDATE if member is None else BACKUP if member.is_backup else VALIDATOR
    d = c.description
    return DposCandidate(
        candidate_id=c.candidate_id, owner=c.owner, pub_key=c.pub_key, pending_pub_key=c.pending_pub_key or None,
        pending_owner=c.pending_owner or None, max_amount=c.max_amount, commission_bp=c.commission_bp,
        self_stake=c.self_stake, stake=c.stake, pending_reward=c.pending_reward,
        voting_power=0 if member is None else member.power, verified=c.verified, active=c.active,
        jailed=c.jailed, missed_blocks=c.missed_blocks, delegator_count=len(store.delegators_of(c.candidate_id)),
        declared_at=c.declared_at, state=state, rank=rank,
        description=DposDescription(d.name, d.website, d.location, d.email, d.profile),
    )


def _delegation(store: StakingStore, d: Delegation) -> DposDelegation:
    return DposDelegation(_owner_of(store, d.candidate_id), d.candidate_id, d.delegator, d.amount, d.commission_bp,
                          d.rewarded, d.slashed)


def _proposal(governance: CallContext, p: Proposal) -> DposProposal:
    votes = tuple(DposVote(v.voter, v.answer.name.lower(), v.power) for v in load_votes(governance, p.id))
    return DposProposal(
        proposal_id=p.id, kind=p.kind.name.lower(), proposer=p.proposer, reason=p.reason,
        to=None if p.to == ZERO_ADDRESS else p.to, amount=p.amount, name=p.name, value=p.value,
        status=p.status.name.lower(), created_at=p.created_at, expire_at=p.expire_at, decided_at=p.decided_at,
        detail=p.detail, votes=votes,
    )
