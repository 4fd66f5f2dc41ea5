"""End to end: library contracts deployed with one ``cmnode contracts deploy`` each on ``cmnode start --dev``.

LocalPromotions is deployed by a development account with the promotion tiers registered in the same command;
Groups by a keystore account with constructor arguments by name and the purchase-approval process deployed in the
same command. web3.py then uses them: the rule set and definition exist under the printed ids, owned by the
deployer, and the contracts answer as their constructor arguments say.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from cybermiles_node.cli.library import native_abi
from cybermiles_node.contract_library import compile_contracts, find_contract
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account
from vm.native.addresses import RULES_ADDRESS, WORKFLOW_ADDRESS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TIERS = str(REPO / "examples" / "rules" / "local-promotion-tiers.rules")
PROCESS = str(REPO / "examples" / "bpm" / "purchase-approval.json")
RULES = Web3.to_checksum_address(RULES_ADDRESS)
WORKFLOW = Web3.to_checksum_address(WORKFLOW_ADDRESS)


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A ``cmnode start --dev`` process."""
    node = NodeProcess(tmp_path_factory.mktemp("contracts-cli") / "home", block_interval_ms=300)
    node.start(dev=True)
    yield node
    node.stop()


def deploy(*args: str) -> dict:
    """``cmnode contracts deploy ARGS --json``, which must succeed."""
    result = cmnode("contracts", "deploy", *args, "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_local_promotions_with_its_tiers_in_one_command(dev_node: NodeProcess) -> None:
    business = dev_account(3)
    deployed = deploy("LocalPromotions", "--rules", TIERS, "--dev-account", "3", "--rpc", dev_node.url)
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    assert deployed["status"] == "success" and deployed["from"] == business.address
    promotions = w3.eth.contract(deployed["address"], abi=compile_contracts([find_contract("LocalPromotions")])[
        "LocalPromotions"].abi)
    rules = w3.eth.contract(RULES, abi=native_abi("IRules"))
    rule_set = int(deployed["ruleSet"]["id"])
    assert rules.functions.ruleSetOwner(rule_set).call() == business.address
    assert rules.functions.ruleSetCount().call() > rule_set

    shop = dev_account(4).address
    tx = promotions.functions.registerShop(shop, "9vg4mq2").build_transaction(
        {"from": business.address, "nonce": w3.eth.get_transaction_count(business.address), "gas": 200_000,
         "maxFeePerGas": 2 * w3.eth.get_block("latest").baseFeePerGas + 10**9, "maxPriorityFeePerGas": 10**9})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(business.sign_transaction(tx).raw_transaction), timeout=30)
    assert receipt.status == 1
    assert promotions.functions.shopGeohash(business.address, shop).call() == "9vg4mq2"


def test_groups_with_named_arguments_and_a_process_from_a_keystore_account(dev_node: NodeProcess,
                                                                          tmp_path: Path) -> None:
    owner, platform = dev_account(5), dev_account(6).address
    key_file, password = tmp_path / "key.txt", tmp_path / "password.txt"
    key_file.write_text(owner.key.hex())
    password.write_text("correct horse\n")
    wallet = ["--home", str(tmp_path / "wallet"), "--password-file", str(password)]
    imported = cmnode("account", "import", str(key_file), *wallet, "--light-kdf", check=False)
    assert imported.returncode == 0, imported.stderr

    deployed = deploy("Groups", "--arg", f"platform={platform}", "--arg", "creationFee_=1.5cmt",
                      "--process", PROCESS, *wallet, "--rpc", dev_node.url)
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    groups = w3.eth.contract(deployed["address"], abi=compile_contracts([find_contract("Groups")])["Groups"].abi)
    assert groups.functions.platform().call() == platform
    assert groups.functions.creationFee().call() == 15 * 10**17
    workflow = w3.eth.contract(WORKFLOW, abi=native_abi("IWorkflow"))
    name, version, _ = workflow.functions.getDefinition(int(deployed["definition"]["id"])).call()
    assert (name, version) == ("purchase-approval", 1)

    refused = cmnode("contracts", "deploy", "Groups", "--arg", f"platform={platform}", *wallet,
                     "--rpc", dev_node.url, check=False)
    assert refused.returncode == 1 and "needs --arg for creationFee" in refused.stderr
    assert "Traceback" not in refused.stderr
