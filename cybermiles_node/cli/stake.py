"""``cmnode stake ...``: stake CMT, run a validator candidacy and read the validator set.

Transactions (``declare``, ``update``, ``withdraw-candidacy``, ``activate``,
``deactivate``, ``delegate``, ``withdraw``, ``set-comp-rate``) are signed with
a keystore account exactly like ``cmnode transact`` and call the staking
native contract with the published ABI of its interface
(``consensus/dpos/IStaking.abi.json``, generated from ``IStaking.sol``). A rule the contract refuses is reported with its revert reason
before anything is sent. Queries (``validators``, ``candidate``,
``delegator``) use the ``cmt_query*`` RPC methods; their ``--json`` output
is the RPC answer as it is (``{"height", "data"}``, numbers as 0x-hex).

Amounts are CMT: ``--amount 1000.5`` is 1000.5 CMT; a unit may be given
(``2000000gwei``, ``5wei``). Commission rates are basis points (1/10,000).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_account import Account

import consensus.dpos
import middleware.jury
import vm.sponsorship
from consensus.errors import ValidatorKeyFileError
from consensus.keys import ValidatorKey
from cybermiles_node.chainclient.abi import (
    decode_logs,
    encode_calldata,
    exact_json,
    find_function,
    format_amount,
    parse_address,
    parse_amount,
)
from cybermiles_node.chainclient.errors import ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.chainclient.transactions import build_tx_options, send_transaction
from cybermiles_node.cli.contracts import block_id, event_lines, receipt_lines, rpc_option, tx_options, unlock_account
from cybermiles_node.cli.output import emit, json_option, progress_note, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.home import NodeHome
from cybermiles_node.keystore import KeystoreError
from vm.native.addresses import GOVERNANCE_ADDRESS, JURY_ADDRESS, SPONSOR_ADDRESS, STAKING_ADDRESS

F = TypeVar("F", bound=Callable[..., Any])

#: Where the published interfaces of the native contracts are.
INTERFACES = Path(consensus.dpos.__file__).resolve().parent
#: Interfaces published beside other packages, by name.
INTERFACE_DIRS = {
    "ISponsor": Path(vm.sponsorship.__file__).resolve().parent,
    "IJury": Path(middleware.jury.__file__).resolve().parent,
}
#: Name of each native contract's interface, with its address.
CONTRACTS = {
    "IStaking": STAKING_ADDRESS,
    "IGovernance": GOVERNANCE_ADDRESS,
    "ISponsor": SPONSOR_ADDRESS,
    "IJury": JURY_ADDRESS,
}
#: Errors every stake and gov command reports as one line.
EXPECTED = (KeystoreError, RpcClientError, ChainClientError, ValidatorKeyFileError)
PUB_KEY_BYTES = 32
MAX_BASIS_POINTS = 10_000
DESCRIPTION_FIELDS = ("name", "website", "location", "email", "profile")


@functools.cache
def interface_abi(name: str) -> list[dict[str, Any]]:
    """The ABI of the native contract interface ``name`` (``IStaking``, ``IGovernance``, ``ISponsor``), as published."""
    return json.loads((INTERFACE_DIRS.get(name, INTERFACES) / f"{name}.abi.json").read_text())


def parse_cmt(text: str, what: str) -> int:
    """An amount in wei from CMT text (``1000.5``, ``1000.5cmt``, ``5wei``), naming the option on error."""
    try:
        return parse_amount(text, default_unit="cmt")
    except ChainClientError as exc:
        raise ChainClientError(f"{what}: {exc}") from None


def native_transaction(interface: str, method: str, args: Sequence[Any], value: int, tx: dict[str, Any],
                       title: str, key: bytes | None = None) -> None:
    """Sign and send a call of ``method`` to a native contract, wait for it and print the outcome.

    ``tx`` holds the options of :func:`cybermiles_node.cli.contracts.tx_options`;
    ``key`` is the sender's unlocked key when the caller needed it already.
    """
    json_output = tx["json_output"]
    with reporting_errors(json_output, EXPECTED):
        abi = interface_abi(interface)
        function = find_function(abi, method)
        options = build_tx_options(tx["gas"], tx["max_fee"], tx["priority_fee"], tx["nonce"], tx["wait"], tx["timeout"])
        if key is None:
            key = unlock(tx)
        to = parse_address("0x" + CONTRACTS[interface].hex())
        result = send_transaction(RpcClient(tx["rpc_url"]), key, to, value, encode_calldata(function, list(args)),
                                  options, progress_note(json_output))
    events = decode_logs(abi, result.pop("logs", []))
    emit(json_output, {**result, "to": to, "method": method, "value": str(value), "events": exact_json(events)},
         receipt_lines(result, [title]) + event_lines(events))


def unlock(tx: dict[str, Any]) -> bytes:
    """The private key of the sender named by the transaction options."""
    return unlock_account(tx["home"], tx["keystore_dir"], tx["password_file"], tx["sender"])


def transaction_command(group: click.Group, name: str) -> Callable[[F], click.Command]:
    """Register a signed-transaction command: its options end up in one ``tx`` mapping."""
    tx_names = ("sender", "gas", "max_fee", "priority_fee", "nonce", "wait", "timeout", "home", "keystore_dir",
                "password_file", "rpc_url", "json_output")

    def decorate(function: F) -> click.Command:
        @functools.wraps(function)
        def command(**kwargs: Any) -> None:
            tx = {option: kwargs.pop(option) for option in tx_names}
            function(tx=tx, **kwargs)
        return group.command(name)(tx_options(command))
    return decorate


def query(rpc_url: str, json_output: bool, method: str, *params: Any) -> dict[str, Any]:
    """Call a ``cmt_query*`` method; its answer is ``{"height", "data"}``."""
    with reporting_errors(json_output, EXPECTED):
        answer: dict[str, Any] = RpcClient(rpc_url).call(method, *params)
    return answer


def block_option(command: F) -> F:
    """Add ``--block`` (number or tag, default latest) to a query."""
    return click.option("--block", default="latest", show_default=True,
                        help="Block number or tag to read the state after.")(command)


def block_param(text: str, json_output: bool) -> str:
    """``--block`` as JSON-RPC expects it."""
    with reporting_errors(json_output, EXPECTED):
        return block_id(text)


def hex_int(value: str) -> int:
    """A 0x-hex quantity of an RPC answer."""
    return int(value, 16)


# ---------------------------------------------------------------- transactions


@click.group("stake")
def stake() -> None:
    """Delegated proof of stake: candidacies, delegations and the validator set."""


def description_options(command: F) -> F:
    """Add the candidacy description options."""
    for field in reversed(DESCRIPTION_FIELDS):
        command = click.option(f"--{field}", default=None, help=f"Candidacy {field}.")(command)
    return command


def pub_key_of(text: str | None, home: Path | None) -> bytes:
    """The consensus public key given as hex, else the node home's validator key."""
    if text is None:
        return ValidatorKey.load(NodeHome.resolve(home).validator_key).public_key
    cleaned = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise ChainClientError(f"--pub-key {text!r} is not hex") from None
    if len(key) != PUB_KEY_BYTES:
        raise ChainClientError(f"--pub-key must be {PUB_KEY_BYTES} bytes (64 hex digits), got {len(key)}")
    return key


