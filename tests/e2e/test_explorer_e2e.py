"""End to end: the explorer at ``/explorer`` of a ``cmnode start --dev`` process, in headless Chromium.

A short story runs through web3.py (transfers, an ERC-20 deployed and transferred, a delegation, a
governance proposal and vote, a rule set, a workflow definition and instance); Chromium, driven by
playwright-core, then opens every page and what each rendered is checked against the RPC's answers.
A second node, with ``[webhooks] admin_rpc = true``, checks the middleware page's webhook subscriptions
and dead letters against ``admin_listWebhooks`` and ``admin_listDeadLetters``.
Each page's screenshot is written into the test's temporary folder, or, with
``CMNODE_UPDATE_SCREENSHOTS=1``, into docs/img/ (the pictures the README shows).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import NodeProcess, dev_account, free_port
from vm.native.addresses import GOVERNANCE_ADDRESS, RULES_ADDRESS, STAKING_ADDRESS, WORKFLOW_ADDRESS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "explorer_pages.mjs"
DOC_SCREENSHOTS = REPO / "docs" / "img"
CHROMIUM = Path("/usr/bin/chromium")
CMT = 10**18
CHAIN_ID = 15


def require_browser() -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "playwright-core").is_dir():
        pytest.fail("Node.js and `npm ci` (playwright-core) are required for the explorer test")
    if not CHROMIUM.exists():
        pytest.fail("Chromium is required for the explorer test: apt-get install -y chromium")


def render_pages(url: str, screenshots: Path, targets: dict[str, Any]) -> dict[str, Any]:
    """What Chromium rendered on the explorer pages of the node at ``url`` (see explorer_pages.mjs)."""
    result = subprocess.run(["node", str(SCRIPT), url, str(screenshots), json.dumps(targets)],
                            cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["errors"] == []
    return page


def native(w3: Web3, address: bytes, abi_path: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=json.loads((REPO / abi_path).read_text()))


def send(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> Any:
    """Sign ``tx`` with ``account``, send it and wait for a successful receipt."""
    tx = {"from": account.address, "chainId": CHAIN_ID, "nonce": w3.eth.get_transaction_count(account.address, "pending"),
          "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, **tx}
    tx.setdefault("gas", w3.eth.estimate_gas(tx))
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=30)
    assert receipt.status == 1, receipt
    return receipt


def call_tx(w3: Web3, account: LocalAccount, function: Any, value: int = 0) -> Any:
    return send(w3, account, function.build_transaction({"from": account.address, "value": value, "chainId": CHAIN_ID,
                                                        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                                                        "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}))


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, Web3, dict[str, Any]]]:
    """A development node after the story; the node, a web3 client and the story's hashes and addresses."""
    require_browser()
    node = NodeProcess(tmp_path_factory.mktemp("explorer") / "home", block_interval_ms=300)
    node.start(dev=True)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        validator, alice, bob, delegator, shop, process = (dev_account(i) for i in (0, 1, 2, 3, 4, 5))
        send(w3, alice, {"to": bob.address, "value": 5 * CMT})
        token_artifact = compile_file(REPO / "examples" / "contracts" / "Token.sol")["Token"]
        created = send(w3, alice, {"data": bytes(token_artifact.bytecode) + eth_abi.encode(
            ["string", "string", "uint256"], ["Shop Coupon", "CPN", 1_000_000]), "gas": 3_000_000})
        token = w3.eth.contract(address=created.contractAddress, abi=token_artifact.abi)
        token_transfer = call_tx(w3, alice, token.functions.transfer(bob.address, 42))
        staking = native(w3, STAKING_ADDRESS, "consensus/dpos/IStaking.abi.json")
        call_tx(w3, delegator, staking.functions.delegate(validator.address), value=2_000 * CMT)
        governance = native(w3, GOVERNANCE_ADDRESS, "consensus/dpos/IGovernance.abi.json")
        proposed = call_tx(w3, validator, governance.functions.proposeParam("max_validators", "21", "more seats"))
        proposal_id = governance.events.ProposalCreated().process_log(proposed.logs[0]).args["id"]
        call_tx(w3, validator, governance.functions.vote(proposal_id, 0))
        rules = native(w3, RULES_ADDRESS, "middleware/rules/IRules.abi.json")
        call_tx(w3, shop, rules.functions.registerRuleSet((REPO / "examples" / "rules" / "discount.rules").read_text()))
        workflow = native(w3, WORKFLOW_ADDRESS, "middleware/bpm/IWorkflow.abi.json")
        call_tx(w3, process, workflow.functions.deployDefinition((REPO / "examples" / "bpm" / "order-escrow.json").read_text()))
        definition_id = workflow.functions.definitionCount().call()
        roles = ["buyer", "seller", "arbiter", "escrow"]
        call_tx(w3, process, workflow.functions.startInstance(
            definition_id, roles, [alice.address, bob.address, validator.address, process.address], b""))
        instance = workflow.functions.instanceCount().call()
        call_tx(w3, process, workflow.functions.completeTask(instance, "pay", eth_abi.encode(["int256"], [7 * CMT])))
        targets = {"block": token_transfer.blockNumber, "logTx": token_transfer.transactionHash.to_0x_hex(),
                   "tokenHolder": bob.address.lower(), "token": token.address.lower(),
                   "candidate": validator.address.lower(), "delegator": delegator.address.lower(),
                   "instance": instance, "proposal": proposal_id}
        yield node, w3, targets
    finally:
        node.stop()


