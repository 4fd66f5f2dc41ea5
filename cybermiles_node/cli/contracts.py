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

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.grammar import parse as parse_abi_type
from eth_account import Account
from eth_utils import (
    function_signature_to_4byte_selector,
    is_checksum_address,
    is_hex_address,
    keccak,
    to_checksum_address,
)

from cybermiles_node.cli.accounts import (
    keystore_options,
    open_keystore,
    password_option,
    read_password,
)
from cybermiles_node.cli.output import emit, json_option, note, reporting_errors
from cybermiles_node.cli.params import AsciiFloatRange, AsciiIntRange
from cybermiles_node.cli.rpcclient import RpcClient, RpcClientError, RpcResponseError
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
from middleware.jsonnesting import first_too_deep

#: Node URL used when neither ``--rpc`` nor ``CMNODE_RPC_URL`` is given.
DEFAULT_RPC_URL = "http://127.0.0.1:8545"
#: Environment variable holding the node URL.
RPC_URL_ENV = "CMNODE_RPC_URL"
#: Decimal exponents of the amount units (CMT has 18 decimals, like ether).
UNITS = {
    "wei": 0, "kwei": 3, "mwei": 6, "gwei": 9, "szabo": 12, "finney": 15,
    "ether": 18, "eth": 18, "cmt": 18,
}
#: Largest amount or integer text accepted.
MAX_NUMBER_TEXT = 100
#: Largest bytecode file read for --bytecode (hex text of the largest init code and more).
MAX_BYTECODE_FILE_BYTES = 1024 * 1024
MAX_ARGUMENT_NESTING = 64  # arrays and tuples inside one another in --args
#: Seconds between receipt polls.
RECEIPT_POLL_INTERVAL_S = 0.25
_AMOUNT = re.compile(r"([0-9]+)?(?:\.([0-9]+))?(?:e([0-9]{1,2}))?\s*([a-z]*)", re.IGNORECASE)
_ARRAY_TYPE = re.compile(r"(.+)\[([0-9]*)\]")

F = TypeVar("F", bound=Callable[..., Any])


class ContractCliError(Exception):
    """Root of the transaction command errors; the message is fit to show to a user."""


class AmountError(ContractCliError):
    """An amount or integer text cannot be parsed."""


class ArgumentError(ContractCliError):
    """A method or constructor argument does not fit its ABI type."""


class AbiLookupError(ContractCliError):
    """The named method does not exist in the ABI, or the name is ambiguous."""


class TransactionFailedError(ContractCliError):
    """A mined transaction has status 0; ``revert_reason`` holds the replayed reason if any."""

    def __init__(self, message: str, revert_reason: str | None) -> None:
        """Keep the revert reason for JSON output."""
        super().__init__(message)
        self.revert_reason = revert_reason


class ReceiptTimeoutError(ContractCliError):
    """No receipt arrived within the wait timeout."""


#: Errors every command reports as a one-line message.
_EXPECTED = (KeystoreError, RpcClientError, SolcError, ContractCliError)


# ---------------------------------------------------------------- amounts and values


