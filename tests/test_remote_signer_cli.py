"""``cmnode signer`` and the node's ``[privval]`` settings: homes, key files, and clear errors for bad input."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_hash.auto import keccak

from consensus.keys import ValidatorKey
from consensus.privval import STEP_PRECOMMIT, PrivValidator
from cybermiles_node.cli.main import cli
from cybermiles_node.config import parse_config
from cybermiles_node.errors import ConfigError
from cybermiles_node.home import NodeHome
from p2p.keys import NodeKey

KEY = ValidatorKey(seed=keccak(b"signer cli validator"))
SIGNER_ID = "52bd3eb175ad4a0d4cd979e429b23f8ec3018912"


def signer_init(home: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(cli, ["signer", "init", "--home", str(home), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_init_creates_a_private_home_and_prints_what_the_node_needs(tmp_path: Path) -> None:
    home = tmp_path / "signer"
    info = signer_init(home, "--chain-id", "15")
    assert info["signerId"] == NodeKey.load(home / "identity_key.json").node_id
    key = ValidatorKey.load(home / "validator_key.json")
    assert info["validatorPubKey"] == key.public_key.hex() and info["validatorAddress"] == "0x" + key.address.hex()
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    for name in ("identity_key.json", "validator_key.json"):
        assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600
    again = CliRunner().invoke(cli, ["signer", "init", "--home", str(home)])
    assert again.exit_code == 1 and "already a signer home" in again.output and "Traceback" not in again.output
    assert ValidatorKey.load(home / "validator_key.json") == key  # untouched


def test_init_imports_a_node_s_key_and_last_signed_record_so_the_guard_carries_over(tmp_path: Path) -> None:
    node = NodeHome(tmp_path / "node")
    node.validator_key.parent.mkdir(parents=True)
    node.data.mkdir()
    KEY.save(node.validator_key)
    PrivValidator(KEY, node.last_signed).sign(9, 1, STEP_PRECOMMIT, b"a block the node signed")
    info = signer_init(tmp_path / "signer", "--import-from", str(node.root))
    assert info["validatorPubKey"] == KEY.public_key.hex()
    guard = PrivValidator(KEY, tmp_path / "signer" / "data" / "last_signed.json")
    assert guard.last is not None and (guard.last.height, guard.last.round) == (9, 1)


@pytest.mark.parametrize(("args", "message"), [
    (["signer", "init", "--home", "{tmp}/s", "--import-from", "{tmp}/nowhere"], "has no validator key to import"),
    (["signer", "start", "--home", "{tmp}/s", "--node", "not-an-address"], "bad peer address"),
    (["signer", "start", "--home", "{tmp}/s", "--node", f"{SIGNER_ID}@127.0.0.1:99999"], "bad port"),
    (["signer", "start", "--home", "{tmp}/none", "--node", f"{SIGNER_ID}@127.0.0.1:26659"], "is not a signer home"),
])
def test_bad_input_gets_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("section", "message"), [
    ({"laddr": "127.0.0.1:26659", "signer_id": SIGNER_ID, "validator_pub_key": "ab" * 32}, 'expected "tcp://HOST:PORT"'),
    ({"laddr": "tcp://127.0.0.1:0", "signer_id": SIGNER_ID, "validator_pub_key": "ab" * 32}, "port in 1..65535"),
    ({"laddr": "tcp://127.0.0.1:26659", "validator_pub_key": "ab" * 32}, "privval.signer_id"),
    ({"laddr": "tcp://127.0.0.1:26659", "signer_id": SIGNER_ID[:-1], "validator_pub_key": "ab" * 32}, "signer_id"),
    ({"laddr": "tcp://127.0.0.1:26659", "signer_id": SIGNER_ID, "validator_pub_key": "ab" * 31}, "validator_pub_key"),
    ({"signer_id": SIGNER_ID}, "need laddr"),
    ({"laddr": "tcp://127.0.0.1:26659", "signer_id": SIGNER_ID, "validator_pub_key": "ab" * 32, "typo": 1},
     "unknown setting 'typo'"),
])
def test_bad_privval_settings_are_named(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"privval": section})


def test_a_node_whose_signer_address_is_taken_stops_with_one_clear_line(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert CliRunner().invoke(cli, ["init", "--home", str(home)]).exit_code == 0
    with socket.socket() as taken, socket.socket() as rpc:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        rpc.bind(("127.0.0.1", 0))
        rpc_port = rpc.getsockname()[1]
        rpc.close()
        with open(home / "config.toml", "a") as config:
            config.write(f'\n[privval]\nladdr = "tcp://127.0.0.1:{taken.getsockname()[1]}"\n'
                         f'signer_id = "{SIGNER_ID}"\nvalidator_pub_key = "{KEY.public_key.hex()}"\n')
        result = subprocess.run(
            [sys.executable, "-m", "cybermiles_node.cli", "start", "--home", str(home),
             "--rpc-addr", f"127.0.0.1:{rpc_port}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "[privval] laddr" in result.stderr and "cannot listen for the signer" in result.stderr
    assert "Traceback" not in result.stderr
