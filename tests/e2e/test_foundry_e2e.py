"""End to end: Foundry (forge and cast from npm) against ``cmnode start --dev``.

forge builds and tests the native contracts' reference mocks offline with the pinned solc-js; a forge script
delegates and fires business rules on the node (the mocks serve only its local run), and the node's own state
and receipts show the stake and the rules engine's events; a forge fork test reads the chain through the fork;
cast reads, sends, reads receipts and replays a transaction. The native binaries are run, so their exit codes
are the tools' own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import eth_abi
import pytest
from web3 import Web3
from web3.logs import DISCARD

from tests.e2e.nodeproc import dev_account, free_port
from vm.native.addresses import RULES_ADDRESS, STAKING_ADDRESS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "contracts"
FOUNDRY_BIN = REPO / "node_modules" / "@foundry-rs"
FORGE = FOUNDRY_BIN / "forge-linux-amd64" / "bin" / "forge"
CAST = FOUNDRY_BIN / "cast-linux-amd64" / "bin" / "cast"
STAKING = Web3.to_checksum_address(STAKING_ADDRESS)
RULES = Web3.to_checksum_address(RULES_ADDRESS)
CMT = 10**18
CANDIDATE_STAKE = 7  # position of `stake` in IStaking.CandidateInfo

if not FORGE.exists() or not CAST.exists():
    pytest.skip("forge and cast are installed by `npm ci` (@foundry-rs packages for linux-amd64)",
                allow_module_level=True)


def run_tool(tool: Path, *args: str, env: dict[str, str] | None = None,
             timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run forge or cast in contracts/ and return the finished process (exit code checked by the caller)."""
    return subprocess.run([str(tool), *args], cwd=CONTRACTS, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def passed_tests(stdout: str) -> dict[str, str]:
    """``forge test --json`` output as {"Contract.test": status}."""
    results = json.loads(stdout)
    return {f"{suite.split(':')[-1]}.{name}": result["status"]
            for suite, body in results.items() for name, result in body["test_results"].items()}


def artifact_abi(name: str) -> list[dict[str, object]]:
    """The ABI forge built for interface ``name``."""
    return json.loads((CONTRACTS / "out" / f"{name}.sol" / f"{name}.json").read_text())["abi"]


@pytest.fixture(scope="module")
def built() -> None:
    """``forge build`` of contracts/ (mocks, tests, script, and the interfaces they import)."""
    result = run_tool(FORGE, "build")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``cmnode start --dev`` process; yields its RPC URL."""
    home = tmp_path_factory.mktemp("foundry") / "home"
    url = f"http://127.0.0.1:{free_port()}"
    log = open(home.parent / "node.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "cybermiles_node.cli", "start", "--dev", "--home", str(home),
         "--rpc-addr", url.removeprefix("http://"), "--block-interval", "300"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        w3 = Web3(Web3.HTTPProvider(url))
        deadline = time.time() + 60
        while not w3.is_connected() or w3.eth.block_number < 1:
            assert process.poll() is None, (home.parent / "node.log").read_text()
            assert time.time() < deadline, "the dev node did not make a block within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def test_forge_tests_the_native_mocks_offline(built: None) -> None:
    result = run_tool(FORGE, "test", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = passed_tests(result.stdout)
    assert len(statuses) >= 13
    assert set(statuses.values()) == {"Success"}
    assert "NativeMocksTest.testDelegateAndWithdrawIntoUnbonding()" in statuses
    assert not any(name.startswith("NativeForkTest") for name in statuses)  # fork tests need --fork-url


def test_forge_script_stakes_and_fires_rules_on_the_node(built: None, node: str) -> None:
    w3 = Web3(Web3.HTTPProvider(node))
    staker = dev_account(4)
    validator = dev_account(0).address
    staking = w3.eth.contract(STAKING, abi=artifact_abi("IStaking"))
    rules = w3.eth.contract(RULES, abi=artifact_abi("IRules"))
    stake_before = staking.functions.getCandidate(validator).call()[CANDIDATE_STAKE]
    rule_set = rules.functions.ruleSetCount().call()

    result = run_tool(FORGE, "script", "script/StakeAndFireRules.s.sol", "--rpc-url", node, "--broadcast",
                      "--skip-simulation", "--private-key", "0x" + staker.key.hex(), "--json")
    assert result.returncode == 0, result.stdout + result.stderr

    delegator = w3.provider.make_request("cmt_queryDelegator", [staker.address])["result"]["data"]
    (delegation,) = delegator["delegations"]
    assert delegation["candidate"] == validator.lower()
    assert int(delegation["amount"], 16) >= 1000 * CMT  # rewards compound into it
    assert staking.functions.getCandidate(validator).call()[CANDIDATE_STAKE] >= stake_before + 1000 * CMT

    assert rules.functions.ruleSetCount().call() == rule_set + 1
    assert rules.functions.ruleSetOwner(rule_set).call() == staker.address
    (fact_id,) = rules.functions.factIds(rule_set).call()
    _, fields = rules.functions.getFact(rule_set, fact_id).call()
    assert eth_abi.decode(["int256", "int256", "int256"], fields) == (1, 5000, 5)  # the rule's update

    broadcast = json.loads((CONTRACTS / "broadcast" / "StakeAndFireRules.s.sol" / "15" / "run-latest.json")
                           .read_text())
    fire_hash = [tx["hash"] for tx in broadcast["transactions"] if tx["function"] == "fireAllRules(uint256)"][-1]
    receipt = w3.eth.get_transaction_receipt(fire_hash)
    assert receipt.status == 1
    (rule_event,) = rules.events.RuleEvent().process_receipt(receipt, errors=DISCARD)
    assert rule_event.args.ruleSet == rule_set and rule_event.args.name == "LargeOrder"
    assert eth_abi.decode(["int256", "int256"], rule_event.args.data) == (1, 5000)
    (fired,) = rules.events.RulesFired().process_receipt(receipt, errors=DISCARD)
    assert fired.args.fired == 1

    # cast run cannot replay a native call; the node's own trace of it is there through cast rpc
    result = run_tool(CAST, "rpc", "debug_traceTransaction", fire_hash, '{"tracer":"callTracer"}', "--rpc-url", node)
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert trace["to"] == RULES.lower() and trace["from"] == staker.address.lower()
    assert "error" not in trace and eth_abi.decode(["uint256"], bytes.fromhex(trace["output"][2:])) == (1,)


def test_forge_fork_test_against_the_node(built: None, node: str) -> None:
    result = run_tool(FORGE, "test", "--fork-url", node, "--json", env={"FOUNDRY_PROFILE": "fork"})
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = passed_tests(result.stdout)
    assert statuses == {
        "NativeForkTest.testTheForkIsTheDevChain()": "Success",
        "NativeForkTest.testDelegateToTheChainsValidator()": "Success",
        "NativeForkTest.testRuleSetIdsFollowTheChains()": "Success",
    }


def test_cast_reads_sends_and_replays(built: None, node: str) -> None:
    w3 = Web3(Web3.HTTPProvider(node))
    sender, recipient = dev_account(5), dev_account(6)

    result = run_tool(CAST, "block-number", "--rpc-url", node)
    assert result.returncode == 0, result.stderr
    assert 1 <= int(result.stdout) <= w3.eth.block_number

    result = run_tool(CAST, "call", RULES, "ruleSetCount()(uint256)", "--rpc-url", node)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) == w3.eth.contract(RULES, abi=artifact_abi("IRules")) \
        .functions.ruleSetCount().call()

    result = run_tool(CAST, "call", STAKING, "getValidators()((address,bytes32,uint256)[])", "--rpc-url", node)
    assert result.returncode == 0, result.stderr
    assert dev_account(0).address in result.stdout

    result = run_tool(CAST, "send", recipient.address, "--value", "1ether", "--private-key",
                      "0x" + sender.key.hex(), "--rpc-url", node, "--json")
    assert result.returncode == 0, result.stderr
    tx_hash = json.loads(result.stdout)["transactionHash"]

    result = run_tool(CAST, "receipt", tx_hash, "status", "--rpc-url", node)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("1", "1 (success)", "true")

    result = run_tool(CAST, "run", tx_hash, "--rpc-url", node)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Transaction successfully executed" in result.stdout
    assert "Gas used: 21000" in result.stdout
