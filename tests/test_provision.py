"""A node home made by ``cmnode init`` (and ``--dev``): a one-node chain that trying out staking cannot halt."""
from __future__ import annotations

from pathlib import Path

import eth_abi
from click.testing import CliRunner
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from consensus.keys import ValidatorKey
from cybermiles_node.cli.main import cli
from cybermiles_node.config import NodeConfig
from cybermiles_node.home import NodeHome
from cybermiles_node.natives import dpos_params
from cybermiles_node.provision import initialise_home
from genesis.loader import load_genesis
from tests.conftest import Node
from tests.test_application import GWEI, Proposer
from vm.native.addresses import STAKING_ADDRESS

CHAIN_ID = 15
CMT = 10**18
DECLARE = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"


def test_a_declared_candidacy_becomes_a_backup_and_the_dev_chain_keeps_going(tmp_path: Path, dev_keys) -> None:
    home = NodeHome.resolve(tmp_path / "home")
    initialise_home(home, "local", CHAIN_ID, NodeConfig())
    genesis = load_genesis(home.genesis)
    params = dpos_params(genesis)
    assert params.max_validators == 1
    node = Node(tmp_path / "db", genesis)
    try:
        proposer = Proposer(node, ValidatorKey.load(home.validator_key), genesis)
        only = node.app.validators_at(1)
        declare = function_signature_to_4byte_selector(DECLARE) + eth_abi.encode(
            ["bytes32", "uint256", "uint256"] + ["string"] * 5,
            [b"\x44" * 32, 100_000 * CMT, 0, "Trying staking", "", "", "", ""])
        tx = dev_keys[5].sign_transaction({
            "nonce": 0, "to": to_checksum_address(STAKING_ADDRESS), "value": 10_000 * CMT, "gas": 2_000_000,
            "data": declare, "maxFeePerGas": 5 * GWEI, "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID,
        })
        proposer.decide(proposer.propose([bytes(tx.raw_transaction)]))
        while node.app.latest_header.number < params.election_interval + 2:
            proposer.decide(proposer.propose())
        after = node.app.validators_at(node.app.latest_header.number + 2)
        # still the one validator (its power grew by compounded rewards), not joined by the newcomer
        assert [v.pub_key for v in after.validators] == [v.pub_key for v in only.validators]
        assert after.validators[0].power >= only.validators[0].power
    finally:
        node.close()


def test_init_params_override_the_genesis_and_a_bad_one_leaves_no_home(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", "--home", str(tmp_path / "big"), "--param",
                                      "block_gas_limit=200000000", "--param", "election_interval=50"])
    assert result.exit_code == 0, result.output
    params = dpos_params(load_genesis(NodeHome(tmp_path / "big").genesis))
    assert (params.block_gas_limit, params.election_interval, params.max_validators) == (200_000_000, 50, 1)
    result = CliRunner().invoke(cli, ["init", "--home", str(tmp_path / "small"), "--param", "block_gas_limit=5"])
    assert result.exit_code == 1
    assert "block_gas_limit (5) must be 0 (the genesis value) or at least 1000000" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "small").exists()
