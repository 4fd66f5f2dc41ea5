"""``cmnode signer``: keep a validator's consensus key off the node, in a signer process that dials it.

``init`` creates a signer home (identity key, validator key, last-signed
record) and prints the ``[privval]`` lines for the node's ``config.toml``;
``start`` dials the node and signs its proposals and votes until Ctrl-C or
SIGTERM, redialing whenever the connection is lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click

from consensus.errors import ConsensusError
from consensus.keys import ValidatorKey
from consensus.privval import PrivValidator
from consensus.remote_signer.service import SignerService, SignerServiceConfig
from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.errors import NodeError
from cybermiles_node.home import NodeHome
from cybermiles_node.signer_home import SignerHome, initialise_signer_home, load_chain_id
from p2p.address import NetAddress
from p2p.errors import P2PError
from p2p.keys import NodeKey

SIGNER_ERRORS = (NodeError, ConsensusError, P2PError, OSError)

signer_home_option = click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path), required=True, help="Signer home directory.")


@click.group()
def signer() -> None:
    """Run a remote signer: the validator key on another host, dialing its node."""


@signer.command("init")
@signer_home_option
@click.option("--chain-id", type=click.IntRange(1, 2**53 - 1), default=15, show_default=True,
              help="Chain id the signer signs for.")
@click.option("--import-from", "node_home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Node home whose validator key and last-signed record to copy (stop that node first).")
@click.option("--laddr", default="tcp://127.0.0.1:26659", show_default=True,
              help="Address the node will listen on for the signer (printed into the config lines).")
@json_option
def init(home: Path, chain_id: int, node_home: Path | None, laddr: str, json_output: bool) -> None:
    """Create a signer home and print the node's [privval] settings."""
    signer_home = SignerHome(home.expanduser().resolve())
    with reporting_errors(json_output, SIGNER_ERRORS):
        privval = initialise_signer_home(signer_home, chain_id,
                                         NodeHome.resolve(node_home) if node_home is not None else None)
        signer_id = NodeKey.load(signer_home.identity_key).node_id
    public_key = privval.key.public_key.hex()
    emit(
        json_output,
        {"home": str(signer_home.root), "chainId": chain_id, "signerId": signer_id,
         "validatorAddress": privval.address, "validatorPubKey": public_key},
        [
            f"Initialised signer home {signer_home.root} for chain {chain_id}",
            f"  signer id          {signer_id}",
            f"  validator address  0x{privval.address.hex()}",
            f"  validator pub key  {public_key}",
            *([f"  imported from {node_home}: delete its config/validator_key.json once the signer runs"]
              if node_home is not None else []),
            "Add to the node's config.toml:",
            "  [privval]",
            f'  laddr = "{laddr}"',
            f'  signer_id = "{signer_id}"',
            f'  validator_pub_key = "{public_key}"',
            f"then run: cmnode signer start --home {signer_home.root} --node NODE_ID@HOST:PORT",
        ],
    )


@signer.command("start")
@signer_home_option
@click.option("--node", "node_address", required=True, metavar="NODE_ID@HOST:PORT",
              help="The node's id (cmnode status shows it) and its [privval] laddr.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def start(home: Path, node_address: str, log_level: str) -> None:
    """Dial the node and sign for it until interrupted (Ctrl-C / SIGTERM)."""
    signer_home = SignerHome(home.expanduser().resolve())
    with reporting_errors(False, SIGNER_ERRORS):
        node = NetAddress.parse(node_address)
        chain_id = load_chain_id(signer_home)
        identity = NodeKey.load(signer_home.identity_key)
        privval = PrivValidator(ValidatorKey.load(signer_home.validator_key), signer_home.last_signed)
        logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                            format="%(asctime)s %(levelname)-5s %(name)s: %(message)s")
        logging.getLogger(__name__).info("signer %s for validator 0x%s of chain %d, serving node %s",
                                         identity.node_id, privval.address.hex(), chain_id, node)
        asyncio.run(_serve_until_stopped(SignerService(identity, privval, SignerServiceConfig(node, chain_id))))


async def _serve_until_stopped(service: SignerService) -> None:
    task = asyncio.create_task(service.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
