"""End to end: the library contracts on the native jury (IJury) and sponsored gas (ISponsor), on ``cmnode start --dev``.

Five token holders stake as jurors on the native juror registry. A community moderation contract deployed with
``cmnode contracts deploy`` takes a request to remove a listing, which a jury drawn from the chain's beacon
decides: the drawn jurors commit and reveal through the native contract, the majority is paid by it, the listing
reads as removed and the requester's pledge comes back; a second request the jury rejects forfeits its pledge to
the treasury, as docs/contracts/community-moderation.md says.

A marketplace configures its own sponsorship when deployed and its operator deposits CMT for it: a shopper account
holding 0 CMT, whose marketplace account a friend funded, orders a listing with a seller's LocalPromotions coupon
by a gas-price-0 transaction (paid from the sponsor deposit), accepts the delivery and cashes out its deposit and
discount, all without gas.

An escrow ruling appealed to a JuryAppealCourt is overturned by a jury drawn from the registry, and the deal settles
for the appellant.
"""
from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from cybermiles_node.solc import load_artifact
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account
from tests.e2e.test_foundry_e2e import CONTRACTS
from tests.e2e.test_library_e2e import built, deploy, dev_node, withdraw  # noqa: F401 - fixtures
from tests.e2e.test_middleware_e2e import ETHER, REPO, events, succeed
from vm.native.addresses import JURY_ADDRESS, SPONSOR_ADDRESS

pytestmark = pytest.mark.e2e

HOUR = 3600
ZERO_ADDRESS = "0x" + "00" * 20
JURY_ABI = json.loads((REPO / "middleware" / "jury" / "IJury.abi.json").read_text())
SPONSOR_ABI = json.loads((REPO / "vm" / "sponsorship" / "ISponsor.abi.json").read_text())
JURY = Web3.to_checksum_address(JURY_ADDRESS)
SPONSOR = Web3.to_checksum_address(SPONSOR_ADDRESS)
JURORS = [dev_account(i) for i in range(12, 17)]
BY_ADDRESS = {juror.address: juror for juror in JURORS}
KEEPER, REQUESTER, TREASURY = dev_account(1), dev_account(2), dev_account(3)
STAKE_PER_JUROR = ETHER
YES, NO = True, False


@pytest.fixture(scope="module")
def jury(dev_node: NodeProcess) -> Contract:
    """The native jury, with five jurors staking 5 CMT each."""
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    contract = w3.eth.contract(JURY, abi=JURY_ABI)
    for juror in JURORS:
        succeed(w3, juror, contract.functions.stake(), value=5 * ETHER)
    assert contract.functions.totalStake().call() >= 25 * ETHER
    return contract


def advance(dev_node: NodeProcess, seconds: int) -> None:
    """Moves the chain's clock ``seconds`` on and mines a block."""
    dev_node.rpc("evm_increaseTime", seconds)
    dev_node.rpc("evm_mine")


def hear(dev_node: NodeProcess, jury: Contract, case_id: int, votes: list[bool]) -> list[str]:
    """Draws case ``case_id`` once its beacon is committed, has its jurors commit and reveal ``votes`` through the
    native contract, and moves the clock past the reveal window; the drawn jurors."""
    w3 = jury.w3
    beacon_height = jury.functions.caseTerms(case_id).call()[5]
    dev_node.wait_for_height(beacon_height + 1)
    receipt = succeed(w3, KEEPER, jury.functions.draw(case_id))
    (drawn,) = events(jury, "JurorsDrawn", receipt)
    seats = list(drawn["jurors"])
    assert len(seats) == len(votes) and len(set(seats)) == len(seats)
    salts = [Web3.keccak(text=f"salt {case_id} {index}") for index in range(len(seats))]
    for index, (address, vote) in enumerate(zip(seats, votes, strict=True)):
        sealed = Web3.solidity_keccak(["uint256", "address", "bool", "bytes32"],
                                      [case_id, address, vote, salts[index]])
        succeed(w3, BY_ADDRESS[address], jury.functions.commitVote(case_id, index, sealed))
    advance(dev_node, HOUR + 1)
    for index, (address, vote) in enumerate(zip(seats, votes, strict=True)):
        succeed(w3, BY_ADDRESS[address], jury.functions.revealVote(case_id, index, vote, salts[index]))
    advance(dev_node, HOUR + 1)
    return seats