def parse_amount(text: str, default_unit: str = "wei") -> int:
    """Parse ``"1.5cmt"``, ``"100gwei"``, ``"2e18"`` or ``"123"`` (``default_unit``) into wei."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT:
        raise AmountError(f"invalid amount {text!r}: expected a number with an optional unit, e.g. 1.5cmt")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise AmountError(f"invalid amount {text!r}: expected a number with an optional unit, e.g. 1.5cmt")
    whole, fraction, exponent, unit = match.group(1) or "0", match.group(2) or "", match.group(3), match.group(4)
    unit = (unit or default_unit).lower()
    if unit not in UNITS:
        raise AmountError(f"invalid amount {text!r}: unknown unit {unit!r} (use one of {', '.join(UNITS)})")
    scale = UNITS[unit] + (int(exponent) if exponent else 0) - len(fraction)
    digits = int(whole + fraction)
    if scale < 0:
        divisor = int(10 ** (-scale))
        if digits % divisor:
            raise AmountError(f"invalid amount {text!r}: smaller than 1 wei")
        value = digits // divisor
    else:
        value = digits * int(10**scale)
    if value >= 2**256:
        raise AmountError(f"invalid amount {text!r}: too large")
    return value


def format_amount(wei: int) -> str:
    """Show ``wei`` as CMT without losing precision, e.g. ``1.5 CMT``."""
    whole, fraction = divmod(wei, 10**18)
    text = f"{whole}.{fraction:018d}".rstrip("0").rstrip(".")
    return f"{text} CMT"


def parse_integer(text: str, bits: int, signed: bool) -> int:
    """Parse an ABI integer from decimal, ``0x`` hex or an amount with a unit, range-checked."""
    cleaned = text.strip()
    negative = cleaned.startswith("-")
    body = cleaned[1:] if negative else cleaned
    if body[:2].lower() == "0x" and len(body) <= MAX_NUMBER_TEXT:
        if not re.fullmatch(r"[0-9a-fA-F]+", body[2:]):
            raise AmountError(f"invalid integer {text!r}")
        magnitude = int(body[2:], 16)
    else:
        try:
            magnitude = parse_amount(body)
        except AmountError:
            raise AmountError(f"invalid integer {text!r}: expected decimal, 0x hex or e.g. 1000cmt") from None
    value = -magnitude if negative else magnitude
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        kind = f"{'int' if signed else 'uint'}{bits}"
        raise AmountError(f"integer {text!r} is out of range for {kind} ({low} to {high})")
    return value


def parse_address(text: str, what: str = "address") -> str:
    """Validate an address (checksum checked when mixed-case) and return its checksum form."""
    cleaned = text.strip()
    if not is_hex_address(cleaned):
        raise ArgumentError(f"invalid {what} {text!r}: expected 0x followed by 40 hex digits")
    body = cleaned[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(cleaned):
        raise ArgumentError(f"invalid {what} {text!r}: bad checksum (check for typos)")
    return to_checksum_address(cleaned)


# ---------------------------------------------------------------- ABI arguments and results


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out: ``(uint256,string)[]``."""
    kind = str(param.get("type", ""))
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(component) for component in param.get("components", []))
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def signature(entry: dict[str, Any]) -> str:
    """A function's signature, e.g. ``transfer(address,uint256)``."""
    return f"{entry.get('name', '')}({','.join(canonical_type(p) for p in entry.get('inputs', []))})"


def find_function(abi: Sequence[dict[str, Any]], method: str) -> dict[str, Any]:
    """The function entry named ``method``, or with signature ``method`` for overloads."""
    functions = [entry for entry in abi if entry.get("type", "function") == "function"]
    compact = method.replace(" ", "")
    if "(" in compact:
        matches = [entry for entry in functions if signature(entry) == compact]
    else:
        matches = [entry for entry in functions if entry.get("name") == compact]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(sorted(signature(entry) for entry in matches))
        raise AbiLookupError(f"method {method!r} is overloaded: name one of {options}")
    known = ", ".join(sorted(signature(entry) for entry in functions)) or "none"
    raise AbiLookupError(f"no method {method!r} in the ABI (methods: {known})")


