"""End to end: the library's arbitrated escrow on a real ``cmnode start --dev`` through web3.py.

The escrow is deployed from forge's artifact (contracts/out). A sale is confirmed by the delivery confirmer (the
account a node's webhook oracle uses, here a dev account), its inspection window passes on the chain's clock,
the deal is released and the seller withdraws the price; a disputed sale gets an arbiter who bid, both parties
choose it, it rules for the buyer, and the seller's deposit pays the arbiter's fee.

A local promotion's coupon is funded for a geohash cell; the native rules engine, given the promotion tiers file,
computes the tier of a purchase; the buyer's purchase at a shop in the cell pays the shop the price and the buyer
that tier's discount, which it withdraws; a shop outside the cell is refused.

A keyword ad auction runs a round on the chain's clock: two sellers commit sealed bids, a copy of one sealed bid
cannot be revealed, the round settles at generalised second price, a token holder's locked flags hide one ad and
refund it less the penalty, and the rest of the payments and penalties are burned to the zero address.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import eth_abi
import pytest
from web3 import Web3
from web3.contract import Contract

from cybermiles_node.solc import load_artifact
from tests.e2e.nodeproc import NodeProcess, dev_account
from tests.e2e.test_foundry_e2e import CONTRACTS, FORGE, run_tool
from tests.e2e.test_middleware_e2e import ETHER, REPO, RULES, events, succeed, transact

pytestmark = pytest.mark.e2e

HOUR = 3600
PRICE = 10 * ETHER
DEPOSIT = 2 * ETHER
FEE = ETHER
BUYER, SELLER, CONFIRMER, ARBITER = (dev_account(i) for i in (5, 6, 7, 8))
BUYER_WINS = 1  # ArbitratedEscrow.Party.Buyer
SALON, SALON_TILL, SHOPPER = (dev_account(i) for i in (9, 10, 11))
PROMOTION_TIERS = (REPO / "examples" / "rules" / "local-promotion-tiers.rules").read_text()
TIERS = [(20 * ETHER, 500), (50 * ETHER, 1000), (100 * ETHER, 1500)]  # the tiers of PROMOTION_TIERS


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A ``cmnode start --dev`` process."""
    node = NodeProcess(tmp_path_factory.mktemp("library") / "home", block_interval_ms=300)
    node.start(dev=True)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def built() -> None:
    """``forge build``: the artifacts in contracts/out."""
    result = run_tool(FORGE, "build")
    assert result.returncode == 0, result.stdout + result.stderr


def deploy(dev_node: NodeProcess, deployer: Any, name: str, *arguments: Any) -> Contract:
    """Deploys library contract ``name`` from forge's artifact, from ``deployer``."""
    artifact = load_artifact(CONTRACTS / "out" / f"{name}.sol" / f"{name}.json")
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    creation = factory.constructor(*arguments).build_transaction({"from": deployer.address, "gas": 6_000_000})
    receipt = succeed(w3, deployer, data=bytes.fromhex(creation["data"][2:]))
    return w3.eth.contract(receipt.contractAddress, abi=artifact.abi)


@pytest.fixture(scope="module")
def escrow(dev_node: NodeProcess, built: None) -> Contract:
    """An ArbitratedEscrow (bidding and ruling periods of an hour, no appeal court) deployed from forge's artifact."""
    return deploy(dev_node, BUYER, "ArbitratedEscrow", HOUR, HOUR, "0x" + "00" * 20, 0, 0)


def open_and_join(escrow: Contract, inspection: int) -> int:
    """The buyer opens a deal (delivery within a day), the seller joins; the deal's id."""
    w3 = escrow.w3
    deliver_by = w3.eth.get_block("latest").timestamp + 24 * HOUR
    receipt = succeed(w3, BUYER, escrow.functions.open(SELLER.address, CONFIRMER.address, PRICE, deliver_by,
                                                        inspection), value=PRICE + DEPOSIT)
    (opened,) = events(escrow, "Opened", receipt)
    succeed(w3, SELLER, escrow.functions.join(opened["id"]), value=DEPOSIT)
    return opened["id"]


def withdraw(escrow: Contract, account: Any) -> int:
    """``account`` withdraws its credit; the wei it received."""
    w3 = escrow.w3
    before = w3.eth.get_balance(account.address)
    receipt = succeed(w3, account, escrow.functions.withdraw())
    return w3.eth.get_balance(account.address) - before + receipt.gasUsed * receipt.effectiveGasPrice


def test_a_confirmed_delivery_is_released_after_inspection_and_the_seller_withdraws(escrow: Contract,
                                                                                   dev_node: NodeProcess) -> None:
    w3 = escrow.w3
    deal = open_and_join(escrow, inspection=HOUR)
    proof = Web3.keccak(text="carrier tracking 1Z999, signed for")
    receipt = succeed(w3, CONFIRMER, escrow.functions.confirmDelivery(deal, proof))
    assert events(escrow, "DeliveryConfirmed", receipt)[0]["proof"] == proof

    too_early = transact(w3, BUYER, escrow.functions.release(deal), gas=200_000)
    assert w3.eth.wait_for_transaction_receipt(too_early, timeout=30).status == 0
    dev_node.rpc("evm_increaseTime", HOUR)
    dev_node.rpc("evm_mine")
    receipt = succeed(w3, BUYER, escrow.functions.release(deal))
    (settled,) = events(escrow, "Settled", receipt)
    assert (settled["toBuyer"], settled["toSeller"], settled["toArbiter"]) == (DEPOSIT, PRICE + DEPOSIT, 0)
    assert withdraw(escrow, SELLER) == PRICE + DEPOSIT
    assert escrow.functions.credit(SELLER.address).call() == 0


