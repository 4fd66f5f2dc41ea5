"""Where governance keeps its proposals and votes: the governance contract's storage.

Layout (all byte strings of ``CallContext.store_bytes``, except the counter):

* slot ``COUNT_SLOT``: the number of proposals ever made (ids are 0, 1, ...);
* ``b"gov.proposal" ++ id`` (32-byte id): the proposal, RLP (``encode_proposal``);
* ``b"gov.votes" ++ id``: its votes, RLP list of ``[voter, answer, power]`` in
  the order voters first voted;
* ``b"gov.open"``: ids of pending proposals, ascending;
* ``b"gov.approved"``: ids of approved proposals awaiting execution, ascending.

The chain parameters share this storage under ``params.PARAMS_KEY``.
"""
from __future__ import annotations

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from consensus.dpos.errors import DposError
from consensus.dpos.governance import Answer, Kind, Proposal, Status, Vote
from vm.native.framework import CallContext

COUNT_SLOT = 0
OPEN_KEY = b"gov.open"
APPROVED_KEY = b"gov.approved"

_ADDRESS = Binary.fixed_length(20)
_PROPOSAL = List([
    big_endian_int, big_endian_int, _ADDRESS, binary, big_endian_int, big_endian_int, _ADDRESS, big_endian_int,
    binary, binary, big_endian_int, big_endian_int, binary,
])
_VOTES = CountableList(List([_ADDRESS, big_endian_int, big_endian_int]))
_IDS = CountableList(big_endian_int)


class CorruptGovernanceState(DposError):
    """Stored governance data that does not decode (never expected on a valid chain)."""


def _proposal_key(proposal_id: int) -> bytes:
    return b"gov.proposal" + proposal_id.to_bytes(32, "big")


def _votes_key(proposal_id: int) -> bytes:
    return b"gov.votes" + proposal_id.to_bytes(32, "big")


def encode_proposal(proposal: Proposal) -> bytes:
    """The stored form of a proposal (RLP of its fields in declaration order, text as UTF-8)."""
    return rlp.encode([
        proposal.id, int(proposal.kind), proposal.proposer, proposal.reason.encode(), proposal.created_at,
        proposal.expire_at, proposal.to, proposal.amount, proposal.name.encode(), proposal.value.encode(),
        int(proposal.status), proposal.decided_at, proposal.detail.encode(),
    ], sedes=_PROPOSAL)


def decode_proposal(data: bytes) -> Proposal:
    """The proposal stored as ``data``."""
    try:
        (pid, kind, proposer, reason, created_at, expire_at, to, amount, name, value, status, decided_at,
         detail) = rlp.decode(data, sedes=_PROPOSAL)
        return Proposal(
            id=pid, kind=Kind(kind), proposer=proposer, reason=reason.decode(), created_at=created_at,
            expire_at=expire_at, to=to, amount=amount, name=name.decode(), value=value.decode(),
            status=Status(status), decided_at=decided_at, detail=detail.decode(),
        )
    except (rlp.DecodingError, rlp.DeserializationError, ValueError) as exc:
        raise CorruptGovernanceState(f"Governance: stored proposal does not decode: {exc}") from None


def proposal_count(context: CallContext) -> int:
    """How many proposals were ever made (the next id)."""
    return context.load(COUNT_SLOT)


def new_proposal_id(context: CallContext) -> int:
    """Reserve and return the next proposal id."""
    proposal_id = context.load(COUNT_SLOT)
    context.store(COUNT_SLOT, proposal_id + 1)
    return proposal_id


def load_proposal(context: CallContext, proposal_id: int) -> Proposal | None:
    """The proposal ``proposal_id`` (None if there is none)."""
    data = context.load_bytes(_proposal_key(proposal_id))
    return None if data is None else decode_proposal(data)


def save_proposal(context: CallContext, proposal: Proposal) -> None:
    """Write ``proposal`` (new or updated)."""
    context.store_bytes(_proposal_key(proposal.id), encode_proposal(proposal))


def load_votes(context: CallContext, proposal_id: int) -> tuple[Vote, ...]:
    """The votes on ``proposal_id``, in the order voters first voted."""
    data = context.load_bytes(_votes_key(proposal_id))
    if data is None:
        return ()
    try:
        rows = rlp.decode(data, sedes=_VOTES)
        return tuple(Vote(voter=voter, answer=Answer(answer), power=power) for voter, answer, power in rows)
    except (rlp.DecodingError, rlp.DeserializationError, ValueError) as exc:
        raise CorruptGovernanceState(f"Governance: stored votes do not decode: {exc}") from None


def save_votes(context: CallContext, proposal_id: int, votes: tuple[Vote, ...]) -> None:
    """Write the votes on ``proposal_id``."""
    rows = [[vote.voter, int(vote.answer), vote.power] for vote in votes]
    context.store_bytes(_votes_key(proposal_id), rlp.encode(rows, sedes=_VOTES))


def load_ids(context: CallContext, key: bytes) -> tuple[int, ...]:
    """The ascending id list under ``key`` (``OPEN_KEY`` or ``APPROVED_KEY``)."""
    data = context.load_bytes(key)
    if data is None:
        return ()
    try:
        return tuple(rlp.decode(data, sedes=_IDS))
    except (rlp.DecodingError, rlp.DeserializationError) as exc:
        raise CorruptGovernanceState(f"Governance: stored id list does not decode: {exc}") from None


def save_ids(context: CallContext, key: bytes, ids: tuple[int, ...]) -> None:
    """Write the id list under ``key`` (kept ascending)."""
    context.store_bytes(key, rlp.encode(sorted(ids), sedes=_IDS))
