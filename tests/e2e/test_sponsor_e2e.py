"""End to end: on a real 4-validator testnet, an account holding 0 CMT calls a sponsored contract with gas price 0.

A solc-compiled shop sets up its own sponsorship in its constructor. A fresh account sends
``visit()`` with ``gasPrice: 0`` through web3.py (estimate, sign, send): it succeeds on every
node, the sender still holds nothing, and the deposit fell by exactly gas used x the block's base
fee, which the receipt's GasSponsored log reports. ethers (legacy and EIP-1559 zero fees) and viem
do the same from fresh accounts. The manager then drains the deposit with
``cmnode sponsor withdraw`` (``cmnode sponsor show`` then reads the empty deposit), and the next zero-price call is refused over JSON-RPC with the
mempool's clear error, as is a zero-price call to an address nobody sponsors.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3
from web3.exceptions import Web3RPCError

from cybermiles_node.cli.main import cli
from cybermiles_node.keystore import LIGHT_SCRYPT_N, Keystore
from cybermiles_node.solc import compile_file
from tests.e2e.nodeproc import dev_account, running_testnet, wait_for_height

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ABI = json.loads((REPO / "vm" / "sponsorship" / "ISponsor.abi.json").read_text())
SPONSOR = Web3.to_checksum_address("0x0000000000000000000000000000000000000c16")
MANAGER = 13  # dev account deploying the shop
DEPOSIT = 10**16  # 0.01 CMT


@pytest.fixture(scope="module")
def testnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[dict], Path]]:
    output = tmp_path_factory.mktemp("sponsor-testnet")
    with running_testnet(output, validators=4) as nodes:
        yield nodes, output


def deploy_shop(w3: Web3, workdir: Path):
    shutil.copy(REPO / "tests" / "contracts" / "SponsoredShop.sol", workdir)
    shutil.copy(REPO / "vm" / "sponsorship" / "ISponsor.sol", workdir)
    compiled = compile_file(workdir / "SponsoredShop.sol")["SponsoredShop"]
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    owner = dev_account(MANAGER)
    tx = factory.constructor(100_000, 5, 3600, 1_000_000).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address), "value": DEPOSIT,
         "chainId": w3.eth.chain_id, "gas": 1_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction), timeout=60)
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=compiled.abi)


def test_a_zero_price_call_from_an_empty_account_is_paid_by_the_deposit_and_a_drained_one_refused(testnet) -> None:
    nodes, output = testnet
    w3s = [Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10})) for node in nodes]
    for index, w3 in enumerate(w3s):
        wait_for_height(lambda w3=w3: w3.eth.block_number, 2, 90,
                        lambda index=index: (output / f"node{index}.log").read_text()[-3000:])
    w3 = w3s[0]
    shop = deploy_shop(w3, output)
    sponsor = w3.eth.contract(address=SPONSOR, abi=ABI)
    shopper = Account.create()
    assert w3.eth.get_balance(shopper.address) == 0

    # web3.py as a wallet uses it: estimate (with gas price 0), sign, send.
    tx = shop.functions.visit().build_transaction({"from": shopper.address, "nonce": 0, "gasPrice": 0,
                                                  "chainId": w3.eth.chain_id})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(shopper.sign_transaction(tx).raw_transaction), timeout=60)
    assert receipt.status == 1
    height = receipt.blockNumber
    base_fee = w3.eth.get_block(height).baseFeePerGas
    fee = receipt.gasUsed * base_fee
    before = sponsor.functions.sponsorshipOf(shop.address).call(block_identifier=height - 1)[1]
    after = sponsor.functions.sponsorshipOf(shop.address).call(block_identifier=height)[1]
    assert before == DEPOSIT and after == DEPOSIT - fee
    (paid,) = sponsor.events.GasSponsored().process_receipt(receipt)
    assert (paid.args.target, paid.args.sender, paid.args.gasUsed, paid.args.fee) == (
        shop.address, shopper.address, receipt.gasUsed, fee)
    for other in w3s[1:]:
        wait_for_height(lambda other=other: other.eth.block_number, height, 60, lambda: "a node fell behind")
        assert other.eth.get_transaction_receipt(receipt.transactionHash).blockHash == receipt.blockHash
        assert other.eth.get_balance(shopper.address, block_identifier=height) == 0
        assert shop.functions.visits(shopper.address).call() == 1

    # ethers and viem, as wallets send them (skipped where node or the npm packages are missing).
    if shutil.which("node") is not None and (REPO / "node_modules" / "viem").is_dir():
        result = subprocess.run(["node", str(REPO / "tests" / "e2e" / "js" / "sponsored_wallets.mjs"), nodes[0]["rpc"],
                                 shop.address], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        sent = json.loads(result.stdout)
        assert all(s == {"status": 1, "gasPrice": "0", "balance": "0"} for s in sent.values()), sent
        after = sponsor.functions.sponsorshipOf(shop.address).call()[1]

    # The manager drains the deposit with cmnode (run in this process: the same command, without a start-up);
    # the next zero-price call gets the mempool's clear error.
    keystore = output / "keystore"
    Keystore(keystore, scrypt_n=LIGHT_SCRYPT_N).import_key(dev_account(MANAGER).key, "sponsor horse")
    (output / "password").write_text("sponsor horse\n")
    signer = ["--keystore", str(keystore), "--password-file", str(output / "password"), "--rpc", nodes[1]["rpc"]]
    withdrawn = CliRunner().invoke(cli, ["sponsor", "withdraw", shop.address, "--amount", f"{after}wei", *signer])
    assert withdrawn.exit_code == 0, withdrawn.output
    shown = CliRunner().invoke(cli, ["sponsor", "show", shop.address, "--sender", shopper.address, "--rpc",
                                     nodes[1]["rpc"], "--json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["balance"] == "0" and document["manager"] == dev_account(MANAGER).address
    assert document["sender"]["used"] == 1

    drained = shopper.sign_transaction({**tx, "nonce": 1, "gas": 60_000}).raw_transaction
    with pytest.raises(Web3RPCError, match=rf"sponsorship of {shop.address.lower()} is drained \(balance 0 wei"):
        w3.eth.send_raw_transaction(drained)
    nobody = shopper.sign_transaction({"to": Account.create().address, "nonce": 1, "gas": 21_000, "gasPrice": 0,
                                       "value": 0, "chainId": w3.eth.chain_id}).raw_transaction
    with pytest.raises(Web3RPCError, match="gas price 0 is only accepted for sponsored contracts"):
        w3.eth.send_raw_transaction(nobody)
