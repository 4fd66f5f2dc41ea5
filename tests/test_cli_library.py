"""``cmnode contracts``: the library catalogue, its documented gas, constructor arguments by name, and the errors
a deployment refuses before it sends anything."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cybermiles_node.chainclient.errors import ArgumentError
from cybermiles_node.cli.library import parse_named_arguments
from cybermiles_node.cli.main import cli
from cybermiles_node.contract_library import compile_contracts, gas_table, library_contracts
from cybermiles_node.solc import CompiledContract

REPO = Path(__file__).resolve().parents[1]
UNREACHABLE = "http://127.0.0.1:1"
ESCROW_INPUTS = [{"name": "biddingPeriod_", "type": "uint64"}, {"name": "rulingPeriod_", "type": "uint64"},
                 {"name": "appealCourt_", "type": "address"}, {"name": "appealWindow_", "type": "uint64"},
                 {"name": "appealPeriod_", "type": "uint64"}]
COURT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def run(*args: str) -> tuple[int, str]:
    """``cmnode ARGS``: exit code and everything printed."""
    result = CliRunner().invoke(cli, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledContract]:
    """Every library contract, compiled as `cmnode contracts deploy` compiles it."""
    return compile_contracts(list(library_contracts().values()))


def test_named_arguments_come_out_in_the_constructors_order_with_or_without_underscores() -> None:
    values = parse_named_arguments(ESCROW_INPUTS, ["appealPeriod=0", f"appealCourt_={COURT}", "rulingPeriod=1e3",
                                                   "biddingPeriod=0x10", "appealWindow=7"], "the constructor")
    assert values == [16, 1000, COURT, 7, 0]


@pytest.mark.parametrize(("pairs", "message"), [
    (["biddingPeriod=1"], "needs --arg for rulingPeriod, appealCourt, appealWindow, appealPeriod"),
    (["biddingPeriod=1", "jury=2"], "has no parameter 'jury' (it takes biddingPeriod (uint64), rulingPeriod"),
    (["biddingPeriod=1", "biddingPeriod_=2"], "--arg biddingPeriod is given twice"),
    (["biddingPeriod"], "expected NAME=VALUE"),
    (["biddingPeriod=-1", "rulingPeriod=1", "appealCourt=0x0", "appealWindow=0", "appealPeriod=0"],
     "--arg biddingPeriod (uint64): integer '-1' is out of range for uint64"),
    (["biddingPeriod=1", "rulingPeriod=1", "appealCourt=court", "appealWindow=0", "appealPeriod=0"],
     "invalid address in --arg appealCourt (address) 'court'"),
])
def test_a_missing_unknown_repeated_or_ill_typed_argument_is_named(pairs: list[str], message: str) -> None:
    with pytest.raises(ArgumentError) as refused:
        parse_named_arguments(ESCROW_INPUTS, pairs, "the constructor")
    assert message in str(refused.value)


def test_list_names_every_deployable_contract_with_its_title() -> None:
    code, output = run("contracts", "list", "--json")
    assert code == 0
    listed = {item["name"]: item for item in json.loads(output)["contracts"]}
    sources = {path.stem for path in (REPO / "contracts" / "src" / "library").glob("*.sol")}
    assert set(listed) == sources - {"PullPayments", "JuryClient"}  # the abstract bases are not deployable
    assert listed["LocalPromotions"]["summary"].startswith("Local promotions: digital coupons funded in CMT")
    assert listed["TokenSale"]["summary"].startswith("A token sale priced in CMT")  # not its token's title
    assert all(item["summary"] for item in listed.values())


def test_every_contracts_gas_table_is_documented_and_current(compiled: dict[str, CompiledContract]) -> None:
    for name, contract in library_contracts().items():
        table = gas_table(contract)
        assert table is not None and table.rows, f"{name}: no gas table on its page in docs/contracts/README.md"
        functions = {entry["name"] for entry in compiled[name].abi if entry.get("type") == "function"}
        for row in table.rows:
            for call in row[0].split("/"):
                assert re.match(r"\s*(\w+)", call).group(1) in functions, f"{name}: {row[0]} is not a function"
        constructor = next((e for e in compiled[name].abi if e.get("type") == "constructor"), {"inputs": []})
        if all(not p["type"].startswith(("string", "bytes")) or p["type"][5:].isdigit()
               for p in constructor["inputs"]):
            # forge's deployment size is the creation code plus its static constructor arguments
            assert table.deployed_bytes == len(compiled[name].bytecode) + 32 * len(constructor["inputs"]), name


def test_show_prints_the_interface_and_the_gas_table() -> None:
    code, output = run("contracts", "show", "localpromotions", "--json")
    assert code == 0
    shown = json.loads(output)
    purchase = next(f for f in shown["functions"] if f["name"] == "purchase")
    assert purchase["inputs"] == [{"name": "id", "type": "uint256"}, {"name": "shop", "type": "address"}]
    assert purchase["stateMutability"] == "payable"
    assert {"name": "buyer", "type": "address", "indexed": True} in next(
        e for e in shown["events"] if e["name"] == "Redeemed")["inputs"]
    assert shown["gas"]["header"] == ["call", "gas"]
    assert [row[0] for row in shown["gas"]["rows"]][:3] == ["registerShop", "admit (2 buyers)", "createCoupon (3 tiers)"]
    code, output = run("contracts", "show", "Groups")
    assert code == 0 and "constructor(address platform, uint256 creationFee)" in output and "createGroup" in output


@pytest.mark.parametrize(("args", "message"), [
    (["Nonexistent"], "no library contract named 'Nonexistent' (the library: ArbitratedEscrow"),
    (["LocalPromotions", "--rules", "examples/rules/missing.rules"], "missing.rules: cannot read"),
    (["Groups", "--arg", "platform=0x1", "--arg", "creationFee=1cmt"], "invalid address in --arg platform"),
    (["LocalPromotions", "--value", "1cmt"], "not payable: remove --value"),
    (["LocalPromotions", "--rules", "examples/rules/local-promotion-tiers.rules", "--no-wait"],
     "--rules and --process need the deployment's receipt"),
    (["LocalPromotions", "--dev-account", "0", "--from", COURT], "--dev-account signs without a keystore"),
])
def test_deploy_refuses_bad_input_before_sending_anything(args: list[str], message: str) -> None:
    code, output = run("contracts", "deploy", *args, "--rpc", UNREACHABLE)
    assert code == 1
    assert message in output and "cannot reach" not in output


def test_deploy_checks_rule_and_process_files_as_their_check_commands_do(tmp_path: Path) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("template Purchase {\n    amount: int;\n}\n\n"
                     "rule \"big\" when {\n    $p: Purchase(amout > 1);\n} then {\n}\n")
    code, output = run("contracts", "deploy", "LocalPromotions", "--rules", str(rules), "--rpc", UNREACHABLE)
    assert code == 1 and f"{rules}: line 6" in output and "cannot reach" not in output
    process = tmp_path / "bad.json"
    process.write_text(json.dumps({"name": "p", "version": 1}))
    code, output = run("contracts", "deploy", "LocalPromotions", "--process", str(process), "--rpc", UNREACHABLE)
    assert code == 1 and f"{process}:" in output and "cannot reach" not in output
