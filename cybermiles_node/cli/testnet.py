"""``cmnode testnet``: write the homes of a local multi-node network, and optionally run it.

With ``--start`` the whole network runs in one command: every node is started
as a child process (its log in ``<output>/nodeN.log``), the RPC addresses are
printed, and Ctrl-C or SIGTERM stops them all.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from cybermiles_node.cli.output import json_option, reporting_errors
from cybermiles_node.cli.params import HOST, AsciiIntRange
from cybermiles_node.errors import NodeError
from cybermiles_node.provision import parse_param_overrides, write_testnet
from genesis.errors import GenesisError
from p2p.errors import P2PError

TESTNET_ERRORS = (NodeError, GenesisError, P2PError, OSError)


@click.command()
@click.option("--validators", "validator_count", type=AsciiIntRange(1, 64), default=4, show_default=True,
              help="Number of validator nodes.")
@click.option("--full-nodes", "full_node_count", type=AsciiIntRange(0, 64), default=0, show_default=True,
              help="Number of non-validating full nodes.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write one home per node into (node0, node1, ...).")
@click.option("--base-port", type=AsciiIntRange(1024, 65000), default=26650, show_default=True,
              help="Node i listens for p2p on BASE+2i and for JSON-RPC on BASE+2i+1.")
@click.option("--chain-id", type=AsciiIntRange(1, 2**53 - 1), default=None, help="Chain id (default 15).")
@click.option("--rpc-host", type=HOST, default="127.0.0.1", show_default=True,
              help="Interface the nodes' JSON-RPC listens on (0.0.0.0 inside a container).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Genesis chain parameter override (dpos.params), e.g. election_interval=5; repeatable.")
@click.option("--start", "start_nodes", is_flag=True, help="Also run every node until Ctrl-C.")
@json_option
def testnet(validator_count: int, full_node_count: int, output: Path, base_port: int, chain_id: int | None,
            rpc_host: str, params: tuple[str, ...], start_nodes: bool, json_output: bool) -> None:
    """Write the homes of a local testnet: shared genesis, keys, and configs peering on 127.0.0.1."""
    with reporting_errors(json_output, TESTNET_ERRORS):
        dpos = parse_param_overrides(params)
        nodes = write_testnet(output, validator_count, full_node_count, base_port, chain_id, rpc_host, dpos)
    if json_output:
        click.echo(json.dumps(nodes))
    else:
        click.echo(f"Wrote a testnet of {validator_count} validators and {full_node_count} full nodes in {output}")
        for node in nodes:
            role = "validator" if node["validator"] else "full node"
            click.echo(f"  {node['home']}  rpc {node['rpc']}  p2p {node['p2p']}  {role}")
        if not start_nodes:
            click.echo(f"Start each node with: cmnode start --home {output}/nodeN")
    if start_nodes:
        run_nodes([Path(str(node["home"])) for node in nodes], output)


def run_nodes(homes: list[Path], log_dir: Path) -> None:
    """Run ``cmnode start`` for every home until interrupted; stop them all on the way out."""
    processes = []
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        for home in homes:
            log = open(log_dir / f"{home.name}.log", "a")  # noqa: SIM115 - the child writes to it until it exits
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", str(home)],
                stdout=log, stderr=subprocess.STDOUT,
            ))
        click.echo(f"Running {len(processes)} nodes (logs in {log_dir}/nodeN.log); Ctrl-C stops them.", err=True)
        while not stopping:
            for home, process in zip(homes, processes):
                if process.poll() is not None:
                    click.echo(f"node {home.name} exited with code {process.returncode}; see its log", err=True)
                    stopping = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        click.echo("all nodes stopped", err=True)
