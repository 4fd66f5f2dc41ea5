"""End to end: ``cmnode stake`` and ``cmnode gov`` against a ``cmnode start --dev`` process, as a user runs them."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from consensus.keys import ValidatorKey
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account

pytestmark = pytest.mark.e2e

CMT = 10**18


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory):
    """A node started with ``cmnode start --dev`` on a home it creates."""
    proc = NodeProcess(tmp_path_factory.mktemp("stake") / "home", block_interval_ms=300)
    proc.start(dev=True)
    yield proc
    proc.stop()


def run_json(*args: str) -> dict:
    result = cmnode(*args, "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_declare_delegate_and_query_with_keystore_accounts(dev_node: NodeProcess, tmp_path: Path) -> None:
    password = tmp_path / "password.txt"
    password.write_text("stake horse\n")
    wallet = tmp_path / "wallet"
    owner, delegator = dev_account(7), dev_account(8)
    for account in (owner, delegator):
        key_file = tmp_path / f"{account.address}.txt"
        key_file.write_text(account.key.hex())
        run_json("account", "import", str(key_file), "--home", str(wallet), "--password-file", str(password),
                 "--light-kdf")
    signer = ["--keystore", str(wallet / "keystore"), "--password-file", str(password), "--rpc", dev_node.url]

    # The node's own validator key is the genesis validator's: declaring with it is refused, with the reason.
    refused = cmnode("stake", "declare", "--home", str(dev_node.home), "--max-amount", "100000",
                     "--from", owner.address, *signer, check=False)
    assert refused.returncode == 1
    assert "execution reverted: Staking: " in refused.stderr and "Traceback" not in refused.stderr

    candidate_home = tmp_path / "candidate"
    cmnode("init", "--home", str(candidate_home))
    candidate_key = ValidatorKey.load(candidate_home / "config" / "validator_key.json").public_key
    declared = run_json("stake", "declare", "--home", str(candidate_home), "--max-amount", "100000",
                        "--commission-bp", "1000", "--name", "Corner Shop", "--from", owner.address, *signer)
    assert declared["status"] == "success"
    assert [e["event"] for e in declared["events"]] == ["CandidateDeclared"]
    assert declared["events"][0]["args"]["pubKey"] == "0x" + candidate_key.hex()
    assert declared["value"] == str(10_000 * CMT)  # max amount x the default 10% self-staking ratio

    delegated = run_json("stake", "delegate", owner.address, "--amount", "2500.5", "--from", delegator.address,
                         *signer)
    assert delegated["status"] == "success"
    assert delegated["events"][0]["args"]["amount"] == str(25_005 * CMT // 10)

    # Read at the delegation's block: an election (every 100 blocks) may make the candidate a validator later.
    at = ["--block", str(delegated["blockNumber"]), "--rpc", dev_node.url]
    shown = run_json("stake", "candidate", owner.address, *at)["data"]
    assert int(shown["stake"], 16) == 125_005 * CMT // 10
    assert shown["pubKey"] == "0x" + candidate_key.hex()
    assert shown["description"]["name"] == "Corner Shop"
    text = cmnode("stake", "candidate", owner.address, *at).stdout
    assert "stake       12500.5 CMT of at most 100000 CMT" in text

    listed = run_json("stake", "validators", *at)["data"]
    assert [c["owner"] for c in listed][1:] == [owner.address.lower()]
    assert listed[0]["state"] == "validator" and listed[1]["state"] == shown["state"]
    table = cmnode("stake", "validators", *at).stdout
    assert f"{shown['state']:<9} {owner.address.lower()}" in table and "Corner Shop" in table

    delegations = cmnode("stake", "delegator", delegator.address, "--rpc", dev_node.url).stdout
    assert f"delegated 2500.5 CMT to {owner.address.lower()}" in delegations

    updated = run_json("stake", "update", "--website", "https://shop.example", "--from", owner.address, *signer)
    assert updated["events"][0]["args"]["maxAmount"] == str(100_000 * CMT)  # options not given are kept
    renamed = run_json("stake", "candidate", owner.address, "--rpc", dev_node.url)["data"]["description"]
    assert (renamed["name"], renamed["website"]) == ("Corner Shop", "https://shop.example")

    too_much = cmnode("stake", "withdraw", owner.address, "--amount", "3000", "--from", delegator.address,
                      *signer, "--json", check=False)
    assert too_much.returncode == 1
    error = json.loads(too_much.stdout)["error"]
    assert error["revertReason"] == f"Staking: amount must be between 1 and {25_005 * CMT // 10} wei"


def test_governance_proposals_and_who_may_propose(dev_node: NodeProcess, tmp_path: Path) -> None:
    assert run_json("gov", "proposals", "--rpc", dev_node.url)["data"] == []
    assert "no proposals" in cmnode("gov", "proposals", "--rpc", dev_node.url).stdout
    password = tmp_path / "password.txt"
    password.write_text("gov horse\n")
    outsider = dev_account(9)
    key_file = tmp_path / "key.txt"
    key_file.write_text(outsider.key.hex())
    run_json("account", "import", str(key_file), "--home", str(tmp_path), "--password-file", str(password),
             "--light-kdf")
    refused = cmnode("gov", "propose-param", "max_validators", "21", "--home", str(tmp_path),
                     "--password-file", str(password), "--rpc", dev_node.url, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "execution reverted: Governance: only validators and backup validators may propose" in refused.stderr


def test_the_validator_grants_from_the_reserve_by_proposal_and_vote(dev_node: NodeProcess, tmp_path: Path) -> None:
    password = tmp_path / "password.txt"
    password.write_text("grant horse\n")
    validator_owner = dev_account(0)  # owns the dev chain's only validator: all the voting power
    key_file = tmp_path / "key.txt"
    key_file.write_text(validator_owner.key.hex())
    run_json("account", "import", str(key_file), "--home", str(tmp_path), "--password-file", str(password),
             "--light-kdf")
    signer = ["--home", str(tmp_path), "--password-file", str(password), "--rpc", dev_node.url]
    recipient = "0x" + "5e" * 20
    proposed = run_json("gov", "propose-transfer", recipient, "--amount", "1234.5", "--reason", "a grant", *signer)
    [created] = [e for e in proposed["events"] if e["event"] == "ProposalCreated"]
    proposal_id = str(created["args"]["id"])
    voted = run_json("gov", "vote", proposal_id, "yes", *signer)
    assert voted["status"] == "success"
    deadline = time.time() + 30
    while int(dev_node.rpc("eth_getBalance", recipient, "latest"), 16) == 0:  # executed at the end of a block
        assert time.time() < deadline, "the approved grant was not paid"
        time.sleep(0.2)
    assert int(dev_node.rpc("eth_getBalance", recipient, "latest"), 16) == 12_345 * CMT // 10
    [shown] = [p for p in run_json("gov", "proposals", "--rpc", dev_node.url)["data"] if p["id"] == hex(int(proposal_id))]
    assert shown["status"] == "executed" and shown["votes"][0]["answer"] == "yes"


def test_a_candidacy_is_deactivated_reactivated_discounted_and_withdrawn(dev_node: NodeProcess, tmp_path: Path) -> None:
    password = tmp_path / "password.txt"
    password.write_text("life horse\n")
    owner, delegator = dev_account(10), dev_account(11)
    for account in (owner, delegator):
        key_file = tmp_path / f"{account.address}.txt"
        key_file.write_text(account.key.hex())
        run_json("account", "import", str(key_file), "--home", str(tmp_path / "wallet"), "--password-file",
                 str(password), "--light-kdf")
    signer = ["--keystore", str(tmp_path / "wallet" / "keystore"), "--password-file", str(password),
              "--rpc", dev_node.url]
    candidate_home = tmp_path / "candidate"
    cmnode("init", "--home", str(candidate_home))
    run_json("stake", "declare", "--home", str(candidate_home), "--max-amount", "50000", "--commission-bp", "2000",
             "--from", owner.address, *signer)
    run_json("stake", "delegate", owner.address, "--amount", "1000", "--from", delegator.address, *signer)

    def candidate() -> dict:
        return run_json("stake", "candidate", owner.address, "--rpc", dev_node.url)["data"]

    discounted = run_json("stake", "set-comp-rate", delegator.address, "--commission-bp", "500", "--from",
                          owner.address, *signer)
    assert discounted["status"] == "success"
    [delegation] = run_json("stake", "delegator", delegator.address, "--rpc", dev_node.url)["data"]["delegations"]
    assert delegation["commissionBp"] == hex(500)
    raised = cmnode("stake", "set-comp-rate", delegator.address, "--commission-bp", "3000", "--from", owner.address,
                    *signer, check=False)
    assert raised.returncode == 1 and "execution reverted: Staking: " in raised.stderr

    run_json("stake", "deactivate", "--from", owner.address, *signer)
    assert candidate()["active"] is False
    run_json("stake", "activate", "--from", owner.address, *signer)
    assert candidate()["active"] is True

    withdrawn = run_json("stake", "withdraw-candidacy", "--from", owner.address, *signer)
    assert withdrawn["status"] == "success"
    gone = cmnode("stake", "candidate", owner.address, "--rpc", dev_node.url, check=False)
    assert gone.returncode == 1 and f"no candidate owned by {owner.address.lower()}" in (gone.stderr + gone.stdout)
    unbondings = run_json("stake", "delegator", delegator.address, "--rpc", dev_node.url)["data"]["unbondings"]
    assert [int(u["amount"], 16) for u in unbondings] == [1_000 * CMT]
