"""End to end: the stories of seven library contracts on one ``cmnode start --dev`` process, through web3.py.

Each test plays its contract's page (``docs/contracts/``) from the users' side and checks what they care about:

* AuthenticityCertificates (deployed with ``cmnode contracts deploy``): a maker certifies a bag for a shop, the
  shop sells it on, the provenance lists both holders, the serial number verifies until the maker revokes the
  certificate, and a revoked certificate no longer moves.
* TokenSale: buyers pay CMT past the soft cap, claim their tokens after the end, the beneficiary receives the
  proceeds, a team member's allocation vests over time on the chain's clock; a sale below its soft cap refunds.
* IdentityGrants: a user lets a shop read its address for shipping; the shop's reads are recorded, another
  purpose is refused, revocation and expiry (on the chain's clock) end access.
* Groups: a group created for the platform's fee, dues split with the moderator, a promoter's paid access, an
  event funded by members and attended, another that missed its target refunded, the participation ranking.
* LoanBook: a first loan repaid (one installment on time, one late) builds the history a second lender asks for;
  an unpaid loan is declared in default and an offer refusing defaulters no longer matches.
* SupplyChainSettlement: a farm, a mill and a bakery hand lots on credit lines; the cycle of their debts is
  netted, the rest repaid on the ledger, and a member withdraws only what exceeds its debts.
* LeadsBidding: a merchant bids for a segment; of two users who opted in and accepted, the one who proves it
  opened the message is paid, and the unspent budget returns to the merchant.

And the escrow's cheapest path as its page promises it: a purchase released by the buyer's acceptance credits the
seller, sends the buyer's deposit back in the same call, and costs under 200,000 gas for its three transactions.
"""
from __future__ import annotations

import json

import eth_abi
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError

from cybermiles_node.solc import load_artifact
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account
from tests.e2e.test_foundry_e2e import CONTRACTS
from tests.e2e.test_library_e2e import built, deploy, dev_node, withdraw  # noqa: F401 - fixtures
from tests.e2e.test_middleware_e2e import ETHER, events, succeed

pytestmark = pytest.mark.e2e

HOUR, DAY = 3600, 86_400


def advance(node: NodeProcess, seconds: int) -> None:
    """Moves the chain's clock forward and mines a block stamped with it."""
    node.rpc("evm_increaseTime", seconds)
    node.rpc("evm_mine")


def now(w3: Web3) -> int:
    """The latest block's time."""
    return w3.eth.get_block("latest").timestamp


def refused(contract: Contract, account: LocalAccount, call: ContractFunction, error: str, value: int = 0) -> None:
    """``account``'s ``call`` would revert with the contract's custom error ``error`` (whatever its arguments)."""
    entry = next(e for e in contract.abi if e.get("type") == "error" and e["name"] == error)
    signature = f"{error}({','.join(i['type'] for i in entry['inputs'])})"
    with pytest.raises(ContractCustomError) as reverted:
        call.call({"from": account.address, "value": value})
    assert reverted.value.data[:10] == Web3.keccak(text=signature)[:4].to_0x_hex()