def test_every_explorer_page_renders_the_chains_data(story: tuple[NodeProcess, Web3, dict[str, Any]],
                                                     tmp_path: Path) -> None:
    node, w3, targets = story
    screenshots = DOC_SCREENSHOTS if os.environ.get("CMNODE_UPDATE_SCREENSHOTS") == "1" else tmp_path
    screenshots.mkdir(parents=True, exist_ok=True)
    page = render_pages(node.url, screenshots, targets)

    # Latest blocks, live, and search by number.
    assert page["homeBlocks"] == list(range(page["homeBlocks"][0], page["homeBlocks"][0] - len(page["homeBlocks"]), -1))
    assert page["liveBlock"] > page["homeBlocks"][0]
    block = w3.eth.get_block(targets["block"])
    assert (page["blockNumber"], page["blockHash"]) == (str(targets["block"]), block.hash.to_0x_hex())

    # The ERC-20 transfer: decoded input, decoded Transfer log, a call tree.
    bob = targets["tokenHolder"]
    assert page["txInput"] == "ERC20.transfer"
    assert page["txLogs"] == [{"name": "ERC20.Transfer", "args": {
        "from": Web3.to_checksum_address(dev_account(1).address), "to": Web3.to_checksum_address(bob), "value": "42"}}]
    assert page["callFrames"] >= 1

    # The token holder's address page: balance and nonce from the RPC, the transfer in and the token transfer.
    balance = w3.eth.get_balance(Web3.to_checksum_address(bob))
    assert page["addressBalance"].replace(",", "") .removesuffix(" CMT") == f"{balance / CMT:.18f}".rstrip("0").rstrip(".")
    assert page["addressNonce"] == str(w3.eth.get_transaction_count(Web3.to_checksum_address(bob)))
    assert len(page["addressTxs"]) >= 1
    assert page["addressTransfers"] == [{"token": targets["token"], "amount": "42"}]
    assert page["contractCode"].endswith(" bytes")

    # Validators, the candidate's delegators, the proposal with its vote.
    validators = node.rpc("cmt_queryValidators")["data"]
    assert [(v["owner"], v["state"]) for v in page["validators"]] == [(v["owner"], v["state"]) for v in validators]
    assert [int(v["power"].replace(",", "")) for v in page["validators"]] == [int(v["votingPower"], 16) for v in validators]
    assert {"delegator": targets["delegator"], "amount": str(2_000 * CMT)} in page["delegators"]
    [proposal] = [p for p in page["proposals"] if p["id"] == targets["proposal"]]
    assert proposal["title"].endswith("set max_validators = 21")
    assert proposal["voters"] == [targets["candidate"]]
    [answered] = [p for p in node.rpc("cmt_queryProposals")["data"] if int(p["id"], 16) == targets["proposal"]]
    assert proposal["status"] == answered["status"]

    # The supply chart's points are cmt_querySupply at their heights.
    points = page["supplyPoints"]
    assert page["supplyChartDrawn"] and len(points) >= 2 and points[0]["height"] == 0
    for point in points:
        supply = node.rpc("cmt_querySupply", hex(point["height"]))["data"]
        assert {k: point[k] for k in ("total", "minted", "burned", "bonded", "locked", "circulating")} == {
            k: supply[k] for k in ("total", "minted", "burned", "bonded", "locked", "circulating")}
    assert int(points[0]["total"], 16) == 1_000_000_000 * CMT

    # The rule set, the workflow drawn with its live instance, the instance's history.
    assert [r["id"] for r in page["ruleSets"]] == [0]
    assert page["ruleSets"][0]["cells"][1] == dev_account(4).address.lower()
    [diagram] = page["diagrams"]
    assert "paid (1 live)" in diagram["source"] and "paid (1 live)" in diagram["svgText"]
    assert "shipped" in diagram["svgText"]
    assert page["webhooksOff"] and page["webhooks"] == [] and page["deadLetters"] == []
    assert page["instanceState"] == "paid"
    assert [row[:3] for row in page["instanceHistory"]] == [["—", "created", "start"], ["created", "paid", "pay"]]


