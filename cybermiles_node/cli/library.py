"""``cmnode contracts list|show|deploy``: the smart business contract library from the command line.

``list`` names the library's contracts with their NatSpec titles; ``show``
prints a contract's interface (compiled with the pinned solc-js) and the gas
table of its documentation page; ``deploy`` compiles it, encodes constructor
arguments given by name (``--arg name=value``), signs with a keystore key (or,
on a ``cmnode start --dev`` chain, with a development account), and can in
the same command register a rule set with the rules engine (``--rules``) and
deploy a process definition to the workflow engine (``--process``), both
checked offline first as ``cmnode rules check`` and ``cmnode bpm check`` do.
Rule sets and definitions are owned by the deploying account.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from eth_utils import to_checksum_address

import middleware.bpm
import middleware.rules
from cybermiles_node.chainclient.abi import (
    canonical_type,
    coerce_argument,
    constructor_of,
    decode_logs,
    encode_arguments,
    encode_calldata,
    exact_json,
    find_function,
    parse_amount,
)
from cybermiles_node.chainclient.errors import ArgumentError, ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.chainclient.transactions import TxOptions, build_tx_options, send_transaction
from cybermiles_node.cli.contracts import receipt_lines, tx_options, unlock_account
from cybermiles_node.cli.output import CommandError, emit, json_option, progress_note, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.contract_library import (
    REPOSITORY,
    GasTable,
    compile_contracts,
    find_contract,
    gas_table,
    library_contracts,
)
from cybermiles_node.keystore import KeystoreError
from cybermiles_node.solc import SolcError
from genesis.networks import DEV_ACCOUNT_COUNT, dev_accounts
from middleware.bpm.check import check_file as check_definition_file
from middleware.bpm.errors import DefinitionError
from middleware.rules.check import check_file as check_rules_file
from middleware.rules.errors import RulesError, SourceFileError
from vm.native.addresses import RULES_ADDRESS, WORKFLOW_ADDRESS

#: Errors the library commands report as one line.
_EXPECTED = (KeystoreError, RpcClientError, SolcError, ChainClientError)
#: State mutabilities named in an interface line (``nonpayable`` is the unnamed default).
_STATE_MUTABILITY_SHOWN = ("view", "pure", "payable")


@click.group("contracts")
def contracts() -> None:
    """The smart business contract library: list, show and deploy its contracts."""


@contracts.command("list")
@json_option
def contracts_list(json_output: bool) -> None:
    """List the library's contracts with a one-line summary each."""
    with reporting_errors(json_output, _EXPECTED):
        catalogue = library_contracts()
    width = max((len(name) for name in catalogue), default=0)
    emit(json_output,
         {"contracts": [{"name": c.name, "summary": c.summary, "source": _shown_path(c.source),
                         "page": _shown_path(c.page) if c.page else None} for c in catalogue.values()]},
         [f"{c.name:<{width}}  {c.summary}" for c in catalogue.values()])


@contracts.command("show")
@click.argument("name")
@json_option
def contracts_show(name: str, json_output: bool) -> None:
    """Show contract NAME's constructor, functions, events and documented gas."""
    with reporting_errors(json_output, _EXPECTED):
        contract = find_contract(name)
        abi = compile_contracts([contract])[contract.name].abi
    table = gas_table(contract)
    entries = {kind: [entry for entry in abi if entry.get("type") == kind]
               for kind in ("constructor", "function", "event")}
    lines = [f"{contract.name}: {contract.summary}", f"  source {_shown_path(contract.source)}"]
    if contract.page:
        lines.append(f"  page   {_shown_path(contract.page)}")
    lines += ["", "constructor", f"  {_describe(constructor_of(abi))}", "", "functions"]
    lines += [f"  {_describe(entry)}" for entry in sorted(entries["function"], key=lambda e: e["name"])]
    lines += ["", "events"] + [f"  {_describe(entry)}" for entry in entries["event"]]
    lines += ["", "gas"] + _gas_lines(table)
    emit(json_output,
         {"name": contract.name, "summary": contract.summary, "source": _shown_path(contract.source),
          "page": _shown_path(contract.page) if contract.page else None,
          "constructor": _parameters(constructor_of(abi)),
          "functions": [{"name": e["name"], "inputs": _parameters(e), "outputs": _parameters(e, "outputs"),
                         "stateMutability": e.get("stateMutability")} for e in entries["function"]],
          "events": [{"name": e["name"], "inputs": _parameters(e)} for e in entries["event"]],
          "gas": None if table is None else {"deployment": table.deployment, "header": list(table.header),
                                             "rows": [list(row) for row in table.rows]}},
         lines)


@contracts.command("deploy")
@click.argument("name")
@click.option("--arg", "named_args", multiple=True, metavar="NAME=VALUE",
              help="A constructor argument by name (repeat for each); arrays and tuples as JSON.")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Rule file to register with the rules engine in the same command.")
