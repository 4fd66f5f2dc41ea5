"""``cmnode jury ...``: serve as a juror (``middleware/jury/IJury.sol`` at ``0x…0C15``).

``stake``, ``unstake`` and ``withdraw`` move a juror's stake; ``commit`` and ``reveal`` vote
in a case the juror was drawn for (``--index`` is its position in the case's jurors, which
``status --case`` lists). All sign a call of the jury contract with a keystore account, as
``cmnode stake`` does; a call the contract refuses is reported with its revert reason
before anything is sent. ``commit`` draws a random salt, keeps it with the vote in the node
home (``jury-salts.json``, mode 0600) before sending, and prints it on stderr so the juror can
keep a copy; ``reveal`` reads it back (or takes ``--salt``). ``status`` reads a juror's stakes
(``--juror``) and a case (``--case``: terms, windows, jurors and their votes).
"""
from __future__ import annotations

import secrets
from typing import Any

import click
import eth_abi
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from cybermiles_node.chainclient.abi import format_amount, parse_address
from cybermiles_node.chainclient.errors import ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient
from cybermiles_node.cli.contracts import rpc_option
from cybermiles_node.cli.output import emit, json_option, note, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.cli.stake import EXPECTED, native_transaction, parse_cmt, transaction_command, unlock
from cybermiles_node.home import NodeHome
from middleware.jury.contract import MAX_JURORS, commitment_of
from middleware.jury.errors import JuryError
from middleware.jury.salts import SaltBook, SealedVote
from vm.native.addresses import JURY_ADDRESS

RULINGS = {0: "pending", 1: "for (yes)", 2: "against (no)", 3: "undecided"}
JURY_EXPECTED = (*EXPECTED, JuryError)
VOTE = click.Choice(["yes", "no"])


@click.group("jury")
def jury() -> None:
    """Juror registry: stake as a juror, vote in the cases you are drawn for."""


def _view(rpc_url: str, signature: str, values: list[Any], returns: list[str]) -> tuple[Any, ...]:
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    data = function_signature_to_4byte_selector(signature) + eth_abi.encode(types, values)
    answer = RpcClient(rpc_url).call("eth_call", {"to": "0x" + JURY_ADDRESS.hex(), "data": "0x" + data.hex()},
                                     "latest")
    return tuple(eth_abi.decode(returns, bytes.fromhex(answer[2:])))


def _salts(tx: dict[str, Any]) -> SaltBook:
    return SaltBook(NodeHome.resolve(tx["home"]).jury_salts)


def _juror(tx: dict[str, Any]) -> tuple[bytes, bytes, int]:
    """The sender's unlocked key, its address and the node's chain id (the salts file's keys)."""
    key = unlock(tx)
    chain_id = int(RpcClient(tx["rpc_url"]).call("eth_chainId"), 16)
    return key, bytes.fromhex(Account.from_key(key).address[2:]), chain_id


def _salt_option(text: str | None) -> bytes | None:
    if text is None:
        return None
    if not text.startswith("0x") or len(text) != 66:
        raise ChainClientError(f"--salt: {text!r} is not 0x and 64 hex digits")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ChainClientError(f"--salt: {text!r} is not 0x and 64 hex digits") from None


@transaction_command(jury, "stake")
@click.option("--amount", required=True, help="CMT added to the active stake, e.g. 10.5 (the stake must reach 1 CMT).")
def stake(tx: dict[str, Any], amount: str) -> None:
    """Opt in as a juror, or add stake."""
    with reporting_errors(tx["json_output"], JURY_EXPECTED):
        value = parse_cmt(amount, "--amount")
    native_transaction("IJury", "stake", [], value, tx, f"Staked {format_amount(value)} as a juror")


@transaction_command(jury, "unstake")
@click.option("--amount", required=True, help="CMT taken out of the draws, withdrawable after the unbonding period.")
def unstake(tx: dict[str, Any], amount: str) -> None:
    """Leave (part of) the juror stake: out of the draws at once, withdrawable after 21 days."""
    with reporting_errors(tx["json_output"], JURY_EXPECTED):
        value = parse_cmt(amount, "--amount")
    native_transaction("IJury", "requestUnstake", [value], 0, tx, f"Unstaking {format_amount(value)}")


@transaction_command(jury, "withdraw")
def withdraw(tx: dict[str, Any]) -> None:
    """Withdraw the unbonding stake once its period has passed."""
    native_transaction("IJury", "withdraw", [], 0, tx, "Withdrew the unbonding juror stake")


@transaction_command(jury, "commit")
@click.argument("case_id", metavar="CASE", type=AsciiIntRange(1))
@click.option("--index", type=AsciiIntRange(0, MAX_JURORS - 1), required=True,
              help="Your position in the case's jurors (cmnode jury status --case CASE).")
@click.option("--vote", type=VOTE, required=True, help="Your vote.")
@click.option("--salt", help="0x and 64 hex digits (default: a fresh random salt).")
def commit(tx: dict[str, Any], case_id: int, index: int, vote: str, salt: str | None) -> None:
    """Commit a sealed vote in CASE; the salt is kept in the node home for the reveal."""
    with reporting_errors(tx["json_output"], JURY_EXPECTED):
        sealed = SealedVote(vote == "yes", _salt_option(salt) or secrets.token_bytes(32))
        key, juror, chain_id = _juror(tx)
        book = _salts(tx)
        book.record(chain_id, case_id, index, juror, sealed)
    note(tx["json_output"], f"salt 0x{sealed.salt.hex()} for your '{vote}' (kept in {book.path})")
    native_transaction("IJury", "commitVote", [case_id, index, commitment_of(case_id, juror, sealed.vote, sealed.salt)],
                       0, tx, f"Committed a vote as juror {index} of case {case_id}", key)


