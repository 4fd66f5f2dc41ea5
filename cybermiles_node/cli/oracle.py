"""``cmnode oracle ...``: run an oracle node for the sets an account belongs to, and read requests.

``cmnode oracle run --from ACCOUNT --source URL`` follows a node over JSON-RPC and
answers every request whose members include ACCOUNT (a keystore account, unlocked
once at start): it POSTs the request to the source URL and attests the answer's bytes.
``cmnode oracle request ID`` shows a request: status, threshold, members, the resolved
value and every attestation. Defining sets and requesting values are contract calls
(``cmnode transact --abi middleware/oracle/IOracle.abi.json ...``).
"""
from __future__ import annotations

import signal
from pathlib import Path

import click
import eth_abi

from cybermiles_node.chainclient.errors import ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.cli.accounts import keystore_options, password_option
from cybermiles_node.cli.contracts import rpc_option, unlock_account
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiFloatRange, AsciiIntRange
from cybermiles_node.keystore import KeystoreError
from cybermiles_node.logs import configure_logging, parse_log_levels
from cybermiles_node.oracle import OracleRunner, OracleSettings
from middleware.oracle.contract import MAX_RESPONSE_BYTES
from vm.native.addresses import ORACLE_ADDRESS

EXPECTED = (KeystoreError, RpcClientError, ChainClientError)
STATUS_NAMES = {1: "pending", 2: "resolved", 3: "timed out"}
INFO_TYPE = "(uint256,address,uint8,uint256,uint64,uint32,address[],bytes,address[],bytes32[])"
GET_REQUEST_SELECTOR = bytes.fromhex("c58343ef")  # getRequest(uint256)


@click.group()
def oracle() -> None:
    """Oracle quorum: answer requests as an oracle node, and read requests."""


@oracle.command("run")
@click.option("--from", "sender", required=True, help="The oracle account (in the keystore).")
@click.option("--source", "source_url", required=True, help="URL the requests are POSTed to; its body is the answer.")
@click.option("--max-answer-bytes", type=AsciiIntRange(1, MAX_RESPONSE_BYTES), default=MAX_RESPONSE_BYTES,
              show_default=True, help="Largest answer taken from the source (the request's own bound also applies).")
@click.option("--source-timeout", type=AsciiFloatRange(min=0.1, max=60), default=5.0, show_default=True,
              help="Seconds the source may take to answer.")
@click.option("--poll", "poll_seconds", type=AsciiFloatRange(min=0.1, max=60), default=1.0, show_default=True,
              help="Seconds between polls of the node.")
@click.option("--from-block", type=AsciiIntRange(0), default=None,
              help="First block whose requests are answered (default: the latest).")
@keystore_options
@password_option
@rpc_option
def run(sender: str, source_url: str, max_answer_bytes: int, source_timeout: float, poll_seconds: float,
        from_block: int | None, home: Path | None, keystore_dir: Path | None, password_file: Path | None,
        rpc_url: str) -> None:
    """Answer the oracle requests addressed to an account until interrupted (Ctrl-C / SIGTERM)."""
    if not source_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--source")
    with reporting_errors(False, EXPECTED):
        key = unlock_account(home, keystore_dir, password_file, sender)
    configure_logging(parse_log_levels("info"))
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner = OracleRunner(OracleSettings(rpc_url, source_url, max_answer_bytes, source_timeout, poll_seconds,
                                         from_block), key)
    click.echo(f"Oracle 0x{runner.account.hex()} answering requests from {rpc_url} with {source_url}", err=True)
    runner.run(lambda: stopping)


@oracle.command("request")
@click.argument("request_id", type=AsciiIntRange(1))
@rpc_option
@json_option
def show_request(request_id: int, rpc_url: str, json_output: bool) -> None:
    """Show a request: status, threshold, members, resolved value and every attestation."""
    with reporting_errors(json_output, EXPECTED):
        data = GET_REQUEST_SELECTOR + eth_abi.encode(["uint256"], [request_id])
        answer = RpcClient(rpc_url).call("eth_call", {"to": "0x" + ORACLE_ADDRESS.hex(), "data": "0x" + data.hex()},
                                         "latest")
    (info,) = eth_abi.decode([INFO_TYPE], bytes.fromhex(answer[2:]))
    set_id, requester, status, threshold, deadline, max_bytes, members, value, attesters, hashes = info
    document = {
        "requestId": request_id, "setId": set_id, "requester": requester, "status": STATUS_NAMES[status],
        "threshold": threshold, "deadline": deadline, "maxResponseBytes": max_bytes, "members": list(members),
        "value": "0x" + value.hex(),
        "attestations": [{"oracle": a, "valueHash": "0x" + h.hex()} for a, h in zip(attesters, hashes, strict=True)],
    }
    lines = [f"request {request_id} of set {set_id} by {requester}: {STATUS_NAMES[status]}",
             f"  {threshold} of {len(members)} must agree by block time {deadline}; answers up to {max_bytes} bytes",
             f"  value 0x{value.hex()}" if status == 2 else "  no value"]
    lines += [f"  {a} attested 0x{h.hex()}" for a, h in zip(attesters, hashes, strict=True)]
    emit(json_output, document, lines)


def add_oracle_commands(cli: click.Group) -> None:
    """Register ``cmnode oracle``."""
    cli.add_command(oracle)