def webhook_rows(webhooks: list[dict[str, Any]]) -> list[list[str]]:
    """The cells the middleware page should show for ``admin_listWebhooks``'s answer: id, URL, source, filter."""
    return [[w["id"], w["url"], w["source"], json.dumps({k: w[k] for k in ("addresses", "topics", "blockEvents")},
                                                         separators=(",", ":"))] for w in webhooks]


def test_the_middleware_page_shows_the_webhook_subscriptions_and_dead_letters_the_admin_rpc_answers(
        tmp_path: Path) -> None:
    """With ``[webhooks] admin_rpc = true``: a subscription from the config and one added over the admin RPC,
    and the dead letter of a delivery whose receiver refuses connections, as the admin methods answer them."""
    require_browser()
    node = NodeProcess(tmp_path / "home", block_interval_ms=300)
    node.init()
    refused = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with (node.home / "config.toml").open("a") as config:
        config.write(f"""
[webhooks]
admin_rpc = true
subscriptions = [{{id = "carrier", url = "{refused}/carrier", secret = "carrier secret 0123456789", callback_topic = "carrier.delivery"}}]
delivery = {{max_attempts = 1}}
""")
    node.start(dev=True)
    try:
        before = render_pages(node.url, tmp_path, {"pages": ["middleware"]})
        assert (before["webhooks"], before["deadLettersNone"], before["deadLetters"]) == (
            webhook_rows(node.rpc("admin_listWebhooks")), True, [])
        assert before["webhooks"][0][:3] == ["carrier", f"{refused}/carrier", "config"]

        node.rpc("admin_addWebhook", {"id": "every-log", "url": f"{refused}/logs", "secret": "logs secret 0123456789"})
        w3 = Web3(Web3.HTTPProvider(node.url))
        # A contract creation whose init code emits one log (PUSH1 0 PUSH1 0 LOG0): one delivery, refused.
        logged = send(w3, dev_account(1), {"data": bytes.fromhex("60006000a000"), "gas": 100_000})
        deadline = time.time() + 30
        while not (dead := node.rpc("admin_listDeadLetters")):
            assert time.time() < deadline, "the refused delivery never became a dead letter"
            time.sleep(0.1)
        assert [(d["subscription"], d["idempotencyKey"]) for d in dead] == [
            ("every-log", f"{logged.transactionHash.to_0x_hex()}-{logged.logs[0].logIndex}")]

        after = render_pages(node.url, tmp_path, {"pages": ["middleware"]})
        webhooks = node.rpc("admin_listWebhooks")
        assert [w["id"] for w in webhooks] == ["carrier", "every-log"]
        assert after["webhooks"] == webhook_rows(webhooks)
        assert after["deadLetters"] == [[str(d["sequence"]), d["subscription"], d["url"], d["idempotencyKey"],
                                         str(d["attempts"]), d["lastError"]] for d in node.rpc("admin_listDeadLetters")]
        assert not after["webhooksOff"] and not after["deadLettersNone"]
    finally:
        node.stop()


def test_the_committed_bundle_is_what_the_sources_build_to(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "esbuild").is_dir():
        pytest.fail("Node.js and `npm ci` (esbuild) are required to build the explorer")
    subprocess.run(["node", str(REPO / "explorer" / "build.mjs"), str(tmp_path)], cwd=REPO, check=True, timeout=120)
    committed = REPO / "rpc" / "explorer_static"
    built = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    shipped = {p.relative_to(committed): p.read_bytes() for p in committed.rglob("*") if p.is_file()}
    assert sorted(built) == sorted(shipped), "rebuild the explorer: node explorer/build.mjs"
    assert [name for name in built if built[name] != shipped[name]] == [], "rebuild the explorer: node explorer/build.mjs"
    # The page decodes with the native contracts' ABIs as the node has them.
    abis = json.loads((REPO / "explorer" / "src" / "abis.json").read_text())
    for contract in abis["native"]:
        path = next(REPO.glob(f"*/**/I{contract['name']}.abi.json"))
        assert contract["abi"] == json.loads(path.read_text()), f"{path} changed: run node explorer/abis.mjs"
