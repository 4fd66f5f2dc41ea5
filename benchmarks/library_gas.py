"""Gas of every public call of every library contract, from receipts on ``cmnode start --dev``.

Each library contract is one entry of ``FLOWS``: a realistic flow that deploys the contract (compiled as
``cmnode contracts deploy`` compiles it) and makes every one of its state-changing functions at least once,
from the development accounts, moving the chain's clock with ``evm_increaseTime`` where a deadline must pass.
A call's figure is its receipt's ``gasUsed``: the 21,000 intrinsic gas and the call data included, so what its
sender pays for at a gas price. A flow that leaves a function unmeasured is an error, so a function added to a
contract needs a step in its flow. Views cost nothing through ``eth_call`` and are not measured.

``--write-docs`` writes each contract's table into the ``## Gas`` section of its page (``docs/contracts/``),
between the markers ``BEGIN`` and ``END``; running it again refreshes them.

    python benchmarks/library_gas.py                   # start a dev node, print the tables
    python benchmarks/library_gas.py --write-docs      # and refresh the pages
    python benchmarks/library_gas.py --json
    python benchmarks/library_gas.py --rpc URL         # a `cmnode start --dev` node already running
    python benchmarks/library_gas.py --only ArbitratedEscrow
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import eth_abi
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from benchmarks.devnode import node_under_test
from benchmarks.errors import BenchmarkError
from benchmarks.hdkeys import derive_accounts
from benchmarks.load import rpc_url
from cybermiles_node.contract_library import LibraryContract, LibraryError, compile_contracts, library_contracts
from cybermiles_node.solc import CompiledContract
from vm.native.addresses import JURY_ADDRESS, ORACLE_ADDRESS, SPONSOR_ADDRESS

REPO = Path(__file__).resolve().parent.parent
ORACLE_ABI = json.loads((REPO / "middleware" / "oracle" / "IOracle.abi.json").read_text())
JURY_ABI = json.loads((REPO / "middleware" / "jury" / "IJury.abi.json").read_text())
SPONSOR_ABI = json.loads((REPO / "vm" / "sponsorship" / "ISponsor.abi.json").read_text())
BEGIN = "<!-- library gas table: written by python benchmarks/library_gas.py --write-docs -->"
END = "<!-- end of the library gas table -->"
ETHER = 10**18
HOUR, DAY = 3_600, 86_400
ZERO_ADDRESS = "0x" + "00" * 20
RECEIPT_TIMEOUT_S = 60
PAGE_WIDTH = 115  # the line length of the pages


@dataclass(frozen=True)
class Measured:
    """One transaction of a flow: the function it called (and the case, if the flow calls it more than one way)."""

    function: str
    case: str
    gas: int

    @property
    def label(self) -> str:
        """The table's first cell: the function, then the case in parentheses."""
        return f"{self.function} ({self.case})" if self.case else self.function


@dataclass
class ContractGas:
    """The figures of one library contract's flow."""

    name: str
    deployment_gas: int = 0
    deployment_bytes: int = 0
    calls: list[Measured] = field(default_factory=list)
    totals: list[tuple[str, int]] = field(default_factory=list)


class Bench:
    """A development node, the compiled library, and the figures of the contract whose flow runs."""

    def __init__(self, url: str, compiled: dict[str, CompiledContract]) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RECEIPT_TIMEOUT_S}))
        self.compiled = compiled
        self.accounts = derive_accounts(20)
        self.chain_id = self.w3.eth.chain_id
        self.figures = ContractGas("")

    def account(self, index: int) -> LocalAccount:
        """Development account ``index`` of the standard mnemonic."""
        return self.accounts[index]

    def deploy(self, sender: LocalAccount, name: str, *arguments: object, measured: bool = True) -> Contract:
        """Deploys library contract ``name``; the first measured deployment is the contract's deployment figure."""
        compiled = self.compiled[name]
        factory = self.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        data = bytes.fromhex(factory.constructor(*arguments).data_in_transaction[2:])
        receipt = self._send(sender, {"data": data, "gas": 8_000_000})
        if measured and not self.figures.deployment_gas:
            self.figures.deployment_gas, self.figures.deployment_bytes = receipt["gasUsed"], len(data)
        return self.w3.eth.contract(receipt["contractAddress"], abi=compiled.abi)

    def call(self, sender: LocalAccount, function: ContractFunction, case: str = "", value: int = 0) -> TxReceipt:
        """``sender`` makes ``function`` (which must succeed); its gas is recorded under the function's name."""
        receipt = self.setup(sender, function, value)
        self.figures.calls.append(Measured(function.fn_name, case, receipt["gasUsed"]))
        return receipt

    def setup(self, sender: LocalAccount, function: ContractFunction, value: int = 0) -> TxReceipt:
        """``sender`` makes ``function`` (which must succeed) without recording it: a step of another contract."""
        transaction = function.build_transaction({"from": sender.address, "value": value, "gas": 3_000_000,
                                                  "nonce": 0, "chainId": self.chain_id})
        return self._send(sender, {"to": transaction["to"], "data": bytes.fromhex(transaction["data"][2:]),
                                   "value": value, "gas": 3_000_000})

    def total(self, what: str, receipts: Sequence[TxReceipt]) -> int:
        """Records the gas of ``receipts`` together as ``what``; the sum."""
        gas = sum(receipt["gasUsed"] for receipt in receipts)
        self.figures.totals.append((what, gas))
        return gas

    def advance(self, seconds: int) -> None:
        """Moves the chain's clock forward by ``seconds`` and mines a block stamped with it."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def now(self) -> int:
        """The latest block's time."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def oracle_set(self, definer: LocalAccount, members: Sequence[LocalAccount], threshold: int) -> tuple[Contract, int]:
        """``definer`` defines an IOracle set of ``members`` answering with ``threshold`` (not measured): the native
        oracle contract and the set's id."""
        oracle = self.w3.eth.contract(Web3.to_checksum_address(ORACLE_ADDRESS), abi=ORACLE_ABI)
        receipt = self.setup(definer, oracle.functions.defineSet([m.address for m in members], threshold))
        return oracle, int(self.events(oracle, "OracleSetDefined", receipt)[0]["setId"])  # type: ignore[call-overload]

    def events(self, contract: Contract, name: str, receipt: TxReceipt) -> list[dict[str, object]]:
        """The arguments of the ``name`` events ``contract`` emitted in ``receipt``."""
        event = contract.events[name]()
        topic = bytes.fromhex(event.topic[2:])
        return [dict(event.process_log(log)["args"]) for log in receipt["logs"]
                if log["address"] == contract.address and log["topics"][0] == topic]

    def _send(self, sender: LocalAccount, fields: dict[str, object]) -> TxReceipt:
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        transaction = {"chainId": self.chain_id, "nonce": self.w3.eth.get_transaction_count(sender.address),
                       "maxFeePerGas": 2 * base_fee + 10**9, "maxPriorityFeePerGas": 10**9, "value": 0, **fields}
        tx_hash = self.w3.eth.send_raw_transaction(sender.sign_transaction(transaction).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.05)
        if receipt["status"] != 1:
            raise BenchmarkError(f"a transaction of the flow failed: {fields.get('to', 'a deployment')} "
                                 f"from {sender.address} ({tx_hash.to_0x_hex()})")
        return receipt


