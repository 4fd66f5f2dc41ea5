"""``cmnode randomness ...``: read the chain's randomness beacon (``middleware/randomness/IRandomness.sol``).

``value HEIGHT`` shows the beacon value of a height (the reason when it is not readable:
not committed yet, or expired unrequested), whether it is kept for ever, and the
``mixHash`` of the next block, which carries it as PREVRANDAO. ``status`` shows the latest
readable height and value, and a validator's hash chain (the node home's validator key,
or ``--pub-key``): its commitment, the reveals left before it anchors a new chain, the
chain's epoch, and its missed proposer slots.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import eth_abi
from eth_utils import function_signature_to_4byte_selector

from cybermiles_node.chainclient.rpcclient import RpcClient, RpcResponseError
from cybermiles_node.cli.contracts import rpc_option
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.cli.stake import EXPECTED, pub_key_of
from cybermiles_node.home import HOME_ENV
from middleware.randomness.contract import MAX_MISSES_PER_WINDOW, MISS_WINDOW_BLOCKS
from vm.native.addresses import RANDOMNESS_ADDRESS


@click.group("randomness")
def randomness() -> None:
    """Randomness beacon: values by height, and a validator's hash chain and missed slots."""


def _view(client: RpcClient, signature: str, values: list[Any], returns: list[str]) -> tuple[Any, ...]:
    """Call a view of the beacon at the latest block and decode its result."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    data = function_signature_to_4byte_selector(signature) + eth_abi.encode(types, values)
    answer = client.call("eth_call", {"to": "0x" + RANDOMNESS_ADDRESS.hex(), "data": "0x" + data.hex()}, "latest")
    return tuple(eth_abi.decode(returns, bytes.fromhex(answer[2:])))


@randomness.command("value")
@click.argument("height", type=AsciiIntRange(0, 2**64 - 1))
@rpc_option
@json_option
def value(height: int, rpc_url: str, json_output: bool) -> None:
    """Show the beacon value of HEIGHT (readable from the next block on, for 8,192 blocks unless requested)."""
    with reporting_errors(json_output, EXPECTED):
        client = RpcClient(rpc_url)
        (latest,) = _view(client, "latestHeight()", [], ["uint64"])
        (requested,) = _view(client, "isRequested(uint64)", [height], ["bool"])
        try:
            (beacon,) = _view(client, "valueAt(uint64)", [height], ["bytes32"])
        except RpcResponseError as exc:
            if exc.revert_reason is None:
                raise
            emit(json_output, {"height": height, "available": False, "reason": exc.revert_reason,
                               "requested": requested, "latestHeight": latest},
                 [f"height {height}: no value ({exc.revert_reason})", f"  requested  {'yes' if requested else 'no'}",
                  f"  latest readable height {latest}"])
            return
        block = client.call("eth_getBlockByNumber", hex(height + 1), False)
    document = {"height": height, "available": True, "value": "0x" + beacon.hex(), "requested": requested,
                "mixHashOfNext": block["mixHash"] if block else None, "latestHeight": latest}
    emit(json_output, document, [
        f"height {height}: 0x{beacon.hex()}",
        f"  kept for ever  {'yes (requested)' if requested else 'no (kept 8,192 blocks)'}",
        f"  mixHash of block {height + 1}  {block['mixHash'] if block else '-'}",
    ])


@randomness.command("status")
@click.option("--pub-key", help="Ed25519 consensus public key, hex (default: the --home node's validator key).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar=HOME_ENV, default=None,
              help=f"Node home whose validator key is shown (default: ${HOME_ENV}, else ~/.cmnode).")
@rpc_option
@json_option
def status(pub_key: str | None, home: Path | None, rpc_url: str, json_output: bool) -> None:
    """Show the latest beacon value and a validator's commitment, remaining reveals and missed slots."""
    with reporting_errors(json_output, EXPECTED):
        key = pub_key_of(pub_key, home)
        client = RpcClient(rpc_url)
        (latest,) = _view(client, "latestHeight()", [], ["uint64"])
        (beacon,) = _view(client, "valueAt(uint64)", [latest], ["bytes32"])
        commitment, remaining, epoch, missed = _view(client, "validatorOf(bytes32)", [key],
                                                     ["bytes32", "uint64", "uint64", "uint64"])
    anchored = commitment != b"\x00" * 32
    document = {"latestHeight": latest, "latestValue": "0x" + beacon.hex(), "validator": "0x" + key.hex(),
                "commitment": "0x" + commitment.hex() if anchored else None, "remainingReveals": remaining,
                "epoch": epoch, "missedSlots": missed,
                "penalty": f"jailed at {MAX_MISSES_PER_WINDOW} missed slots within {MISS_WINDOW_BLOCKS} blocks"}
    emit(json_output, document, [
        f"latest height {latest}: 0x{beacon.hex()}",
        f"validator 0x{key.hex()}",
        f"  commitment  {'0x' + commitment.hex() if anchored else 'none yet (its next block anchors a chain)'}",
        f"  reveals left {remaining} in chain epoch {epoch}",
        f"  missed slots {missed} (jailed at {MAX_MISSES_PER_WINDOW} within {MISS_WINDOW_BLOCKS} blocks)",
    ])


def add_randomness_commands(cli: click.Group) -> None:
    """Register ``cmnode randomness``."""
    cli.add_command(randomness)