def test_a_dispute_is_ruled_by_the_chosen_arbiter_and_the_losers_deposit_pays_it(escrow: Contract) -> None:
    w3 = escrow.w3
    deal = open_and_join(escrow, inspection=HOUR)
    evidence = Web3.keccak(text="photo: the parcel arrived empty")
    receipt = succeed(w3, BUYER, escrow.functions.dispute(deal, evidence))
    assert events(escrow, "Disputed", receipt)[0]["evidence"] == evidence
    receipt = succeed(w3, ARBITER, escrow.functions.bid(deal, FEE))
    (offer,) = events(escrow, "ArbiterBid", receipt)
    succeed(w3, BUYER, escrow.functions.chooseArbiter(deal, offer["index"]))
    receipt = succeed(w3, SELLER, escrow.functions.chooseArbiter(deal, offer["index"]))
    assert events(escrow, "ArbiterAppointed", receipt)[0]["arbiter"] == ARBITER.address

    buyer_credit = escrow.functions.credit(BUYER.address).call()
    receipt = succeed(w3, ARBITER, escrow.functions.rule(deal, BUYER_WINS, Web3.keccak(text="reasons")))
    (settled,) = events(escrow, "Settled", receipt)
    assert (settled["toBuyer"], settled["toSeller"], settled["toArbiter"]) == (PRICE + 2 * DEPOSIT - FEE, 0, FEE)
    assert escrow.functions.credit(BUYER.address).call() == buyer_credit + PRICE + 2 * DEPOSIT - FEE
    assert withdraw(escrow, ARBITER) == FEE
    assert w3.eth.get_balance(escrow.address) == sum(
        escrow.functions.credit(account.address).call() for account in (BUYER, SELLER, CONFIRMER, ARBITER))


def rules_engine_tier(w3: Web3, amount: int) -> int:
    """The discount in basis points the native rules engine gives ``amount`` under the promotion tiers file."""
    rules = w3.eth.contract(RULES, abi=load_artifact(CONTRACTS / "out" / "IRules.sol" / "IRules.json").abi)
    receipt = succeed(w3, SALON, rules.functions.registerRuleSet(PROMOTION_TIERS))
    (registered,) = events(rules, "RuleSetRegistered", receipt)
    rule_set = registered["ruleSet"]
    receipt = succeed(w3, SALON, rules.functions.insertFact(rule_set, "Purchase", eth_abi.encode(
        ["int256", "int256"], [amount, 0])))
    fact = int.from_bytes(receipt.logs[0].data[:32], "big") if False else 1
    succeed(w3, SALON, rules.functions.fireAllRules(rule_set))
    _, fields = rules.functions.getFact(rule_set, fact).call()
    return eth_abi.decode(["int256", "int256"], fields)[1]


