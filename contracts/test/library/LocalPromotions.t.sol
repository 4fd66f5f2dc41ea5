// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {LocalPromotions} from "../../src/library/LocalPromotions.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract LocalPromotionsTest {
    LocalPromotions promotions;
    address salon = address(0x5A1);
    address addisonShop = address(0xAD1);
    address dallasShop = address(0xDA1);
    address alice = address(0xA11CE);
    address bob = address(0xB0B);
    bytes32 regulars = keccak256("regular customers");
    uint64 constant NOW = 1_000_000;
    uint64 constant WEEK = 7 days;

    function setUp() public {
        vm.warp(NOW);
        promotions = new LocalPromotions();
        vm.deal(salon, 100 ether);
        vm.deal(alice, 1000 ether);
        vm.deal(bob, 1000 ether);
        vm.startPrank(salon);
        promotions.registerShop(addisonShop, "9vg4mq2");
        promotions.registerShop(dallasShop, "9vg5cs1");
        vm.stopPrank();
    }

    /// @dev The tiers of examples/rules/local-promotion-tiers.rules: 5% from 20 CMT, 10% from 50, 15% from 100.
    function _tiers() internal pure returns (LocalPromotions.Tier[] memory tiers) {
        tiers = new LocalPromotions.Tier[](3);
        tiers[0] = LocalPromotions.Tier(20 ether, 500);
        tiers[1] = LocalPromotions.Tier(50 ether, 1_000);
        tiers[2] = LocalPromotions.Tier(100 ether, 1_500);
    }

    function _coupon(uint256 budget, bytes32 audience) internal returns (uint256 id) {
        vm.prank(salon);
        id = promotions.createCoupon{value: budget}("9vg4", audience, NOW + WEEK, _tiers());
    }

    function _expect(bytes4 selector, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(selector, what));
    }

    function testAPurchaseInTheAreaPaysTheShopAndTheBuyerItsTier() public {
        uint256 id = _coupon(30 ether, 0);
        vm.prank(alice);
        uint256 discount = promotions.purchase{value: 60 ether}(id, addisonShop);
        require(discount == 6 ether, "10% tier");
        require(promotions.credit(addisonShop) == 60 ether && promotions.credit(alice) == 6 ether, "credited");
        require(promotions.getCoupon(id).remaining == 24 ether, "budget spent");
        uint256 before = alice.balance;
        vm.prank(alice);
        promotions.withdraw();
        require(alice.balance == before + 6 ether, "the discount paid in CMT");
    }

    function testTiersFollowTheAmount() public {
        uint256 id = _coupon(1 ether, 0);
        require(promotions.discountFor(id, 20 ether - 1) == 0, "below the first tier");
        require(promotions.discountFor(id, 20 ether) == 1 ether, "5%");
        require(promotions.discountFor(id, 99 ether) == 9.9 ether, "10%");
        require(promotions.discountFor(id, 100 ether) == 15 ether, "15%");
        require(promotions.discountFor(id, 33) == 0, "small amounts");
    }

    function testPurchasesOutsideTheTermsAreRefusedAndCostNothing() public {
        uint256 id = _coupon(30 ether, regulars);
        vm.prank(alice);
        _expect(LocalPromotions.NotEligible.selector, "audience");
        promotions.purchase{value: 60 ether}(id, addisonShop);
        address[] memory buyers = new address[](1);
        buyers[0] = alice;
        vm.prank(salon);
        promotions.admit(regulars, buyers);
        vm.startPrank(alice);
        _expect(LocalPromotions.NotEligible.selector, "area");
        promotions.purchase{value: 60 ether}(id, dallasShop); // 9vg5: outside the 9vg4 cell
        _expect(LocalPromotions.NotEligible.selector, "area");
        promotions.purchase{value: 60 ether}(id, alice); // not one of the salon's shops
        _expect(LocalPromotions.NotEligible.selector, "amount");
        promotions.purchase{value: 19 ether}(id, addisonShop);
        promotions.purchase{value: 60 ether}(id, addisonShop);
        _expect(LocalPromotions.NotEligible.selector, "once");
        promotions.purchase{value: 60 ether}(id, addisonShop);
        vm.stopPrank();
        require(alice.balance == 940 ether, "only the eligible purchase was paid");
    }

    function testABuyerCannotRedeemAtAShopItRegisteredItself() public {
        uint256 id = _coupon(30 ether, 0);
        vm.startPrank(alice);
        promotions.registerShop(alice, "9vg4mq2"); // alice's own registry, not the salon's
        _expect(LocalPromotions.NotEligible.selector, "area");
        promotions.purchase{value: 100 ether}(id, alice);
        vm.stopPrank();
    }

    function testAnExhaustedBudgetRefusesTheWholePurchase() public {
        uint256 id = _coupon(10 ether, 0);
        vm.prank(alice);
        promotions.purchase{value: 60 ether}(id, addisonShop); // 6 CMT, 4 left
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(LocalPromotions.BudgetExhausted.selector, 4 ether, 5 ether));
        promotions.purchase{value: 50 ether}(id, addisonShop);
        vm.prank(bob);
        require(promotions.purchase{value: 40 ether}(id, addisonShop) == 2 ether, "a lower tier still fits");
        require(promotions.getCoupon(id).remaining == 2 ether && promotions.credit(addisonShop) == 100 ether, "spent");
    }

    function testTheBusinessCannotTakeTheBudgetBackBeforeTheExpiry() public {
        uint256 id = _coupon(30 ether, 0);
        vm.prank(salon);
        _expect(LocalPromotions.WrongState.selector, "expired");
        promotions.close(id); // would empty the budget ahead of alice's purchase
        vm.prank(alice);
        promotions.purchase{value: 100 ether}(id, addisonShop);
        require(promotions.credit(alice) == 15 ether, "paid in full");
    }

    function testAnyoneClosesAnExpiredCouponAndTheRestAndTheDustReturn() public {
        uint256 id = _coupon(30 ether, 0);
        vm.prank(alice);
        promotions.purchase{value: 20 ether + 19}(id, addisonShop); // 5% of 19 wei rounds down to 0
        require(promotions.credit(alice) == 1 ether, "floor");
        vm.warp(NOW + WEEK);
        vm.prank(bob);
        _expect(LocalPromotions.NotEligible.selector, "expiry");
        promotions.purchase{value: 60 ether}(id, addisonShop);
        vm.prank(bob); // the business never answers: anyone closes
        promotions.close(id);
        require(promotions.credit(salon) == 29 ether, "the rest back to the business");
        _expect(LocalPromotions.WrongState.selector, "expired");
        promotions.close(id);
        uint256 credits = promotions.credit(salon) + promotions.credit(alice) + promotions.credit(addisonShop);
        require(address(promotions).balance == credits, "every wei accounted for");
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller shop = new ReentrantCaller();
        vm.prank(salon);
        promotions.registerShop(address(shop), "9vg4zz");
        uint256 id = _coupon(30 ether, 0);
        vm.prank(alice);
        promotions.purchase{value: 50 ether}(id, address(shop));
        shop.arm(address(promotions), abi.encodeCall(PullPayments.withdraw, ()));
        shop.act(address(promotions), abi.encodeCall(PullPayments.withdraw, ()));
        require(shop.reentries() == 1 && shop.reentryFailed(), "the nested withdraw was refused");
        require(address(shop).balance == 50 ether && address(promotions).balance == 30 ether, "paid once");
    }

    function testBadCouponsAreRejected() public {
        LocalPromotions.Tier[] memory unordered = _tiers();
        unordered[2].minAmount = 50 ether;
        vm.startPrank(salon);
        _expect(LocalPromotions.BadParameter.selector, "tiers");
        promotions.createCoupon{value: 1 ether}("9vg4", 0, NOW + WEEK, unordered);
        _expect(LocalPromotions.BadParameter.selector, "geohash");
        promotions.createCoupon{value: 1 ether}("9vga", 0, NOW + WEEK, _tiers()); // 'a' is not a geohash digit
        _expect(LocalPromotions.BadParameter.selector, "budget");
        promotions.createCoupon("9vg4", 0, NOW + WEEK, _tiers());
        _expect(LocalPromotions.BadParameter.selector, "expiresAt");
        promotions.createCoupon{value: 1 ether}("9vg4", 0, NOW, _tiers());
        vm.stopPrank();
    }
}
