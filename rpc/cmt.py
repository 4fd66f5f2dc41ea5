"""The ``cmt_`` namespace: CyberMiles-specific node and chain queries.

``cmt_status`` reports what an operator checks first: the committed height,
the consensus round and step in progress, peers, and whether the node is
still catching up.

The ``cmt_query*`` methods read delegated proof of stake (staking and
governance) after a block: each takes an optional last argument naming the
block as ``eth_getBalance`` does (number, tag or EIP-1898 object; default
``latest``) and answers ``{"height": <block number>, "data": ...}``, as the
Travis chain did. Numbers and amounts (wei) are 0x-hex quantities, byte
strings and addresses 0x-hex data, like the ``eth_`` namespace. Result
shapes: ``docs/rpc-cmt.md``.

``cmt_cidOf`` gives the IPFS CIDv1 of a file's bytes, as ``cmnode ipfs cid``
computes it (``docs/ipfs.md``).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rpc.backend import (
    Backend,
    DposCandidate,
    DposDelegation,
    DposProposal,
    DposUnbonding,
)
from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import ResourceNotFound
from rpc.formatting import data, quantity
from rpc.params import LATEST, Args, parse_address, parse_block_ref, parse_data

#: Most recent proposals ``cmt_queryProposals`` returns besides the pending ones.
MAX_PROPOSALS = 100


class CmtAPI:
    """Handlers of the ``cmt_`` methods."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.chain = ChainReader(backend, cache_blocks=0)  # block references only: no transactions decoded

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "cmt_status": self.status,
            "cmt_queryValidators": self.query_validators,
            "cmt_queryValidator": self.query_validator,
            "cmt_queryDelegator": self.query_delegator,
            "cmt_queryAwardInfos": self.query_award_infos,
            "cmt_queryAbsentValidators": self.query_absent_validators,
            "cmt_queryProposals": self.query_proposals,
            "cmt_queryParams": self.query_params,
            "cmt_querySupply": self.query_supply,
            "cmt_getBlockEvents": self.get_block_events,
            "cmt_cidOf": self.cid_of,
        }

    async def status(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_status``: height, round, step, peers, catching up, validator address, node id."""
        Args(params, 0, 0)
        status = await self.backend.consensus_status()
        return {
            "height": status.height,
            "round": status.round,
            "step": status.step,
            "peers": await self.backend.peer_count(),
            "catchingUp": await self.backend.syncing() is not None,
            "validator": None if status.validator is None else "0x" + status.validator.hex(),
            "nodeId": status.node_id,
            "moniker": status.moniker,
        }

    async def cid_of(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_cidOf(data)``: the IPFS CIDv1 of a file holding ``data``, its codec and its bytes32 digest."""
        content = await self.backend.content_id(Args(params, 1, 1).get(0, parse_data))
        return {"cid": content.cid, "codec": content.codec, "digest": data(content.digest)}

    async def _at_block(self, params: Any, address_arg: bool,
                        read: Callable[..., Awaitable[Any]]) -> dict[str, Any]:
        """Parse ``[address,] [block]``, resolve the block, and wrap ``read([address,] height)``'s answer."""
        first = 1 if address_arg else 0
        args = Args(params, first, first + 1)
        leading = (args.get(0, parse_address),) if address_arg else ()
        height = await self.chain.state_height(args.optional(first, parse_block_ref, LATEST))
        return {"height": quantity(height), "data": await read(*leading, height)}

    async def query_validators(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryValidators([block])``: every candidacy, validators and backups first in rank order."""
        async def read(height: int) -> list[dict[str, Any]]:
            return [format_candidate(c) for c in await self.backend.dpos_candidates(height)]
        return await self._at_block(params, False, read)

    async def query_validator(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryValidator(owner, [block])``: one candidacy by its owner account."""
        async def read(owner: bytes, height: int) -> dict[str, Any]:
            candidate = await self.backend.dpos_candidate(owner, height)
            if candidate is None:
                raise ResourceNotFound(f"no candidate owned by {data(owner)} at block {height}")
            return format_candidate(candidate)
        return await self._at_block(params, True, read)

    async def query_delegator(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryDelegator(address, [block])``: an account's delegations and pending unbondings."""
        async def read(address: bytes, height: int) -> dict[str, Any]:
            found = await self.backend.dpos_delegator(address, height)
            return {
                "address": data(found.address),
                "delegations": [format_delegation(d) for d in found.delegations],
                "unbondings": [format_unbonding(u) for u in found.unbondings],
            }
        return await self._at_block(params, True, read)

    async def query_award_infos(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryAwardInfos([block])``: what each candidacy got from the latest block that paid awards."""
        async def read(height: int) -> list[dict[str, Any]]:
            return [
                {"owner": data(a.owner), "id": quantity(a.candidate_id), "amount": quantity(a.amount)}
                for a in await self.backend.dpos_awards(height)
            ]
        return await self._at_block(params, False, read)

    async def query_absent_validators(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryAbsentValidators([block])``: elected members with consecutive missed blocks."""
        async def read(height: int) -> list[dict[str, Any]]:
            return [
                {"owner": data(a.owner), "pubKey": data(a.pub_key), "missedBlocks": quantity(a.missed_blocks)}
                for a in await self.backend.dpos_absent_validators(height)
            ]
        return await self._at_block(params, False, read)

    async def query_proposals(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryProposals([block])``: pending proposals and the 100 most recent, by id, with votes."""
        async def read(height: int) -> list[dict[str, Any]]:
            return [format_proposal(p) for p in await self.backend.dpos_proposals(height, MAX_PROPOSALS)]
        return await self._at_block(params, False, read)

    async def query_params(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_queryParams([block])``: the chain parameters in force by name."""
        async def read(height: int) -> dict[str, Any]:
            return {p.name: format_param_value(p.value) for p in await self.backend.dpos_params(height)}
        return await self._at_block(params, False, read)

    async def get_block_events(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``cmt_getBlockEvents(block)``: the events the block's begin/end hooks emitted, as log objects.

        They come from no transaction (block rewards, elections, slashing, workflow timers,
        governance execution), so they are not in receipts; ``logIndex`` counts them within
        the block.
        """
        args = Args(params, 1, 1)
        block = await self.chain.block(args.get(0, parse_block_ref))
        if block is None:
            raise ResourceNotFound("header not found")
        events = await self.backend.get_block_events(block.hash)
        return [
            {
                "blockHash": data(block.hash),
                "blockNumber": quantity(block.number),
                "logIndex": quantity(index),
                "address": data(event.address),
                "topics": [data(topic) for topic in event.topics],
                "data": data(event.data),
            }
            for index, event in enumerate(events)
        ]

    async def query_supply(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_querySupply([block])``: total, minted, burned, bonded, unbonding, rewards, locked, reserve, circulating."""
        async def read(height: int) -> dict[str, str]:
            s = await self.backend.dpos_supply(height)
            return {
                "total": quantity(s.total), "minted": quantity(s.minted), "burned": quantity(s.burned),
                "bonded": quantity(s.bonded), "unbonding": quantity(s.unbonding), "rewards": quantity(s.rewards),
                "locked": quantity(s.locked), "reserve": quantity(s.reserve),
                "circulating": quantity(s.circulating),
            }
        return await self._at_block(params, False, read)


def _optional_data(value: bytes | None) -> str | None:
    return None if value is None else data(value)


def format_candidate(c: DposCandidate) -> dict[str, Any]:
    """The JSON form of a candidacy."""
    d = c.description
    return {
        "id": quantity(c.candidate_id),
        "owner": data(c.owner),
        "pubKey": data(c.pub_key),
        "pendingPubKey": _optional_data(c.pending_pub_key),
        "pendingOwner": _optional_data(c.pending_owner),
        "maxAmount": quantity(c.max_amount),
        "commissionBp": quantity(c.commission_bp),
        "selfStake": quantity(c.self_stake),
        "stake": quantity(c.stake),
        "pendingReward": quantity(c.pending_reward),
        "votingPower": quantity(c.voting_power),
        "verified": c.verified,
        "active": c.active,
        "jailed": c.jailed,
        "missedBlocks": quantity(c.missed_blocks),
        "numOfDelegators": quantity(c.delegator_count),
        "declaredAt": quantity(c.declared_at),
        "state": c.state,
        "rank": None if c.rank is None else quantity(c.rank),
        "description": {
            "name": d.name, "website": d.website, "location": d.location, "email": d.email, "profile": d.profile,
        },
    }


def format_delegation(d: DposDelegation) -> dict[str, Any]:
    """The JSON form of a delegation."""
    return {
        "candidate": data(d.candidate),
        "candidateId": quantity(d.candidate_id),
        "delegator": data(d.delegator),
        "amount": quantity(d.amount),
        "commissionBp": quantity(d.commission_bp),
        "rewarded": quantity(d.rewarded),
        "slashed": quantity(d.slashed),
    }


def format_unbonding(u: DposUnbonding) -> dict[str, Any]:
    """The JSON form of a pending unbonding."""
    return {
        "seq": quantity(u.seq),
        "candidate": data(u.candidate),
        "candidateId": quantity(u.candidate_id),
        "amount": quantity(u.amount),
        "matureTime": quantity(u.mature_time),
    }


def format_proposal(p: DposProposal) -> dict[str, Any]:
    """The JSON form of a governance proposal and its votes."""
    return {
        "id": quantity(p.proposal_id),
        "kind": p.kind,
        "proposer": data(p.proposer),
        "reason": p.reason,
        "to": _optional_data(p.to),
        "amount": quantity(p.amount),
        "name": p.name,
        "value": p.value,
        "status": p.status,
        "createdAt": quantity(p.created_at),
        "expireAt": quantity(p.expire_at),
        "decidedAt": quantity(p.decided_at),
        "detail": p.detail,
        "votes": [{"voter": data(v.voter), "answer": v.answer, "power": quantity(v.power)} for v in p.votes],
    }


def format_param_value(value: int | bool | bytes) -> Any:
    """A parameter value: booleans as JSON booleans, addresses as 0x data, integers as quantities."""
    if isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        return data(value)
    return quantity(value)
