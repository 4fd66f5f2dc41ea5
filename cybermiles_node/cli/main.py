"""``cmnode``: the command line of the CyberMiles node.

Node commands (``init``, ``start``, ``status``) live here; developer commands
(``account``, ``send``, ``deploy``, ``call``, ``transact``) are registered
from their own modules. Every expected failure prints one clear line and
exits non-zero; tracebacks are reserved for bugs.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import click

from consensus.errors import ConsensusError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.cli.accounts import account
from cybermiles_node.cli.bpm import add_bpm_commands
from cybermiles_node.cli.configcmd import add_config_commands
from cybermiles_node.cli.contracts import call, deploy, send, transact
from cybermiles_node.cli.gov import add_gov_commands
from cybermiles_node.cli.ipfs import add_ipfs_commands
from cybermiles_node.cli.jury import add_jury_commands
from cybermiles_node.cli.library import add_contracts_commands
from cybermiles_node.cli.oracle import add_oracle_commands
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import HOST_PORT, AsciiIntRange
from cybermiles_node.cli.randomness import add_randomness_commands
from cybermiles_node.cli.rules import add_rules_commands
from cybermiles_node.cli.signer import signer
from cybermiles_node.cli.sponsor import add_sponsor_commands
from cybermiles_node.cli.stake import add_stake_commands
from cybermiles_node.cli.testnet import testnet
from cybermiles_node.cli.webhookcmd import add_webhook_commands
from cybermiles_node.config import (
    BLOCK_INTERVAL_MS,
    Address,
    MetricsSettings,
    NodeConfig,
    RPCSection,
    load_config,
)
from cybermiles_node.errors import HomeError, NodeError
from cybermiles_node.home import HOME_ENV, NodeHome
from cybermiles_node.logs import configure_logging, parse_log_levels
from cybermiles_node.provision import initialise_home, parse_param_overrides
from cybermiles_node.storage.errors import StorageError
from cybermiles_node.version import VERSION
from genesis.errors import GenesisError
from genesis.loader import load_genesis
from genesis.networks import dev_accounts
from p2p.errors import P2PError

NODE_ERRORS = (NodeError, GenesisError, StorageError, ConsensusError, P2PError, OSError)

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=HOME_ENV,
    default=None,
    help=f"Node home directory (default: ${HOME_ENV}, else ~/.cmnode).",
)


@click.group()
@click.version_option(VERSION, prog_name="cmnode")
def cli() -> None:
    """CyberMiles node: run a validator or a local development chain, and work with contracts."""


@cli.command()
@home_option
@click.option("--network", default="local", show_default=True, help="Built-in network to create.")
@click.option("--chain-id", type=AsciiIntRange(1, 2**53 - 1), default=None, help="Chain id (default: the network's).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Genesis chain parameter override (dpos.params), e.g. block_gas_limit=200000000; repeatable.")
@json_option
def init(home: Path | None, network: str, chain_id: int | None, params: tuple[str, ...], json_output: bool) -> None:
    """Create a node home with a new validator key, genesis and config."""
    node_home = NodeHome.resolve(home)
    with reporting_errors(json_output, NODE_ERRORS):
        initialise_home(node_home, network, chain_id, NodeConfig(), parse_param_overrides(params))
        genesis = load_genesis(node_home.genesis)
    emit(
        json_output,
        {"home": str(node_home.root), "chainId": genesis.chain_id, "network": network,
         "genesisHash": genesis.hash()},
        [
            f"Initialised {network} chain {genesis.chain_id} in {node_home.root}",
            f"  genesis hash  0x{genesis.hash().hex()}",
            f"  start it with: cmnode start --home {node_home.root}",
        ],
    )


def _print_dev_banner(config: NodeConfig) -> None:
    click.echo(f"JSON-RPC: http://{config.rpc.addr}  (WebSocket on the same address)", err=True)
    click.echo("Funded dev accounts (mnemonic: test test test test test test test test test test test junk):", err=True)
    for index, dev in enumerate(dev_accounts()[:3]):
        click.echo(f"  ({index}) {dev.checksum_address}  key 0x{dev.private_key.hex()}", err=True)
    click.echo("  ... 20 in all", err=True)


@cli.command()
@home_option
@click.option("--rpc-addr", type=HOST_PORT, default=None,
              help="JSON-RPC listen address HOST:PORT (default 127.0.0.1:8545).")
@click.option("--p2p-addr", type=HOST_PORT, default=None, help="P2P listen address HOST:PORT.")
@click.option("--metrics-addr", type=HOST_PORT, default=None,
              help="Serve Prometheus /metrics (and /health, /ready) on HOST:PORT; enables [metrics].")
@click.option("--block-interval", "block_interval_ms", type=AsciiIntRange(*BLOCK_INTERVAL_MS), default=None,
              help="Milliseconds between blocks (default: genesis timeout_commit_ms).")
@click.option("--no-empty-blocks", is_flag=True, help="Only make blocks when transactions wait.")
@click.option("--dev", is_flag=True, help="Create a local chain in the home if there is none, then start.")
@click.option("--automine", is_flag=True,
              help="With --dev: a block per transaction instead of interval blocks (as Hardhat Network and anvil).")
def start(home: Path | None, rpc_addr: Address | None, p2p_addr: Address | None, metrics_addr: Address | None,
          block_interval_ms: int | None, no_empty_blocks: bool, dev: bool, automine: bool) -> None:
    """Run the node until interrupted (Ctrl-C / SIGTERM)."""
    from cybermiles_node.node import Node

    node_home = NodeHome.resolve(home)
    with reporting_errors(False, NODE_ERRORS):
        if dev and not node_home.is_initialised():
            initialise_home(node_home, "local", None, NodeConfig())
        if not node_home.is_initialised():
            raise HomeError(f"{node_home.root} is not initialised: run `cmnode init --home {node_home.root}` "
                            "or `cmnode start --dev`")
        config = load_config(node_home.config)
        if rpc_addr is not None:
            config = replace(config, rpc=replace(config.rpc, addr=rpc_addr))
        if p2p_addr is not None:
            config = replace(config, p2p=replace(config.p2p, addr=p2p_addr))
        if metrics_addr is not None:
            config = replace(config, metrics=MetricsSettings(enabled=True, addr=metrics_addr))
        if block_interval_ms is not None or no_empty_blocks:
            config = replace(config, consensus=replace(
                config.consensus,
                block_interval_ms=block_interval_ms or config.consensus.block_interval_ms,
                create_empty_blocks=False if no_empty_blocks else config.consensus.create_empty_blocks,
            ))
        genesis = load_genesis(node_home.genesis)
        logs = config.logs
        configure_logging(parse_log_levels(config.log_level), logs.format,
                          node_home.root / logs.file if logs.file else None, logs.file_max_bytes, logs.file_backups)
        if automine and not dev:
            raise click.UsageError("--automine needs --dev")
        node = Node(node_home, config, genesis, dev=dev, automine=automine)
        if dev:
            _print_dev_banner(config)
        asyncio.run(node.run())


@cli.command()
@home_option
@click.option("--rpc", "rpc_url", default=None, help="Node RPC URL (default: from the home's config).")
@json_option
def status(home: Path | None, rpc_url: str | None, json_output: bool) -> None:
    """Show the node's chain, height and latest block."""
    with reporting_errors(json_output, NODE_ERRORS + (RpcClientError,)):
        if rpc_url is None:
            node_home = NodeHome.resolve(home)
            addr = load_config(node_home.config).rpc.addr if node_home.config.exists() else RPCSection().addr
            host = "127.0.0.1" if addr.host in ("0.0.0.0", "::") else addr.host
            rpc_url = f"http://{host}:{addr.port}"
        client = RpcClient(rpc_url)
        chain_id = int(client.call("eth_chainId"), 16)
        block = client.call("eth_getBlockByNumber", "latest", False)
        consensus = client.call("cmt_status")
        version = client.call("web3_clientVersion")
    height = int(block["number"], 16)
    emit(
        json_output,
        {"chainId": chain_id, "height": height, "round": consensus["round"], "step": consensus["step"],
         "latestBlockHash": block["hash"], "latestBlockTime": int(block["timestamp"], 16),
         "peers": consensus["peers"], "catchingUp": consensus["catchingUp"], "validator": consensus["validator"],
         "nodeId": consensus["nodeId"], "clientVersion": version, "rpc": rpc_url},
        [
            f"node        {version} at {rpc_url}",
            f"chain id    {chain_id}",
            f"height      {height}  (0x{block['hash'][2:]})",
            f"consensus   round {consensus['round']}, step {consensus['step'] or '-'} of height {height + 1}",
            f"block time  {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(int(block['timestamp'], 16)))}",
            f"peers       {consensus['peers']}",
            f"catching up {'yes' if consensus['catchingUp'] else 'no'}",
            f"validator   {consensus['validator'] or 'no (full node)'}",
        ],
    )


for command in (account, send, deploy, call, transact, testnet, signer):
    cli.add_command(command)
add_webhook_commands(cli)
add_bpm_commands(cli)
add_rules_commands(cli)
add_stake_commands(cli)
add_gov_commands(cli)
add_randomness_commands(cli)
add_oracle_commands(cli)
add_sponsor_commands(cli)
add_jury_commands(cli)
add_contracts_commands(cli)
add_ipfs_commands(cli)
add_config_commands(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="cmnode")
