"""``cmnode gov ...``: governance proposals and votes of validators and backups.

``propose-transfer``, ``propose-param`` and ``vote`` are signed transactions
to the governance native contract (ABI of ``IGovernance.sol``), sent like the
``cmnode stake`` transactions; ``proposals`` reads ``cmt_queryProposals``
(``--json``: the RPC answer as it is). Parameter names and values are those
of ``cmt_queryParams`` and docs/governance.md (integers in decimal, e.g. wei
for amounts; ``true``/``false``; 0x addresses).
"""
from __future__ import annotations

from typing import Any

import click

from cybermiles_node.chainclient.abi import format_amount, parse_address
from cybermiles_node.cli.contracts import rpc_option
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.cli.stake import (
    EXPECTED,
    block_option,
    block_param,
    hex_int,
    native_transaction,
    parse_cmt,
    query,
    transaction_command,
)

#: The answers of a vote, as ``IGovernance.vote`` numbers them.
ANSWERS = {"yes": 0, "no": 1, "abstain": 2}


@click.group("gov")
def gov() -> None:
    """Governance: proposals to pay from the foundation reserve or change a chain parameter, and votes."""


@transaction_command(gov, "propose-transfer")
@click.argument("recipient")
@click.option("--amount", required=True, help="CMT to pay from the foundation reserve, e.g. 1000.5.")
@click.option("--reason", default="", help="Why (at most 1024 bytes).")
def propose_transfer(tx: dict[str, Any], recipient: str, amount: str, reason: str) -> None:
    """Propose paying CMT from the foundation reserve to RECIPIENT."""
    with reporting_errors(tx["json_output"], EXPECTED):
        to = parse_address(recipient, "recipient address")
        value = parse_cmt(amount, "--amount")
    native_transaction("IGovernance", "proposeTransfer", [to, value, reason], 0, tx,
                       f"Proposed paying {format_amount(value)} from the reserve to {to}")


@transaction_command(gov, "propose-param")
@click.argument("name")
@click.argument("value")
@click.option("--reason", default="", help="Why (at most 1024 bytes).")
def propose_param(tx: dict[str, Any], name: str, value: str, reason: str) -> None:
    """Propose setting chain parameter NAME to VALUE (e.g. max_validators 21)."""
    native_transaction("IGovernance", "proposeParam", [name, value, reason], 0, tx,
                       f"Proposed setting {name} to {value}")


@transaction_command(gov, "vote")
@click.argument("proposal_id", type=AsciiIntRange(min=0))
@click.argument("answer", type=click.Choice(sorted(ANSWERS)))
def vote(tx: dict[str, Any], proposal_id: int, answer: str) -> None:
    """Answer proposal PROPOSAL_ID with yes, no or abstain (a later vote replaces an earlier one)."""
    native_transaction("IGovernance", "vote", [proposal_id, ANSWERS[answer]], 0, tx,
                       f"Voted {answer} on proposal {proposal_id}")


def _proposal_lines(p: dict[str, Any]) -> list[str]:
    what = (f"pay {format_amount(hex_int(p['amount']))} to {p['to']}" if p["kind"] == "transfer"
            else f"set {p['name']} to {p['value']}")
    lines = [(f"#{hex_int(p['id'])} {p['status']:<8} {what}  (by {p['proposer']}, expires at block time "
             f"{hex_int(p['expireAt'])})")]
    if p["reason"]:
        lines.append(f"    reason: {p['reason']}")
    if p["detail"]:
        lines.append(f"    outcome: {p['detail']}")
    lines += [f"    {v['voter']} voted {v['answer']} with power {hex_int(v['power'])}" for v in p["votes"]]
    return lines


@gov.command("proposals")
@block_option
@rpc_option
@json_option
def proposals(block: str, rpc_url: str, json_output: bool) -> None:
    """List the pending proposals and the 100 most recent, with their votes (cmt_queryProposals)."""
    answer = query(rpc_url, json_output, "cmt_queryProposals", block_param(block, json_output))
    lines = [f"At block {hex_int(answer['height'])}:"]
    lines += [line for p in answer["data"] for line in _proposal_lines(p)] or ["no proposals"]
    emit(json_output, answer, lines)


def add_gov_commands(group: click.Group) -> None:
    """Register ``cmnode gov ...`` on the top-level command group."""
    group.add_command(gov)