def test_a_moderation_request_is_decided_by_a_drawn_jury_and_the_pledges_go_where_the_page_says(
        dev_node: NodeProcess, jury: Contract, built: None) -> None:
    fee, pledge = ETHER // 2, 2 * ETHER
    # deployed as an operator would: `cmnode contracts deploy` with the constructor's arguments by name
    result = cmnode("contracts", "deploy", "CommunityModeration", "--arg", "jurors=3", "--arg", "stakePerJuror=1cmt",
                    "--arg", f"commitSeconds={HOUR}", "--arg", f"revealSeconds={HOUR}", "--arg", "caseFee=0.5cmt",
                    "--arg", "minPledge=1cmt", "--arg", f"forfeitTo={TREASURY.address}", "--arg",
                    f"caseTimeout={10 * HOUR}", "--dev-account", "2", "--rpc", dev_node.url, "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    deployed = json.loads(result.stdout)
    assert deployed["status"] == "success" and deployed["from"] == REQUESTER.address
    w3 = jury.w3
    abi = load_artifact(CONTRACTS / "out" / "CommunityModeration.sol" / "CommunityModeration.json").abi
    moderation = w3.eth.contract(deployed["address"], abi=abi)
    assert moderation.functions.caseFee().call() == fee and moderation.functions.forfeitTo().call() == TREASURY.address
    fake = Web3.keccak(text="listing: replica watches sold as originals")
    receipt = succeed(w3, REQUESTER, moderation.functions.requestListingRemoval(
        fake, Web3.keccak(text="photos of the serial numbers")), value=fee + pledge)
    (requested,) = events(moderation, "Requested", receipt)
    assert requested["pledge"] == pledge and w3.eth.get_balance(moderation.address) == pledge

    hear(dev_node, jury, requested["caseId"], [YES, YES, NO])
    receipt = succeed(w3, KEEPER, moderation.functions.decide(requested["id"]))
    (decided,) = events(moderation, "Decided", receipt)
    assert (decided["ruling"], decided["pledgeReturned"]) == (1, True)
    paid = events(jury, "JurorPaid", receipt)
    assert len(paid) == 2 and all(p["amount"] == (fee + STAKE_PER_JUROR) // 2 for p in paid)
    assert moderation.functions.isRemoved(fake).call()
    assert withdraw(moderation, REQUESTER) == pledge

    honest = Web3.keccak(text="listing: a genuine watch")
    receipt = succeed(w3, REQUESTER, moderation.functions.requestListingRemoval(honest, Web3.keccak(text="hunch")),
                      value=fee + pledge)
    (requested,) = events(moderation, "Requested", receipt)
    hear(dev_node, jury, requested["caseId"], [NO, NO, NO])
    receipt = succeed(w3, KEEPER, moderation.functions.decide(requested["id"]))
    (decided,) = events(moderation, "Decided", receipt)
    assert (decided["ruling"], decided["pledgeReturned"]) == (2, False)
    assert not moderation.functions.isRemoved(honest).call()
    assert moderation.functions.credit(TREASURY.address).call() == pledge
    assert w3.eth.get_balance(moderation.address) == sum(
        moderation.functions.credit(account.address).call() for account in (REQUESTER, TREASURY))


SELLER, FRIEND, CARRIER, OPERATOR = (dev_account(i) for i in (5, 6, 7, 8))
PRICE, DEPOSIT = 60 * ETHER, 5 * ETHER


def sponsored(w3: Web3, shopper: LocalAccount, call: ContractFunction) -> TxReceipt:
    """``shopper`` sends ``call`` with gas price 0 and value 0, as a wallet does (estimate, sign, send); its
    receipt, which must succeed."""
    tx = call.build_transaction({"from": shopper.address, "gasPrice": 0, "value": 0, "chainId": w3.eth.chain_id,
                                 "nonce": w3.eth.get_transaction_count(shopper.address, "pending")})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(shopper.sign_transaction(tx).raw_transaction), timeout=30)
    assert receipt.status == 1, receipt
    return receipt


def test_a_shopper_holding_no_cmt_orders_with_a_coupon_and_cashes_out_without_gas(dev_node: NodeProcess,
                                                                                built: None) -> None:
    escrow = deploy(dev_node, OPERATOR, "ArbitratedEscrow", HOUR, HOUR, ZERO_ADDRESS, 0, 0)
    promotions = deploy(dev_node, OPERATOR, "LocalPromotions")
    w3 = escrow.w3
    market = deploy(dev_node, OPERATOR, "SponsoredMarketplace", escrow.address, ZERO_ADDRESS, promotions.address,
                    ZERO_ADDRESS, 1_000_000, 20, HOUR, 5_000_000)
    sponsor = w3.eth.contract(SPONSOR, abi=SPONSOR_ABI)
    succeed(w3, OPERATOR, sponsor.functions.deposit(market.address), value=ETHER)
    assert sponsor.functions.sponsorshipOf(market.address).call()[:2] == [OPERATOR.address, ETHER]

    shopper = Account.create()
    receipt = sponsored(w3, SELLER, market.functions.list((PRICE, DEPOSIT, CARRIER.address, 24 * HOUR, HOUR, 0,
                                                           Web3.keccak(text="listing: red shoes"))))
    (listed,) = events(market, "Listed", receipt)
    succeed(w3, SELLER, promotions.functions.registerShop(market.address, "9vg4mq2"))
    expires = w3.eth.get_block("latest").timestamp + 24 * HOUR
    receipt = succeed(w3, SELLER, promotions.functions.createCoupon("9vg4", b"\0" * 32, expires,
                                                                    [(50 * ETHER, 1000)]), value=10 * ETHER)
    (coupon,) = events(promotions, "CouponCreated", receipt)
    succeed(w3, FRIEND, market.functions.fund(shopper.address), value=PRICE + DEPOSIT)
    assert w3.eth.get_balance(shopper.address) == 0

    deposit_before = sponsor.functions.sponsorshipOf(market.address).call()[1]
    receipt = sponsored(w3, shopper, market.functions.placeOrder(listed["listingId"], coupon["id"]))
    (ordered,) = events(market, "Ordered", receipt)
    assert ordered["discount"] == PRICE // 10
    (gas_paid,) = events(sponsor, "GasSponsored", receipt)
    fee = receipt.gasUsed * w3.eth.get_block(receipt.blockNumber).baseFeePerGas
    assert (gas_paid["target"], gas_paid["sender"], gas_paid["fee"]) == (market.address, shopper.address, fee)
    deposit_after = sponsor.functions.sponsorshipOf(market.address).call(block_identifier=receipt.blockNumber)[1]
    assert deposit_after == deposit_before - fee
    assert w3.eth.get_balance(shopper.address) == 0
    assert market.functions.balanceOf(shopper.address).call() == PRICE // 10

    succeed(w3, SELLER, escrow.functions.join(ordered["dealId"]), value=DEPOSIT)
    sponsored(w3, shopper, market.functions.acceptDelivery(ordered["orderId"]))
    sponsored(w3, shopper, market.functions.collect(shopper.address))
    assert market.functions.balanceOf(shopper.address).call() == DEPOSIT + PRICE // 10
    sponsored(w3, shopper, market.functions.cashOut(DEPOSIT + PRICE // 10))
    assert w3.eth.get_balance(shopper.address) == DEPOSIT + PRICE // 10
    assert escrow.functions.credit(SELLER.address).call() == PRICE + DEPOSIT


BUYER, ARBITER = dev_account(9), dev_account(10)
SELLER_WINS = 2  # ArbitratedEscrow.Party.Seller


def test_an_escrow_ruling_appealed_to_a_jury_court_is_overturned_by_a_drawn_jury(
        dev_node: NodeProcess, jury: Contract, built: None) -> None:
    appeal_fee, arbiter_fee = 3 * ETHER // 10, ETHER
    court = deploy(dev_node, OPERATOR, "JuryAppealCourt", 3, STAKE_PER_JUROR, HOUR, HOUR, appeal_fee)
    escrow = deploy(dev_node, OPERATOR, "ArbitratedEscrow", HOUR, HOUR, court.address, 2 * HOUR, 5 * HOUR)
    w3 = escrow.w3
    deliver_by = w3.eth.get_block("latest").timestamp + 24 * HOUR
    receipt = succeed(w3, BUYER, escrow.functions.open(SELLER.address, CARRIER.address, PRICE, deliver_by, HOUR),
                      value=PRICE + DEPOSIT)
    deal = events(escrow, "Opened", receipt)[0]["id"]
    succeed(w3, SELLER, escrow.functions.join(deal), value=DEPOSIT)
    succeed(w3, BUYER, escrow.functions.dispute(deal, Web3.keccak(text="the parcel arrived empty")))
    succeed(w3, ARBITER, escrow.functions.bid(deal, arbiter_fee))
    succeed(w3, BUYER, escrow.functions.chooseArbiter(deal, 0))
    succeed(w3, SELLER, escrow.functions.chooseArbiter(deal, 0))
    succeed(w3, ARBITER, escrow.functions.rule(deal, SELLER_WINS, Web3.keccak(text="reasons")))

    receipt = succeed(w3, BUYER, court.functions.appeal(escrow.address, deal, Web3.keccak(text="the photos")),
                      value=appeal_fee)
    (appealed,) = events(court, "Appealed", receipt)
    hear(dev_node, jury, appealed["caseId"], [YES, YES, YES])
    receipt = succeed(w3, KEEPER, court.functions.decide(appealed["appealId"]))
    (decided,) = events(court, "AppealDecided", receipt)
    assert (decided["ruling"], decided["outcome"]) == (1, 2)  # yes; Outcome.Overturned
    (settled,) = events(escrow, "Settled", receipt)
    assert (settled["toBuyer"], settled["toSeller"], settled["toArbiter"]) == (
        PRICE + 2 * DEPOSIT - arbiter_fee, 0, arbiter_fee)
    assert len(events(jury, "JurorPaid", receipt)) == 3
