// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {LeadsBidding} from "../../src/library/LeadsBidding.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract LeadsBiddingTest {
    LeadsBidding leads;
    address mechanic = address(0xACE);
    address movers = address(0x303E);
    address alice = address(0xA11CE);
    address bob = address(0xB0B);
    address carol = address(0xCA401);
    bytes32 carBuyers = keccak256("car buyers, Dallas");
    bytes32 content = keccak256("Receive 2 CMT to open this message from Ace Auto Mechanic. nonce 8f1c");
    uint64 constant NOW = 1_000_000;
    uint64 constant DAY = 1 days;

    function setUp() public {
        vm.warp(NOW);
        leads = new LeadsBidding();
        vm.deal(mechanic, 100 ether);
        vm.deal(movers, 100 ether);
        for (uint256 i = 0; i < 3; ++i) {
            address user = [alice, bob, carol][i];
            vm.prank(user);
            leads.optIn(carBuyers);
        }
    }

    function _bid(address merchant, uint256 price, uint256 budget) internal returns (uint256 id) {
        vm.prank(merchant);
        id = leads.placeBid{value: budget}(carBuyers, price, NOW + DAY, keccak256(abi.encode(content)), 0);
    }

    function _commitment(uint256 id, address user, bytes32 contentHash) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, user, contentHash));
    }

    function _acceptAndOpen(uint256 id, address user) internal {
        vm.startPrank(user);
        leads.accept(id);
        leads.open(id, _commitment(id, user, content));
        vm.stopPrank();
    }

    function _expect(bytes4 selector, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(selector, what));
    }

    function testAUserWhoOpensTheMessageIsPaidAndTheRestReturnsToTheMerchant() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        _acceptAndOpen(id, alice);
        _acceptAndOpen(id, bob);
        vm.warp(NOW + DAY);
        vm.prank(mechanic);
        leads.reveal(id, content);
        vm.prank(alice);
        require(leads.claim(id) == 2 ether, "the price");
        vm.prank(bob);
        leads.claim(id);
        vm.warp(NOW + DAY + leads.CLAIM_PERIOD());
        leads.close(id);
        require(leads.credit(mechanic) == 6 ether, "three unspent slots back");
        uint256 before = alice.balance;
        vm.prank(alice);
        leads.withdraw();
        require(alice.balance == before + 2 ether, "paid in CMT");
    }

    function testBidsOfASegmentAreListedHighestPriceFirst() public {
        uint256 low = _bid(mechanic, 1 ether, 5 ether);
        uint256 high = _bid(movers, 3 ether, 6 ether);
        uint256 tie = _bid(movers, 1 ether, 2 ether);
        vm.prank(mechanic);
        uint256 middle = leads.placeBid{value: 2 ether}(carBuyers, 2 ether, NOW + DAY, keccak256("s"), high);
        uint256[] memory top = leads.topBids(carBuyers, 10);
        require(top.length == 4, "four open");
        require(top[0] == high && top[1] == middle && top[2] == low && top[3] == tie, "by price, ties by age");
        vm.prank(alice);
        leads.accept(middle); // its only slot: no longer offered
        top = leads.topBids(carBuyers, 2);
        require(top.length == 2 && top[0] == high && top[1] == low, "exhausted bids are skipped");
        vm.prank(mechanic);
        _expect(LeadsBidding.BadParameter.selector, "hint");
        leads.placeBid{value: 5 ether}(carBuyers, 5 ether, NOW + DAY, keccak256("s"), high); // high is cheaper
    }

    function testAnExhaustedBudgetRefusesTheAcceptanceBeforeTheUserOpensAnything() public {
        uint256 id = _bid(mechanic, 2 ether, 5 ether); // two users; 1 ether of dust
        vm.prank(alice);
        leads.accept(id);
        vm.prank(bob);
        leads.accept(id);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(LeadsBidding.BudgetExhausted.selector, 1 ether, 2 ether));
        leads.accept(id);
        LeadsBidding.Bid memory bid = leads.getBid(id);
        require(bid.available == 1 ether && bid.reserved == 4 ether, "reserved for the two who accepted");
    }

    function testRoundingDustAndUnclaimedReservationsReturnAtClosing() public {
        uint256 id = _bid(mechanic, 3 ether, 10 ether); // three users at most; 1 ether of dust
        _acceptAndOpen(id, alice);
        vm.prank(bob);
        leads.accept(id); // never opens
        vm.warp(NOW + DAY);
        leads.reveal(id, content);
        vm.prank(alice);
        leads.claim(id);
        _expect(LeadsBidding.WrongState.selector, "over");
        leads.close(id); // bob's reservation is still pending
        vm.warp(NOW + DAY + leads.CLAIM_PERIOD());
        leads.close(id);
        require(leads.credit(mechanic) == 7 ether, "one unreserved slot, bob's slot and the dust");
        require(address(leads).balance == leads.credit(mechanic) + leads.credit(alice), "every wei accounted for");
    }

    function testACommitmentMadeWithoutTheMessageIsNotPaid() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        vm.startPrank(carol);
        leads.accept(id);
        leads.open(id, _commitment(id, carol, keccak256("a guess")));
        vm.stopPrank();
        vm.warp(NOW + DAY);
        leads.reveal(id, content);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(LeadsBidding.WrongProof.selector));
        leads.claim(id);
    }

    function testTheRevealCannotBeCopiedIntoALateCommitment() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        _acceptAndOpen(id, alice);
        vm.prank(bob);
        leads.accept(id);
        vm.prank(alice); // too early: the content hash would be public while commitments are open
        _expect(LeadsBidding.WrongState.selector, "claiming");
        leads.reveal(id, content);
        vm.warp(NOW + DAY);
        leads.reveal(id, content);
        vm.prank(bob); // bob read the reveal but commitments are closed
        _expect(LeadsBidding.WrongState.selector, "open");
        leads.open(id, _commitment(id, bob, content));
        vm.prank(bob); // nor can bob claim with alice's commitment: it names alice
        _expect(LeadsBidding.NotEligible.selector, "opened");
        leads.claim(id);
        vm.prank(alice);
        leads.claim(id);
        vm.prank(alice);
        _expect(LeadsBidding.NotEligible.selector, "opened");
        leads.claim(id); // once
    }

    function testAMerchantWhoNeverRevealsCannotKeepTheUsersPay() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        _acceptAndOpen(id, alice);
        vm.warp(NOW + DAY); // the mechanic stays silent: alice reveals what she read
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(LeadsBidding.WrongProof.selector));
        leads.reveal(id, keccak256("another message"));
        leads.reveal(id, content);
        leads.claim(id);
        vm.stopPrank();
        require(leads.credit(alice) == 2 ether, "paid");
    }

    function testTheMerchantCannotTakeTheBudgetBackWhileUsersMayAccept() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        vm.prank(mechanic);
        _expect(LeadsBidding.WrongState.selector, "over");
        leads.close(id);
        _acceptAndOpen(id, alice);
        vm.warp(NOW + DAY); // nothing revealed, nothing claimed: the budget stays until the claim period ends
        _expect(LeadsBidding.WrongState.selector, "over");
        leads.close(id);
    }

    function testAnExpiredBidWithNobodyWaitingClosesAtOnce() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        vm.warp(NOW + DAY);
        vm.prank(alice);
        _expect(LeadsBidding.WrongState.selector, "open");
        leads.accept(id);
        vm.prank(bob); // the merchant never answers: anyone closes
        leads.close(id);
        require(leads.credit(mechanic) == 10 ether && leads.firstBid(carBuyers) == 0, "refunded and unlisted");
        _expect(LeadsBidding.WrongState.selector, "over");
        leads.close(id);
    }

    function testOnlyOptedInUsersAccept() public {
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        vm.prank(address(0xD00D));
        _expect(LeadsBidding.NotEligible.selector, "segment");
        leads.accept(id);
        vm.prank(alice);
        leads.optOut(carBuyers);
        vm.prank(alice);
        _expect(LeadsBidding.NotEligible.selector, "segment");
        leads.accept(id);
        vm.prank(bob);
        _expect(LeadsBidding.NotEligible.selector, "accepted");
        leads.open(id, _commitment(id, bob, content));
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller user = new ReentrantCaller();
        user.act(address(leads), abi.encodeCall(LeadsBidding.optIn, (carBuyers)));
        uint256 id = _bid(mechanic, 2 ether, 10 ether);
        user.act(address(leads), abi.encodeCall(LeadsBidding.accept, (id)));
        user.act(address(leads), abi.encodeCall(LeadsBidding.open, (id, _commitment(id, address(user), content))));
        vm.warp(NOW + DAY);
        leads.reveal(id, content);
        user.act(address(leads), abi.encodeCall(LeadsBidding.claim, (id)));
        user.arm(address(leads), abi.encodeCall(PullPayments.withdraw, ()));
        user.act(address(leads), abi.encodeCall(PullPayments.withdraw, ()));
        require(user.reentries() == 1 && user.reentryFailed(), "the nested withdraw was refused");
        require(address(user).balance == 2 ether && address(leads).balance == 8 ether, "paid once");
    }

    function testBadBidsAreRejected() public {
        vm.startPrank(mechanic);
        _expect(LeadsBidding.BadParameter.selector, "price");
        leads.placeBid{value: 1 ether}(carBuyers, 2 ether, NOW + DAY, keccak256("s"), 0);
        _expect(LeadsBidding.BadParameter.selector, "price");
        leads.placeBid{value: 1 ether}(carBuyers, 0, NOW + DAY, keccak256("s"), 0);
        _expect(LeadsBidding.BadParameter.selector, "openUntil");
        leads.placeBid{value: 1 ether}(carBuyers, 1 ether, NOW, keccak256("s"), 0);
        _expect(LeadsBidding.BadParameter.selector, "seal");
        leads.placeBid{value: 1 ether}(carBuyers, 1 ether, NOW + DAY, 0, 0);
        _expect(LeadsBidding.BadParameter.selector, "segment");
        leads.placeBid{value: 1 ether}(0, 1 ether, NOW + DAY, keccak256("s"), 0);
        vm.stopPrank();
    }

    function testFuzzEveryWeiOfABudgetIsPaidOrReturned(uint96 budget, uint96 price, uint8 opened) public {
        price = uint96(_between(price, 1, 10 ether));
        budget = uint96(_between(budget, price, 50 ether));
        vm.deal(mechanic, budget);
        uint256 id = _bid(mechanic, price, budget);
        uint256 users = _between(opened, 0, 6);
        uint256 paid = 0;
        for (uint256 i = 0; i < users; ++i) {
            address user = address(uint160(0x1000 + i));
            vm.prank(user);
            leads.optIn(carBuyers);
            if (leads.getBid(id).available < price) break;
            _acceptAndOpen(id, user);
            paid += price;
        }
        vm.warp(NOW + DAY);
        leads.reveal(id, content);
        for (uint256 i = 0; i < users && paid > 0; ++i) {
            address user = address(uint160(0x1000 + i));
            if (leads.replyOf(id, user) == LeadsBidding.Reply.Opened) {
                vm.prank(user);
                leads.claim(id);
            }
        }
        leads.close(id);
        require(leads.credit(mechanic) == budget - paid, "the rest to the merchant");
        require(address(leads).balance == budget, "nothing left unaccounted");
    }

    function _between(uint256 x, uint256 low, uint256 high) internal pure returns (uint256) {
        return low + x % (high - low + 1);
    }
}