def cli_deployed(node: NodeProcess, name: str, account: int) -> Contract:
    """Library contract ``name`` deployed by ``cmnode contracts deploy NAME --dev-account N``, as a newcomer does."""
    result = cmnode("contracts", "deploy", name, "--dev-account", str(account), "--rpc", node.url, "--json",
                    check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    deployed = json.loads(result.stdout)
    assert deployed["status"] == "success" and deployed["from"] == dev_account(account).address
    abi = load_artifact(CONTRACTS / "out" / f"{name}.sol" / f"{name}.json").abi
    return Web3(Web3.HTTPProvider(node.url)).eth.contract(deployed["address"], abi=abi)


MAKER, SHOP, COLLECTOR = (dev_account(i) for i in (1, 2, 3))


def test_a_certificate_follows_the_bag_until_its_maker_revokes_it(dev_node: NodeProcess, built: None) -> None:
    certificates = cli_deployed(dev_node, "AuthenticityCertificates", 1)
    w3 = certificates.w3
    serial, photo = Web3.keccak(text="serial VLC-2041-0117"), Web3.keccak(text="photo of the stitching")
    refused(certificates, SHOP, certificates.functions.issue(SHOP.address, [serial]), "NotIssuer")
    succeed(w3, MAKER, certificates.functions.registerIssuer("Vintage Leather Co."))
    receipt = succeed(w3, MAKER, certificates.functions.issue(SHOP.address, [serial, photo]))
    (issued,) = events(certificates, "Issued", receipt)
    bag = issued["id"]
    assert certificates.functions.ownerOf(bag).call() == SHOP.address

    succeed(w3, SHOP, certificates.functions.transferFrom(SHOP.address, COLLECTOR.address, bag))
    assert certificates.functions.ownerOf(bag).call() == COLLECTOR.address
    holders = [certificates.functions.provenanceAt(bag, i).call()
               for i in range(certificates.functions.provenanceLength(bag).call())]
    assert [owner for owner, _ in holders] == [SHOP.address, COLLECTOR.address]
    assert holders[0][1] <= holders[1][1] <= now(w3)
    assert certificates.functions.verify(bag, serial).call()
    assert not certificates.functions.verify(bag, Web3.keccak(text="serial of a copy")).call()

    refused(certificates, COLLECTOR, certificates.functions.revoke(bag, b"\0" * 32), "NotIssuer")
    report = Web3.keccak(text="inspection report: the leather is not ours")
    succeed(w3, MAKER, certificates.functions.revoke(bag, report))
    issuer, _, revoked, reason, features = certificates.functions.certificate(bag).call()
    assert (issuer, revoked, reason, features) == (MAKER.address, True, report, [serial, photo])
    assert not certificates.functions.verify(bag, serial).call()
    refused(certificates, COLLECTOR, certificates.functions.transferFrom(COLLECTOR.address, SHOP.address, bag),
            "CertificateRevoked")


FOUNDER, BACKER, FAN, DEVELOPER = (dev_account(i) for i in (4, 5, 6, 7))
TOKENS_PER_CMT = 100 * 10**18  # 100 tokens (18 decimals) per CMT


def token_sale(dev_node: NodeProcess, soft_cap: int, hard_cap: int, vesting: int,
               team: list[tuple[str, int]]) -> tuple[Contract, Contract]:
    """A sale open for a day from now, and its token."""
    start = now(Web3(Web3.HTTPProvider(dev_node.url)))
    sale = deploy(dev_node, FOUNDER, "TokenSale", "Market Miles", "MMI", FOUNDER.address, TOKENS_PER_CMT, soft_cap,
                  hard_cap, start, start + DAY, vesting, team)
    token_abi = load_artifact(CONTRACTS / "out" / "TokenSale.sol" / "SaleToken.json").abi
    return sale, sale.w3.eth.contract(sale.functions.token().call(), abi=token_abi)


def test_a_token_sale_over_its_soft_cap_pays_out_and_vests_and_one_below_it_refunds(dev_node: NodeProcess,
                                                                                    built: None) -> None:
    team = 1_000 * 10**18
    sale, token = token_sale(dev_node, 10 * ETHER, 20 * ETHER, 10 * DAY, [(DEVELOPER.address, team)])
    w3 = sale.w3
    succeed(w3, BACKER, sale.functions.buy(), value=12 * ETHER)
    before = w3.eth.get_balance(FAN.address)
    receipt = succeed(w3, FAN, sale.functions.buy(), value=9 * ETHER)  # 1 CMT over the hard cap comes back
    assert events(sale, "Purchased", receipt)[0]["cost"] == 8 * ETHER
    assert before - w3.eth.get_balance(FAN.address) == 8 * ETHER + receipt.gasUsed * receipt.effectiveGasPrice
    refused(sale, BACKER, sale.functions.buy(), "WrongPhase", value=ETHER)
    assert token.functions.totalSupply().call() == 0  # no token before the sale succeeded

    advance(dev_node, DAY + 5 * DAY)  # the sale ended and half the vesting period passed
    for buyer, paid in ((BACKER, 12), (FAN, 8)):
        succeed(w3, buyer, sale.functions.claim())
        assert token.functions.balanceOf(buyer.address).call() == paid * 100 * 10**18
    proceeds = w3.eth.get_balance(FOUNDER.address)
    succeed(w3, BACKER, sale.functions.withdrawProceeds())
    assert w3.eth.get_balance(FOUNDER.address) - proceeds == 20 * ETHER
    succeed(w3, BACKER, sale.functions.releaseVested(DEVELOPER.address))
    half = token.functions.balanceOf(DEVELOPER.address).call()
    assert team // 2 <= half < team // 2 + team // 100  # half the allocation, and at most the seconds since
    advance(dev_node, 5 * DAY)
    succeed(w3, DEVELOPER, sale.functions.releaseVested(DEVELOPER.address))
    assert token.functions.balanceOf(DEVELOPER.address).call() == team

    failing, failing_token = token_sale(dev_node, 50 * ETHER, 100 * ETHER, 0, [])
    succeed(w3, BACKER, failing.functions.buy(), value=3 * ETHER)
    advance(dev_node, DAY)
    refused(failing, BACKER, failing.functions.claim(), "WrongPhase")
    assert withdraw_by(failing, BACKER, failing.functions.refund()) == 3 * ETHER
    assert failing_token.functions.totalSupply().call() == 0


def withdraw_by(contract: Contract, account: LocalAccount, call: ContractFunction) -> int:
    """``account`` makes ``call``; the wei it received."""
    w3 = contract.w3
    before = w3.eth.get_balance(account.address)
    receipt = succeed(w3, account, call)
    return w3.eth.get_balance(account.address) - before + receipt.gasUsed * receipt.effectiveGasPrice


CUSTOMER, WEBSHOP = dev_account(8), dev_account(9)
ADDRESS_ITEM, SHIPPING, MARKETING = (Web3.keccak(text=t) for t in ("postal address", "shipping", "marketing"))


def test_an_application_reads_personal_data_only_under_a_current_grant(dev_node: NodeProcess, built: None) -> None:
    grants = deploy(dev_node, CUSTOMER, "IdentityGrants")
    w3 = grants.w3
    receipt = succeed(w3, CUSTOMER, grants.functions.grant(WEBSHOP.address, ADDRESS_ITEM, SHIPPING, now(w3) + DAY))
    first = events(grants, "Granted", receipt)[0]["id"]
    receipt = succeed(w3, WEBSHOP, grants.functions.recordAccess(CUSTOMER.address, ADDRESS_ITEM, SHIPPING))
    assert events(grants, "Accessed", receipt) == [
        {"id": first, "user": CUSTOMER.address, "app": WEBSHOP.address, "item": ADDRESS_ITEM}]
    refused(grants, WEBSHOP, grants.functions.recordAccess(CUSTOMER.address, ADDRESS_ITEM, MARKETING), "NoGrant")

    refused(grants, WEBSHOP, grants.functions.revoke(first), "NotAllowed")
    succeed(w3, CUSTOMER, grants.functions.revoke(first))
    refused(grants, WEBSHOP, grants.functions.recordAccess(CUSTOMER.address, ADDRESS_ITEM, SHIPPING), "NoGrant")

    receipt = succeed(w3, CUSTOMER, grants.functions.grant(WEBSHOP.address, ADDRESS_ITEM, SHIPPING, now(w3) + HOUR))
    second = events(grants, "Granted", receipt)[0]
    assert second["replaced"] == first
    succeed(w3, WEBSHOP, grants.functions.recordAccess(CUSTOMER.address, ADDRESS_ITEM, SHIPPING))
    advance(dev_node, HOUR)
    assert grants.functions.authorization(CUSTOMER.address, WEBSHOP.address, ADDRESS_ITEM, SHIPPING).call() == 0
    refused(grants, WEBSHOP, grants.functions.recordAccess(CUSTOMER.address, ADDRESS_ITEM, SHIPPING), "NoGrant")

    audit = grants.events.Accessed().get_logs(from_block=0, argument_filters={"user": CUSTOMER.address})
    assert [log.args.id for log in audit] == [first, second["id"]]


PLATFORM, OWNER, MODERATOR, ALICE, BOB, PROMOTER = (dev_account(i) for i in (10, 11, 12, 13, 14, 15))
DUES, PROMOTER_FEE = ETHER, 4 * ETHER


def test_a_group_shares_dues_funds_an_event_and_ranks_its_members(dev_node: NodeProcess, built: None) -> None:
    groups = deploy(dev_node, OWNER, "Groups", PLATFORM.address, 2 * ETHER)
    w3 = groups.w3
    receipt = succeed(w3, OWNER, groups.functions.createGroup(MODERATOR.address, DUES, PROMOTER_FEE, DAY, 2_000),
                      value=2 * ETHER)
    group = events(groups, "GroupCreated", receipt)[0]["id"]
    succeed(w3, ALICE, groups.functions.payDues(group, 3), value=3 * DUES)
    succeed(w3, BOB, groups.functions.payDues(group, 1), value=DUES)
    refused(groups, PROMOTER, groups.functions.promote(group, b"\0" * 32), "NotAllowed")
    succeed(w3, PROMOTER, groups.functions.buyPromoterAccess(group, 1), value=PROMOTER_FEE)
    receipt = succeed(w3, PROMOTER, groups.functions.promote(group, Web3.keccak(text="spring sale")))
    assert events(groups, "Promoted", receipt)[0]["promoter"] == PROMOTER.address

    receipt = succeed(w3, BOB, groups.functions.proposeEvent(group, 5 * ETHER, now(w3) + HOUR,
                                                             Web3.keccak(text="picnic")))
    picnic = events(groups, "EventProposed", receipt)[0]["eventId"]
    succeed(w3, BOB, groups.functions.fund(picnic), value=2 * ETHER)
    before = w3.eth.get_balance(ALICE.address)
    receipt = succeed(w3, ALICE, groups.functions.fund(picnic), value=4 * ETHER)  # 1 CMT over the target returns
    assert before - w3.eth.get_balance(ALICE.address) == 3 * ETHER + receipt.gasUsed * receipt.effectiveGasPrice
    assert events(groups, "EventFunded", receipt)[0]["amount"] == 5 * ETHER
    succeed(w3, BOB, groups.functions.checkIn(picnic, [ALICE.address, BOB.address]))

    receipt = succeed(w3, ALICE, groups.functions.proposeEvent(group, 50 * ETHER, now(w3) + HOUR,
                                                               Web3.keccak(text="trip")))
    trip = events(groups, "EventProposed", receipt)[0]["eventId"]
    succeed(w3, BOB, groups.functions.fund(trip), value=ETHER)
    refused(groups, BOB, groups.functions.refund(trip), "WrongState")
    advance(dev_node, HOUR)
    assert withdraw_by(groups, BOB, groups.functions.refund(trip)) == ETHER

    # Alice: 3 periods + funding + attending = 6 points; Bob: 1 + 2 funded events + attending = 5.
    assert groups.functions.ranking(group).call() == [ALICE.address, BOB.address]
    assert [groups.functions.points(group, m.address).call() for m in (ALICE, BOB)] == [6, 5]
    paid = 4 * DUES + PROMOTER_FEE
    assert withdraw(groups, PLATFORM) == 2 * ETHER
    assert withdraw(groups, MODERATOR) == paid * 2_000 // 10_000
    assert withdraw(groups, OWNER) == paid - paid * 2_000 // 10_000
    assert withdraw(groups, BOB) == 5 * ETHER  # the organizer receives the funded target


BORROWER, LENDER, CAREFUL_LENDER = (dev_account(i) for i in (16, 17, 18))


def borrow(loans: Contract, lender: LocalAccount, min_repaid: int, max_defaults: int) -> tuple[int, int]:
    """The borrower asks for 10 CMT in two monthly installments, ``lender`` offers them; (ask, offer) ids."""
    w3 = loans.w3
    receipt = succeed(w3, BORROWER, loans.functions.postAsk(10 * ETHER, 1_000, 2, 30 * DAY))
    ask = events(loans, "AskPosted", receipt)[0]["id"]
    receipt = succeed(w3, lender, loans.functions.postOffer(500, 2, 30 * DAY, min_repaid, max_defaults),
                      value=10 * ETHER)
    return ask, events(loans, "OfferPosted", receipt)[0]["id"]


def test_repayments_and_defaults_become_the_history_the_next_match_reads(dev_node: NodeProcess, built: None) -> None:
    loans = deploy(dev_node, LENDER, "LoanBook")
    w3 = loans.w3
    ask, offer = borrow(loans, CAREFUL_LENDER, 1, 0)
    assert loans.functions.fits(ask, offer).call() == [False, "history"]  # no loan repaid yet
    succeed(w3, CAREFUL_LENDER, loans.functions.cancelOffer(offer))
    assert withdraw(loans, CAREFUL_LENDER) == 10 * ETHER
    succeed(w3, BORROWER, loans.functions.cancelAsk(ask))

    ask, offer = borrow(loans, LENDER, 0, 0)
    receipt = succeed(w3, CAREFUL_LENDER, loans.functions.matchTerms(ask, offer))  # anyone matches
    (matched,) = events(loans, "Matched", receipt)
    assert (matched["principal"], matched["owed"]) == (10 * ETHER, 10 * ETHER + ETHER // 2)
    assert withdraw(loans, BORROWER) == 10 * ETHER
    advance(dev_node, 30 * DAY - HOUR)  # the first installment an hour before it is due
    amount, _ = loans.functions.nextInstallment(matched["loanId"]).call()
    receipt = succeed(w3, BORROWER, loans.functions.repay(matched["loanId"]), value=amount)
    assert events(loans, "Repaid", receipt)[0]["onTime"] is True
    advance(dev_node, 30 * DAY + DAY)  # the second installment a day late
    amount, _ = loans.functions.nextInstallment(matched["loanId"]).call()
    receipt = succeed(w3, BORROWER, loans.functions.repay(matched["loanId"]), value=amount)
    assert events(loans, "Repaid", receipt)[0]["onTime"] is False
    assert events(loans, "LoanClosed", receipt) == [{"loanId": matched["loanId"]}]
    assert loans.functions.history(BORROWER.address).call() == (1, 0, 1, 1, 10 * ETHER + ETHER // 2)
    assert withdraw(loans, LENDER) == 10 * ETHER + ETHER // 2

    ask, offer = borrow(loans, CAREFUL_LENDER, 1, 0)  # now the history qualifies
    receipt = succeed(w3, BORROWER, loans.functions.matchTerms(ask, offer))
    unpaid = events(loans, "Matched", receipt)[0]["loanId"]
    advance(dev_node, 30 * DAY)
    refused(loans, LENDER, loans.functions.declareDefault(unpaid), "WrongState")
    advance(dev_node, 30 * DAY)
    receipt = succeed(w3, LENDER, loans.functions.declareDefault(unpaid))
    assert events(loans, "Defaulted", receipt)[0]["outstanding"] == 10 * ETHER + ETHER // 2
    assert loans.functions.history(BORROWER.address).call()[1] == 1
    ask, offer = borrow(loans, LENDER, 0, 0)
    refused(loans, LENDER, loans.functions.matchTerms(ask, offer), "NoMatch")


FARM, MILL, BAKERY = (dev_account(i) for i in (19, 1, 2))


def hand_over(chain: Contract, sender: LocalAccount, receiver: LocalAccount, goods: str, price: int) -> dict:
    """``sender`` registers a lot of ``goods`` and hands it to ``receiver`` at ``price``; the settlement event."""
    w3 = chain.w3
    receipt = succeed(w3, sender, chain.functions.registerLot(Web3.keccak(text=goods)))
    lot = events(chain, "LotRegistered", receipt)[0]["lot"]
    receipt = succeed(w3, sender, chain.functions.offer(lot, receiver.address, price, now(w3) + DAY))
    offered = events(chain, "HandOverOffered", receipt)[0]["id"]
    receipt = succeed(w3, receiver, chain.functions.accept(offered))
    assert chain.functions.getLot(lot).call()[0] == receiver.address
    return events(chain, "HandOverSettled", receipt)[0]


def test_a_cycle_of_supply_debts_is_netted_and_only_net_positions_move_cmt(dev_node: NodeProcess,
                                                                           built: None) -> None:
    chain = deploy(dev_node, FARM, "SupplyChainSettlement")
    w3 = chain.w3
    for creditor, debtor in ((FARM, MILL), (MILL, BAKERY), (BAKERY, FARM)):
        succeed(w3, creditor, chain.functions.setCreditLine(debtor.address, 10 * ETHER))
    wheat = hand_over(chain, FARM, MILL, "wheat, 2 t", 6 * ETHER)
    flour = hand_over(chain, MILL, BAKERY, "flour, 1.5 t", 8 * ETHER)
    bread = hand_over(chain, BAKERY, FARM, "bread for the harvest", 5 * ETHER)
    assert [(s["onCredit"], s["paid"]) for s in (wheat, flour, bread)] == [(6 * ETHER, 0), (8 * ETHER, 0),
                                                                           (5 * ETHER, 0)]

    receipt = succeed(w3, FARM, chain.functions.netCycle([MILL.address, FARM.address, BAKERY.address]))
    assert events(chain, "CycleNetted", receipt)[0]["amount"] == 5 * ETHER
    debts = {(a.address, b.address): chain.functions.debt(a.address, b.address).call()
             for a in (FARM, MILL, BAKERY) for b in (FARM, MILL, BAKERY) if a != b}
    assert {pair: owed for pair, owed in debts.items() if owed} == {
        (MILL.address, FARM.address): ETHER, (BAKERY.address, MILL.address): 3 * ETHER}

    succeed(w3, BAKERY, chain.functions.deposit(), value=3 * ETHER)
    succeed(w3, MILL, chain.functions.settleDebt(BAKERY.address, MILL.address, 3 * ETHER))  # the mill collects
    assert chain.functions.balance(MILL.address).call() == 3 * ETHER
    refused(chain, MILL, chain.functions.withdraw(3 * ETHER), "InsufficientBalance")  # it still owes the farm 1
    assert withdraw_by(chain, MILL, chain.functions.withdraw(2 * ETHER)) == 2 * ETHER
    succeed(w3, FARM, chain.functions.settleDebt(MILL.address, FARM.address, ETHER))
    assert withdraw_by(chain, FARM, chain.functions.withdraw(ETHER)) == ETHER
    assert w3.eth.get_balance(chain.address) == 0
    assert [chain.functions.totalDebt(m.address).call() for m in (FARM, MILL, BAKERY)] == [0, 0, 0]


MERCHANT, READER, SKIMMER, STRANGER = (dev_account(i) for i in (3, 4, 5, 6))
RUNNERS = Web3.keccak(text="segment: trail runners")


def test_a_user_who_proves_opening_the_message_is_paid_and_the_rest_returns(dev_node: NodeProcess,
                                                                             built: None) -> None:
    leads = deploy(dev_node, MERCHANT, "LeadsBidding")
    w3 = leads.w3
    price = ETHER // 10
    content = Web3.keccak(text="Trail shoes -30% this week. ref 7f3a9c")
    for user in (READER, SKIMMER):
        succeed(w3, user, leads.functions.optIn(RUNNERS))
    seal = Web3.keccak(eth_abi.encode(["bytes32"], [content]))
    receipt = succeed(w3, MERCHANT, leads.functions.placeBid(RUNNERS, price, now(w3) + DAY, seal, 0),
                      value=3 * price)
    bid = events(leads, "BidPlaced", receipt)[0]["id"]
    assert leads.functions.topBids(RUNNERS, 5).call() == [bid]
    refused(leads, STRANGER, leads.functions.accept(bid), "NotEligible")  # not in the segment
    for user in (READER, SKIMMER):
        succeed(w3, user, leads.functions.accept(bid))
    commitment = Web3.keccak(eth_abi.encode(["uint256", "address", "bytes32"], [bid, READER.address, content]))
    succeed(w3, READER, leads.functions.open(bid, commitment))

    advance(dev_node, DAY)
    refused(leads, READER, leads.functions.reveal(bid, Web3.keccak(text="a guess")), "WrongProof")
    succeed(w3, READER, leads.functions.reveal(bid, content))  # the merchant stays silent; the reader reveals
    succeed(w3, READER, leads.functions.claim(bid))
    refused(leads, SKIMMER, leads.functions.claim(bid), "NotEligible")  # accepted but never opened
    advance(dev_node, 3 * DAY)
    succeed(w3, STRANGER, leads.functions.close(bid))
    assert withdraw(leads, READER) == price
    assert withdraw(leads, MERCHANT) == 2 * price  # the unreserved budget and the skimmer's reservation
    assert w3.eth.get_balance(leads.address) == 0


ESCROW_BUYER, ESCROW_SELLER, CARRIER = (dev_account(i) for i in (7, 8, 9))


def test_a_purchase_released_by_acceptance_costs_under_200000_gas(dev_node: NodeProcess, built: None) -> None:
    escrow = deploy(dev_node, ESCROW_BUYER, "ArbitratedEscrow", HOUR, HOUR, "0x" + "00" * 20, 0, 0)
    w3 = escrow.w3
    price, deposit = 10 * ETHER, 2 * ETHER
    # the contract's first deal also pays the deal counter's first write (about 17,000 gas): an earlier shopper's
    first = succeed(w3, CARRIER, escrow.functions.open(ESCROW_SELLER.address, ESCROW_BUYER.address, price,
                                                       now(w3) + DAY, HOUR), value=price + deposit)
    succeed(w3, CARRIER, escrow.functions.cancel(events(escrow, "Opened", first)[0]["id"]))
    spent = w3.eth.get_balance(ESCROW_BUYER.address)
    opening = succeed(w3, ESCROW_BUYER, escrow.functions.open(ESCROW_SELLER.address, CARRIER.address, price,
                                                              now(w3) + DAY, HOUR), value=price + deposit)
    deal = events(escrow, "Opened", opening)[0]["id"]
    joining = succeed(w3, ESCROW_SELLER, escrow.functions.join(deal), value=deposit)
    accepting = succeed(w3, ESCROW_BUYER, escrow.functions.acceptDelivery(deal))
    fees = sum(r.gasUsed * r.effectiveGasPrice for r in (opening, accepting))
    assert spent - w3.eth.get_balance(ESCROW_BUYER.address) == price + fees  # the deposit came back
    assert escrow.functions.credit(ESCROW_BUYER.address).call() == 0
    assert escrow.functions.credit(ESCROW_SELLER.address).call() == price + deposit
    assert events(escrow, "Settled", accepting)[0] == {"id": deal, "toBuyer": deposit, "toSeller": price + deposit,
                                                       "toArbiter": 0}
    assert opening.gasUsed + joining.gasUsed + accepting.gasUsed < 200_000
    assert withdraw(escrow, ESCROW_SELLER) == price + deposit