def constructor_of(abi: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The constructor entry, or an empty one when the contract declares none."""
    for entry in abi:
        if entry.get("type") == "constructor":
            return entry
    return {"type": "constructor", "inputs": [], "stateMutability": "nonpayable"}


def parse_arguments(
    inputs: Sequence[dict[str, Any]], positional: Sequence[str], json_args: str | None, what: str
) -> list[Any]:
    """Parse ``positional`` texts or one JSON array ``json_args`` against ``inputs``."""
    if json_args is not None:
        if positional:
            raise ArgumentError("give the arguments either positionally or with --args, not both")
        values = _load_json(json_args, "--args")
        if not isinstance(values, list):
            raise ArgumentError("--args must be a JSON array, e.g. '[\"0xabc...\", \"100\"]'")
    else:
        values = list(positional)
    if len(values) != len(inputs):
        expected = ", ".join(f"{canonical_type(p)} {p.get('name', '')}".strip() for p in inputs) or "none"
        raise ArgumentError(f"{what} takes {len(inputs)} arguments ({expected}), got {len(values)}")
    return [
        coerce_argument(param, value, f"argument {index + 1} ({param.get('name') or canonical_type(param)})")
        for index, (param, value) in enumerate(zip(inputs, values, strict=True))
    ]


def coerce_argument(param: dict[str, Any], value: Any, where: str) -> Any:
    """Convert a command-line text or JSON value to what eth-abi encodes for ``param``."""
    kind = str(param.get("type", ""))
    array = _ARRAY_TYPE.fullmatch(kind)
    if array:
        if isinstance(value, str):
            value = _load_json(value, where)
        if not isinstance(value, list):
            raise ArgumentError(f"{where}: expected a JSON array for {canonical_type(param)}")
        if array.group(2) and len(value) != int(array.group(2)):
            raise ArgumentError(f"{where}: expected {array.group(2)} items, got {len(value)}")
        item = {**param, "type": array.group(1)}
        return [coerce_argument(item, element, f"{where}[{i}]") for i, element in enumerate(value)]
    if kind == "tuple":
        components = list(param.get("components", []))
        if isinstance(value, str):
            value = _load_json(value, where)
        if isinstance(value, dict):
            missing = [c.get("name") for c in components if c.get("name") not in value]
            if missing:
                raise ArgumentError(f"{where}: missing fields {', '.join(map(str, missing))}")
            value = [value[c["name"]] for c in components]
        if not isinstance(value, list) or len(value) != len(components):
            raise ArgumentError(f"{where}: expected a JSON array or object of {len(components)} fields")
        return tuple(
            coerce_argument(c, v, f"{where}.{c.get('name') or i}")
            for i, (c, v) in enumerate(zip(components, value, strict=True))
        )
    return _coerce_scalar(kind, value, where)


def encode_arguments(inputs: Sequence[dict[str, Any]], values: Sequence[Any]) -> bytes:
    """ABI-encode ``values`` for ``inputs``."""
    try:
        return abi_encode([canonical_type(p) for p in inputs], list(values))
    except (EncodingError, TypeError, ValueError) as exc:
        raise ArgumentError(f"cannot encode the arguments: {exc}") from None


def decode_outputs(outputs: Sequence[dict[str, Any]], data: bytes) -> list[Any]:
    """Decode a method's return ``data`` against ``outputs``; addresses in checksum form."""
    try:
        values = abi_decode([canonical_type(p) for p in outputs], data)
    except (DecodingError, ValueError) as exc:
        raise ArgumentError(f"cannot decode the return data 0x{data.hex()}: {exc}") from None
    return [_normalize(value) for value in values]


def decode_logs(abi: Sequence[dict[str, Any]], logs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decode the receipt ``logs`` that match an event of ``abi``; others are left out."""
    events: dict[bytes, dict[str, Any]] = {}
    for entry in abi:
        if entry.get("type") == "event" and not entry.get("anonymous"):
            topic = keccak(text=signature(entry))
            events.setdefault(topic, entry)
    decoded: list[dict[str, Any]] = []
    for log in logs:
        topics = [bytes.fromhex(str(t)[2:]) for t in log.get("topics", [])]
        event = events.get(topics[0]) if topics else None
        if event is None:
            continue
        arguments = _decode_event(event, topics[1:], bytes.fromhex(str(log.get("data", "0x"))[2:]))
        if arguments is not None:
            decoded.append({"event": event["name"], "address": to_checksum_address(log["address"]),
                            "args": arguments})
    return decoded


def exact_json(value: Any) -> Any:
    """ABI values for ``--json``: integers as decimal strings (exact in any JSON reader)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {key: exact_json(item) for key, item in value.items()}
    return [exact_json(item) for item in value]


def readable(value: Any) -> str:
    """ABI values for people: scalars as they are, composites as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(_plain(value))


# ---------------------------------------------------------------- transactions


@dataclass(frozen=True)
class TxOptions:
    """User choices for a transaction; ``None`` means ask the node."""

    gas: int | None
    max_fee: int | None
    priority_fee: int | None
    nonce: int | None
    wait: bool
    timeout: float


def send_transaction(
    client: RpcClient,
    private_key: bytes,
    to: str | None,
    value: int,
    data: bytes,
    options: TxOptions,
    json_output: bool,
) -> dict[str, Any]:
    """Sign and send a transaction; return its hash, and its receipt fields when waited for."""
    sender = Account.from_key(private_key).address
    call = {"from": sender, "value": hex(value), "data": "0x" + data.hex()}
    if to is not None:
        call["to"] = to
    chain_id = int(client.call("eth_chainId"), 16)
    nonce = options.nonce if options.nonce is not None else int(
        client.call("eth_getTransactionCount", sender, "pending"), 16
    )
    gas = options.gas if options.gas is not None else int(client.call("eth_estimateGas", call), 16)
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data}
    if to is not None:
        tx["to"] = to
    tx.update(_fees(client, options))
    signed = Account.sign_transaction(tx, private_key)
    tx_hash = client.call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    result: dict[str, Any] = {"transactionHash": tx_hash, "from": sender, "nonce": nonce, "chainId": chain_id}
    if to is None:
        result["contractAddress"] = create_address(sender, nonce)
    if not options.wait:
        return result
    note(json_output, f"Sent {tx_hash}, waiting for it to be mined...")
    receipt = wait_for_receipt(client, tx_hash, options.timeout)
    result.update(
        blockNumber=int(receipt["blockNumber"], 16),
        blockHash=receipt.get("blockHash"),
        status="success" if int(receipt.get("status", "0x1"), 16) == 1 else "reverted",
        gasUsed=int(receipt["gasUsed"], 16),
        effectiveGasPrice=int(receipt.get("effectiveGasPrice", "0x0"), 16),
        logs=receipt.get("logs", []),
    )
    if receipt.get("contractAddress"):
        result["contractAddress"] = to_checksum_address(receipt["contractAddress"])
    if result["status"] == "reverted":
        reason = _replay_reason(client, call, result["blockNumber"], gas)
        raise TransactionFailedError(
            f"transaction {tx_hash} reverted in block {result['blockNumber']} "
            f"(gas used {result['gasUsed']})" + (f": {reason}" if reason else ""),
            reason,
        )
    return result


def wait_for_receipt(client: RpcClient, tx_hash: str, timeout: float) -> dict[str, Any]:
    """Poll ``eth_getTransactionReceipt`` until the receipt exists or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = client.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return dict(receipt)
        if time.monotonic() >= deadline:
            raise ReceiptTimeoutError(
                f"transaction {tx_hash} was not mined within {timeout:g} s (it may still be included)"
            )
        time.sleep(RECEIPT_POLL_INTERVAL_S)


def create_address(sender: str, nonce: int) -> str:
    """The address of a contract created by ``sender`` at ``nonce``."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def _fees(client: RpcClient, options: TxOptions) -> dict[str, Any]:
    """EIP-1559 fee fields (2 x base fee + tip unless given); legacy gasPrice if no base fee."""
    base_fee = _next_base_fee(client)
    if base_fee is None:
        gas_price = options.max_fee if options.max_fee is not None else int(client.call("eth_gasPrice"), 16)
        return {"gasPrice": gas_price}
    if options.priority_fee is not None:
        tip = options.priority_fee
    else:
        try:
            tip = int(client.call("eth_maxPriorityFeePerGas"), 16)
        except RpcResponseError:
            tip = max(int(client.call("eth_gasPrice"), 16) - base_fee, 0)
    max_fee = options.max_fee if options.max_fee is not None else 2 * base_fee + tip
    if max_fee < tip:
        raise ArgumentError(f"--max-fee ({max_fee} wei) is below the priority fee ({tip} wei)")
    return {"type": 2, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}


def _next_base_fee(client: RpcClient) -> int | None:
    """The base fee of the next block, ``None`` on a chain without base fees."""
    try:
        history = client.call("eth_feeHistory", "0x1", "latest", [])
        base_fees = history.get("baseFeePerGas") if isinstance(history, dict) else None
        if base_fees:
            return int(base_fees[-1], 16)
    except RpcResponseError:
        pass
    block = client.call("eth_getBlockByNumber", "latest", False)
    if isinstance(block, dict) and block.get("baseFeePerGas") is not None:
        return int(block["baseFeePerGas"], 16)
    return None


def _replay_reason(client: RpcClient, call: dict[str, Any], block_number: int, gas: int) -> str | None:
    """Replay a reverted transaction with ``eth_call`` on its parent block to learn the reason.

    The replay is an explanation only: when it does not revert (the state
    differs from the one inside the block) or fails, there is no reason to show.
    """
    try:
        client.call("eth_call", {**call, "gas": hex(gas)}, hex(max(block_number - 1, 0)))
    except RpcResponseError as exc:
        return exc.revert_reason or (exc.rpc_message if exc.is_revert else None)
    except RpcClientError:
        return None
    return None


# ---------------------------------------------------------------- shared options


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


# ---------------------------------------------------------------- commands


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
        payload = _hex_data(data, "--data")
        options = build_tx_options(gas, max_fee, priority_fee, nonce, wait, timeout)
        key = unlock_account(home, keystore_dir, password_file, sender)
        result = send_transaction(RpcClient(rpc_url), key, to, amount, payload, options, json_output)
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
        result = send_transaction(RpcClient(rpc_url), key, None, amount, payload, options, json_output)
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
        decoded = decode_outputs(outputs, _hex_data(str(answer), "the node's answer"))
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
                                  options, json_output)
    events = decode_logs(abi, result.pop("logs", []))
    emit(json_output, {**result, "to": to, "method": signature(function), "events": exact_json(events)},
         receipt_lines(result, [f"Called {signature(function)} on {to}"]) + event_lines(events))


# ---------------------------------------------------------------- command helpers


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


def build_tx_options(gas: int | None, max_fee: str | None, priority_fee: str | None, nonce: int | None,
                wait: bool, timeout: float) -> TxOptions:
    """Parse the fee amounts into :class:`TxOptions`."""
    return TxOptions(
        gas=gas,
        max_fee=parse_amount(max_fee) if max_fee is not None else None,
        priority_fee=parse_amount(priority_fee) if priority_fee is not None else None,
        nonce=nonce,
        wait=wait,
        timeout=timeout,
    )


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


def encode_calldata(function: dict[str, Any], values: list[Any]) -> bytes:
    """Selector plus encoded arguments."""
    return function_signature_to_4byte_selector(signature(function)) + encode_arguments(
        function.get("inputs", []), values
    )


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


def _hex_data(text: str, what: str) -> bytes:
    """Bytes from 0x hex text."""
    cleaned = text.strip()
    if not cleaned.startswith("0x") or len(cleaned) % 2:
        raise ArgumentError(f"{what} must be 0x followed by an even number of hex digits")
    try:
        return bytes.fromhex(cleaned[2:])
    except ValueError:
        raise ArgumentError(f"{what} is not valid hex") from None


def _load_json(text: str, where: str) -> Any:
    """Parse JSON text from the command line."""
    if first_too_deep(text, MAX_ARGUMENT_NESTING) is not None:
        raise ArgumentError(f"{where}: nested deeper than {MAX_ARGUMENT_NESTING} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ArgumentError(f"{where}: not valid JSON ({exc})") from None


def _coerce_scalar(kind: str, value: Any, where: str) -> Any:
    """Convert a text or JSON scalar for the basic ABI type ``kind``."""
    match = re.fullmatch(r"(u?int)([0-9]*)", kind)
    if match:
        bits = int(match.group(2) or 256)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected an integer for {kind}")
        try:
            return parse_integer(value, bits, signed=match.group(1) == "int")
        except AmountError as exc:
            raise ArgumentError(f"{where}: {exc}") from None
    if kind == "address":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected an address")
        return parse_address(value, f"address in {where}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ArgumentError(f"{where}: expected true or false, got {value!r}")
    if kind == "string":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected a string")
        return value
    match = re.fullmatch(r"bytes([0-9]*)", kind)
    if match:
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected 0x hex for {kind}")
        data = _hex_data(value, where)
        if match.group(1) and len(data) > int(match.group(1)):
            raise ArgumentError(f"{where}: {len(data)} bytes do not fit {kind}")
        return data
    raise ArgumentError(f"{where}: ABI type {kind!r} is not supported on the command line")


def _decode_event(event: dict[str, Any], topics: list[bytes], data: bytes) -> dict[str, Any] | None:
    """Decode one event's arguments; dynamic indexed values stay as their topic hash."""
    inputs = event.get("inputs", [])
    indexed = [p for p in inputs if p.get("indexed")]
    plain = [p for p in inputs if not p.get("indexed")]
    if len(indexed) != len(topics):
        return None
    try:
        plain_values = iter(abi_decode([canonical_type(p) for p in plain], data))
        indexed_values = iter(
            topic if parse_abi_type(canonical_type(p)).is_dynamic
            else abi_decode([canonical_type(p)], topic)[0]
            for p, topic in zip(indexed, topics, strict=True)
        )
        return {
            (p.get("name") or f"arg{i}"): _normalize(next(indexed_values if p.get("indexed") else plain_values))
            for i, p in enumerate(inputs)
        }
    except (DecodingError, ValueError):
        return None


def _normalize(value: Any) -> Any:
    """Checksum addresses and turn tuples into lists in decoded ABI values."""
    if isinstance(value, str) and is_hex_address(value) and value == value.lower():
        return to_checksum_address(value)
    if isinstance(value, (tuple, list)):
        return [_normalize(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """Decoded values as JSON-ready data with bytes in hex (for readable output)."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


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
