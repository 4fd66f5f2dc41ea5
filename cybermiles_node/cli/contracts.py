"""``cmnode send|deploy|call|transact``: transactions and contract calls from the command line.

Transactions are signed locally with a key from the encrypted keystore and
sent with ``eth_sendRawTransaction``: EIP-1559 with the chain id from
``eth_chainId``, the pending nonce, fees from the node's base fee and
suggested tip, and gas from ``eth_estimateGas`` (a revert found by the
estimate stops the command before anything is sent). Contract methods are
chosen by name (or ``name(types)`` for overloads) and their arguments parsed
against the ABI types; outputs and events are decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cybermiles_node.chainclient.abi import (
    canonical_type,
    constructor_of,
    decode_logs,
    decode_outputs,
    encode_arguments,
    encode_calldata,
    exact_json,
    find_function,
    format_amount,
    hex_data,
    parse_address,
    parse_amount,
    parse_arguments,
    parse_integer,
    readable,
    signature,
)
from cybermiles_node.chainclient.errors import AmountError, ArgumentError, ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.chainclient.transactions import build_tx_options, send_transaction
from cybermiles_node.cli.accounts import (
    keystore_options,
    open_keystore,
    password_option,
    read_password,
)
from cybermiles_node.cli.output import emit, json_option, progress_note, reporting_errors
from cybermiles_node.cli.params import AsciiFloatRange, AsciiIntRange
from cybermiles_node.keystore import KeystoreError
from cybermiles_node.solc import (
    CompiledContract,
    SolcError,
    compile_file,
    from_bytecode,
    load_abi,
    load_artifact,
    select_contract,
)

#: Node URL used when neither ``--rpc`` nor ``CMNODE_RPC_URL`` is given.
DEFAULT_RPC_URL = "http://127.0.0.1:8545"

#: Environment variable holding the node URL.
RPC_URL_ENV = "CMNODE_RPC_URL"

#: Largest bytecode file read for --bytecode (hex text of the largest init code and more).
MAX_BYTECODE_FILE_BYTES = 1024 * 1024


F = TypeVar("F", bound=Callable[..., Any])

#: Errors every command reports as a one-line message.
_EXPECTED = (KeystoreError, RpcClientError, SolcError, ChainClientError)


def rpc_option(command: F) -> F:
    """Add ``--rpc URL``."""
    return click.option(
        "--rpc", "rpc_url", envvar=RPC_URL_ENV, default=DEFAULT_RPC_URL, show_default=True,
        help=f"Node JSON-RPC URL (also ${RPC_URL_ENV}).",
    )(command)


def tx_options(command: F) -> F:
    """Add the sender, fee, gas, nonce and waiting options of a signed transaction."""
    for decorator in reversed([
        click.option("--from", "sender", help="Sending account (default: the keystore's only account)."),
        click.option("--gas", type=AsciiIntRange(min=21000), help="Gas limit (default: eth_estimateGas)."),
        click.option("--max-fee", help="Max fee per gas, e.g. 2gwei (default: 2 x base fee + tip)."),
        click.option("--priority-fee", help="Priority fee per gas, e.g. 1gwei (default: the node's)."),
        click.option("--nonce", type=AsciiIntRange(min=0), help="Nonce (default: the pending nonce)."),
        click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the receipt."),
        click.option("--timeout", type=AsciiFloatRange(min=0), default=120.0, show_default=True,
                     help="Seconds to wait for the receipt."),
        keystore_options,
        password_option,
        rpc_option,
        json_option,
    ]):
        command = decorator(command)
    return command


def abi_source_options(command: F) -> F:
    """Add ``--abi``, ``--sol``, ``--artifact`` and ``--contract`` to name a contract's ABI."""
    for decorator in reversed([
        click.option("--abi", "abi_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="ABI JSON file (a list, or any JSON with an 'abi' list)."),
        click.option("--sol", "sol_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Solidity source to compile for the ABI."),
        click.option("--artifact", "artifact_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Hardhat or Foundry artifact JSON."),
        click.option("--contract", "contract_name", help="Contract name within --sol."),
        click.option("--args", "json_args", help="All arguments as one JSON array instead of ARGS."),
    ]):
        command = decorator(command)
    return command


@click.command("send")
@click.option("--to", "recipient", required=True, help="Recipient address.")
@click.option("--value", default="0", show_default=True,
              help="Amount: 1.5cmt, 100gwei or wei (a bare number).")
@click.option("--data", default="0x", show_default=True, help="Call data as 0x hex.")
@tx_options
def send(recipient: str, value: str, data: str, sender: str | None, gas: int | None, max_fee: str | None,
         priority_fee: str | None, nonce: int | None, wait: bool, timeout: float, home: Path | None,
         keystore_dir: Path | None, password_file: Path | None, rpc_url: str, json_output: bool) -> None:
    """Send CMT in a transaction signed with a keystore key.

    --data adds call data; amounts are like 1.5cmt, 100gwei or wei (a bare number).
    """
    with reporting_errors(json_output, _EXPECTED):
        to = parse_address(recipient, "--to address")
        amount = parse_amount(value)
        payload = hex_data(data, "--data")
        options = build_tx_options(gas, max_fee, priority_fee, nonce, wait, timeout)
        key = unlock_account(home, keystore_dir, password_file, sender)
        result = send_transaction(RpcClient(rpc_url), key, to, amount, payload, options, progress_note(json_output))
    result.pop("logs", None)
    emit(json_output, {**result, "to": to, "value": str(amount)},
         receipt_lines(result, [f"Sent {format_amount(amount)} to {to}"]))


@click.command("deploy")
@click.argument("args", nargs=-1)
@click.option("--artifact", "artifact_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Deploy from a Hardhat or Foundry artifact JSON.")
@click.option("--bytecode", help="Deploy raw creation bytecode (0x hex, or a file holding it); needs --abi.")
@click.option("--abi", "abi_file", type=click.Path(dir_okay=False, path_type=Path),
              help="ABI file for --bytecode.")
@click.option("--contract", "contract_name", help="Contract to deploy when the .sol file has several.")
@click.option("--args", "json_args", help="Constructor arguments as one JSON array.")
@click.option("--value", default="0", show_default=True, help="CMT sent to a payable constructor.")
@tx_options
def deploy(args: tuple[str, ...], artifact_file: Path | None, bytecode: str | None, abi_file: Path | None,
           contract_name: str | None, json_args: str | None, value: str, sender: str | None,
           gas: int | None, max_fee: str | None, priority_fee: str | None, nonce: int | None, wait: bool,
           timeout: float, home: Path | None, keystore_dir: Path | None, password_file: Path | None,
           rpc_url: str, json_output: bool) -> None:
    """Deploy a contract from a .sol file, an artifact or bytecode.

    \b
    cmnode deploy FILE.sol [--contract NAME] [ARGS]...
    cmnode deploy --artifact FILE.json [ARGS]...
    cmnode deploy --bytecode HEX --abi FILE [ARGS]...

    Constructor ARGS are parsed against the ABI: integers as decimal, 0x hex or
    amounts like 1000cmt; arrays and tuples as JSON.
    """
    with reporting_errors(json_output, _EXPECTED):
        contract, constructor_args = _deploy_target(args, artifact_file, bytecode, abi_file, contract_name)
        if not contract.bytecode:
            raise ArgumentError(f"{contract.name} has no bytecode: it is abstract or an interface")
        constructor = constructor_of(contract.abi)
        amount = parse_amount(value)
        _check_payable(constructor, amount, "the constructor")
        values = parse_arguments(constructor.get("inputs", []), constructor_args, json_args, "the constructor")
        payload = contract.bytecode + encode_arguments(constructor.get("inputs", []), values)
        options = build_tx_options(gas, max_fee, priority_fee, nonce, wait, timeout)
        key = unlock_account(home, keystore_dir, password_file, sender)
        result = send_transaction(RpcClient(rpc_url), key, None, amount, payload, options, progress_note(json_output))
    events = decode_logs(contract.abi, result.pop("logs", []))
    lines = [f"Contract: {contract.name}", f"Address:  {result['contractAddress']}"
             + ("" if wait else " (once mined)")]
    emit(json_output, {**result, "contract": contract.name, "events": exact_json(events)},
         receipt_lines(result, lines) + event_lines(events))


@click.command("call")
@click.argument("method")
@click.argument("args", nargs=-1)
@click.option("--to", "target", required=True, help="Contract address.")
@abi_source_options
@click.option("--from", "sender", help="Caller address seen by the contract (msg.sender).")
@click.option("--value", default="0", show_default=True, help="CMT sent with the call.")
@click.option("--block", default="latest", show_default=True, help="Block number or tag to call at.")
@rpc_option
@json_option
def call(method: str, args: tuple[str, ...], target: str, abi_file: Path | None, sol_file: Path | None,
         artifact_file: Path | None, contract_name: str | None, json_args: str | None, sender: str | None,
         value: str, block: str, rpc_url: str, json_output: bool) -> None:
    """Call a contract method read-only (eth_call).

    The result is decoded with the method's ABI outputs.

    METHOD is a name, or name(types) for overloads. In --json output integers
    are decimal strings.
    """
    with reporting_errors(json_output, _EXPECTED):
        to = parse_address(target, "--to address")
        abi = _load_interface(abi_file, sol_file, artifact_file, contract_name)
        function = find_function(abi, method)
        values = parse_arguments(function.get("inputs", []), args, json_args, signature(function))
        request: dict[str, Any] = {"to": to, "data": "0x" + encode_calldata(function, values).hex()}
        if sender is not None:
            request["from"] = parse_address(sender, "--from address")
        amount = parse_amount(value)
        if amount:
            request["value"] = hex(amount)
        answer = RpcClient(rpc_url).call("eth_call", request, block_id(block))
        outputs = function.get("outputs", [])
        decoded = decode_outputs(outputs, hex_data(str(answer), "the node's answer"))
    names = [p.get("name") or f"output{i}" for i, p in enumerate(outputs)]
    if len(decoded) == 1:
        lines = [readable(decoded[0])]
    elif decoded:
        lines = [
            f"{name} ({canonical_type(p)}): {readable(v)}"
            for name, p, v in zip(names, outputs, decoded, strict=True)
        ]
    else:
        lines = ["(no return value)"]
    emit(json_output, {"method": signature(function), "result": exact_json(decoded),
                       "outputs": exact_json(dict(zip(names, decoded, strict=True)))}, lines)


@click.command("transact")
@click.argument("method")
@click.argument("args", nargs=-1)
@click.option("--to", "target", required=True, help="Contract address.")
@abi_source_options
@click.option("--value", default="0", show_default=True, help="CMT sent to a payable method.")
@tx_options
def transact(method: str, args: tuple[str, ...], target: str, abi_file: Path | None, sol_file: Path | None,
             artifact_file: Path | None, contract_name: str | None, json_args: str | None, value: str,
             sender: str | None, gas: int | None, max_fee: str | None, priority_fee: str | None,
             nonce: int | None, wait: bool, timeout: float, home: Path | None, keystore_dir: Path | None,
             password_file: Path | None, rpc_url: str, json_output: bool) -> None:
    """Call a contract method in a signed transaction.

    METHOD is a name, or name(types) for overloads. The decoded events of the
    receipt are shown. In --json output integers are decimal strings.
    """
    with reporting_errors(json_output, _EXPECTED):
        to = parse_address(target, "--to address")
        abi = _load_interface(abi_file, sol_file, artifact_file, contract_name)
        function = find_function(abi, method)
        amount = parse_amount(value)
        _check_payable(function, amount, signature(function))
        values = parse_arguments(function.get("inputs", []), args, json_args, signature(function))
        options = build_tx_options(gas, max_fee, priority_fee, nonce, wait, timeout)
        key = unlock_account(home, keystore_dir, password_file, sender)
        result = send_transaction(RpcClient(rpc_url), key, to, amount, encode_calldata(function, values),
                                  options, progress_note(json_output))
    events = decode_logs(abi, result.pop("logs", []))
    emit(json_output, {**result, "to": to, "method": signature(function), "events": exact_json(events)},
         receipt_lines(result, [f"Called {signature(function)} on {to}"]) + event_lines(events))


def unlock_account(home: Path | None, keystore_dir: Path | None, password_file: Path | None, sender: str | None) -> bytes:
    """The private key of ``sender`` (or of the keystore's only account), unlocked."""
    keystore = open_keystore(home, keystore_dir)
    if sender is None:
        accounts = keystore.list()
        if not accounts:
            raise ArgumentError(
                f"no accounts in {keystore.directory}: create one with `cmnode account new` "
                "or import a key with `cmnode account import`"
            )
        if len(accounts) > 1:
            raise ArgumentError(
                f"--from is required: the keystore {keystore.directory} has {len(accounts)} accounts"
            )
        address = accounts[0]
    else:
        address = parse_address(sender, "--from address")
    return keystore.unlock(address, read_password(password_file, prompt=f"Password for {address}"))


def _deploy_target(args: tuple[str, ...], artifact_file: Path | None, bytecode: str | None,
                   abi_file: Path | None, contract_name: str | None) -> tuple[CompiledContract, tuple[str, ...]]:
    """The contract to deploy and the remaining positional constructor arguments."""
    if artifact_file is not None and bytecode is not None:
        raise ArgumentError("use either --artifact or --bytecode, not both")
    if artifact_file is not None:
        return load_artifact(artifact_file), args
    if bytecode is not None:
        if abi_file is None:
            raise ArgumentError("--bytecode needs --abi FILE for the constructor")
        return from_bytecode(_bytecode_text(bytecode), load_abi(abi_file), abi_file.stem), args
    if not args:
        raise ArgumentError("name a .sol file, or use --artifact FILE or --bytecode HEX --abi FILE")
    source = Path(args[0])
    if source.suffix != ".sol":
        raise ArgumentError(f"{args[0]!r} is not a .sol file; use --artifact for artifact JSON")
    return select_contract(compile_file(source), contract_name), args[1:]


def _bytecode_text(value: str) -> str:
    """``--bytecode`` as given (0x hex), or the content of the file it names."""
    path = Path(value)
    if value[:2].lower() == "0x" or not path.is_file():
        return value
    if path.stat().st_size > MAX_BYTECODE_FILE_BYTES:
        raise ArgumentError(f"bytecode file {path} is larger than {MAX_BYTECODE_FILE_BYTES} bytes")
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArgumentError(f"cannot read bytecode file {path}: {exc}") from None


def _load_interface(abi_file: Path | None, sol_file: Path | None, artifact_file: Path | None,
                    contract_name: str | None) -> list[dict[str, Any]]:
    """The ABI named by exactly one of ``--abi``, ``--sol`` and ``--artifact``."""
    given = [option for option, path in (("--abi", abi_file), ("--sol", sol_file),
                                         ("--artifact", artifact_file)) if path is not None]
    if len(given) != 1:
        raise ArgumentError("name the contract's ABI with exactly one of --abi, --sol or --artifact")
    if abi_file is not None:
        return load_abi(abi_file)
    if artifact_file is not None:
        return load_artifact(artifact_file).abi
    assert sol_file is not None
    return select_contract(compile_file(sol_file), contract_name).abi


def _check_payable(entry: dict[str, Any], amount: int, what: str) -> None:
    """Refuse to send value to something that is not payable."""
    if amount and entry.get("stateMutability", "nonpayable") != "payable" and not entry.get("payable"):
        raise ArgumentError(f"{what} is not payable: remove --value")


def block_id(text: str) -> str:
    """A block tag or number as JSON-RPC expects it."""
    if text in ("latest", "pending", "earliest", "safe", "finalized"):
        return text
    try:
        return hex(parse_integer(text, 64, signed=False))
    except AmountError:
        raise ArgumentError(f"invalid --block {text!r}: a number or latest/pending/earliest") from None


def receipt_lines(result: dict[str, Any], header: list[str]) -> list[str]:
    """Readable lines for a sent transaction."""
    lines = header + [f"Transaction: {result['transactionHash']}"]
    if "blockNumber" in result:
        lines += [
            f"Block:       {result['blockNumber']}",
            f"Status:      {result['status']}",
            f"Gas used:    {result['gasUsed']}",
        ]
    else:
        lines.append("Status:      sent (not waiting for the receipt)")
    return lines


def event_lines(events: list[dict[str, Any]]) -> list[str]:
    """Readable lines for decoded events."""
    return [
        f"Event {event['event']}(" + ", ".join(f"{k}={readable(v)}" for k, v in event["args"].items()) + ")"
        for event in events
    ]
