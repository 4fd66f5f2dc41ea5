"""``cmnode``: the command line of the CyberMiles node.

Node commands (``init``, ``start``, ``status``) live here; developer commands
(``account``, ``send``, ``deploy``, ``call``, ``transact``) are registered
from their own modules. Every expected failure prints one clear line and
exits non-zero; tracebacks are reserved for bugs.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from consensus.errors import ConsensusError
from consensus.keys import ValidatorKey
from cybermiles_node.cli.accounts import account
from cybermiles_node.cli.contracts import call, deploy, send, transact
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.rpcclient import RpcClient, RpcClientError
from cybermiles_node.config import (
    Address,
    NodeConfig,
    P2PSettings,
    RPCSettings,
    config_to_toml,
    load_config,
)
from cybermiles_node.errors import HomeError, NodeError
from cybermiles_node.home import HOME_ENV, NodeHome
from cybermiles_node.rpc_backend import VERSION
from cybermiles_node.storage.errors import StorageError
from genesis.document import Validator as GenesisValidator
from genesis.errors import GenesisError
from genesis.loader import load_genesis, save_genesis
from genesis.networks import NETWORKS, dev_accounts
from p2p.errors import P2PError
from p2p.keys import NodeKey

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


def _ensure_keys(home: NodeHome) -> ValidatorKey:
    """The home's validator key and p2p node key, created when missing."""
    home.validator_key.parent.mkdir(parents=True, exist_ok=True)
    if not home.node_key.exists():
        NodeKey.generate().save(home.node_key)
    if home.validator_key.exists():
        return ValidatorKey.load(home.validator_key)
    key = ValidatorKey.generate()
    key.save(home.validator_key)
    return key


def initialise_home(home: NodeHome, network: str, chain_id: int | None, config: NodeConfig) -> None:
    """Create a node home: validator key, genesis document and config file."""
    if home.is_initialised():
        raise HomeError(f"{home.root} is already initialised (remove it or choose another --home)")
    if network not in NETWORKS:
        raise HomeError(f"unknown network {network!r} (known: {', '.join(sorted(NETWORKS))})")
    home.data.mkdir(parents=True, exist_ok=True)
    key = _ensure_keys(home)
    kwargs = {"genesis_time": int(time.time())}
    if chain_id is not None:
        kwargs["chain_id"] = chain_id
    genesis = NETWORKS[network](key.public_key, **kwargs)
    save_genesis(genesis, home.genesis)
    home.config.write_text(config_to_toml(config))


@cli.command()
@home_option
@click.option("--network", default="local", show_default=True, help="Built-in network to create.")
@click.option("--chain-id", type=click.IntRange(1, 2**53 - 1), default=None, help="Chain id (default: the network's).")
@json_option
def init(home: Path | None, network: str, chain_id: int | None, json_output: bool) -> None:
    """Create a node home with a new validator key, genesis and config."""
    node_home = NodeHome.resolve(home)
    with reporting_errors(json_output, NODE_ERRORS):
        initialise_home(node_home, network, chain_id, NodeConfig())
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
@click.option("--rpc-addr", default=None, help="JSON-RPC listen address HOST:PORT (default 127.0.0.1:8545).")
@click.option("--p2p-addr", default=None, help="P2P listen address HOST:PORT.")
@click.option("--block-interval", "block_interval_ms", type=click.IntRange(50, 600_000), default=None,
              help="Milliseconds between blocks (default: genesis timeout_commit_ms).")
@click.option("--no-empty-blocks", is_flag=True, help="Only make blocks when transactions wait.")
@click.option("--dev", is_flag=True, help="Create a local chain in the home if there is none, then start.")
def start(home: Path | None, rpc_addr: str | None, p2p_addr: str | None, block_interval_ms: int | None,
          no_empty_blocks: bool, dev: bool) -> None:
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
            config = replace(config, rpc=replace(config.rpc, addr=Address.parse(rpc_addr, "--rpc-addr")))
        if p2p_addr is not None:
            config = replace(config, p2p=replace(config.p2p, addr=Address.parse(p2p_addr, "--p2p-addr")))
        if block_interval_ms is not None or no_empty_blocks:
            config = replace(config, consensus=replace(
                config.consensus,
                block_interval_ms=block_interval_ms or config.consensus.block_interval_ms,
                create_empty_blocks=False if no_empty_blocks else config.consensus.create_empty_blocks,
            ))
        genesis = load_genesis(node_home.genesis)
        logging.basicConfig(
            level=config.log_level.upper(), stream=sys.stderr,
            format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        )
        node = Node(node_home, config, genesis)
        if dev:
            _print_dev_banner(config)
        asyncio.run(node.run())