@dataclass(frozen=True)
class LibraryFlow:
    """A library contract and the flow that makes each of its state-changing functions."""

    contract: str
    play: Callable[[Bench], None]
    notes: str = ""


def escrow_flow(bench: Bench) -> None:
    """Deals released by acceptance and after inspection, cancelled, refunded, disputed, appealed."""
    buyer, seller, confirmer, court, first, second, early = (bench.account(i) for i in range(1, 8))
    escrow = bench.deploy(buyer, "ArbitratedEscrow", HOUR, HOUR, court.address, HOUR, HOUR)
    price, deposit = 10 * ETHER, 2 * ETHER

    def opened(inspection: int, case: str = "", by: LocalAccount = buyer) -> tuple[int, TxReceipt]:
        receipt = bench.call(by, escrow.functions.open(seller.address, confirmer.address, price,
                                                       bench.now() + DAY, inspection), case, price + deposit)
        return int(bench.events(escrow, "Opened", receipt)[0]["id"]), receipt

    deal, _ = opened(HOUR, "the contract's first deal", early)
    bench.call(early, escrow.functions.cancel(deal))
    # buyer and seller have no credit yet: their first credits are new storage, as for most parties
    deal, opening = opened(HOUR)
    joining = bench.call(seller, escrow.functions.join(deal), value=deposit)
    accepting = bench.call(buyer, escrow.functions.acceptDelivery(deal))
    paid = bench.call(seller, escrow.functions.withdraw())
    bench.total("purchase to release by the buyer's acceptance (open, join, acceptDelivery)",
                [opening, joining, accepting])
    bench.total("the same and the seller's withdrawal", [opening, joining, accepting, paid])

    deal, opening = opened(HOUR)
    joining = bench.call(seller, escrow.functions.join(deal), value=deposit)
    confirming = bench.call(confirmer, escrow.functions.confirmDelivery(deal, Web3.keccak(text="signed for")),
                            "inspection starts")
    bench.advance(HOUR)
    releasing = bench.call(confirmer, escrow.functions.release(deal), "after inspection")
    bench.total("purchase to release after a confirmed delivery and inspection (open, join, confirmDelivery, "
                "release)", [opening, joining, confirming, releasing])
    deal, _ = opened(0)
    bench.call(seller, escrow.functions.join(deal), value=deposit)
    bench.call(confirmer, escrow.functions.confirmDelivery(deal, Web3.keccak(text="signed for")),
               "no inspection: releases")
    deal, _ = opened(HOUR)
    bench.call(seller, escrow.functions.join(deal), value=deposit)
    bench.advance(DAY)
    bench.call(confirmer, escrow.functions.refundUndelivered(deal))

    deal, _ = opened(HOUR)
    bench.call(seller, escrow.functions.join(deal), value=deposit)
    bench.call(buyer, escrow.functions.dispute(deal, Web3.keccak(text="the parcel arrived empty")))
    bench.call(seller, escrow.functions.submitEvidence(deal, Web3.keccak(text="the packing video")))
    bench.call(first, escrow.functions.bid(deal, ETHER), "first bid")
    bench.call(second, escrow.functions.bid(deal, ETHER // 2), "second bid")
    bench.call(buyer, escrow.functions.chooseArbiter(deal, 0), "first choice")
    bench.call(seller, escrow.functions.chooseArbiter(deal, 0), "agreeing: appoints")
    bench.advance(HOUR)
    bench.call(buyer, escrow.functions.replaceArbiter(deal), "the arbiter did not rule")
    bench.call(buyer, escrow.functions.chooseArbiter(deal, 1), "after a replacement")
    bench.advance(HOUR)
    bench.call(buyer, escrow.functions.closeBidding(deal), "one party chose: appoints")
    bench.call(second, escrow.functions.rule(deal, 1, Web3.keccak(text="reasons")), "with an appeal court")
    bench.call(court, escrow.functions.holdForAppeal(deal))
    bench.call(court, escrow.functions.decideAppeal(deal, 2, Web3.keccak(text="the court's reasons")), "settles")

    deal, _ = opened(HOUR)
    bench.call(seller, escrow.functions.join(deal), value=deposit)
    bench.call(seller, escrow.functions.dispute(deal, Web3.keccak(text="never paid for")))
    bench.call(first, escrow.functions.bid(deal, ETHER), "first bid")
    bench.call(buyer, escrow.functions.chooseArbiter(deal, 0), "first choice")
    bench.call(seller, escrow.functions.chooseArbiter(deal, 0), "agreeing: appoints")
    bench.call(first, escrow.functions.rule(deal, 2, Web3.keccak(text="reasons")), "with an appeal court")
    bench.advance(HOUR)
    bench.call(buyer, escrow.functions.finalize(deal), "after the appeal window")
    bench.call(first, escrow.functions.withdraw())


def certificates_flow(bench: Bench) -> None:
    """A maker certifies goods for a shop, which sells and lends them on; a certificate is revoked."""
    maker, shop, buyer, agent = (bench.account(i) for i in range(1, 5))
    certificates = bench.deploy(maker, "AuthenticityCertificates")
    features = [Web3.keccak(text=f"feature {i}") for i in range(3)]
    bench.call(maker, certificates.functions.registerIssuer("Vintage Leather Co."))
    receipt = bench.call(maker, certificates.functions.issue(shop.address, features), "first, 3 features")
    bag = int(bench.events(certificates, "Issued", receipt)[0]["id"])
    bench.call(maker, certificates.functions.issue(shop.address, features[:1]), "1 feature")
    bench.call(shop, certificates.functions.transferFrom(shop.address, buyer.address, bag))
    bench.call(buyer, certificates.functions.approve(agent.address, bag))
    bench.call(agent, certificates.get_function_by_signature("safeTransferFrom(address,address,uint256)")(
        buyer.address, shop.address, bag), "by the approved account")
    bench.call(shop, certificates.functions.setApprovalForAll(agent.address, True))
    bench.call(agent, certificates.get_function_by_signature("safeTransferFrom(address,address,uint256,bytes)")(
        shop.address, buyer.address, bag, b"resale"), "with data, by an operator")
    bench.call(maker, certificates.functions.revoke(bag, Web3.keccak(text="inspection report")))


def ambassadors_flow(bench: Bench) -> None:
    """A campaign paid from three oracle reports (one timed out), then ended with the budget's rest refunded."""
    brand, ambassador = bench.account(1), bench.account(2)
    members = [bench.account(i) for i in (3, 4, 5)]
    oracle, oracle_set = bench.oracle_set(brand, members, 2)
    ambassadors = bench.deploy(brand, "BrandAmbassadors")
    terms = (ambassador.address, Web3.keccak(text="unboxing video"), ETHER // 1000, ETHER // 100, oracle_set,
             600, 120)
    bench.call(brand, ambassadors.functions.createCampaign(terms), value=10 * ETHER)

    def report(views: int, likes: int) -> None:
        receipt = bench.call(ambassador, ambassadors.functions.requestCounts(1))
        request = int(bench.events(ambassadors, "CountsRequested", receipt)[0]["requestId"])
        for member in members[:2]:
            bench.setup(member, oracle.functions.attest(request, eth_abi.encode(["uint256", "uint256"],
                                                                                [views, likes])))

    report(1_200, 80)
    bench.call(ambassador, ambassadors.functions.settle(1), "first report")
    bench.advance(600)
    bench.call(ambassador, ambassadors.functions.requestCounts(1))
    bench.advance(121)
    bench.call(ambassador, ambassadors.functions.settle(1), "timed out: pays nothing")
    bench.advance(600)
    report(1_500, 90)
    bench.call(ambassador, ambassadors.functions.settle(1), "a later report")
    bench.call(brand, ambassadors.functions.end(1), "refunds the rest")
    bench.call(ambassador, ambassadors.functions.withdraw())


def delivery_flow(bench: Bench) -> None:
    """Two deals confirmed through a 2-of-3 oracle set: one delivered, one whose request timed out."""
    buyer, seller = bench.account(1), bench.account(2)
    members = [bench.account(i) for i in (3, 4, 5)]
    oracle, oracle_set = bench.oracle_set(seller, members, 2)
    escrow = bench.deploy(seller, "ArbitratedEscrow", HOUR, HOUR, ZERO_ADDRESS, 0, 0, measured=False)
    confirmer = bench.deploy(seller, "DeliveryOracle", escrow.address, oracle_set, HOUR)
    price, deposit = 10 * ETHER, 2 * ETHER

    def deal() -> int:
        receipt = bench.setup(buyer, escrow.functions.open(seller.address, confirmer.address, price,
                                                           bench.now() + DAY, HOUR), price + deposit)
        opened = int(bench.events(escrow, "Opened", receipt)[0]["id"])  # type: ignore[call-overload]
        bench.setup(seller, escrow.functions.join(opened), deposit)
        return opened

    def asked(deal_id: int, case: str = "") -> int:
        receipt = bench.call(seller, confirmer.functions.requestConfirmation(deal_id, Web3.keccak(text="1Z999")),
                             case)
        return int(bench.events(confirmer, "DeliveryRequested", receipt)[0]["requestId"])  # type: ignore[call-overload]

    request = asked(deal(), "the contract's first request")
    for member in members[:2]:
        bench.setup(member, oracle.functions.attest(request, eth_abi.encode(["uint256"], [1])))
    bench.call(buyer, confirmer.functions.settle(request), "delivered: the escrow's inspection starts")
    request = asked(deal())
    bench.advance(HOUR + 1)
    bench.call(buyer, confirmer.functions.settle(request), "timed out: confirms nothing")


def groups_flow(bench: Bench) -> None:
    """A group: dues, a promoter, an event funded and attended, another refunded."""
    platform, owner, moderator, alice, bob, promoter = (bench.account(i) for i in range(1, 7))
    groups = bench.deploy(owner, "Groups", platform.address, 2 * ETHER)
    receipt = bench.call(owner, groups.functions.createGroup(moderator.address, ETHER, 4 * ETHER, DAY, 2_000),
                         "first group", 2 * ETHER)
    group = int(bench.events(groups, "GroupCreated", receipt)[0]["id"])
    bench.call(owner, groups.functions.setTerms(group, ETHER, 3 * ETHER))
    bench.call(owner, groups.functions.setModerator(group, alice.address))
    bench.call(alice, groups.functions.payDues(group, 3), "3 periods, first member", 3 * ETHER)
    bench.call(bob, groups.functions.payDues(group, 1), "1 period, second member", ETHER)
    bench.call(promoter, groups.functions.buyPromoterAccess(group, 1), value=3 * ETHER)
    bench.call(promoter, groups.functions.promote(group, Web3.keccak(text="spring sale")))
    receipt = bench.call(bob, groups.functions.proposeEvent(group, 5 * ETHER, bench.now() + HOUR,
                                                             Web3.keccak(text="picnic")))
    picnic = int(bench.events(groups, "EventProposed", receipt)[0]["eventId"])
    bench.call(bob, groups.functions.fund(picnic), "first funder", 2 * ETHER)
    bench.call(alice, groups.functions.fund(picnic), "reaches the target, the excess returned", 4 * ETHER)
    bench.call(bob, groups.functions.checkIn(picnic, [alice.address, bob.address]), "2 attendees")
    receipt = bench.call(alice, groups.functions.proposeEvent(group, 50 * ETHER, bench.now() + HOUR,
                                                               Web3.keccak(text="trip")))
    trip = int(bench.events(groups, "EventProposed", receipt)[0]["eventId"])
    bench.call(bob, groups.functions.fund(trip), value=ETHER)
    bench.advance(HOUR)
    bench.call(bob, groups.functions.refund(trip), "the event missed its target")
    bench.call(owner, groups.functions.withdraw())


def grants_flow(bench: Bench) -> None:
    """A user grants a shop its address for shipping; the shop's read is recorded; the user revokes."""
    user, app = bench.account(1), bench.account(2)
    grants = bench.deploy(user, "IdentityGrants")
    item, purpose = Web3.keccak(text="postal address"), Web3.keccak(text="shipping")
    receipt = bench.call(user, grants.functions.grant(app.address, item, purpose, bench.now() + DAY), "first")
    grant = int(bench.events(grants, "Granted", receipt)[0]["id"])
    bench.call(app, grants.functions.recordAccess(user.address, item, purpose))
    bench.call(user, grants.functions.revoke(grant))
    bench.call(user, grants.functions.grant(app.address, item, purpose, bench.now() + DAY), "replacing one")


def sealed_bid(keyword: bytes, bidder: LocalAccount, amount: int, ad: bytes) -> bytes:
    """A KeywordAdAuction sealed bid in round 0 (the salt is the ad's hash)."""
    return Web3.keccak(eth_abi.encode(["bytes32", "uint64", "address", "uint256", "bytes32", "bytes32"],
                                      [keyword, 0, bidder.address, amount, ad, ad]))


def auction_flow(bench: Bench) -> None:
    """A round with payments pooled for rebates: three sealed bids, two revealed, one ad flagged hidden."""
    first, second, silent, holder, rebater = (bench.account(i) for i in range(1, 6))
    quarter = HOUR // 4
    auction = bench.deploy(holder, "KeywordAdAuction", HOUR, quarter, quarter, 2, ETHER // 10, 50 * ETHER, 1_000,
                           rebater.address)
    keyword = Web3.keccak(text="vintage shoes")
    ads = {account.address: Web3.keccak(text=f"ad of {account.address}") for account in (first, second, silent)}
    bench.call(first, auction.functions.commitBid(keyword, sealed_bid(keyword, first, 5 * ETHER, ads[first.address])),
               value=8 * ETHER)
    bench.call(second, auction.functions.commitBid(keyword, sealed_bid(keyword, second, 3 * ETHER,
                                                                       ads[second.address])), value=3 * ETHER)
    bench.call(silent, auction.functions.commitBid(keyword, sealed_bid(keyword, silent, ETHER, ads[silent.address])),
               value=ETHER)
    bench.advance(quarter)
    bench.call(first, auction.functions.revealBid(keyword, 0, 5 * ETHER, ads[first.address], ads[first.address]),
               "first")
    bench.call(second, auction.functions.revealBid(keyword, 0, 3 * ETHER, ads[second.address], ads[second.address]),
               "second, ranked below")
    bench.advance(quarter)
    receipt = bench.call(holder, auction.functions.settle(keyword, 0), "2 winners")
    won = {str(ad["seller"]): int(str(ad["id"])) for ad in bench.events(auction, "AdWon", receipt)}
    bench.call(holder, auction.functions.flag(won[first.address]), "below the threshold", 10 * ETHER)
    bench.call(rebater, auction.functions.flag(won[first.address]), "reaches it: hides the ad", 40 * ETHER)
    bench.call(first, auction.functions.reclaim(keyword, 0), "a winner")
    bench.call(silent, auction.functions.reclaim(keyword, 0), "never revealed: the penalty")
    bench.advance(2 * HOUR)
    bench.call(holder, auction.functions.finalize(won[second.address]))
    bench.call(holder, auction.functions.unlockFlags(won[first.address]))
    bench.call(rebater, auction.functions.rebate([first.address, second.address], [ETHER // 10, ETHER // 10]),
               "2 buyers")
    bench.call(holder, auction.functions.withdraw())


def leads_flow(bench: Bench) -> None:
    """A merchant's bid for a segment: two users accept, one proves it opened the message and is paid."""
    merchant, reader, skimmer, leaver = (bench.account(i) for i in range(1, 5))
    leads = bench.deploy(merchant, "LeadsBidding")
    segment = Web3.keccak(text="trail runners")
    content = Web3.keccak(text="Trail shoes -30% this week. ref 7f3a9c")
    for user in (reader, skimmer, leaver):
        bench.call(user, leads.functions.optIn(segment))
    bench.call(leaver, leads.functions.optOut(segment))
    price, seal = ETHER // 10, Web3.keccak(eth_abi.encode(["bytes32"], [content]))
    receipt = bench.call(merchant, leads.functions.placeBid(segment, price, bench.now() + DAY, seal, 0),
                         "first in its segment", 3 * price)
    bid = int(bench.events(leads, "BidPlaced", receipt)[0]["id"])
    bench.call(merchant, leads.functions.placeBid(segment, price // 2, bench.now() + DAY, seal, 0),
               "ranked below one", 2 * price)
    bench.call(reader, leads.functions.accept(bid))
    bench.call(skimmer, leads.functions.accept(bid))
    commitment = Web3.keccak(eth_abi.encode(["uint256", "address", "bytes32"], [bid, reader.address, content]))
    bench.call(reader, leads.functions.open(bid, commitment))
    bench.advance(DAY)
    bench.call(merchant, leads.functions.reveal(bid, content))
    bench.call(reader, leads.functions.claim(bid))
    bench.advance(3 * DAY)
    bench.call(merchant, leads.functions.close(bid), "after the claim period")
    bench.call(reader, leads.functions.withdraw())


def loans_flow(bench: Bench) -> None:
    """A loan repaid in two installments, one declared in default, an ask and an offer withdrawn."""
    borrower, lender = bench.account(1), bench.account(2)
    loans = bench.deploy(lender, "LoanBook")

    def matched(case: str) -> int:
        ask = bench.events(loans, "AskPosted", bench.call(borrower, loans.functions.postAsk(
            10 * ETHER, 1_000, 2, 30 * DAY), case))[0]["id"]
        offer = bench.events(loans, "OfferPosted", bench.call(lender, loans.functions.postOffer(
            500, 2, 30 * DAY, 0, 0), case, 10 * ETHER))[0]["id"]
        receipt = bench.call(lender, loans.functions.matchTerms(ask, offer), case)
        return int(bench.events(loans, "Matched", receipt)[0]["loanId"])

    loan = matched("first")
    bench.call(borrower, loans.functions.withdraw(), "the principal")
    bench.advance(30 * DAY - HOUR)
    amount, _ = loans.functions.nextInstallment(loan).call()
    bench.call(borrower, loans.functions.repay(loan), "on time", amount)
    bench.advance(30 * DAY + HOUR)
    amount, _ = loans.functions.nextInstallment(loan).call()
    bench.call(borrower, loans.functions.repay(loan), "late, the last: closes", amount)
    loan = matched("later")
    bench.advance(60 * DAY)
    bench.call(lender, loans.functions.declareDefault(loan))
    ask = bench.events(loans, "AskPosted", bench.call(borrower, loans.functions.postAsk(
        ETHER, 1_000, 1, 30 * DAY), "later"))[0]["id"]
    bench.call(borrower, loans.functions.cancelAsk(ask))
    offer = bench.events(loans, "OfferPosted", bench.call(lender, loans.functions.postOffer(
        500, 1, 30 * DAY, 1, 0), "later", ETHER))[0]["id"]
    bench.call(lender, loans.functions.cancelOffer(offer))


def promotions_flow(bench: Bench) -> None:
    """A coupon for an audience in a geohash cell, a purchase with its discount, the coupon closed at expiry."""
    business, shop, buyer = (bench.account(i) for i in range(1, 4))
    promotions = bench.deploy(business, "LocalPromotions")
    audience = Web3.keccak(text="loyal customers")
    bench.call(business, promotions.functions.registerShop(shop.address, "9vg4mq2"))
    bench.call(business, promotions.functions.admit(audience, [buyer.address, business.address]), "2 buyers")
    tiers = [(20 * ETHER, 500), (50 * ETHER, 1_000), (100 * ETHER, 1_500)]
    receipt = bench.call(business, promotions.functions.createCoupon("9vg4", audience, bench.now() + DAY, tiers),
                         "3 tiers", 30 * ETHER)
    coupon = int(bench.events(promotions, "CouponCreated", receipt)[0]["id"])
    bench.call(buyer, promotions.functions.purchase(coupon, shop.address), value=60 * ETHER)
    bench.call(buyer, promotions.functions.withdraw(), "the discount")
    bench.advance(DAY)
    bench.call(business, promotions.functions.close(coupon), "expired: the rest refunded")


def settlement_flow(bench: Bench) -> None:
    """Lots handed on credit, on the ledger and against a debt; a cycle netted; debts settled; a withdrawal."""
    farm, mill, bakery = (bench.account(i) for i in range(1, 4))
    chain = bench.deploy(farm, "SupplyChainSettlement")

    def handed(sender: LocalAccount, receiver: LocalAccount, price: int, case: str) -> None:
        receipt = bench.call(sender, chain.functions.registerLot(Web3.keccak(text=f"lot {case}")))
        lot = bench.events(chain, "LotRegistered", receipt)[0]["lot"]
        receipt = bench.call(sender, chain.functions.offer(lot, receiver.address, price, bench.now() + DAY))
        bench.call(receiver, chain.functions.accept(bench.events(chain, "HandOverOffered", receipt)[0]["id"]), case)

    for creditor, debtor in ((farm, mill), (mill, bakery), (bakery, farm)):
        bench.call(creditor, chain.functions.setCreditLine(debtor.address, 10 * ETHER))
    bench.call(mill, chain.functions.deposit(), value=20 * ETHER)
    handed(farm, mill, 6 * ETHER, "on credit")
    handed(mill, bakery, 8 * ETHER, "on credit")
    handed(bakery, farm, 5 * ETHER, "on credit")
    handed(farm, mill, 12 * ETHER, "over the credit line: part paid on the ledger")
    handed(mill, farm, 3 * ETHER, "netted against a debt")
    bench.call(farm, chain.functions.netCycle([mill.address, farm.address, bakery.address]), "3 members")
    bench.call(mill, chain.functions.settleDebt(mill.address, farm.address, ETHER))
    bench.call(farm, chain.functions.withdraw(ETHER))
    receipt = bench.call(farm, chain.functions.registerLot(Web3.keccak(text="refused lot")))
    lot = bench.events(chain, "LotRegistered", receipt)[0]["lot"]
    receipt = bench.call(farm, chain.functions.offer(lot, bakery.address, ETHER, bench.now() + HOUR))
    bench.call(bakery, chain.functions.reject(bench.events(chain, "HandOverOffered", receipt)[0]["id"],
                                              Web3.keccak(text="damaged")))
    receipt = bench.call(farm, chain.functions.offer(lot, mill.address, ETHER, bench.now() + HOUR))
    bench.advance(HOUR + 1)
    bench.call(farm, chain.functions.withdrawOffer(bench.events(chain, "HandOverOffered", receipt)[0]["id"]))


def sale_flow(bench: Bench) -> None:
    """A sale filled to its hard cap, claimed, paid out and vested; another below its soft cap refunded."""
    founder, backer, fan, developer = (bench.account(i) for i in range(1, 5))
    start = bench.now()
    team = [(developer.address, 1_000 * ETHER)]
    sale = bench.deploy(founder, "TokenSale", "Market Miles", "MMI", founder.address, 100 * ETHER, 10 * ETHER,
                        20 * ETHER, start, start + DAY, 10 * DAY, team)
    bench.call(backer, sale.functions.buy(), "first purchase", 12 * ETHER)
    bench.call(fan, sale.functions.buy(), "reaching the hard cap, the excess returned", 9 * ETHER)
    bench.advance(DAY + 5 * DAY)
    bench.call(backer, sale.functions.claim(), "mints the buyer's tokens")
    bench.call(fan, sale.functions.withdrawProceeds())
    bench.call(backer, sale.functions.releaseVested(developer.address), "first release")
    bench.advance(5 * DAY)
    bench.call(developer, sale.functions.releaseVested(developer.address), "the rest")
    start = bench.now()
    failing = bench.deploy(founder, "TokenSale", "Market Miles", "MMI", founder.address, 100 * ETHER, 50 * ETHER,
                           100 * ETHER, start, start + DAY, 0, [], measured=False)
    bench.setup(backer, failing.functions.buy(), 3 * ETHER)
    bench.advance(DAY)
    bench.call(backer, failing.functions.refund(), "below the soft cap")


def seated_jury(bench: Bench) -> Contract:
    """The native jury, with development accounts 12 to 16 staking 5 CMT each as jurors (not measured)."""
    jury = bench.w3.eth.contract(Web3.to_checksum_address(JURY_ADDRESS), abi=JURY_ABI)
    for index in range(12, 17):
        bench.setup(bench.account(index), jury.functions.stake(), 5 * ETHER)
    return jury


def heard(bench: Bench, jury: Contract, case_id: int, votes: Sequence[bool | None]) -> None:
    """Draws case ``case_id`` once its beacon is committed, has the jurors commit and reveal ``votes`` (None: silent)
    and moves the clock past the reveal window (none of it measured: IJury's gas is benchmarks/jury_gas.py's)."""
    jurors = {bench.account(index).address: bench.account(index) for index in range(12, 17)}
    bench.advance(1)
    bench.advance(1)
    receipt = bench.setup(bench.account(11), jury.functions.draw(case_id))
    seats = list(bench.events(jury, "JurorsDrawn", receipt)[0]["jurors"])  # type: ignore[call-overload]
    salts = [Web3.keccak(text=f"salt {case_id} {seat}") for seat in range(len(seats))]
    for seat, vote in enumerate(votes):
        if vote is not None:
            sealed = Web3.solidity_keccak(["uint256", "address", "bool", "bytes32"],
                                          [case_id, seats[seat], vote, salts[seat]])
            bench.setup(jurors[seats[seat]], jury.functions.commitVote(case_id, seat, sealed))
    bench.advance(HOUR + 1)
    for seat, vote in enumerate(votes):
        if vote is not None:
            bench.setup(jurors[seats[seat]], jury.functions.revealVote(case_id, seat, vote, salts[seat]))
    bench.advance(HOUR + 1)


def ruled_deal(bench: Bench, escrow: Contract, buyer: LocalAccount, seller: LocalAccount, arbiter: LocalAccount,
               winner: int) -> int:
    """A deal ruled for ``winner`` (1 buyer, 2 seller) on ``escrow`` (not measured); its id."""
    price, deposit = 10 * ETHER, 2 * ETHER
    receipt = bench.setup(buyer, escrow.functions.open(seller.address, arbiter.address, price, bench.now() + DAY,
                                                       HOUR), price + deposit)
    deal = int(bench.events(escrow, "Opened", receipt)[0]["id"])  # type: ignore[call-overload]
    bench.setup(seller, escrow.functions.join(deal), deposit)
    bench.setup(buyer, escrow.functions.dispute(deal, Web3.keccak(text="the parcel arrived empty")))
    bench.setup(bench.account(10), escrow.functions.bid(deal, ETHER // 2))
    bench.setup(buyer, escrow.functions.chooseArbiter(deal, 0))
    bench.setup(seller, escrow.functions.chooseArbiter(deal, 0))
    bench.setup(bench.account(10), escrow.functions.rule(deal, winner, Web3.keccak(text="reasons")))
    return deal


def court_flow(bench: Bench) -> None:
    """A ruling overturned by a jury; another whose jury stayed silent, the pot credited to the appellant."""
    jury = seated_jury(bench)
    buyer, seller, keeper = (bench.account(i) for i in range(1, 4))
    court = bench.deploy(keeper, "JuryAppealCourt", 3, ETHER, HOUR, HOUR, 3 * ETHER // 10)
    escrow = bench.deploy(keeper, "ArbitratedEscrow", HOUR, HOUR, court.address, 2 * HOUR, 5 * HOUR,
                          measured=False)
    for votes, case in (([True, True, False], "a yes majority: overturns and settles the deal"),
                        ([None, None, None], "nobody revealed: the ruling stands, the pot is credited")):
        deal = ruled_deal(bench, escrow, buyer, seller, bench.account(4), 2)
        receipt = bench.call(buyer, court.functions.appeal(escrow.address, deal, Web3.keccak(text="the photos")),
                             value=3 * ETHER // 10)
        appealed = bench.events(court, "Appealed", receipt)[0]
        heard(bench, jury, int(appealed["caseId"]), votes)  # type: ignore[call-overload]
        bench.call(keeper, court.functions.decide(appealed["appealId"]), case)
    bench.call(buyer, court.functions.withdraw(), "the returned pot")


def moderation_flow(bench: Bench) -> None:
    """A listing removed, an account closure rejected (the pledge forfeited), a request lapsed."""
    jury = seated_jury(bench)
    requester, treasury, keeper = (bench.account(i) for i in range(1, 4))
    moderation = bench.deploy(requester, "CommunityModeration", 3, ETHER, HOUR, HOUR, ETHER // 2, ETHER,
                              treasury.address, 10 * HOUR)
    pledged = ETHER // 2 + 2 * ETHER
    receipt = bench.call(requester, moderation.functions.requestListingRemoval(
        Web3.keccak(text="listing: replica watches"), Web3.keccak(text="photos")), value=pledged)
    request = bench.events(moderation, "Requested", receipt)[0]
    bench.call(keeper, moderation.functions.submitEvidence(request["id"], Web3.keccak(text="a buyer's report")))
    heard(bench, jury, int(request["caseId"]), [True, True, False])  # type: ignore[call-overload]
    bench.call(keeper, moderation.functions.decide(request["id"]), "removed: the pledge credited back")
    bench.call(requester, moderation.functions.withdraw())
    receipt = bench.call(requester, moderation.functions.requestAccountClosure(
        bench.account(5).address, Web3.keccak(text="a hunch")), value=pledged)
    request = bench.events(moderation, "Requested", receipt)[0]
    heard(bench, jury, int(request["caseId"]), [False, False, False])  # type: ignore[call-overload]
    bench.call(keeper, moderation.functions.decide(request["id"]), "rejected: the pledge forfeited")
    receipt = bench.call(requester, moderation.functions.requestListingRemoval(
        Web3.keccak(text="listing: a quiet one"), Web3.keccak(text="photos")), "later", pledged)
    bench.advance(10 * HOUR)
    bench.call(keeper, moderation.functions.lapse(bench.events(moderation, "Requested", receipt)[0]["id"]))


def marketplace_flow(bench: Bench) -> None:
    """Orders with and without a coupon, an offer, a cancellation, a dispute appealed, a delisting."""
    operator, seller, shopper, carrier = (bench.account(i) for i in range(1, 5))
    court = bench.deploy(operator, "JuryAppealCourt", 3, ETHER, HOUR, HOUR, 3 * ETHER // 10, measured=False)
    escrow = bench.deploy(operator, "ArbitratedEscrow", HOUR, HOUR, court.address, 2 * HOUR, 5 * HOUR,
                          measured=False)
    promotions = bench.deploy(operator, "LocalPromotions", measured=False)
    market = bench.deploy(operator, "SponsoredMarketplace", escrow.address, ZERO_ADDRESS, promotions.address,
                          ZERO_ADDRESS, 1_000_000, 50, HOUR, 10_000_000)
    sponsor = bench.w3.eth.contract(Web3.to_checksum_address(SPONSOR_ADDRESS), abi=SPONSOR_ABI)
    bench.setup(operator, sponsor.functions.deposit(market.address), ETHER)
    price, deposit = 60 * ETHER, 5 * ETHER
    terms = (price, deposit, carrier.address, DAY, HOUR, 0, Web3.keccak(text="listing: red shoes"))
    listing = bench.events(market, "Listed", bench.call(seller, market.functions.list(terms)))[0]["listingId"]
    bench.call(operator, market.functions.fund(shopper.address), "creates the account", 4 * (price + deposit))

    def ordered(coupon: int, case: str) -> tuple[int, int]:
        receipt = bench.call(shopper, market.functions.placeOrder(listing, coupon), case)
        order = bench.events(market, "Ordered", receipt)[0]
        return int(order["orderId"]), int(order["dealId"])  # type: ignore[call-overload]

    order, deal = ordered(0, "no coupon")
    bench.setup(seller, escrow.functions.join(deal), deposit)
    bench.call(shopper, market.functions.acceptDelivery(order))
    bench.setup(seller, promotions.functions.registerShop(market.address, "9vg4mq2"))
    receipt = bench.setup(seller, promotions.functions.createCoupon("9vg4", b"\0" * 32, bench.now() + DAY,
                                                                    [(50 * ETHER, 1_000)]), 10 * ETHER)
    coupon = int(bench.events(promotions, "CouponCreated", receipt)[0]["id"])  # type: ignore[call-overload]
    order, deal = ordered(coupon, "with a coupon: the discount taken into the account")
    bench.call(shopper, market.functions.cancel(order), "the seller never joined")
    bench.call(carrier, market.functions.collect(shopper.address), "the refund")
    offer = bench.events(market, "OfferMade", bench.call(shopper, market.functions.makeOffer(
        listing, 50 * ETHER)))[0]["offerId"]
    bench.call(shopper, market.functions.withdrawOffer(offer))
    offer = bench.events(market, "OfferMade", bench.call(shopper, market.functions.makeOffer(
        listing, 50 * ETHER)))[0]["offerId"]
    receipt = bench.call(seller, market.functions.acceptOffer(offer), "places the order")
    order = bench.events(market, "Ordered", receipt)[0]
    bench.setup(seller, escrow.functions.join(order["dealId"]), deposit)
    bench.call(shopper, market.functions.dispute(order["orderId"], Web3.keccak(text="the sole came off")))
    bench.call(shopper, market.functions.submitEvidence(order["orderId"], Web3.keccak(text="a photo")))
    bench.setup(bench.account(10), escrow.functions.bid(order["dealId"], ETHER))
    bench.call(shopper, market.functions.chooseArbiter(order["orderId"], 0))
    bench.setup(seller, escrow.functions.chooseArbiter(order["dealId"], 0))
    bench.setup(bench.account(10), escrow.functions.rule(order["dealId"], 2, Web3.keccak(text="reasons")))
    bench.call(shopper, market.functions.appeal(order["orderId"], Web3.keccak(text="the photo")),
               "the fee from the account")
    bench.call(shopper, market.functions.cashOut(ETHER))
    bench.call(seller, market.functions.delist(listing))


#: One entry per library contract; a new contract is a new entry.
FLOWS: list[LibraryFlow] = [
    LibraryFlow("ArbitratedEscrow", escrow_flow, "An escrow deployed with an appeal court (so `rule` waits for "
                "the appeal window); without one, `rule` settles at once, as `decideAppeal` does. Where the gas "
                "goes: new storage costs 22,100 gas a slot; a deal opens in three (`open`), the release by "
                "acceptance credits the seller in one more and sends the buyer's deposit back (about 6,800 gas), "
                "and a dispute's first choice takes the slot holding both parties' choices. Buyer and seller "
                "here had no credit before, so each credit is new storage."),
    LibraryFlow("AuthenticityCertificates", certificates_flow),
    LibraryFlow("BrandAmbassadors", ambassadors_flow, "Each oracle member's answer is an `IOracle.attest` "
                "transaction of its own (`docs/oracle.md`), not counted here."),
    LibraryFlow("DeliveryOracle", delivery_flow, "Each oracle member's answer is an `IOracle.attest` transaction "
                "of its own (`docs/oracle.md`), not counted here; a delivered `settle` includes the escrow's "
                "`confirmDelivery`."),
    LibraryFlow("Groups", groups_flow),
    LibraryFlow("IdentityGrants", grants_flow),
    LibraryFlow("KeywordAdAuction", auction_flow, "Payments pooled for buyer rebates (a rebater named at "
                "deployment); burning them instead costs about the same."),
    LibraryFlow("LeadsBidding", leads_flow),
    LibraryFlow("LoanBook", loans_flow),
    LibraryFlow("LocalPromotions", promotions_flow),
    LibraryFlow("SupplyChainSettlement", settlement_flow),
    LibraryFlow("TokenSale", sale_flow, "The deployment includes the sale's ERC-20 token, which it creates."),
    LibraryFlow("JuryAppealCourt", court_flow, "`appeal` includes IJury's `openCase` and the escrow's "
                "`holdForAppeal`; `decide` includes IJury's `finalize` and payouts and the escrow's settlement. "
                "A 3-juror jury; the jurors' own calls are IJury's (`benchmarks/jury_gas.py`)."),
    LibraryFlow("CommunityModeration", moderation_flow, "A request includes IJury's `openCase`; `decide` includes "
                "IJury's `finalize` and payouts. A 3-juror jury; the jurors' own calls are IJury's "
                "(`benchmarks/jury_gas.py`)."),
    LibraryFlow("SponsoredMarketplace", marketplace_flow, "Measured at a positive gas price; a sponsored call "
                "(gas price 0) has its gas used times the base fee paid from the marketplace's deposit. Calls through a shopper's "
                "account include the escrow's or the promotions' work; `fund` creates the account the first time "
                "(about 250,000 gas of it)."),
]


def state_changing_functions(abi: list[dict[str, object]]) -> set[str]:
    """The names of the functions of ``abi`` that change state (so are sent as transactions)."""
    return {str(entry["name"]) for entry in abi
            if entry.get("type") == "function" and entry.get("stateMutability") not in ("view", "pure")}


def measure(url: str, flows: Sequence[LibraryFlow], compiled: dict[str, CompiledContract]) -> list[ContractGas]:
    """Plays ``flows`` on the development node at ``url``; each contract's figures."""
    bench = Bench(url, compiled)
    results = []
    for flow in flows:
        bench.figures = ContractGas(flow.contract)
        print(f"[library gas] {flow.contract}", file=sys.stderr)
        flow.play(bench)
        missing = state_changing_functions(compiled[flow.contract].abi) - {c.function for c in bench.figures.calls}
        if missing:
            raise BenchmarkError(f"the {flow.contract} flow does not call {', '.join(sorted(missing))}: "
                                 "add a step for each to its flow")
        results.append(bench.figures)
    return results


def render_block(figures: ContractGas, notes: str = "") -> str:
    """The gas block of a contract's page, markers included: a paragraph, the table, the totals."""
    paragraph = ("Gas used by each transaction of a flow that calls every function, from its receipt on `cmnode "
                 "start --dev`: the 21,000 intrinsic gas and the call data included, so what the sender pays for "
                 f"(`python benchmarks/library_gas.py --write-docs`). Deployment: {figures.deployment_gas:,} gas, "
                 f"{figures.deployment_bytes:,} bytes. {notes}")
    lines = [BEGIN, textwrap.fill(paragraph.strip(), PAGE_WIDTH, break_on_hyphens=False), "",
             "| call | gas |", "|---|---|"]
    grouped: dict[str, list[int]] = {}
    for call in figures.calls:
        grouped.setdefault(call.label, []).append(call.gas)
    lines += [f"| {label} | {_gas_range(gas)} |" for label, gas in grouped.items()]
    if figures.totals:
        lines.append("")
        lines += [textwrap.fill(f"* {what}: {gas:,} gas in total.", PAGE_WIDTH, subsequent_indent="  ",
                                break_on_hyphens=False) for what, gas in figures.totals]
    lines.append(END)
    return "\n".join(lines)


def _gas_range(figures: list[int]) -> str:
    """One figure, or the lowest and highest of a call measured more than once with different figures."""
    low, high = min(figures), max(figures)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def write_page(page: Path, block: str) -> None:
    """Puts ``block`` in the page's ``## Gas`` section: between the markers, or, the first time, as the section."""
    text = page.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
    else:
        heading = text.find("\n## Gas\n")
        if heading < 0:
            raise BenchmarkError(f"{page} has no `## Gas` section to write the table into")
        start = heading + len("\n## Gas\n\n")
        following = text.find("\n## ", start)
        end = following if following >= 0 else len(text)
        block += "\n"
    page.write_text(text[:start] + block + text[end:], encoding="utf-8")


def block_of(text: str) -> str:
    """The gas block (markers included) of a page's ``text``; an error if it has none or more than one."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise BenchmarkError("the page has no single library gas block")
    return text[text.index(BEGIN): text.index(END) + len(END)]


_DEPLOYMENT = re.compile(r"Deployment:\s+([0-9,]+)\s+gas,\s+([0-9,]+)\s+bytes\.")
_ROW = re.compile(r"^\| (\w+)(?: \(([^|]*)\))? \| ([0-9,]+)(?:–([0-9,]+))? \|$", re.MULTILINE)
_TOTAL = re.compile(r"^\* (.+): ([0-9,]+) gas in total\.$", re.MULTILINE)


def parse_block(name: str, block: str) -> ContractGas:
    """The figures a gas block written by ``render_block`` shows (a range as its lowest and highest call)."""
    deployment = _DEPLOYMENT.search(block)
    if deployment is None:
        raise BenchmarkError(f"{name}: the gas block has no deployment sentence")
    figures = ContractGas(name, *(int(number.replace(",", "")) for number in deployment.groups()))
    for function, case, low, high in _ROW.findall(block):
        figures.calls += [Measured(function, case, int(gas.replace(",", ""))) for gas in (low, high) if gas]
    unwrapped = block.replace("\n  ", " ")
    figures.totals = [(what, int(gas.replace(",", ""))) for what, gas in _TOTAL.findall(unwrapped)]
    return figures


def pages(flows: Sequence[LibraryFlow]) -> dict[str, LibraryContract]:
    """The library contracts of ``flows``, each with its page."""
    library = library_contracts()
    unknown = [flow.contract for flow in flows if flow.contract not in library]
    if unknown:
        raise BenchmarkError(f"not in the library: {', '.join(unknown)}")
    return {flow.contract: library[flow.contract] for flow in flows}


async def _on_fresh_node(flows: Sequence[LibraryFlow], compiled: dict[str, CompiledContract]) -> list[ContractGas]:
    async with node_under_test(None, None, 100, 90.0, "library-gas") as node:
        Web3(Web3.HTTPProvider(node.url)).provider.make_request("evm_setAutomine", [True])
        return measure(node.url, flows, compiled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rpc", type=rpc_url, help="a `cmnode start --dev` node (default: start one)")
    parser.add_argument("--only", action="append", metavar="CONTRACT", help="measure only these contracts")
    parser.add_argument("--write-docs", action="store_true", help="refresh the tables of docs/contracts/")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    flows = [flow for flow in FLOWS if not args.only or flow.contract in args.only]
    try:
        if args.only and len(flows) != len(set(args.only)):
            raise BenchmarkError(f"--only names a contract without a flow (flows: {', '.join(f.contract for f in FLOWS)})")
        library = pages(flows)
        compiled = compile_contracts(list(library_contracts().values()))  # flows deploy the contracts they use
        results = measure(args.rpc, flows, compiled) if args.rpc else asyncio.run(_on_fresh_node(flows, compiled))
        notes = {flow.contract: flow.notes for flow in flows}
        if args.write_docs:
            for figures in results:
                page = library[figures.name].page
                if page is None:
                    raise BenchmarkError(f"{figures.name} has no page in docs/contracts/README.md")
                write_page(page, render_block(figures, notes[figures.name]))
    except (BenchmarkError, LibraryError) as exc:
        print(f"library_gas: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(figures) for figures in results], indent=2))
    else:
        for figures in results:
            print(f"\n{figures.name}\n{render_block(figures, notes[figures.name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