@transaction_command(stake, "declare")
@click.option("--pub-key", help="Ed25519 consensus public key, hex (default: the --home node's validator key).")
@click.option("--max-amount", required=True, help="Most stake the candidacy accepts, in CMT.")
@click.option("--amount", help="Self-stake sent, in CMT (default: max amount x self_staking_ratio_bp).")
@click.option("--commission-bp", type=AsciiIntRange(0, MAX_BASIS_POINTS), default=0, show_default=True,
              help="Commission rate on delegators' awards, in basis points.")
@description_options
def declare(tx: dict[str, Any], pub_key: str | None, max_amount: str, amount: str | None, commission_bp: int,
            **description: str | None) -> None:
    """Declare a validator candidacy, bonding its self-stake."""
    with reporting_errors(tx["json_output"], EXPECTED):
        key = pub_key_of(pub_key, tx["home"])
        maximum = parse_cmt(max_amount, "--max-amount")
        if amount is None:
            params = RpcClient(tx["rpc_url"]).call("cmt_queryParams")["data"]
            value = maximum * hex_int(params["self_staking_ratio_bp"]) // MAX_BASIS_POINTS
        else:
            value = parse_cmt(amount, "--amount")
    texts = [description[field] or "" for field in DESCRIPTION_FIELDS]
    native_transaction("IStaking", "declareCandidacy", [key, maximum, commission_bp, *texts], value, tx,
                       f"Declared candidacy of key 0x{key.hex()} with a self-stake of {format_amount(value)}")