@cli.command()
@click.option("--validators", "validator_count", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Number of validator nodes.")
@click.option("--full-nodes", "full_node_count", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Number of non-validating full nodes.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write one home per node into (node0, node1, ...).")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=26650, show_default=True,
              help="Node i listens for p2p on BASE+2i and for JSON-RPC on BASE+2i+1.")
@click.option("--chain-id", type=click.IntRange(1, 2**53 - 1), default=None, help="Chain id (default 15).")
@json_option
def testnet(validator_count: int, full_node_count: int, output: Path, base_port: int, chain_id: int | None,
            json_output: bool) -> None:
    """Write the homes of a local testnet: shared genesis, keys, and configs peering on 127.0.0.1."""
    with reporting_errors(json_output, NODE_ERRORS):
        nodes = write_testnet(output, validator_count, full_node_count, base_port, chain_id)
    if json_output:
        click.echo(json.dumps(nodes))
        return
    click.echo(f"Wrote a testnet of {validator_count} validators and {full_node_count} full nodes in {output}")
    for node in nodes:
        role = "validator" if node["validator"] else "full node"
        click.echo(f"  {node['home']}  rpc {node['rpc']}  p2p {node['p2p']}  {role}")
    click.echo(f"Start each node with: cmnode start --home {output}/nodeN")


def write_testnet(output: Path, validator_count: int, full_node_count: int, base_port: int,
                  chain_id: int | None) -> list[dict[str, object]]:
    """Create the node homes of a loopback testnet; returns their descriptions."""
    total = validator_count + full_node_count
    if base_port + 2 * total > 65535:
        raise HomeError(f"--base-port {base_port} leaves no room for {total} nodes below port 65536")
    homes = [NodeHome.resolve(output / f"node{index}") for index in range(total)]
    for home in homes:
        if home.is_initialised():
            raise HomeError(f"{home.root} is already initialised (choose an empty --output)")
        home.data.mkdir(parents=True, exist_ok=True)
    keys = [_ensure_keys(home) for home in homes]
    node_ids = [NodeKey.load(home.node_key).node_id for home in homes]
    owners = dev_accounts()
    extra = tuple(
        GenesisValidator(name=f"validator-{index}", pub_key=keys[index].public_key, power=10,
                         owner=owners[index % len(owners)].address)
        for index in range(1, validator_count)
    )
    kwargs: dict[str, object] = {"genesis_time": int(time.time()), "extra_validators": extra}
    if chain_id is not None:
        kwargs["chain_id"] = chain_id
    genesis = NETWORKS["local"](keys[0].public_key, **kwargs)
    nodes = []
    for index, home in enumerate(homes):
        p2p_port, rpc_port = base_port + 2 * index, base_port + 2 * index + 1
        peers = tuple(f"{node_ids[other]}@127.0.0.1:{base_port + 2 * other}" for other in range(total) if other != index)
        config = NodeConfig(
            moniker=f"node{index}",
            p2p=P2PSettings(addr=Address("127.0.0.1", p2p_port), persistent_peers=peers),
            rpc=replace(RPCSettings(), addr=Address("127.0.0.1", rpc_port)),
        )
        save_genesis(genesis, home.genesis)
        home.config.write_text(config_to_toml(config))
        nodes.append({"home": str(home.root), "rpc": f"http://127.0.0.1:{rpc_port}",
                      "p2p": f"{node_ids[index]}@127.0.0.1:{p2p_port}", "validator": index < validator_count})
    return nodes


@cli.command()
@home_option
@click.option("--rpc", "rpc_url", default=None, help="Node RPC URL (default: from the home's config).")
@json_option
def status(home: Path | None, rpc_url: str | None, json_output: bool) -> None:
    """Show the node's chain, height and latest block."""
    with reporting_errors(json_output, NODE_ERRORS + (RpcClientError,)):
        if rpc_url is None:
            node_home = NodeHome.resolve(home)
            addr = load_config(node_home.config).rpc.addr if node_home.config.exists() else Address("127.0.0.1", 8545)
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


for command in (account, send, deploy, call, transact):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="cmnode")
