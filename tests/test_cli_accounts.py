"""Tests of ``cmnode account new|list|import`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cybermiles_node.cli.accounts import account
from cybermiles_node.keystore import Keystore

DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@click.group()
def root() -> None:
    """A root group standing in for the `cmnode` one."""


root.add_command(account)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner with no password or home from the environment."""
    monkeypatch.delenv("CMNODE_PASSWORD", raising=False)
    monkeypatch.delenv("CMNODE_HOME", raising=False)
    return CliRunner()


def _run(runner: CliRunner, *args: str, input: str | None = None, env: dict[str, str] | None = None):
    return runner.invoke(root, ["account", *args], input=input, env=env, catch_exceptions=False)


def test_new_with_prompted_password_then_list(runner: CliRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = _run(runner, "new", "--home", str(home), "--light-kdf", "--json", input="s3cret\ns3cret\n")
    assert created.exit_code == 0, created.output
    address = json.loads(created.stdout)["address"]  # prompts go to stderr
    listed = _run(runner, "list", "--home", str(home), "--json")
    assert listed.exit_code == 0
    document = json.loads(listed.output)
    assert [item["address"] for item in document["accounts"]] == [address]
    assert document["keystore"] == str(home / "keystore")
    # The password typed at the prompt is the one that unlocks the key.
    assert Keystore(home / "keystore").unlock(address, "s3cret")


def test_new_rejects_mismatched_confirmation(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "new", "--home", str(tmp_path), "--light-kdf", input="one\ntwo\none\n")
    assert "do not match" in result.output
    assert Keystore(tmp_path / "keystore").list() == []


def test_import_from_key_file_with_password_file(runner: CliRunner, tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(DEV_KEY + "\n")
    password_file = tmp_path / "password.txt"
    password_file.write_text("from-file\nsecond line is ignored\n")
    keystore_dir = tmp_path / "keys"
    result = _run(runner, "import", str(key_file), "--keystore", str(keystore_dir),
                  "--password-file", str(password_file), "--light-kdf")
    assert result.exit_code == 0, result.output
    assert f"Imported: {DEV_ADDRESS}" in result.output
    assert Keystore(keystore_dir).unlock(DEV_ADDRESS, "from-file") == bytes.fromhex(DEV_KEY[2:])


def test_import_from_stdin_with_password_from_environment(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "import", "-", "--home", str(tmp_path), "--light-kdf", "--json",
                  input=DEV_KEY + "\n", env={"CMNODE_PASSWORD": "env-pw"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["address"] == DEV_ADDRESS
    assert Keystore(tmp_path / "keystore").unlock(DEV_ADDRESS, "env-pw")


def test_home_from_environment(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "import", "-", "--light-kdf", input=DEV_KEY + "\n",
                  env={"CMNODE_PASSWORD": "pw", "CMNODE_HOME": str(tmp_path / "envhome")})
    assert result.exit_code == 0, result.output
    assert Keystore(tmp_path / "envhome" / "keystore").list() == [DEV_ADDRESS]


def test_import_twice_fails_with_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    args = ("import", "-", "--home", str(tmp_path), "--light-kdf")
    assert _run(runner, *args, input=DEV_KEY, env={"CMNODE_PASSWORD": "pw"}).exit_code == 0
    again = _run(runner, *args, input=DEV_KEY, env={"CMNODE_PASSWORD": "pw"})
    assert again.exit_code == 1
    assert f"Error: account {DEV_ADDRESS} already exists" in again.output
    assert "Traceback" not in again.output


def test_import_invalid_key_json_error(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "import", "-", "--home", str(tmp_path), "--json", input="0x1234\n",
                  env={"CMNODE_PASSWORD": "pw"})
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert "a private key is 32 bytes" in error["message"]


def test_list_empty_keystore(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "list", "--home", str(tmp_path))
    assert result.exit_code == 0
    assert "No accounts in" in result.output
    assert "cmnode account new" in result.output


def test_list_reports_unreadable_files(runner: CliRunner, tmp_path: Path) -> None:
    keystore_dir = tmp_path / "keystore"
    keystore_dir.mkdir()
    (keystore_dir / "UTC--garbage").write_text("not json")
    result = _run(runner, "list", "--home", str(tmp_path))
    assert result.exit_code == 0
    assert "Skipped unreadable key file" in result.output
    assert "UTC--garbage" in result.output


def test_missing_password_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = _run(runner, "new", "--home", str(tmp_path), "--password-file", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
