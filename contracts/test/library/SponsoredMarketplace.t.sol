// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {ISponsor} from "@cmt/vm/sponsorship/ISponsor.sol";
import {ArbitratedEscrow} from "../../src/library/ArbitratedEscrow.sol";
import {AuthenticityCertificates} from "../../src/library/AuthenticityCertificates.sol";
import {CommunityModeration} from "../../src/library/CommunityModeration.sol";
import {JuryAppealCourt} from "../../src/library/JuryAppealCourt.sol";
import {LocalPromotions} from "../../src/library/LocalPromotions.sol";
import {ShopperAccount, SponsoredMarketplace} from "../../src/library/SponsoredMarketplace.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";
import {JuryPanel} from "./JuryPanel.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract SponsoredMarketplaceTest is JuryPanel {
    SponsoredMarketplace market;
    ArbitratedEscrow escrow;
    AuthenticityCertificates certificates;
    LocalPromotions promotions;
    CommunityModeration moderation;
    JuryAppealCourt court;
    ISponsor sponsor = ISponsor(NativeMocks.SPONSOR);
    address operator = address(0x0FE);
    address seller = address(0x5E11);
    address shopper = address(0x5A0); // holds no CMT
    address giver = address(0x61F7);
    address carrier = address(0xCA);
    address arbiter = address(0xA1);
    address stranger = address(0x57);
    uint128 constant PRICE = 60 ether;
    uint128 constant DEPOSIT = 5 ether;
    uint64 constant DAY = 1 days;
    bytes32 constant SHOES = keccak256("listing: red leather shoes, size 42");

    function setUp() public {
        vm.warp(1_000_000);
        vm.roll(100);
        NativeMocks.etchAll();
        court = new JuryAppealCourt(3, 1 ether, DAY, DAY, 0.3 ether);
        escrow = new ArbitratedEscrow(DAY, 3 * DAY, address(court), 2 * DAY, 5 * DAY);
        certificates = new AuthenticityCertificates();
        promotions = new LocalPromotions();
        moderation = new CommunityModeration(3, 1 ether, DAY, DAY, 0.5 ether, 1 ether, address(0), 10 * DAY);
        vm.deal(operator, 100 ether);
        vm.prank(operator);
        market = new SponsoredMarketplace{value: 10 ether}(escrow, certificates, promotions, moderation, 600_000, 50,
            DAY, 6_000_000);
        vm.deal(seller, 100 ether);
        vm.deal(giver, 1000 ether);
        vm.deal(stranger, 10 ether);
        _seatPanel(5, 2 ether);
    }

    function _terms(uint256 certificate) internal view returns (SponsoredMarketplace.Terms memory) {
        return SponsoredMarketplace.Terms(PRICE, DEPOSIT, carrier, 7 * DAY, DAY, certificate, SHOES);
    }

    function _list() internal returns (uint256 id) {
        vm.prank(seller);
        id = market.list(_terms(0));
    }

    function _fund(uint256 amount) internal {
        vm.prank(giver);
        market.fund{value: amount}(shopper);
    }

    function _order(uint256 listingId, uint256 couponId) internal returns (uint256 orderId) {
        vm.prank(shopper);
        orderId = market.placeOrder(listingId, couponId);
    }

    function _join(uint256 orderId) internal {
        uint256 dealId = market.getOrder(orderId).dealId;
        vm.prank(seller);
        escrow.join{value: DEPOSIT}(dealId);
    }

    function testTheMarketplaceConfiguresAndFundsItsOwnSponsorship() public view {
        (address manager, uint256 balance, uint64 maxGasPerTx, uint32 perSender, uint64 window, uint64 perBlock) =
            sponsor.sponsorshipOf(address(market));
        require(manager == operator && balance == 10 ether, "the deployer manages a funded sponsorship");
        require(maxGasPerTx == 600_000 && perSender == 50 && window == DAY && perBlock == 6_000_000, "bounds");
    }

    function testAShopperWithoutCMTOrdersFromItsFundedAccountAndTheSaleCompletes() public {
        uint256 listing = _list();
        _fund(PRICE + DEPOSIT);
        require(shopper.balance == 0, "the shopper holds no CMT");
        uint256 orderId = _order(listing, 0);
        SponsoredMarketplace.Order memory order = market.getOrder(orderId);
        ArbitratedEscrow.Deal memory deal = escrow.getDeal(order.dealId);
        require(deal.buyer == market.accountOf(shopper) && deal.seller == seller, "the account is the buyer");
        require(deal.price == PRICE && market.balanceOf(shopper) == 0, "paid from the account");
        _join(orderId);
        vm.prank(shopper);
        market.acceptDelivery(orderId);
        market.collect(shopper);
        require(market.balanceOf(shopper) == DEPOSIT, "the shopper's deposit is back in its account");
        require(escrow.credit(seller) == PRICE + DEPOSIT, "the seller is paid");
        vm.prank(shopper);
        market.cashOut(DEPOSIT);
        require(shopper.balance == DEPOSIT && market.balanceOf(shopper) == 0, "cashed out");
    }

    function testACouponOfTheSellerPaysItsDiscountIntoTheShoppersAccountOnce() public {
        uint256 listing = _list();
        LocalPromotions.Tier[] memory tiers = new LocalPromotions.Tier[](1);
        tiers[0] = LocalPromotions.Tier(50 ether, 1_000);
        vm.startPrank(seller);
        promotions.registerShop(address(market), "9vg4mq2"); // its sales here count as sales at a shop in 9vg4
        uint256 coupon = promotions.createCoupon{value: 20 ether}("9vg4", bytes32(0), uint64(block.timestamp + DAY), tiers);
        vm.stopPrank();
        _fund(2 * (PRICE + DEPOSIT));
        uint256 orderId = _order(listing, coupon);
        require(market.getOrder(orderId).discount == 6 ether, "10% of the price");
        require(market.balanceOf(shopper) == PRICE + DEPOSIT + 6 ether, "the discount is in the account");
        require(address(market).balance == 0, "the marketplace keeps nothing");
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(LocalPromotions.NotEligible.selector, "once"));
        market.placeOrder(listing, coupon);
        require(market.orderCount() == 1, "no second order");
    }

    function testACouponIsRefusedWhenItIsAnotherBusinessesOrItsBudgetIsExhausted() public {
        uint256 listing = _list();
        LocalPromotions.Tier[] memory tiers = new LocalPromotions.Tier[](1);
        tiers[0] = LocalPromotions.Tier(1 ether, 5_000);
        vm.prank(stranger);
        uint256 foreign = promotions.createCoupon{value: 1 ether}("9vg4", bytes32(0), uint64(block.timestamp + DAY), tiers);
        vm.startPrank(seller);
        promotions.registerShop(address(market), "9vg4mq2");
        uint256 small = promotions.createCoupon{value: 1 ether}("9vg4", bytes32(0), uint64(block.timestamp + DAY), tiers);
        vm.stopPrank();
        _fund(PRICE + DEPOSIT);
        vm.startPrank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "coupon"));
        market.placeOrder(listing, foreign);
        vm.expectRevert(abi.encodeWithSelector(LocalPromotions.BudgetExhausted.selector, 1 ether, 30 ether));
        market.placeOrder(listing, small);
        vm.stopPrank();
        require(market.orderCount() == 0 && market.balanceOf(shopper) == PRICE + DEPOSIT, "nothing spent");
    }

    function testAnOrderBeyondTheAccountsBalanceIsRefusedAndNothingChanges() public {
        uint256 listing = _list();
        _fund(PRICE);
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.InsufficientBalance.selector, PRICE, PRICE + DEPOSIT));
        market.placeOrder(listing, 0);
        require(market.orderCount() == 0 && market.balanceOf(shopper) == PRICE, "nothing spent");
    }

    function testMalformedListingsAndFundingAreRefusedWithPreciseErrors() public {
        SponsoredMarketplace.Terms memory terms = _terms(0);
        vm.startPrank(seller);
        terms.deposit = 0;
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.BadParameter.selector, "deposit"));
        market.list(terms);
        terms = _terms(0);
        terms.confirmer = address(0);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.BadParameter.selector, "confirmer"));
        market.list(terms);
        terms = _terms(0);
        terms.metadata = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.BadParameter.selector, "metadata"));
        market.list(terms);
        vm.expectRevert(abi.encodeWithSignature("ERC721NonexistentToken(uint256)", 1));
        market.list(_terms(1)); // a certificate that does not exist
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.BadParameter.selector, "shopper"));
        market.fund{value: 1 ether}(address(0));
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.BadParameter.selector, "value"));
        market.fund(shopper);
        vm.stopPrank();
        require(market.listingCount() == 0 && market.accountOf(shopper).code.length == 0, "nothing recorded");
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "account"));
        market.collect(stranger); // collecting or cashing out never creates an account (a sponsored-gas sink)
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "account"));
        market.cashOut(1);
        vm.prank(seller);
        uint256 listing = market.list(_terms(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "account"));
        market.placeOrder(listing, 0); // nothing to pay with: refused before any account is made
    }

    function testACertifiedItemSellsOnceAndARevokedCertificateStopsItsOrders() public {
        bytes32[] memory features = new bytes32[](1);
        features[0] = keccak256("serial 42-1187");
        vm.startPrank(seller);
        certificates.registerIssuer("Red Shoes Ltd");
        uint256 first = certificates.issue(seller, features);
        uint256 second = certificates.issue(seller, features);
        uint256 once = market.list(_terms(first));
        uint256 revoked = market.list(_terms(second));
        certificates.revoke(second, keccak256("counterfeit found"));
        vm.stopPrank();
        _fund(3 * (PRICE + DEPOSIT));
        _order(once, 0);
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotOpen.selector));
        market.placeOrder(once, 0);
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "certificate"));
        market.placeOrder(revoked, 0);
    }

    function testAListingRemovedByModerationCannotBeOrdered() public {
        uint256 listing = _list();
        vm.deal(stranger, 10 ether);
        vm.prank(stranger);
        uint256 request = moderation.requestListingRemoval{value: 1.5 ether}(SHOES, keccak256("fake brand"));
        _hear(moderation.getRequest(request).caseId, _votes(YES, YES, YES));
        moderation.decide(request);
        _fund(PRICE + DEPOSIT);
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotEligible.selector, "moderation"));
        market.placeOrder(listing, 0);
    }

    function testAnOfferAcceptedByTheSellerBecomesAnOrderAtTheOfferedPrice() public {
        uint256 listing = _list();
        _fund(50 ether + DEPOSIT);
        vm.prank(shopper);
        uint256 offer = market.makeOffer(listing, 50 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotAllowed.selector));
        market.acceptOffer(offer); // only the seller
        vm.prank(seller);
        uint256 orderId = market.acceptOffer(offer);
        require(market.getOrder(orderId).price == 50 ether && market.balanceOf(shopper) == 0, "ordered at the offer");
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotOpen.selector));
        market.acceptOffer(offer);
    }

    function testADelistedListingTakesNoOrdersAndOnlyItsSellerDelists() public {
        uint256 listing = _list();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotAllowed.selector));
        market.delist(listing);
        vm.prank(seller);
        market.delist(listing);
        _fund(PRICE + DEPOSIT);
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotOpen.selector));
        market.placeOrder(listing, 0);
        require(!market.getListing(listing).open, "closed");
    }

    function testAWithdrawnOfferCannotBeAccepted() public {
        uint256 listing = _list();
        vm.startPrank(shopper);
        uint256 offer = market.makeOffer(listing, 1 ether);
        market.withdrawOffer(offer);
        vm.stopPrank();
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotOpen.selector));
        market.acceptOffer(offer);
    }

    function testOnlyTheShopperActsOnItsOrderAndOnlyTheMarketplaceMovesItsAccount() public {
        uint256 listing = _list();
        _fund(PRICE + DEPOSIT);
        uint256 orderId = _order(listing, 0);
        _join(orderId);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotAllowed.selector));
        market.acceptDelivery(orderId);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(SponsoredMarketplace.NotAllowed.selector));
        market.placeOrder{value: PRICE + DEPOSIT}(listing, 0); // a seller cannot buy its own listing
        ShopperAccount account = ShopperAccount(payable(market.accountOf(shopper)));
        vm.prank(shopper);
        vm.expectRevert(abi.encodeWithSelector(ShopperAccount.NotMarketplace.selector));
        account.forward(shopper, 1, "");
    }

    function testAnOrderTheSellerNeverJoinsIsCancelledAndRefundedToTheAccount() public {
        uint256 listing = _list();
        _fund(PRICE + DEPOSIT);
        uint256 orderId = _order(listing, 0);
        vm.prank(shopper);
        market.cancel(orderId);
        require(market.collect(shopper) == PRICE + DEPOSIT, "collected");
        require(market.balanceOf(shopper) == PRICE + DEPOSIT, "all back");
    }

    function testADisputeRuledForTheShopperAndAnAppealToTheJury() public {
        uint256 listing = _list();
        _fund(PRICE + DEPOSIT + 1 ether);
        uint256 orderId = _order(listing, 0);
        _join(orderId);
        uint256 dealId = market.getOrder(orderId).dealId;
        vm.prank(shopper);
        market.dispute(orderId, keccak256("the sole came off on day one"));
        vm.prank(shopper);
        market.submitEvidence(orderId, keccak256("photo of the sole"));
        vm.prank(arbiter);
        escrow.bid(dealId, 1 ether);
        vm.prank(shopper);
        market.chooseArbiter(orderId, 0);
        vm.prank(seller);
        escrow.chooseArbiter(dealId, 0);
        vm.prank(arbiter);
        escrow.rule(dealId, ArbitratedEscrow.Party.Seller, bytes32(0));
        vm.prank(shopper);
        uint256 appealId = market.appeal(orderId, keccak256("the arbiter ignored the photo"));
        require(market.balanceOf(shopper) == 1 ether - 0.3 ether, "the appeal fee came from the account");
        _hear(court.getAppeal(appealId).caseId, _votes(YES, YES, NO));
        court.decide(appealId);
        market.collect(shopper);
        require(market.balanceOf(shopper) == 0.7 ether + PRICE + 2 * DEPOSIT - 1 ether, "the jury gave it the deal");
    }

    function testReentrantCashOutPaysOnce() public {
        ReentrantCaller caller = new ReentrantCaller();
        vm.prank(giver);
        market.fund{value: 2 ether}(address(caller));
        caller.arm(address(market), abi.encodeCall(market.cashOut, (1 ether)));
        caller.act(address(market), abi.encodeCall(market.cashOut, (1 ether)));
        require(caller.reentries() == 1 && caller.reentryFailed(), "the nested cash-out was refused");
        require(address(caller).balance == 1 ether && market.balanceOf(address(caller)) == 1 ether, "paid once");
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzzEveryWeiOfAnOrderEndsWithItsOwner(uint96 price, uint96 deposit, uint16 bps, uint8 outcome) public {
        price = uint96(1 ether + uint256(price) % 1_000 ether);
        deposit = uint96(1 + uint256(deposit) % 100 ether);
        bps = uint16(1 + uint256(bps) % 10_000);
        SponsoredMarketplace.Terms memory terms = _terms(0);
        (terms.price, terms.deposit) = (price, deposit);
        LocalPromotions.Tier[] memory tiers = new LocalPromotions.Tier[](1);
        tiers[0] = LocalPromotions.Tier(1, bps);
        vm.deal(seller, 2_000 ether);
        vm.startPrank(seller);
        uint256 listing = market.list(terms);
        promotions.registerShop(address(market), "9vg4mq2");
        uint256 coupon = promotions.createCoupon{value: 1_000 ether}("9vg4", bytes32(0), uint64(block.timestamp + DAY), tiers);
        vm.stopPrank();
        vm.deal(giver, uint256(price) + deposit);
        _fund(uint256(price) + deposit);
        uint256 orderId = _order(listing, coupon);
        uint256 discount = uint256(price) * bps / 10_000;
        require(market.getOrder(orderId).discount == discount, "the tier's floor");
        uint256 dealId = market.getOrder(orderId).dealId;
        outcome %= 3;
        if (outcome == 0) {
            vm.prank(shopper);
            market.cancel(orderId);
        } else {
            vm.prank(seller);
            escrow.join{value: deposit}(dealId);
            if (outcome == 1) {
                vm.prank(shopper);
                market.acceptDelivery(orderId);
            } else {
                vm.warp(block.timestamp + 7 * DAY);
                escrow.refundUndelivered(dealId);
            }
        }
        if (escrow.credit(market.accountOf(shopper)) > 0) market.collect(shopper);
        uint256 account = market.balanceOf(shopper);
        uint256 toSeller = escrow.credit(seller);
        require(account + toSeller == uint256(price) + deposit + discount + (outcome == 0 ? 0 : deposit), "conserved");
        require(toSeller == (outcome == 1 ? uint256(price) + deposit : outcome == 2 ? deposit : 0), "the seller's due");
        require(address(market).balance == 0, "the marketplace keeps nothing");
    }

    function testStrayCMTIsRefused() public {
        vm.prank(stranger);
        (bool ok,) = address(market).call{value: 1 ether}("");
        require(!ok && address(market).balance == 0, "only the promotions pay the marketplace");
    }
}