@transaction_command(stake, "update")
@click.option("--pub-key", help="New consensus public key, hex (applies at the next election; default: keep).")
@click.option("--max-amount", help="New max amount in CMT (default: keep).")
@click.option("--amount", default="0", show_default=True, help="CMT added to the self-stake.")
@click.option("--commission-bp", type=AsciiIntRange(0, MAX_BASIS_POINTS), default=None,
              help="New commission rate in basis points (default: keep).")
@description_options
def update(tx: dict[str, Any], pub_key: str | None, max_amount: str | None, amount: str,
           commission_bp: int | None, **description: str | None) -> None:
    """Change the sender's candidacy; options not given keep their current values."""
    with reporting_errors(tx["json_output"], EXPECTED):
        key = unlock(tx)
        owner = Account.from_key(key).address
        current = RpcClient(tx["rpc_url"]).call("cmt_queryValidator", owner)["data"]
        new_key = b"\x00" * PUB_KEY_BYTES if pub_key is None else pub_key_of(pub_key, tx["home"])
        maximum = hex_int(current["maxAmount"]) if max_amount is None else parse_cmt(max_amount, "--max-amount")
        commission = hex_int(current["commissionBp"]) if commission_bp is None else commission_bp
        value = parse_cmt(amount, "--amount")
    texts = [current["description"][f] if description[f] is None else description[f] for f in DESCRIPTION_FIELDS]
    native_transaction("IStaking", "updateCandidacy", [new_key, maximum, commission, *texts], value, tx,
                       f"Updated the candidacy of {owner}", key)


@transaction_command(stake, "withdraw-candidacy")
def withdraw_candidacy(tx: dict[str, Any]) -> None:
    """Withdraw the sender's candidacy: every delegation to it starts unbonding."""
    native_transaction("IStaking", "withdrawCandidacy", [], 0, tx, "Withdrew the candidacy")


@transaction_command(stake, "activate")
def activate(tx: dict[str, Any]) -> None:
    """Activate the sender's candidacy (also after it was jailed)."""
    native_transaction("IStaking", "activateCandidacy", [], 0, tx, "Activated the candidacy")


@transaction_command(stake, "deactivate")
def deactivate(tx: dict[str, Any]) -> None:
    """Stop the sender's candidacy from being elected."""
    native_transaction("IStaking", "deactivateCandidacy", [], 0, tx, "Deactivated the candidacy")


@transaction_command(stake, "delegate")
@click.argument("candidate")
@click.option("--amount", required=True, help="CMT to bond, e.g. 1000.5.")
def delegate(tx: dict[str, Any], candidate: str, amount: str) -> None:
    """Bond CMT to the candidacy owned by CANDIDATE."""
    with reporting_errors(tx["json_output"], EXPECTED):
        owner = parse_address(candidate, "candidate address")
        value = parse_cmt(amount, "--amount")
    native_transaction("IStaking", "delegate", [owner], value, tx, f"Delegated {format_amount(value)} to {owner}")


@transaction_command(stake, "withdraw")
@click.argument("candidate")
@click.option("--amount", required=True, help="CMT to unbond, e.g. 1000.5.")
def withdraw(tx: dict[str, Any], candidate: str, amount: str) -> None:
    """Start unbonding CMT from the candidacy owned by CANDIDATE (paid after the unbonding period)."""
    with reporting_errors(tx["json_output"], EXPECTED):
        owner = parse_address(candidate, "candidate address")
        value = parse_cmt(amount, "--amount")
    native_transaction("IStaking", "withdraw", [owner, value], 0, tx,
                       f"Withdrawing {format_amount(value)} from {owner}")


@transaction_command(stake, "set-comp-rate")
@click.argument("delegator")
@click.option("--commission-bp", type=AsciiIntRange(0, MAX_BASIS_POINTS), required=True,
              help="Commission rate in basis points (at most the candidacy's).")
