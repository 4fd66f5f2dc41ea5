"""``cmnode sponsor ...``: gas sponsorships of contracts (``vm/sponsorship/ISponsor.sol`` at ``0x…0C16``).

``show TARGET`` reads a sponsorship: manager, deposit and bounds (with
``--sender``, also that sender's window). ``deposit``, ``withdraw`` and
``configure`` sign a call of the sponsor contract with a keystore account, as
``cmnode stake`` does; a call the contract refuses is reported with its revert
reason before anything is sent. The first configuration of a target must come
from the target contract itself (its constructor or an owner-only function);
``configure`` here changes the bounds as the target's manager.

Sending a sponsored call needs nothing special: ``cmnode transact --max-fee 0
--priority-fee 0 ...`` from an account holding no CMT.
"""
from __future__ import annotations

from typing import Any

import click
import eth_abi
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from cybermiles_node.chainclient.abi import format_amount, parse_address
from cybermiles_node.chainclient.rpcclient import RpcClient
from cybermiles_node.cli.contracts import rpc_option
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange
from cybermiles_node.cli.stake import EXPECTED, native_transaction, parse_cmt, transaction_command
from vm.native.addresses import SPONSOR_ADDRESS
from vm.sponsorship.rule import MAX_WINDOW_SECONDS, MIN_TX_GAS

SPONSORSHIP_OF = function_signature_to_4byte_selector("sponsorshipOf(address)")
SPONSORED_TXS_OF = function_signature_to_4byte_selector("sponsoredTxsOf(address,address)")
SPONSORSHIP_TYPES = ["address", "uint256", "uint64", "uint32", "uint64", "uint64"]
U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1


@click.group("sponsor")
def sponsor() -> None:
    """Sponsored gas: deposits that pay the fees of zero-price calls to a contract."""


def _view(rpc_url: str, selector: bytes, types: list[str], values: list[Any], returns: list[str]) -> tuple[Any, ...]:
    data = selector + eth_abi.encode(types, values)
    answer = RpcClient(rpc_url).call("eth_call", {"to": "0x" + SPONSOR_ADDRESS.hex(), "data": "0x" + data.hex()},
                                     "latest")
    return tuple(eth_abi.decode(returns, bytes.fromhex(answer[2:])))


@sponsor.command("show")
@click.argument("target")
@click.option("--sender", help="Also show this sender's window of sponsored transactions.")
@rpc_option
@json_option
def show(target: str, sender: str | None, rpc_url: str, json_output: bool) -> None:
    """Show the sponsorship of TARGET: manager, deposit and bounds."""
    with reporting_errors(json_output, EXPECTED):
        address = parse_address(target, "target address")
        manager, balance, max_gas, max_txs, window, block_gas = _view(
            rpc_url, SPONSORSHIP_OF, ["address"], [address], SPONSORSHIP_TYPES)
        used = None
        if sender is not None:
            who = parse_address(sender, "--sender")
            used = _view(rpc_url, SPONSORED_TXS_OF, ["address", "address"], [address, who], ["uint32", "uint64"])
    configured = max_gas != 0
    manager = to_checksum_address(manager)
    document: dict[str, Any] = {"target": address, "configured": configured, "manager": manager,
                                "balance": str(balance), "maxGasPerTx": max_gas, "maxTxsPerSenderPerWindow": max_txs,
                                "windowSeconds": window, "maxGasPerBlock": block_gas}
    lines = [f"sponsorship of {address}: " + ("configured" if configured else "none")]
    if configured:
        lines += [f"  manager    {manager}", f"  deposit    {format_amount(balance)}",
                  f"  per tx     at most {max_gas} gas",
                  f"  per sender at most {max_txs} transactions per {window} s of block time",
                  f"  per block  at most {block_gas} gas"]
    if used is not None:
        document["sender"] = {"address": sender, "used": used[0], "windowStart": used[1]}
        lines.append(f"  sender {sender}: {used[0]} sponsored transactions in the window from block time {used[1]}")
    emit(json_output, document, lines)


def _target_and_amount(tx: dict[str, Any], target: str, amount: str) -> tuple[str, int]:
    """The checked TARGET address and ``--amount`` in wei, or one line saying which is wrong."""
    with reporting_errors(tx["json_output"], EXPECTED):
        return parse_address(target, "target address"), parse_cmt(amount, "--amount")


@transaction_command(sponsor, "deposit")
@click.argument("target")
@click.option("--amount", required=True, help="CMT added to the deposit, e.g. 10.5.")
def deposit(tx: dict[str, Any], target: str, amount: str) -> None:
    """Add CMT to the deposit of TARGET's sponsorship (anyone may)."""
    address, value = _target_and_amount(tx, target, amount)
    native_transaction("ISponsor", "deposit", [address], value, tx,
                       f"Deposited {format_amount(value)} for the sponsorship of {address}")


@transaction_command(sponsor, "withdraw")
@click.argument("target")
@click.option("--amount", required=True, help="CMT taken from the deposit, e.g. 10.5.")
def withdraw(tx: dict[str, Any], target: str, amount: str) -> None:
    """Withdraw unspent deposit of TARGET's sponsorship to the sender (its manager)."""
    address, value = _target_and_amount(tx, target, amount)
    native_transaction("ISponsor", "withdraw", [address, value], 0, tx,
                       f"Withdrew {format_amount(value)} from the sponsorship of {address}")


@transaction_command(sponsor, "configure")
@click.argument("target")
@click.option("--manager", required=True, help="Who may reconfigure and withdraw besides the target.")
@click.option("--max-gas-per-tx", type=AsciiIntRange(MIN_TX_GAS, U64_MAX), required=True,
              help="Largest gas limit of a sponsored transaction.")
@click.option("--max-txs-per-window", type=AsciiIntRange(1, U32_MAX), required=True,
              help="Sponsored transactions one sender may send per window.")
@click.option("--window-seconds", type=AsciiIntRange(1, MAX_WINDOW_SECONDS), required=True,
              help="The window's length in block time.")
@click.option("--max-gas-per-block", type=AsciiIntRange(MIN_TX_GAS, U64_MAX), required=True,
              help="Sponsored gas (sum of gas limits) per block.")
def configure(tx: dict[str, Any], target: str, manager: str, max_gas_per_tx: int, max_txs_per_window: int,
              window_seconds: int, max_gas_per_block: int) -> None:
    """Change the manager and bounds of TARGET's sponsorship (as its manager)."""
    with reporting_errors(tx["json_output"], EXPECTED):
        address = parse_address(target, "target address")
        new_manager = parse_address(manager, "--manager")
    native_transaction("ISponsor", "configure", [address, new_manager, max_gas_per_tx, max_txs_per_window,
                                                 window_seconds, max_gas_per_block], 0, tx,
                       f"Configured the sponsorship of {address}")


def add_sponsor_commands(group: click.Group) -> None:
    """Register ``cmnode sponsor ...`` on the top-level command group."""
    group.add_command(sponsor)