@click.option("--process", "process_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Process definition (JSON) to deploy to the workflow engine in the same command.")
@click.option("--value", default="0", show_default=True, help="CMT sent to a payable constructor.")
@click.option("--dev-account", type=AsciiIntRange(0, DEV_ACCOUNT_COUNT - 1), default=None,
              help="Sign with this development account (0-19) of a `cmnode start --dev` chain instead of a keystore.")
@tx_options
def contracts_deploy(name: str, named_args: tuple[str, ...], rules_file: Path | None, process_file: Path | None,
                     value: str, dev_account: int | None, sender: str | None, gas: int | None,
                     max_fee: str | None, priority_fee: str | None, nonce: int | None, wait: bool, timeout: float,
                     home: Path | None, keystore_dir: Path | None, password_file: Path | None, rpc_url: str,
                     json_output: bool) -> None:
    """Deploy library contract NAME; with --rules/--process also register them; print addresses and ids.

    \b
    cmnode contracts deploy LocalPromotions --rules examples/rules/local-promotion-tiers.rules --dev-account 0
    cmnode contracts deploy Groups --arg platform=0x70997970C51812dc3A010C7d01b50e0d17dc79C8 \\
        --arg creationFee=1cmt --from 0xf39f...
    """
    with reporting_errors(json_output, _EXPECTED):
        contract = find_contract(name)
        rules_source = _checked_rules(rules_file)
        definition_json = _checked_definition(process_file)
        if not wait and (rules_file or process_file):
            raise ArgumentError("--rules and --process need the deployment's receipt: remove --no-wait")
        if dev_account is not None and (sender or home or keystore_dir or password_file):
            raise ArgumentError("--dev-account signs without a keystore: drop --from, --home, --keystore "
                                "and --password-file")
        compiled = compile_contracts([contract])[contract.name]
        constructor = constructor_of(compiled.abi)
        amount = parse_amount(value)
        if amount and constructor.get("stateMutability") != "payable":
            raise ArgumentError(f"the constructor of {contract.name} is not payable: remove --value")
        values = parse_named_arguments(constructor.get("inputs", []), named_args, f"{contract.name}'s constructor")
        payload = compiled.bytecode + encode_arguments(constructor.get("inputs", []), values)
        options = build_tx_options(gas, max_fee, priority_fee, nonce, wait, timeout)
        client = RpcClient(rpc_url)
        key = (_dev_key(client, dev_account) if dev_account is not None
               else unlock_account(home, keystore_dir, password_file, sender))
        deployed = send_transaction(client, key, None, amount, payload, options, progress_note(json_output))
        deployed["events"] = exact_json(decode_logs(compiled.abi, deployed.pop("logs", [])))
        follow_up = replace(options, gas=None)
        result: dict[str, Any] = {"contract": contract.name, "address": deployed["contractAddress"], **deployed}
        lines = receipt_lines(deployed, [f"Contract:    {contract.name}", f"Address:     {deployed['contractAddress']}"
                                         + ("" if wait else " (once mined)")])
        if rules_source is not None and rules_file is not None:
            registered = _register(client, key, _next(follow_up, deployed), "IRules", RULES_ADDRESS,
                                   "registerRuleSet", rules_source, "RuleSetRegistered", "ruleSet", json_output)
            result["ruleSet"] = {**registered, "file": str(rules_file)}
            lines.append(f"Rule set:    {registered['id']} ({rules_file}, tx {registered['transactionHash']})")
            deployed = registered
        if definition_json is not None and process_file is not None:
            registered = _register(client, key, _next(follow_up, deployed), "IWorkflow", WORKFLOW_ADDRESS,
                                   "deployDefinition", definition_json, "DefinitionDeployed", "definitionId",
                                   json_output)
            result["definition"] = {**registered, "file": str(process_file)}
            lines.append(f"Definition:  {registered['id']} ({process_file}, tx {registered['transactionHash']})")
    emit(json_output, result, lines)


def parse_named_arguments(inputs: Sequence[dict[str, Any]], pairs: Sequence[str], what: str) -> list[Any]:
    """Values for ``inputs`` from ``name=value`` texts, in the inputs' order.

    A parameter's name matches with or without the leading and trailing
    underscores Solidity code uses (``biddingPeriod`` for ``biddingPeriod_``).
    A missing, unknown, repeated or ill-typed argument raises
    :class:`ArgumentError` naming it and the constructor's parameters.
    """
    by_name = {_plain_name(param, index): param for index, param in enumerate(inputs)}
    expected = ", ".join(f"{name} ({canonical_type(param)})" for name, param in by_name.items()) or "none"
    given: dict[str, str] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        name = name.strip().strip("_")
        if not separator or not name:
            raise ArgumentError(f"--arg {pair!r}: expected NAME=VALUE ({what} takes {expected})")
        if name not in by_name:
            raise ArgumentError(f"--arg {name}: {what} has no parameter {name!r} (it takes {expected})")
        if name in given:
            raise ArgumentError(f"--arg {name} is given twice")
        given[name] = text
    missing = [name for name in by_name if name not in given]
    if missing:
        raise ArgumentError(f"{what} needs --arg for {', '.join(missing)} (it takes {expected})")
    return [coerce_argument(param, given[name], f"--arg {name} ({canonical_type(param)})")
            for name, param in by_name.items()]


