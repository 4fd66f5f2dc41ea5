"""End to end: the ``cmnode`` developer commands, run as a user runs them, against a real node."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from consensus.keys import ValidatorKey
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TOKEN_SOL = str(REPO / "examples" / "contracts" / "Token.sol")
RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def run_json(*args: str) -> dict:
    result = cmnode(*args, "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_account_send_deploy_call_transact(node: NodeProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key.txt"
    owner = dev_account(9)
    key_file.write_text(owner.key.hex())
    password = tmp_path / "password.txt"
    password.write_text("correct horse\n")
    home = ["--home", str(tmp_path / "wallet")]
    imported = run_json("account", "import", str(key_file), *home, "--password-file", str(password), "--light-kdf")
    assert imported["address"].lower() == owner.address.lower()
    assert [a["address"].lower() for a in run_json("account", "list", *home)["accounts"]] == [owner.address.lower()]

    signer = [*home, "--password-file", str(password), "--rpc", node.url]
    sent = run_json("send", "--to", RECIPIENT, "--value", "0.5cmt", *signer)
    assert sent["status"] == "success"

    deployed = run_json("deploy", TOKEN_SOL, "Shop Credit", "SHOP", "1000000cmt", *signer)
    token = deployed["contractAddress"]
    source = ["--to", token, "--sol", TOKEN_SOL, "--rpc", node.url]
    assert run_json("call", *source, "symbol")["result"] == ["SHOP"]

    moved = run_json("transact", *source, "transfer", RECIPIENT, "2cmt", *home, "--password-file", str(password))
    assert moved["events"][0]["args"]["value"] == str(2 * 10**18)
    assert run_json("call", *source, "balanceOf", RECIPIENT)["result"] == [str(2 * 10**18)]

    refused = cmnode("transact", *source, "transfer", RECIPIENT, "10000000cmt", *home,
                     "--password-file", str(password), check=False)
    assert refused.returncode == 1
    assert "execution reverted: ERC20: transfer amount exceeds balance" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_status_reports_the_running_chain(node: NodeProcess) -> None:
    status = run_json("status", "--rpc", node.url)
    assert status["chainId"] == 15
    assert status["height"] >= 1
    assert status["catchingUp"] is False
    own_key = ValidatorKey.load(node.home / "config" / "validator_key.json")
    assert status["validator"] == "0x" + own_key.address.hex()  # the one-node chain's validator


def test_cli_errors_are_one_line_and_non_zero(node: NodeProcess, tmp_path: Path) -> None:
    unreachable = cmnode("status", "--rpc", "http://127.0.0.1:1", check=False)
    assert unreachable.returncode == 1 and "cannot reach node" in unreachable.stderr
    not_initialised = cmnode("start", "--home", str(tmp_path / "empty"), check=False)
    assert not_initialised.returncode == 1 and "not initialised" in not_initialised.stderr
    bad_addr = cmnode("init", "--home", str(tmp_path / "x"), "--chain-id", "0", check=False)
    assert bad_addr.returncode == 2
    for result in (unreachable, not_initialised, bad_addr):
        assert "Traceback" not in result.stderr