def set_comp_rate(tx: dict[str, Any], delegator: str, commission_bp: int) -> None:
    """Set the commission the sender's candidacy takes from DELEGATOR."""
    with reporting_errors(tx["json_output"], EXPECTED):
        address = parse_address(delegator, "delegator address")
    native_transaction("IStaking", "setCommissionRate", [address, commission_bp], 0, tx,
                       f"Set the commission of {address} to {commission_bp} basis points")


# ---------------------------------------------------------------- queries


def _candidate_line(c: dict[str, Any]) -> str:
    name = c["description"]["name"] or "-"
    flags = "".join(flag for flag, on in (("J", c["jailed"]), ("V", c["verified"]), ("-", not c["active"])) if on)
    return (f"{c['state']:<9} {c['owner']}  power {hex_int(c['votingPower']):>10}  "
            f"stake {format_amount(hex_int(c['stake'])):>24}  {name} {flags}".rstrip())


@stake.command("validators")
@block_option
@rpc_option
@json_option
def validators(block: str, rpc_url: str, json_output: bool) -> None:
    """List the validators and backups in rank order, then the other candidates (cmt_queryValidators)."""
    answer = query(rpc_url, json_output, "cmt_queryValidators", block_param(block, json_output))
    lines = [f"At block {hex_int(answer['height'])} (flags: J jailed, V verified, - inactive):"]
    lines += [_candidate_line(c) for c in answer["data"]] or ["no candidates"]
    emit(json_output, answer, lines)


@stake.command("candidate")
@click.argument("owner")
@block_option
@rpc_option
@json_option
def candidate(owner: str, block: str, rpc_url: str, json_output: bool) -> None:
    """Show the candidacy owned by OWNER (cmt_queryValidator)."""
    with reporting_errors(json_output, EXPECTED):
        address = parse_address(owner, "candidate address")
    answer = query(rpc_url, json_output, "cmt_queryValidator", address, block_param(block, json_output))
    c = answer["data"]
    d = c["description"]
    lines = [
        f"Candidate   {c['owner']} (id {hex_int(c['id'])}) at block {hex_int(answer['height'])}",
        f"state       {c['state']}" + ("" if c["rank"] is None else f" (rank {hex_int(c['rank'])})"),
        f"pub key     {c['pubKey']}" + (f" (pending {c['pendingPubKey']})" if c["pendingPubKey"] else ""),
        f"stake       {format_amount(hex_int(c['stake']))} of at most {format_amount(hex_int(c['maxAmount']))}",
        f"self-stake  {format_amount(hex_int(c['selfStake']))}",
        f"power       {hex_int(c['votingPower'])}",
        f"commission  {hex_int(c['commissionBp'])} basis points",
        f"delegators  {hex_int(c['numOfDelegators'])}",
        (f"flags       active={c['active']} verified={c['verified']} jailed={c['jailed']} "
        f"missed blocks={hex_int(c['missedBlocks'])}"),
        f"declared at block {hex_int(c['declaredAt'])}",
    ] + [f"{field:<11} {d[field]}" for field in DESCRIPTION_FIELDS if d[field]]
    emit(json_output, answer, lines)


@stake.command("delegator")
@click.argument("address")
@block_option
@rpc_option
@json_option
def delegator(address: str, block: str, rpc_url: str, json_output: bool) -> None:
    """Show the delegations and pending unbondings of ADDRESS (cmt_queryDelegator)."""
    with reporting_errors(json_output, EXPECTED):
        account = parse_address(address, "delegator address")
    answer = query(rpc_url, json_output, "cmt_queryDelegator", account, block_param(block, json_output))
    found = answer["data"]
    lines = [f"Delegator {account} at block {hex_int(answer['height'])}"]
    lines += [
        f"  delegated {format_amount(hex_int(d['amount']))} to {d['candidate']} "
        f"(commission {hex_int(d['commissionBp'])} bp, rewarded {format_amount(hex_int(d['rewarded']))}, "
        f"slashed {format_amount(hex_int(d['slashed']))})"
        for d in found["delegations"]
    ] or ["  no delegations"]
    lines += [
        f"  unbonding {format_amount(hex_int(u['amount']))} from {u['candidate']}, paid at block time "
        f"{hex_int(u['matureTime'])}"
        for u in found["unbondings"]
    ]
    emit(json_output, answer, lines)


def add_stake_commands(group: click.Group) -> None:
    """Register ``cmnode stake ...`` on the top-level command group."""
    group.add_command(stake)