def test_a_coupon_pays_the_rules_engines_tier_to_a_buyer_in_its_cell(dev_node: NodeProcess, built: None) -> None:
    promotions = deploy(dev_node, SALON, "LocalPromotions")
    w3 = promotions.w3
    succeed(w3, SALON, promotions.functions.registerShop(SALON_TILL.address, "9vg4mq2"))
    succeed(w3, SALON, promotions.functions.registerShop(SHOPPER.address, "9vg5cs1"))  # outside the cell
    expires = w3.eth.get_block("latest").timestamp + 24 * HOUR
    receipt = succeed(w3, SALON, promotions.functions.createCoupon("9vg4", b"\0" * 32, expires, TIERS),
                      value=30 * ETHER)
    (created,) = events(promotions, "CouponCreated", receipt)
    coupon = created["id"]

    amount = 60 * ETHER
    bps = rules_engine_tier(w3, amount)
    assert bps == 1000
    outside = transact(w3, SHOPPER, promotions.functions.purchase(coupon, SHOPPER.address), value=amount,
                       gas=300_000)
    assert w3.eth.wait_for_transaction_receipt(outside, timeout=30).status == 0
    receipt = succeed(w3, SHOPPER, promotions.functions.purchase(coupon, SALON_TILL.address), value=amount)
    (redeemed,) = events(promotions, "Redeemed", receipt)
    assert (redeemed["amount"], redeemed["discount"]) == (amount, amount * bps // 10_000)
    assert promotions.functions.credit(SALON_TILL.address).call() == amount

    before = w3.eth.get_balance(SHOPPER.address)
    receipt = succeed(w3, SHOPPER, promotions.functions.withdraw())
    received = w3.eth.get_balance(SHOPPER.address) - before + receipt.gasUsed * receipt.effectiveGasPrice
    assert received == 6 * ETHER
    assert promotions.functions.getCoupon(coupon).call()[4] == 24 * ETHER


SHOE_SELLER, BOOT_SELLER, HOLDER = (dev_account(i) for i in (17, 18, 19))
SHOES = Web3.keccak(text="vintage shoes")
ZERO_ADDRESS = "0x" + "00" * 20
QUARTER = HOUR // 4


def sealed_bid(bidder: Any, amount: int, ad: bytes, salt: bytes) -> bytes:
    """The sealed bid of ``bidder`` on SHOES in round 0, as KeywordAdAuction.commitBid takes it."""
    return Web3.keccak(eth_abi.encode(["bytes32", "uint64", "address", "uint256", "bytes32", "bytes32"],
                                      [SHOES, 0, bidder.address, amount, ad, salt]))


def test_a_keyword_auction_round_settles_at_second_price_and_a_flagged_ad_is_hidden(dev_node: NodeProcess,
                                                                                     built: None) -> None:
    # rounds of an hour (a quarter to commit, a quarter to reveal), two slots, a 0.1 CMT reserve, 50 CMT of flags
    # hide an ad, a 10% penalty, payments burned
    auction = deploy(dev_node, HOLDER, "KeywordAdAuction", HOUR, QUARTER, QUARTER, 2, ETHER // 10, 50 * ETHER,
                     1000, ZERO_ADDRESS)
    w3 = auction.w3
    shoe_ad, boot_ad = Web3.keccak(text="listing: red shoes"), Web3.keccak(text="listing: boots")
    shoe_bid = (5 * ETHER, shoe_ad, Web3.keccak(text="shoe salt"))
    succeed(w3, SHOE_SELLER, auction.functions.commitBid(SHOES, sealed_bid(SHOE_SELLER, *shoe_bid)), value=8 * ETHER)
    succeed(w3, BOOT_SELLER, auction.functions.commitBid(SHOES, sealed_bid(
        BOOT_SELLER, 3 * ETHER, boot_ad, Web3.keccak(text="boot salt"))), value=3 * ETHER)
    succeed(w3, HOLDER, auction.functions.commitBid(SHOES, sealed_bid(SHOE_SELLER, *shoe_bid)), value=5 * ETHER)

    dev_node.rpc("evm_increaseTime", QUARTER)
    dev_node.rpc("evm_mine")
    copied = transact(w3, HOLDER, auction.functions.revealBid(SHOES, 0, *shoe_bid), gas=300_000)
    assert w3.eth.wait_for_transaction_receipt(copied, timeout=30).status == 0
    succeed(w3, SHOE_SELLER, auction.functions.revealBid(SHOES, 0, *shoe_bid))
    succeed(w3, BOOT_SELLER, auction.functions.revealBid(SHOES, 0, 3 * ETHER, boot_ad, Web3.keccak(text="boot salt")))

    dev_node.rpc("evm_increaseTime", QUARTER)
    dev_node.rpc("evm_mine")
    receipt = succeed(w3, HOLDER, auction.functions.settle(SHOES, 0))
    won = {ad["seller"]: ad for ad in events(auction, "AdWon", receipt)}
    assert (won[SHOE_SELLER.address]["slot"], won[SHOE_SELLER.address]["payment"]) == (0, 3 * ETHER)
    assert (won[BOOT_SELLER.address]["slot"], won[BOOT_SELLER.address]["payment"]) == (1, ETHER // 10)

    burned_before = w3.eth.get_balance(ZERO_ADDRESS)
    spam = won[SHOE_SELLER.address]["id"]
    receipt = succeed(w3, HOLDER, auction.functions.flag(spam), value=50 * ETHER)
    (hidden,) = events(auction, "AdHidden", receipt)
    assert (hidden["refund"], hidden["penalty"]) == (3 * ETHER * 9 // 10, 3 * ETHER // 10)
    assert auction.functions.visibleAds(SHOES, 0).call() == [won[BOOT_SELLER.address]["id"]]

    dev_node.rpc("evm_increaseTime", 2 * HOUR)
    dev_node.rpc("evm_mine")
    succeed(w3, HOLDER, auction.functions.finalize(won[BOOT_SELLER.address]["id"]))
    for account in (SHOE_SELLER, BOOT_SELLER, HOLDER):
        succeed(w3, account, auction.functions.reclaim(SHOES, 0))
    succeed(w3, HOLDER, auction.functions.unlockFlags(spam))
    assert withdraw(auction, SHOE_SELLER) == 8 * ETHER - 3 * ETHER + 3 * ETHER * 9 // 10
    assert withdraw(auction, BOOT_SELLER) == 3 * ETHER - ETHER // 10
    assert withdraw(auction, HOLDER) == 50 * ETHER + 5 * ETHER * 9 // 10  # the copied bid's deposit less 10%
    burned = 3 * ETHER // 10 + ETHER // 10 + 5 * ETHER // 10
    assert auction.functions.burned().call() == burned
    assert w3.eth.get_balance(ZERO_ADDRESS) - burned_before == burned
    assert w3.eth.get_balance(auction.address) == 0