@transaction_command(jury, "reveal")
@click.argument("case_id", metavar="CASE", type=AsciiIntRange(1))
@click.option("--index", type=AsciiIntRange(0, MAX_JURORS - 1), required=True,
              help="Your position in the case's jurors.")
@click.option("--vote", type=VOTE, required=True, help="The vote you committed.")
@click.option("--salt", help="The salt printed at commit (default: the one kept in the node home).")
def reveal(tx: dict[str, Any], case_id: int, index: int, vote: str, salt: str | None) -> None:
    """Reveal your committed vote in CASE (after its commit window, before its reveal window ends)."""
    with reporting_errors(tx["json_output"], JURY_EXPECTED):
        key, juror, chain_id = _juror(tx)
        given = _salt_option(salt)
        if given is None:
            kept = _salts(tx).lookup(chain_id, case_id, index, juror)
            if kept.vote != (vote == "yes"):
                raise ChainClientError(f"you committed '{'yes' if kept.vote else 'no'}' in case {case_id}, "
                                       f"not '{vote}': the reveal would not match the commitment")
            given = kept.salt
    native_transaction("IJury", "revealVote", [case_id, index, vote == "yes", given], 0, tx,
                       f"Revealed '{vote}' as juror {index} of case {case_id}", key)


@jury.command("status")
@click.option("--juror", help="Show this juror's stakes.")
@click.option("--case", "case_id", type=AsciiIntRange(1), help="Show this case: terms, windows, jurors, votes.")
@rpc_option
@json_option
def status(juror: str | None, case_id: int | None, rpc_url: str, json_output: bool) -> None:
    """The juror registry's totals, a juror's stakes (--juror) and a case (--case)."""
    with reporting_errors(json_output, JURY_EXPECTED):
        address = None if juror is None else parse_address(juror, "--juror")
        (total,) = _view(rpc_url, "totalStake()", [], ["uint256"])
        (cases,) = _view(rpc_url, "caseCount()", [], ["uint256"])
        document: dict[str, Any] = {"totalStake": str(total), "caseCount": cases}
        lines = [f"jurors' active stake {format_amount(total)}, {cases} cases"]
        if address is not None:
            active, unbonding, available_at = _view(rpc_url, "jurorOf(address)", [address],
                                                    ["uint256", "uint256", "uint64"])
            document["juror"] = {"address": address, "active": str(active), "unbonding": str(unbonding),
                                 "availableAt": available_at}
            lines.append(f"juror {address}: active {format_amount(active)}, unbonding {format_amount(unbonding)}"
                         + (f" (withdrawable from block time {available_at})" if unbonding else ""))
        if case_id is not None:
            if case_id > cases:
                raise ChainClientError(f"case {case_id} does not exist ({cases} cases)")
            document["case"], case_lines = _case(rpc_url, case_id)
            lines += case_lines
    emit(json_output, document, lines)


def _case(rpc_url: str, case_id: int) -> tuple[dict[str, Any], list[str]]:
    creator, ruling, votes_for, votes_against, commit_ends, reveal_ends = _view(
        rpc_url, "caseInfo(uint256)", [case_id], ["address", "uint8", "uint32", "uint32", "uint64", "uint64"])
    count, stake_per_juror, fee, commit_seconds, reveal_seconds, beacon = _view(
        rpc_url, "caseTerms(uint256)", [case_id], ["uint32", "uint256", "uint256", "uint64", "uint64", "uint64"])
    (drawn,) = _view(rpc_url, "jurors(uint256)", [case_id], ["address[]"])
    seats = []
    for index, address in enumerate(drawn):
        committed, revealed, vote = _view(rpc_url, "voteOf(uint256,uint32)", [case_id, index],
                                          ["bool", "bool", "bool"])
        seats.append({"index": index, "juror": to_checksum_address(address), "committed": committed,
                      "revealed": revealed, "vote": ("yes" if vote else "no") if revealed else None})
    document = {"id": case_id, "creator": to_checksum_address(creator), "ruling": ruling, "votesFor": votes_for,
                "votesAgainst": votes_against, "jurors": count, "stakePerJuror": str(stake_per_juror),
                "fee": str(fee), "commitSeconds": commit_seconds, "revealSeconds": reveal_seconds,
                "beaconHeight": beacon, "commitEnds": commit_ends, "revealEnds": reveal_ends, "seats": seats}
    lines = [f"case {case_id} by {to_checksum_address(creator)}: {RULINGS.get(ruling, ruling)}, "
             f"{votes_for} for / {votes_against} against",
             f"  {count} jurors, {format_amount(stake_per_juror)} at stake each, fee {format_amount(fee)}",
             f"  drawn from the beacon of height {beacon}" if not drawn else
             f"  commit until block time {commit_ends}, reveal until {reveal_ends}"]
    for seat in seats:
        state = f"revealed {seat['vote']}" if seat["revealed"] else "committed" if seat["committed"] else "silent"
        lines.append(f"  {seat['index']:>3} {seat['juror']} {state}")
    return document, lines


def add_jury_commands(group: click.Group) -> None:
    """Register ``cmnode jury ...`` on the top-level command group."""
    group.add_command(jury)
