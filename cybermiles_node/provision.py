"""Creating node homes: keys, genesis and config for a new node or a whole local testnet."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consensus.dpos.errors import DposError
from consensus.dpos.params import format_value, params_from_mapping, parse_value
from consensus.keys import ValidatorKey
from cybermiles_node.config import (
    Address,
    NodeConfig,
    P2PSection,
    RPCSection,
    config_to_toml,
)
from cybermiles_node.errors import HomeError
from cybermiles_node.home import NodeHome
from cybermiles_node.natives import check_genesis, staking_powers
from genesis.document import DposGenesis
from genesis.document import Validator as GenesisValidator
from genesis.errors import GenesisValidationError
from genesis.loader import save_genesis
from genesis.networks import LOCAL_VALIDATOR_STAKE, NETWORKS, dev_accounts
from p2p.keys import NodeKey


def ensure_keys(home: NodeHome) -> ValidatorKey:
    """The home's validator key and p2p node key, created when missing."""
    home.validator_key.parent.mkdir(parents=True, exist_ok=True)
    if not home.node_key.exists():
        NodeKey.generate().save(home.node_key)
    if home.validator_key.exists():
        return ValidatorKey.load(home.validator_key)
    key = ValidatorKey.generate()
    key.save(home.validator_key)
    return key


#: A one-node chain elects one validator: a candidacy declared to try staking becomes a
#: backup (it still earns) instead of taking a share of consensus power the chain's only
#: node cannot make up for; staking more than that validator does takes its seat.
SINGLE_VALIDATOR_DPOS = DposGenesis(params=(("max_validators", 1),))


def initialise_home(home: NodeHome, network: str, chain_id: int | None, config: NodeConfig,
                    dpos: DposGenesis | None = None) -> None:
    """Create a node home: validator key, genesis document (one elected validator) and config file.

    ``dpos`` carries genesis parameter overrides (see ``parse_param_overrides``), applied over the
    single-validator election.
    """
    if home.is_initialised():
        raise HomeError(f"{home.root} is already initialised (remove it or choose another --home)")
    if network not in NETWORKS:
        raise HomeError(f"unknown network {network!r} (known: {', '.join(sorted(NETWORKS))})")
    home.data.mkdir(parents=True, exist_ok=True)
    key = ensure_keys(home)
    kwargs: dict[str, object] = {"genesis_time": int(time.time()), "consensus_powers": staking_powers,
                                 "dpos": DposGenesis(params=tuple(sorted(
                                     {**SINGLE_VALIDATOR_DPOS.overrides(), **(dpos or DposGenesis()).overrides()}
                                     .items())))}
    if chain_id is not None:
        kwargs["chain_id"] = chain_id
    genesis = NETWORKS[network](key.public_key, **kwargs)
    save_genesis(genesis, home.genesis)
    home.config.write_text(config_to_toml(config))


def parse_param_overrides(assignments: Sequence[str]) -> DposGenesis:
    """The genesis ``dpos`` section of ``NAME=VALUE`` assignments (a later one for a name wins).

    Values are written as governance proposals write them (decimal integers,
    ``true``/``false``, ``0x`` addresses) and checked against the parameter
    table; a bad one raises ``GenesisValidationError`` at ``dpos.params.NAME``,
    as loading a genesis document with that value would.
    """
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sign, text = assignment.partition("=")
        name = name.strip()
        if not sign or not name:
            raise GenesisValidationError("--param", "dpos.params", f"expected NAME=VALUE, got {assignment!r}")
        try:
            value = parse_value(name, text.strip())
        except DposError as exc:
            raise GenesisValidationError("--param", f"dpos.params.{name}", str(exc)) from None
        values[name] = format_value(value) if isinstance(value, bytes) else value
    try:
        params_from_mapping(values)  # the checks across parameters, e.g. a block gas limit's minimum
    except DposError as exc:
        raise GenesisValidationError("--param", "dpos.params", str(exc)) from None
    return DposGenesis(params=tuple(sorted(values.items())))


def write_testnet(output: Path, validator_count: int, full_node_count: int, base_port: int,
                  chain_id: int | None, rpc_host: str = "127.0.0.1",
                  dpos: DposGenesis | None = None) -> list[dict[str, object]]:
    """Create the node homes of a loopback testnet; returns their descriptions.

    ``dpos`` carries genesis parameter overrides (see ``parse_param_overrides``);
    the validators' consensus powers follow the overridden size threshold.
    """
    overrides = dpos or DposGenesis()
    try:
        params = params_from_mapping(overrides.overrides())
    except DposError as exc:
        raise GenesisValidationError("--param", "dpos.params", str(exc)) from None
    total = validator_count + full_node_count
    if base_port + 2 * total > 65535:
        raise HomeError(f"--base-port {base_port} leaves no room for {total} nodes below port 65536")
    homes = [NodeHome.resolve(output / f"node{index}") for index in range(total)]
    for home in homes:
        if home.is_initialised():
            raise HomeError(f"{home.root} is already initialised (choose an empty --output)")
        home.data.mkdir(parents=True, exist_ok=True)
    keys = [ensure_keys(home) for home in homes]
    node_ids = [NodeKey.load(home.node_key).node_id for home in homes]
    owners = dev_accounts()
    extra = tuple(
        GenesisValidator(name=f"validator-{index}", pub_key=keys[index].public_key, power=1,
                         owner=owners[index % len(owners)].address, stake=LOCAL_VALIDATOR_STAKE)
        for index in range(1, validator_count)
    )
    kwargs: dict[str, object] = {"genesis_time": int(time.time()), "extra_validators": extra, "dpos": overrides,
                                 "consensus_powers": lambda stakes: staking_powers(stakes, params)}
    if chain_id is not None:
        kwargs["chain_id"] = chain_id
    genesis = NETWORKS["local"](keys[0].public_key, **kwargs)
    check_genesis(genesis)
    nodes = []
    for index, home in enumerate(homes):
        p2p_port, rpc_port = base_port + 2 * index, base_port + 2 * index + 1
        peers = tuple(f"{node_ids[other]}@127.0.0.1:{base_port + 2 * other}" for other in range(total) if other != index)
        config = NodeConfig(
            moniker=f"node{index}",
            p2p=P2PSection(addr=Address("127.0.0.1", p2p_port), persistent_peers=peers),
            rpc=RPCSection(addr=Address(rpc_host, rpc_port)),
        )
        save_genesis(genesis, home.genesis)
        home.config.write_text(config_to_toml(config))
        nodes.append({"home": str(home.root), "rpc": f"http://127.0.0.1:{rpc_port}",
                      "p2p": f"{node_ids[index]}@127.0.0.1:{p2p_port}", "validator": index < validator_count})
    return nodes
