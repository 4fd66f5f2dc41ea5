"""End to end: the white paper's marketplace on a real 4-validator testnet, every contract of the library it needs.

An operator deploys a ``SponsoredMarketplace`` (its sponsored gas deposited), the ``ArbitratedEscrow`` of its
orders with a ``JuryAppealCourt``, ``LocalPromotions`` and a ``DeliveryOracle`` whose oracle set is 3 of the 4
validators; each validator's owner runs ``cmnode oracle run`` against its own node, asking a carrier's tracking
service (the fourth validator's copy of it is tampered and always answers "not delivered"). Five token holders
stake as jurors on the native juror registry.

A seller lists two items and funds a coupon for its area without paying gas for the listings. A shopper holding
0 CMT, whose marketplace account a friend funded, orders the first item with the coupon by a gas-price-0
transaction; the seller joins, ships, and the oracle quorum confirms the delivery on the escrow; the shopper
accepts. The shopper orders the second item, which arrives broken: it disputes, an arbiter it and the seller
chose rules for the seller, the shopper appeals, and a jury drawn by the chain's beacon overturns the ruling.
The shopper collects and cashes out. Every amount lands where the contracts' pages say, the shopper never held
CMT for gas, and every node reports the same state root at the final height.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from cybermiles_node.solc import load_artifact
from middleware.jury.contract import commitment_of
from tests.e2e.nodeproc import (
    Sender,
    dev_account,
    running_testnet,
    state_roots_at,
    wait_for_block_time,
    wait_for_height,
)
from tests.e2e.test_foundry_e2e import CONTRACTS
from tests.e2e.test_jury_e2e import ABI as JURY_ABI
from tests.e2e.test_jury_e2e import JURY
from tests.e2e.test_library_e2e import built  # noqa: F401 - fixture
from tests.e2e.test_middleware_e2e import ETHER, REPO
from tests.e2e.test_oracle_e2e import ABI as ORACLE_ABI
from tests.e2e.test_oracle_e2e import ORACLE, Source, start_oracle, stop_oracles, wait_until

pytestmark = pytest.mark.e2e

SPONSOR_ABI = json.loads((REPO / "vm" / "sponsorship" / "ISponsor.abi.json").read_text())
SPONSOR = Web3.to_checksum_address("0x0000000000000000000000000000000000000c16")
ZERO_ADDRESS = "0x" + "00" * 20
OPERATOR, SELLER, FRIEND, ARBITER, KEEPER = (dev_account(i) for i in (4, 5, 6, 7, 8))
JURORS = [dev_account(i) for i in range(9, 14)]
PRICE, DEPOSIT, ARBITER_FEE = 60 * ETHER, 5 * ETHER, ETHER
APPEAL_FEE, STAKE_PER_JUROR = ETHER // 2, ETHER
WINDOW = 12  # seconds of block time for the jury's commits, then for its reveals
DELIVERED, NOT_DELIVERED = 1, 0
BUYER_WINS, SELLER_WINS = 1, 2  # ArbitratedEscrow.Party
PARCEL = Web3.keccak(text="carrier tracking 1Z999AA10123456784")


class CarrierService(Source):
    """A carrier's tracking service as an oracle source: ``abi.encode(status)`` of the parcel the request names."""

    def __init__(self, delivered: set[bytes], tampered: bool = False) -> None:
        self.delivered, self.tampered = delivered, tampered
        super().__init__(b"")

    def answer_for(self, request: dict) -> bytes:
        """Delivered (1) when the request's parcel is in ``delivered`` and the service is honest, else 0."""
        _, _, parcel = eth_abi.decode(["address", "uint256", "bytes32"], bytes.fromhex(request["payload"][2:]))
        status = DELIVERED if parcel in self.delivered and not self.tampered else NOT_DELIVERED
        return eth_abi.encode(["uint256"], [status])


@pytest.fixture(scope="module")
def testnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[dict], Path, set[bytes]]]:
    """A running 4-validator testnet whose validators' owners each run an oracle against their own node."""
    output = tmp_path_factory.mktemp("marketplace-testnet")
    delivered: set[bytes] = set()
    with running_testnet(output, validators=4) as nodes:
        services = [CarrierService(delivered, tampered=index == 3) for index in range(4)]
        oracles = [start_oracle(index, nodes[index], services[index], output) for index in range(4)]
        try:
            yield nodes, output, delivered
        finally:
            stop_oracles(oracles, services)


def contract(w3: Web3, address: str, name: str) -> Contract:
    return w3.eth.contract(address, abi=load_artifact(CONTRACTS / "out" / f"{name}.sol" / f"{name}.json").abi)


def deploy(sender: Sender, name: str, *arguments: object, value: int = 0) -> tuple[Contract, bytes]:
    """Sends the operator's deployment of library contract ``name`` (forge's artifact); the contract and hash."""
    artifact = load_artifact(CONTRACTS / "out" / f"{name}.sol" / f"{name}.json")
    address, sent = sender.deploy(OPERATOR, artifact.abi, artifact.bytecode, *arguments, value=value)
    return sender.w3.eth.contract(address, abi=artifact.abi), sent


