"""Bad files and arguments handed to ``cmnode`` get one clear line and a non-zero exit, never a traceback.

One test per input that once escaped as a traceback or a crash: a config.toml
that is not UTF-8, binary, or nests an array 50,000 deep; a port written
with a superscript digit; a genesis with a zero block interval; a block
interval of 10^20 ms in config.toml; an ABI file nested 100,000 deep.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cybermiles_node.cli.main import cli

CMNODE = [sys.executable, "-c", "from cybermiles_node.cli.main import main; main()"]


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template") / "home"
    result = CliRunner().invoke(cli, ["init", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def home(initialised: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(initialised, copy)
    return copy


def _refused(result: Result, exit_code: int, message: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in result.output
    assert "Traceback" not in result.output


def _start(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["start", "--home", str(home), *args])


def test_config_that_is_not_utf8_is_named(home: Path) -> None:
    (home / "config.toml").write_bytes(b'[node]\nmoniker = "\xff"\n')
    _refused(_start(home), 1, "Error: config.toml: not UTF-8 text (byte 18)")


def test_binary_config_is_named(home: Path) -> None:
    (home / "config.toml").write_bytes(bytes(range(256)))
    _refused(_start(home), 1, "Error: config.toml: not UTF-8 text")


def test_config_array_nested_50000_deep_is_refused_by_the_real_command(home: Path) -> None:
    (home / "config.toml").write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    completed = subprocess.run([*CMNODE, "start", "--home", str(home)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr == "Error: config.toml:1: arrays and tables nested deeper than 16 levels\n"


def test_block_interval_of_1e20_in_config_is_refused_with_the_flags_bounds(home: Path) -> None:
    (home / "config.toml").write_text("[consensus]\nblock_interval_ms = 100000000000000000000\n")
    _refused(_start(home), 1,
             "Error: config.toml: consensus.block_interval_ms: must be an integer in 50..600000, "
             "got 100000000000000000000")


@pytest.mark.parametrize("address", ["127.0.0.1:²", "127.0.0.1:٣", "127.0.0.1:99999", "[not-ipv6]:80"])
def test_rpc_address_with_a_non_ascii_or_bad_port_is_a_usage_error(home: Path, address: str) -> None:
    _refused(_start(home, "--rpc-addr", address), 2, "Invalid value for '--rpc-addr'")


def test_block_interval_in_other_digits_is_a_usage_error(home: Path) -> None:
    _refused(_start(home, "--block-interval", "٣٠٠"), 2, "'٣٠٠' is not an integer of ASCII digits 0-9")


def test_genesis_with_a_zero_block_interval_is_refused_with_its_path(home: Path) -> None:
    genesis = json.loads((home / "genesis.json").read_text())
    genesis["consensus"]["timeout_commit_ms"] = 0
    (home / "genesis.json").write_text(json.dumps(genesis))
    _refused(_start(home), 1, "consensus.timeout_commit_ms: must be 50 to 600000 ms, got 0")


def test_abi_file_nested_100000_deep_is_refused_by_the_real_command(tmp_path: Path) -> None:
    abi = tmp_path / "deep.abi.json"
    abi.write_text("[" * 100_000 + "]" * 100_000)
    completed = subprocess.run([*CMNODE, "deploy", "--rpc", "http://127.0.0.1:9", "--abi", str(abi), "--bytecode",
                                "0x00"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr == f"Error: ABI {abi} nests deeper than 1000 levels\n"


@pytest.mark.parametrize(("command", "message"), [
    (["rules", "check"], "not UTF-8 text (byte 0)"),
    (["bpm", "check"], "not UTF-8 text (byte 0)"),
    (["deploy", "--rpc", "http://127.0.0.1:9", "--bytecode", "0x00", "--abi"], "is not UTF-8 text"),
])
def test_files_that_are_not_text_get_one_line(tmp_path: Path, command: list[str], message: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"\xff\xfe\x00binary")
    result = CliRunner().invoke(cli, [*command, str(path)])
    _refused(result, 1, message)
    assert result.output.count("\n") == 1


def test_testnet_rpc_host_that_no_node_could_listen_on_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["testnet", "--validators", "1", "--rpc-host", "a b", "--output", str(tmp_path)])
    _refused(result, 2, "Invalid value for '--rpc-host': expected a host name, an IPv4 address or an IPv6 address")
    assert not any(tmp_path.iterdir())