@functools.cache
def native_abi(interface: str) -> list[dict[str, Any]]:
    """The published ABI of the rules (``IRules``) or workflow (``IWorkflow``) interface."""
    package = middleware.rules if interface == "IRules" else middleware.bpm
    return list(json.loads((Path(package.__path__[0]) / f"{interface}.abi.json").read_text()))


def _register(client: RpcClient, key: bytes, options: TxOptions, interface: str, address: bytes, method: str,
              text: str, event: str, id_field: str, json_output: bool) -> dict[str, Any]:
    """Send ``method(text)`` to a native engine; the id its ``event`` reports and the receipt's fields."""
    abi = native_abi(interface)
    function = find_function(abi, method)
    sent = send_transaction(client, key, to_checksum_address(address), 0, encode_calldata(function, [text]),
                            options, progress_note(json_output))
    ids = [item["args"][id_field] for item in decode_logs(abi, sent.pop("logs", [])) if item["event"] == event]
    if not ids:
        raise ChainClientError(f"{method} in {sent['transactionHash']} reported no {event} event")
    return {"id": ids[0], "transactionHash": sent["transactionHash"], "gasUsed": sent["gasUsed"]}


def _next(options: TxOptions, previous: dict[str, Any]) -> TxOptions:
    """Options of the transaction after ``previous``: its nonce plus one when nonces are given."""
    return options if options.nonce is None else replace(options, nonce=int(previous.get("nonce", options.nonce)) + 1)


def _dev_key(client: RpcClient, index: int) -> bytes:
    """Development account ``index``'s key, once the node shows it runs a development chain."""
    account = dev_accounts()[index]
    address = to_checksum_address(account.address)
    listed = client.call("eth_accounts")
    if not isinstance(listed, list) or address.lower() not in {str(item).lower() for item in listed}:
        raise ArgumentError(f"--dev-account {index}: the node at {client.url} is not a `cmnode start --dev` chain "
                            f"(it does not hold {address}); sign with a keystore account (--from)")
    return account.private_key


def _checked_rules(path: Path | None) -> str | None:
    """The rule file's source once it checks as ``cmnode rules check`` checks it; ``None`` without a file."""
    if path is None:
        return None
    try:
        check_rules_file(path)
    except RulesError as exc:
        raise CommandError(str(exc) if isinstance(exc, SourceFileError) else f"{path}: {exc}") from None
    return path.read_text(encoding="utf-8")


def _checked_definition(path: Path | None) -> str | None:
    """The definition file's JSON once it checks as ``cmnode bpm check`` checks it; ``None`` without a file."""
    if path is None:
        return None
    try:
        check_definition_file(path)
    except DefinitionError as exc:
        raise CommandError(f"{path}: {exc}") from None
    return path.read_text(encoding="utf-8")


def _plain_name(param: dict[str, Any], index: int) -> str:
    """A parameter's name without Solidity's underscores, or ``argN`` when it has none."""
    return str(param.get("name") or "").strip("_") or f"arg{index}"


def _parameters(entry: dict[str, Any], key: str = "inputs") -> list[dict[str, Any]]:
    """An ABI entry's parameters as ``{"name", "type"}`` (``indexed`` for event inputs)."""
    return [{"name": _plain_name(p, i), "type": canonical_type(p), **({"indexed": True} if p.get("indexed") else {})}
            for i, p in enumerate(entry.get(key, []))]


def _describe(entry: dict[str, Any]) -> str:
    """One line for a function, event or constructor: ``name(type name, ...) view returns (type)``."""
    inputs = ", ".join(f"{p['type']}{' indexed' if p.get('indexed') else ''} {p['name']}" for p in _parameters(entry))
    text = f"{entry.get('name', 'constructor')}({inputs})"
    if entry.get("stateMutability") in _STATE_MUTABILITY_SHOWN:
        text += f" {entry['stateMutability']}"
    outputs = _parameters(entry, "outputs")
    if outputs:
        text += " returns (" + ", ".join(p["type"] for p in outputs) + ")"
    return text


def _gas_lines(table: GasTable | None) -> list[str]:
    """The gas table as aligned text lines."""
    if table is None:
        return ["  (no gas table on the contract's documentation page)"]
    rows = [table.header, *table.rows]
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(table.header))]
    lines = [f"  {table.deployment}"] if table.deployment else []
    return lines + ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
                    for row in rows]


def _shown_path(path: Path) -> str:
    """``path`` relative to the repository root, as the documentation names it."""
    try:
        return path.relative_to(REPOSITORY).as_posix()
    except ValueError:
        return str(path)


def add_contracts_commands(group: click.Group) -> None:
    """Register ``cmnode contracts`` on the ``cmnode`` command group."""
    group.add_command(contracts)