def event(contract: Contract, name: str, receipt: dict) -> dict:
    (found,) = contract.events[name]().process_receipt(receipt, errors=DISCARD)
    return found.args


def test_list_buy_with_a_coupon_without_gas_ship_confirm_by_oracle_dispute_and_a_jury_decides(
        testnet: tuple[list[dict], Path, set[bytes]], built: None) -> None:  # noqa: F811
    nodes, output, delivered = testnet
    w3s = [Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10})) for node in nodes]
    for index, w3 in enumerate(w3s):
        wait_for_height(lambda w3=w3: w3.eth.block_number, 1, 90,
                        lambda index=index: (output / f"node{index}.log").read_text()[-3000:])
    w3 = w3s[0]
    send = Sender(w3)
    oracle = w3.eth.contract(ORACLE, abi=ORACLE_ABI)
    jury = w3.eth.contract(JURY, abi=JURY_ABI)
    sponsor = w3.eth.contract(SPONSOR, abi=SPONSOR_ABI)

    # The operator's deployment, the oracle set of 3 of the 4 validators, and the jurors' stakes, all at once.
    set_id = oracle.functions.setCount().call() + 1
    hashes = [send.call(OPERATOR, oracle.functions.defineValidatorSet(2, 3))]
    court, sent = deploy(send, "JuryAppealCourt", 3, STAKE_PER_JUROR, WINDOW, WINDOW, APPEAL_FEE)
    escrow, sent_escrow = deploy(send, "ArbitratedEscrow", 60, 60, court.address, 60, 120)
    promotions, sent_promotions = deploy(send, "LocalPromotions")
    confirmer, sent_confirmer = deploy(send, "DeliveryOracle", escrow.address, set_id, 60)
    market, sent_market = deploy(send, "SponsoredMarketplace", escrow.address, ZERO_ADDRESS, promotions.address,
                                 ZERO_ADDRESS, 1_000_000, 20, 3_600, 5_000_000, value=2 * ETHER)
    hashes += [sent, sent_escrow, sent_promotions, sent_confirmer, sent_market]
    hashes += [send.call(juror, jury.functions.stake(), value=5 * ETHER, gas=400_000) for juror in JURORS]
    receipts = send.receipts(hashes)
    assert event(oracle, "OracleSetDefined", receipts[0])["setId"] == set_id
    assert sponsor.functions.sponsorshipOf(market.address).call()[:2] == [OPERATOR.address, 2 * ETHER]

    # The seller lists two items (no gas) and funds a coupon; a friend funds the shopper's account.
    shopper = Account.create()
    listing = (PRICE, DEPOSIT, confirmer.address, 600, 300, 0, Web3.keccak(text="listing: red shoes"))
    expires = w3.eth.get_block("latest").timestamp + 86_400
    receipts = send.receipts([
        send.sponsored(SELLER, market.functions.list(listing)),
        send.sponsored(SELLER, market.functions.list((*listing[:6], Web3.keccak(text="listing: a vase")))),
        send.call(SELLER, promotions.functions.registerShop(market.address, "9vg4mq2")),
        send.call(SELLER, promotions.functions.createCoupon("9vg4", b"\0" * 32, expires, [(50 * ETHER, 1000)]),
                  value=10 * ETHER),
        send.call(FRIEND, market.functions.fund(shopper.address), value=2 * (PRICE + DEPOSIT) + APPEAL_FEE),
    ])
    shoes, vase = (event(market, "Listed", r)["listingId"] for r in receipts[:2])
    coupon = event(promotions, "CouponCreated", receipts[3])["id"]
    assert all(r.effectiveGasPrice == 0 for r in receipts[:2])

    # The shopper, holding no CMT, orders both items (the shoes with the coupon); the seller joins both deals.
    deposit_before = sponsor.functions.sponsorshipOf(market.address).call()[1]
    first, second = send.receipts([send.sponsored(shopper, market.functions.placeOrder(shoes, coupon)),
                                   send.sponsored(shopper, market.functions.placeOrder(vase, 0))])
    shoes_order, vase_order = event(market, "Ordered", first), event(market, "Ordered", second)
    assert shoes_order["discount"] == PRICE // 10 and vase_order["discount"] == 0
    paid = event(sponsor, "GasSponsored", first)
    base_fee = w3.eth.get_block(first.blockNumber).baseFeePerGas
    assert (paid["target"], paid["sender"], paid["fee"]) == (market.address, shopper.address,
                                                             first.gasUsed * base_fee)
    assert sponsor.functions.sponsorshipOf(market.address).call()[1] < deposit_before
    assert w3.eth.get_balance(shopper.address) == 0
    send.receipts([send.call(SELLER, escrow.functions.join(order["dealId"]), value=DEPOSIT)
                   for order in (shoes_order, vase_order)])

    # The shoes ship; the carrier's record shows them delivered; the quorum confirms it on the escrow.
    delivered.add(PARCEL)
    (asked,) = send.receipts([send.call(SELLER, confirmer.functions.requestConfirmation(shoes_order["dealId"],
                                                                                         PARCEL))])
    request_id = event(confirmer, "DeliveryRequested", asked)["requestId"]
    wait_until(lambda: oracle.functions.result(request_id).call()[0] == 2, "the oracle quorum to answer", 60)
    value, attesters = oracle.functions.getRequest(request_id).call()[7:9]
    assert value == eth_abi.encode(["uint256"], [DELIVERED])  # the tampered validator's "no" did not count
    assert {dev_account(i).address for i in range(3)} <= set(attesters)
    (settled,) = send.receipts([send.call(KEEPER, confirmer.functions.settle(request_id))])
    assert event(confirmer, "DeliveryConfirmed", settled)["dealId"] == shoes_order["dealId"]
    assert escrow.functions.getDeal(shoes_order["dealId"]).call()[7] == 3  # Stage.Delivered: inspection runs
    send.receipts([send.sponsored(shopper, market.functions.acceptDelivery(shoes_order["orderId"]))])

    # The vase arrives broken: dispute, an arbiter both chose rules for the seller, the shopper appeals.
    send.receipts([send.sponsored(shopper, market.functions.dispute(vase_order["orderId"],
                                                                     Web3.keccak(text="photo: the vase in pieces")))])
    send.receipts([send.call(ARBITER, escrow.functions.bid(vase_order["dealId"], ARBITER_FEE))])
    send.receipts([send.sponsored(shopper, market.functions.chooseArbiter(vase_order["orderId"], 0)),
                   send.call(SELLER, escrow.functions.chooseArbiter(vase_order["dealId"], 0))])
    send.receipts([send.call(ARBITER, escrow.functions.rule(vase_order["dealId"], SELLER_WINS,
                                                            Web3.keccak(text="packed well enough")))])
    (appealed,) = send.receipts([send.sponsored(shopper, market.functions.appeal(
        vase_order["orderId"], Web3.keccak(text="the carrier's damage report")))])
    appeal = event(court, "Appealed", appealed)

    # A jury of 3 drawn from the five jurors by the beacon overturns the ruling.
    case_id = appeal["caseId"]
    beacon_height = jury.functions.caseTerms(case_id).call()[5]
    wait_for_height(lambda: w3.eth.block_number, beacon_height + 1, 60, lambda: "no beacon height")
    (drawn,) = send.receipts([send.call(KEEPER, jury.functions.draw(case_id), gas=2_000_000)])
    seated = jury.functions.jurors(case_id).call()
    by_address = {juror.address: juror for juror in JURORS}
    assert len(set(seated)) == 3 and set(seated) <= set(by_address)
    _, _, _, _, commit_ends, reveal_ends = jury.functions.caseInfo(case_id).call()
    salts = [Web3.keccak(text=f"salt {seat}") for seat in range(3)]
    send.receipts([send.call(by_address[juror], jury.functions.commitVote(
        case_id, seat, commitment_of(case_id, bytes.fromhex(juror[2:]), True, salts[seat])), gas=300_000)
        for seat, juror in enumerate(seated)])
    wait_for_block_time(w3, commit_ends)
    send.receipts([send.call(by_address[juror], jury.functions.revealVote(case_id, seat, True, salts[seat]),
                             gas=300_000) for seat, juror in enumerate(seated)])
    wait_for_block_time(w3, reveal_ends)
    (decided,) = send.receipts([send.call(KEEPER, court.functions.decide(appeal["appealId"]), gas=3_000_000)])
    assert (event(court, "AppealDecided", decided)["ruling"], event(court, "AppealDecided", decided)["outcome"]) \
        == (1, 2)  # yes; Outcome.Overturned
    outcome = event(escrow, "Settled", decided)
    assert (outcome["toBuyer"], outcome["toSeller"], outcome["toArbiter"]) == (
        PRICE + 2 * DEPOSIT - ARBITER_FEE, 0, ARBITER_FEE)
    assert len(jury.events.JurorPaid().process_receipt(decided, errors=DISCARD)) == 3

    # The shopper collects the refund and cashes out, still without gas.
    send.receipts([send.sponsored(shopper, market.functions.collect(shopper.address))])
    account_balance = market.functions.balanceOf(shopper.address).call()
    funded = 2 * (PRICE + DEPOSIT) + APPEAL_FEE
    # shoes: price + deposit paid, the deposit back on acceptance, the coupon's 10 %; vase: price + deposit and
    # the appeal fee paid, price + both deposits less the arbiter's fee back
    assert account_balance == funded - PRICE + PRICE // 10 - APPEAL_FEE + DEPOSIT - ARBITER_FEE
    (cashed,) = send.receipts([send.sponsored(shopper, market.functions.cashOut(account_balance))])
    height = cashed.blockNumber
    assert w3.eth.get_balance(shopper.address, height) == account_balance
    assert escrow.functions.credit(SELLER.address).call(block_identifier=height) == PRICE + DEPOSIT
    assert escrow.functions.credit(ARBITER.address).call(block_identifier=height) == ARBITER_FEE
    assert market.functions.balanceOf(shopper.address).call(block_identifier=height) == 0

    assert len(state_roots_at(w3s, height, output)) == 1
