"""Tests of ``cmnode send|deploy|call|transact``: amounts, ABI arguments, errors and outputs.

These tests need no node: a small scripted JSON-RPC server stands in for one
where a test checks how answers and errors are shown. The same commands run
against a real node in ``tests/e2e/test_cli_e2e.py``.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

from cybermiles_node.chainclient.abi import (
    coerce_argument,
    decode_logs,
    decode_outputs,
    exact_json,
    find_function,
    parse_amount,
    parse_arguments,
    parse_integer,
)
from cybermiles_node.chainclient.errors import AbiLookupError, AmountError, ArgumentError
from cybermiles_node.chainclient.rpcclient import (
    NodeUnreachableError,
    RpcClient,
    RpcResponseError,
)
from cybermiles_node.chainclient.transactions import create_address
from cybermiles_node.cli.accounts import account
from cybermiles_node.cli.contracts import call, deploy, send, transact
from cybermiles_node.keystore import LIGHT_SCRYPT_N, Keystore

REPO = Path(__file__).resolve().parent.parent
TOKEN_SOL = REPO / "examples" / "contracts" / "Token.sol"
DEV_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
        {"name": "from", "type": "address", "indexed": True},
        {"name": "to", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False}]},
]


@click.group()
def root() -> None:
    """A root group standing in for the `cmnode` one."""


for command in (account, send, deploy, call, transact):
    root.add_command(command)


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("123", 123),
        ("1.5cmt", 1_500_000_000_000_000_000),
        ("1.5 CMT", 1_500_000_000_000_000_000),
        ("100gwei", 100_000_000_000),
        ("0.000000000000000001cmt", 1),
        (".5ether", 500_000_000_000_000_000),
        ("2e18", 2 * 10**18),
        ("1e3gwei", 10**12),
        ("0", 0),
    ],
)
def test_parse_amount(text: str, wei: int) -> None:
    assert parse_amount(text) == wei


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a number"),
        ("abc", "expected a number"),
        ("-1", "expected a number"),
        ("1.5", "smaller than 1 wei"),
        ("0.0000000000000000001cmt", "smaller than 1 wei"),
        ("1.5xyz", "unknown unit 'xyz'"),
        ("1e99cmt", "too large"),
        ("1" * 101, "expected a number"),
    ],
)
def test_parse_amount_errors(text: str, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(text)


def test_parse_integer_ranges() -> None:
    assert parse_integer("0xff", 8, signed=False) == 255
    assert parse_integer("-128", 8, signed=True) == -128
    assert parse_integer("1000cmt", 256, signed=False) == 1000 * 10**18
    with pytest.raises(AmountError, match="out of range for uint8 \\(0 to 255\\)"):
        parse_integer("256", 8, signed=False)
    with pytest.raises(AmountError, match="out of range for uint256"):
        parse_integer("-1", 256, signed=False)
    with pytest.raises(AmountError, match="invalid integer"):
        parse_integer("0xzz", 256, signed=False)


# ---------------------------------------------------------------- ABI arguments


def test_arguments_of_every_kind_are_parsed() -> None:
    inputs = [
        {"name": "who", "type": "address"},
        {"name": "flag", "type": "bool"},
        {"name": "label", "type": "string"},
        {"name": "tag", "type": "bytes4"},
        {"name": "blob", "type": "bytes"},
        {"name": "amounts", "type": "uint256[]"},
        {"name": "pair", "type": "int8[2]"},
        {"name": "order", "type": "tuple", "components": [
            {"name": "buyer", "type": "address"}, {"name": "price", "type": "uint128"}]},
    ]
    values = parse_arguments(
        inputs,
        [OTHER.lower(), "true", "hello", "0xdeadbeef", "0x", '[1, "2", "3gwei"]', "[-1, 1]",
         json.dumps({"buyer": OTHER, "price": "10"})],
        None,
        "f",
    )
    assert values == [OTHER, True, "hello", bytes.fromhex("deadbeef"), b"", [1, 2, 3 * 10**9], [-1, 1],
                      (OTHER, 10)]
    types = ["address", "bool", "string", "bytes4", "bytes", "uint256[]", "int8[2]", "(address,uint128)"]
    assert encode(types, values)  # eth-abi accepts what the parser produced


def test_json_arguments() -> None:
    inputs = [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}]
    values = parse_arguments(inputs, [], json.dumps([OTHER, 2**256 - 1]), "f")
    assert values == [OTHER, 2**256 - 1]
    with pytest.raises(ArgumentError, match="either positionally or with --args"):
        parse_arguments(inputs, [OTHER], "[]", "f")
    with pytest.raises(ArgumentError, match="must be a JSON array"):
        parse_arguments(inputs, [], '{"to": 1}', "f")


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ({"type": "address"}, "0x1234", "expected 0x followed by 40 hex digits"),
        ({"type": "address"}, OTHER[:-1] + "c", "bad checksum"),
        ({"type": "bool"}, "maybe", "expected true or false"),
        ({"type": "uint8"}, "300", "out of range for uint8"),
        ({"type": "uint256"}, "1.5", "invalid integer"),
        ({"type": "uint256"}, 1.5, "expected an integer"),
        ({"type": "bytes2"}, "0x010203", "3 bytes do not fit bytes2"),
        ({"type": "bytes"}, "xyz", "must be 0x followed by"),
        ({"type": "uint256[2]"}, "[1]", "expected 2 items, got 1"),
        ({"type": "uint256[]"}, "[1,", "not valid JSON"),
        ({"type": "tuple", "components": [{"name": "a", "type": "uint8"}]}, "{}", "missing fields a"),
        ({"type": "fixed128x18"}, "1", "not supported on the command line"),
    ],
)
def test_argument_errors(param: dict[str, Any], value: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        coerce_argument(param, value, "argument 1")


def test_wrong_argument_count_lists_the_expected_types() -> None:
    inputs = [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}]
    with pytest.raises(ArgumentError, match=r"transfer takes 2 arguments \(address to, uint256 value\), got 1"):
        parse_arguments(inputs, [OTHER], None, "transfer")


def test_find_function_by_name_and_overload_signature() -> None:
    abi = ERC20_ABI + [
        {"type": "function", "name": "mint", "inputs": [{"name": "to", "type": "address"}], "outputs": []},
        {"type": "function", "name": "mint", "inputs": [
            {"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}], "outputs": []},
    ]
    assert find_function(abi, "transfer")["name"] == "transfer"
    assert len(find_function(abi, "mint(address, uint256)")["inputs"]) == 2
    with pytest.raises(AbiLookupError, match=r"overloaded: name one of mint\(address\), mint\(address,uint256\)"):
        find_function(abi, "mint")
    with pytest.raises(AbiLookupError, match=r"no method 'burn' in the ABI \(methods: balanceOf\(address\)"):
        find_function(abi, "burn")


def test_outputs_and_events_are_decoded() -> None:
    outputs = [{"name": "who", "type": "address"}, {"name": "n", "type": "uint256"}, {"name": "b", "type": "bytes"}]
    decoded = decode_outputs(outputs, encode(["address", "uint256", "bytes"], [OTHER, 2**200, b"\x01"]))
    assert decoded == [OTHER, 2**200, b"\x01"]
    assert exact_json(decoded) == [OTHER, str(2**200), "0x01"]
    log = {
        "address": "0x" + "ab" * 20,
        "topics": ["0x" + keccak(text="Transfer(address,address,uint256)").hex(),
                   "0x" + encode(["address"], [DEV_ADDRESS]).hex(),
                   "0x" + encode(["address"], [OTHER]).hex()],
        "data": "0x" + encode(["uint256"], [5]).hex(),
    }
    unrelated = {"address": "0x" + "ab" * 20, "topics": ["0x" + "00" * 32], "data": "0x"}
    (event,) = decode_logs(ERC20_ABI, [log, unrelated])
    assert event["event"] == "Transfer"
    assert event["args"] == {"from": DEV_ADDRESS, "to": OTHER, "value": 5}


def test_create_address_matches_the_known_first_deployment() -> None:
    # The first contract deployed by the first development account on a fresh chain.
    assert create_address(DEV_ADDRESS, 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"


# ---------------------------------------------------------------- a scripted node


class ScriptedNode:
    """An HTTP JSON-RPC server answering each method from a fixed script."""

    def __init__(self, script: dict[str, dict[str, Any]]) -> None:
        self.script = script
        self.calls: list[dict[str, Any]] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.calls.append(request)
                answer = {"jsonrpc": "2.0", "id": request["id"],
                          **node.script.get(request["method"], {"error": {"code": -32601, "message": "no"}})}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedNode:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _revert(reason: str) -> dict[str, Any]:
    data = "0x08c379a0" + encode(["string"], [reason]).hex()
    return {"error": {"code": 3, "message": "execution reverted", "data": data}}


@pytest.fixture
def abi_file(tmp_path: Path) -> Path:
    path = tmp_path / "erc20.abi"
    path.write_text(json.dumps(ERC20_ABI))
    return path


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def keystore_home(tmp_path: Path) -> Path:
    """A node home whose keystore holds the first development account (password "pw")."""
    home = tmp_path / "home"
    Keystore(home / "keystore", scrypt_n=LIGHT_SCRYPT_N).import_key(DEV_KEY, "pw")
    return home


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CMNODE_PASSWORD", "pw")
    monkeypatch.delenv("CMNODE_RPC_URL", raising=False)
    return CliRunner()


def test_rpc_client_decodes_revert_reasons() -> None:
    with ScriptedNode({"eth_call": _revert("Insufficient balance")}) as node:
        with pytest.raises(RpcResponseError) as raised:
            RpcClient(node.url).call("eth_call", {})
    assert str(raised.value) == "execution reverted: Insufficient balance"
    assert raised.value.revert_reason == "Insufficient balance"
    assert raised.value.code == 3


def test_rpc_client_explains_panics() -> None:
    data = "0x4e487b71" + encode(["uint256"], [0x11]).hex()
    script = {"eth_call": {"error": {"code": 3, "message": "execution reverted", "data": data}}}
    with ScriptedNode(script) as node, pytest.raises(RpcResponseError, match="arithmetic overflow"):
        RpcClient(node.url).call("eth_call", {})


def test_rpc_client_unreachable_node(closed_port_url: str) -> None:
    with pytest.raises(NodeUnreachableError) as raised:
        RpcClient(closed_port_url).call("eth_chainId")
    assert str(raised.value) == (
        f"cannot reach node at {closed_port_url}: connection refused (is `cmnode start` running?)"
    )


def test_call_decodes_the_result(runner: CliRunner, abi_file: Path) -> None:
    answer = "0x" + encode(["uint256"], [10**24]).hex()
    with ScriptedNode({"eth_call": {"result": answer}}) as node:
        readable = runner.invoke(root, ["call", "--rpc", node.url, "--to", OTHER, "--abi", str(abi_file),
                                        "balanceOf", DEV_ADDRESS])
        scripted = runner.invoke(root, ["call", "--rpc", node.url, "--to", OTHER, "--abi", str(abi_file),
                                        "balanceOf", DEV_ADDRESS, "--json"])
    assert readable.exit_code == 0, readable.output
    assert readable.output.strip() == str(10**24)
    assert json.loads(scripted.output) == {"method": "balanceOf(address)", "result": [str(10**24)],
                                           "outputs": {"output0": str(10**24)}}
    request = node.calls[0]["params"][0]
    selector = function_signature_to_4byte_selector("balanceOf(address)")
    assert request["data"] == "0x" + (selector + encode(["address"], [DEV_ADDRESS])).hex()
    assert request["to"] == OTHER


def test_call_shows_the_revert_reason(runner: CliRunner, abi_file: Path) -> None:
    with ScriptedNode({"eth_call": _revert("Insufficient balance")}) as node:
        readable = runner.invoke(root, ["call", "--rpc", node.url, "--to", OTHER, "--abi", str(abi_file),
                                        "transfer", DEV_ADDRESS, "1"])
        scripted = runner.invoke(root, ["call", "--rpc", node.url, "--to", OTHER, "--abi", str(abi_file),
                                        "transfer", DEV_ADDRESS, "1", "--json"])
    assert readable.exit_code == 1
    assert readable.output.strip() == "Error: execution reverted: Insufficient balance"
    assert scripted.exit_code == 1
    assert json.loads(scripted.stdout) == {"error": {"message": "execution reverted: Insufficient balance",
                                                     "revertReason": "Insufficient balance"}}


def test_send_stops_on_a_reverting_estimate(runner: CliRunner, keystore_home: Path) -> None:
    script = {
        "eth_chainId": {"result": "0x7a69"},
        "eth_getTransactionCount": {"result": "0x0"},
        "eth_estimateGas": _revert("no receive function"),
    }
    with ScriptedNode(script) as node:
        result = runner.invoke(root, ["send", "--rpc", node.url, "--home", str(keystore_home),
                                      "--to", OTHER, "--value", "1cmt"])
    assert result.exit_code == 1
    assert "execution reverted: no receive function" in result.output
    assert "eth_sendRawTransaction" not in [call["method"] for call in node.calls]


def test_send_to_unreachable_node(runner: CliRunner, keystore_home: Path, closed_port_url: str) -> None:
    result = runner.invoke(root, ["send", "--rpc", closed_port_url, "--home", str(keystore_home),
                                  "--to", OTHER, "--value", "1cmt"])
    assert result.exit_code == 1
    assert f"Error: cannot reach node at {closed_port_url}: connection refused" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "--to", OTHER, "--value", "1.5xyz"], "unknown unit 'xyz'"),
        (["send", "--to", "0x1234", "--value", "1"], "invalid --to address"),
        (["send", "--to", OTHER, "--data", "0x123"], "--data must be 0x followed by an even number"),
        (["send", "--to", OTHER, "--max-fee", "1gwei", "--priority-fee", "2gwei"], "below the priority fee"),
        (["deploy"], "name a .sol file, or use --artifact FILE or --bytecode HEX --abi FILE"),
        (["deploy", "Token.json"], "is not a .sol file"),
        (["deploy", "--bytecode", "0x6000"], "--bytecode needs --abi FILE"),
    ],
)
def test_input_errors_exit_non_zero(runner: CliRunner, keystore_home: Path, args: list[str], message: str) -> None:
    with ScriptedNode({"eth_chainId": {"result": "0x1"}, "eth_getTransactionCount": {"result": "0x0"},
                       "eth_estimateGas": {"result": "0x5208"},
                       "eth_feeHistory": {"result": {"baseFeePerGas": ["0x1", "0x1"]}}}) as node:
        result = runner.invoke(root, [*args, "--rpc", node.url, "--home", str(keystore_home)])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_call_needs_exactly_one_abi_source(runner: CliRunner, abi_file: Path) -> None:
    bare = runner.invoke(root, ["call", "--to", OTHER, "balanceOf", OTHER])
    both = runner.invoke(root, ["call", "--to", OTHER, "--abi", str(abi_file), "--sol", str(TOKEN_SOL),
                                "balanceOf", OTHER])
    for result in (bare, both):
        assert result.exit_code == 1
        assert "exactly one of --abi, --sol or --artifact" in result.output


def test_transact_refuses_value_for_non_payable(runner: CliRunner, keystore_home: Path, abi_file: Path) -> None:
    result = runner.invoke(root, ["transact", "--to", OTHER, "--abi", str(abi_file), "--home", str(keystore_home),
                                  "--value", "1cmt", "transfer", OTHER, "1"])
    assert result.exit_code == 1
    assert "transfer(address,uint256) is not payable: remove --value" in result.output


def test_from_is_required_when_the_keystore_has_several_accounts(
    runner: CliRunner, keystore_home: Path, abi_file: Path
) -> None:
    Keystore(keystore_home / "keystore", scrypt_n=LIGHT_SCRYPT_N).new("pw")
    result = runner.invoke(root, ["transact", "--to", OTHER, "--abi", str(abi_file),
                                  "--home", str(keystore_home), "transfer", OTHER, "1"])
    assert result.exit_code == 1
    assert "--from is required" in result.output and "has 2 accounts" in result.output


def test_an_empty_keystore_says_how_to_add_an_account(runner: CliRunner, tmp_path: Path, abi_file: Path) -> None:
    result = runner.invoke(root, ["transact", "--to", OTHER, "--abi", str(abi_file),
                                  "--home", str(tmp_path), "transfer", OTHER, "1"])
    assert result.exit_code == 1
    assert "no accounts in" in result.output and "cmnode account new" in result.output


def test_deploy_checks_constructor_arguments(runner: CliRunner, keystore_home: Path) -> None:
    result = runner.invoke(root, ["deploy", str(TOKEN_SOL), "Only one", "--home", str(keystore_home)])
    assert result.exit_code == 1
    assert "the constructor takes 3 arguments (string name_, string symbol_, uint256 initialSupply), got 1" \
        in result.output
