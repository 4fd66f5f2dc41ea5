"""Executing approved governance proposals at the end of a block.

A transfer pays from the foundation reserve (the governance contract's
balance); a parameter change re-checks the value against the parameters in
force (another change may have been executed since the proposal was made) and
stores the new parameters. Either fails without effect, recording why, when it
cannot be carried out: the proposal's status becomes FAILED instead of
EXECUTED.
"""
from __future__ import annotations

from dataclasses import replace

from consensus.dpos.errors import InvalidParameter
from consensus.dpos.governance import Kind, Proposal, Status
from consensus.dpos.params import load_params, parse_value, store_params
from vm.native.framework import CallContext

RESERVE_TRANSFERRED_EVENT = "ReserveTransferred(uint256,address,uint256)"
PARAM_CHANGED_EVENT = "ParamChanged(uint256,string,string)"


def execute(context: CallContext, proposal: Proposal) -> Proposal:
    """Carry out an approved proposal in the governance contract's system context; return it EXECUTED or FAILED."""
    if proposal.kind == Kind.TRANSFER:
        reserve = context.balance(context.address)
        if reserve < proposal.amount:
            return _failed(proposal, f"the reserve holds {reserve} wei, the transfer needs {proposal.amount} wei")
        context.transfer(proposal.to, proposal.amount)
        context.emit(
            RESERVE_TRANSFERRED_EVENT,
            [("uint256", proposal.id), ("address", proposal.to)],
            [("uint256", proposal.amount)],
        )
    else:
        try:
            changed = load_params(context).with_value(proposal.name, parse_value(proposal.name, proposal.value))
        except InvalidParameter as exc:
            return _failed(proposal, str(exc))
        store_params(context, changed)
        context.emit(PARAM_CHANGED_EVENT, [("uint256", proposal.id)], [("string", proposal.name), ("string", proposal.value)])
    return replace(proposal, status=Status.EXECUTED)


def _failed(proposal: Proposal, detail: str) -> Proposal:
    return replace(proposal, status=Status.FAILED, detail=detail)
