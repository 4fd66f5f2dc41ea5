// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {KeywordAdAuction} from "../../src/library/KeywordAdAuction.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract KeywordAdAuctionTest {
    KeywordAdAuction auction;
    address alice = address(0xA11CE);
    address bob = address(0xB0B);
    address carol = address(0xCA401);
    address dave = address(0xDA7E);
    address rebater = address(0x4EBA7E);
    bytes32 shoes = keccak256("vintage shoes");
    uint64 constant NOW = 1_000_000;
    uint64 constant DAY = 1 days;
    uint64 constant COMMIT = 8 hours;
    uint64 constant REVEAL = 8 hours;
    uint16 constant PENALTY_BPS = 1_000;
    uint256 constant RESERVE = 0.1 ether;
    uint256 constant THRESHOLD = 100 ether;

    function setUp() public {
        vm.warp(NOW);
        auction = _deploy(address(0));
        address[4] memory sellers = [alice, bob, carol, dave];
        for (uint256 i = 0; i < sellers.length; ++i) {
            vm.deal(sellers[i], 1000 ether);
        }
    }

    function _deploy(address rebater_) internal returns (KeywordAdAuction) {
        return new KeywordAdAuction(DAY, COMMIT, REVEAL, 2, RESERVE, THRESHOLD, PENALTY_BPS, rebater_);
    }

    function _sealed(address bidder, uint256 amount) internal view returns (bytes32) {
        return keccak256(abi.encode(shoes, uint64(0), bidder, amount, _ad(bidder), bytes32(uint256(uint160(bidder)))));
    }

    function _ad(address seller) internal pure returns (bytes32) {
        return keccak256(abi.encode("listing of", seller));
    }

    function _commit(KeywordAdAuction on, address bidder, uint256 amount, uint256 deposit) internal {
        vm.prank(bidder);
        on.commitBid{value: deposit}(shoes, _sealed(bidder, amount));
    }

    function _reveal(KeywordAdAuction on, address bidder, uint256 amount) internal {
        vm.prank(bidder);
        on.revealBid(shoes, 0, amount, _ad(bidder), bytes32(uint256(uint160(bidder))));
    }

    /// @dev Alice bids 5, bob 3, carol 2 (deposits 10 each) in round 0; the round is settled.
    function _threeBidRound(KeywordAdAuction on) internal {
        _commit(on, alice, 5 ether, 10 ether);
        _commit(on, bob, 3 ether, 10 ether);
        _commit(on, carol, 2 ether, 10 ether);
        vm.warp(NOW + COMMIT);
        _reveal(on, carol, 2 ether);
        _reveal(on, alice, 5 ether);
        _reveal(on, bob, 3 ether);
        vm.warp(NOW + COMMIT + REVEAL);
        on.settle(shoes, 0);
    }

    function _expect(bytes4 selector, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(selector, what));
    }

    function testWinnersPayTheNextBidDownAndThePaymentsAreBurnedAfterTheDisplay() public {
        _threeBidRound(auction);
        uint256[] memory shown = auction.visibleAds(shoes, 0);
        require(shown.length == 2, "two slots");
        KeywordAdAuction.Ad memory top = auction.getAd(shown[0]);
        KeywordAdAuction.Ad memory second = auction.getAd(shown[1]);
        require(top.seller == alice && top.payment == 3 ether && top.adHash == _ad(alice), "alice pays bob's bid");
        require(second.seller == bob && second.payment == 2 ether, "bob pays carol's bid");
        vm.prank(alice);
        require(auction.reclaim(shoes, 0) == 7 ether, "deposit less the payment");
        vm.prank(carol);
        require(auction.reclaim(shoes, 0) == 10 ether, "a loser gets it all back");
        _expect(KeywordAdAuction.WrongState.selector, "shown");
        auction.finalize(shown[0]); // still to be shown during round 1
        vm.warp(NOW + 2 * DAY);
        uint256 before = address(0).balance;
        vm.prank(dave); // the sellers never answer: anyone finalizes
        auction.finalize(shown[0]);
        auction.finalize(shown[1]);
        require(address(0).balance == before + 5 ether && auction.burned() == 5 ether, "burned");
        _expect(KeywordAdAuction.WrongState.selector, "shown");
        auction.finalize(shown[0]);
    }

    function testTheLastWinnerPaysTheReserveWhenNoBidRanksBelow() public {
        _commit(auction, alice, 4 ether, 4 ether);
        vm.warp(NOW + COMMIT);
        _reveal(auction, alice, 4 ether);
        vm.warp(NOW + COMMIT + REVEAL);
        auction.settle(shoes, 0);
        require(auction.getAd(1).payment == RESERVE && auction.getRound(shoes, 0).winners == 1, "the reserve");
        _expect(KeywordAdAuction.WrongState.selector, "revealed");
        auction.settle(shoes, 0);
    }

    function testTiesGoToTheEarlierRevealAndOnlyTheBestStayRanked() public {
        _commit(auction, alice, 1 ether, 1 ether);
        _commit(auction, bob, 3 ether, 3 ether);
        _commit(auction, carol, 3 ether, 3 ether);
        _commit(auction, dave, 2 ether, 2 ether);
        vm.warp(NOW + COMMIT);
        _reveal(auction, alice, 1 ether);
        _reveal(auction, carol, 3 ether);
        _reveal(auction, bob, 3 ether);
        _reveal(auction, dave, 2 ether); // pushes alice out of the slots + 1 best
        KeywordAdAuction.RankedBid[] memory ranking = auction.getRanking(shoes, 0);
        require(ranking.length == 3, "slots + 1");
        require(ranking[0].bidder == carol && ranking[1].bidder == bob && ranking[2].bidder == dave, "order");
        vm.warp(NOW + COMMIT + REVEAL);
        auction.settle(shoes, 0);
        require(auction.getAd(1).payment == 3 ether && auction.getAd(2).payment == 2 ether, "the tie pays its own");
    }

    function testACopiedSealedBidCannotBeRevealedAndBidsAreSealedUntilTheCommitsClose() public {
        _commit(auction, alice, 5 ether, 20 ether); // the deposit hides the amount
        vm.prank(bob); // bob copies alice's sealed bid from the mempool
        auction.commitBid{value: 20 ether}(shoes, _sealed(alice, 5 ether));
        vm.prank(alice);
        _expect(KeywordAdAuction.WrongState.selector, "revealing");
        auction.revealBid(shoes, 0, 5 ether, _ad(alice), bytes32(uint256(uint160(alice))));
        vm.warp(NOW + COMMIT);
        vm.prank(carol); // carol saw nothing to outbid, and commits are closed now
        _expect(KeywordAdAuction.WrongState.selector, "committing");
        auction.commitBid{value: 6 ether}(shoes, _sealed(carol, 6 ether));
        _reveal(auction, alice, 5 ether);
        vm.prank(bob); // bob replays alice's reveal: the seal names alice
        vm.expectRevert(abi.encodeWithSelector(KeywordAdAuction.WrongProof.selector));
        auction.revealBid(shoes, 0, 5 ether, _ad(alice), bytes32(uint256(uint160(alice))));
        vm.warp(NOW + COMMIT + REVEAL);
        vm.prank(alice);
        _expect(KeywordAdAuction.WrongState.selector, "revealing");
        auction.revealBid(shoes, 0, 5 ether, _ad(alice), bytes32(uint256(uint160(alice))));
    }

    function testABidderWhoNeverRevealsLosesThePenaltyAndGetsTheRestBack() public {
        _commit(auction, alice, 5 ether, 10 ether);
        _commit(auction, bob, 3 ether, 10 ether + 7); // the penalty of 7 wei rounds down
        vm.warp(NOW + COMMIT);
        _reveal(auction, alice, 5 ether);
        vm.warp(NOW + COMMIT + REVEAL);
        vm.prank(bob);
        _expect(KeywordAdAuction.WrongState.selector, "settled");
        auction.reclaim(shoes, 0);
        auction.settle(shoes, 0);
        require(auction.getAd(1).payment == RESERVE, "an unrevealed bid sets no price");
        vm.prank(bob);
        require(auction.reclaim(shoes, 0) == 9 ether + 7, "deposit less floor(10%)");
        require(auction.burned() == 1 ether, "the penalty burned");
        vm.prank(bob);
        _expect(KeywordAdAuction.NotEligible.selector, "committed");
        auction.reclaim(shoes, 0);
    }

    function testABidAboveItsDepositCannotBeRevealed() public {
        _commit(auction, alice, 5 ether, 4 ether);
        vm.prank(bob);
        _expect(KeywordAdAuction.BadParameter.selector, "deposit");
        auction.commitBid{value: RESERVE - 1}(shoes, _sealed(bob, RESERVE));
        vm.warp(NOW + COMMIT);
        vm.prank(alice);
        _expect(KeywordAdAuction.BadParameter.selector, "amount");
        auction.revealBid(shoes, 0, 5 ether, _ad(alice), bytes32(uint256(uint160(alice))));
    }

    function testASpamAdFlaggedOverTheThresholdIsHiddenAndRefundedLessThePenalty() public {
        _threeBidRound(auction);
        vm.deal(carol, 100 ether);
        vm.deal(dave, 100 ether);
        vm.prank(carol);
        auction.flag{value: 60 ether}(1);
        require(!auction.getAd(1).hidden && auction.visibleAds(shoes, 0).length == 2, "below the threshold");
        vm.prank(dave);
        _expect(KeywordAdAuction.WrongState.selector, "over");
        auction.unlockFlags(1); // locked while the vote is open
        vm.prank(dave);
        auction.flag{value: 40 ether}(1);
        KeywordAdAuction.Ad memory ad = auction.getAd(1);
        require(ad.hidden && ad.flags == 100 ether, "hidden");
        uint256[] memory shown = auction.visibleAds(shoes, 0);
        require(shown.length == 1 && shown[0] == 2, "only bob's ad is shown");
        require(auction.credit(alice) == 2.7 ether && auction.burned() == 0.3 ether, "3 CMT less 10%");
        vm.prank(bob);
        _expect(KeywordAdAuction.WrongState.selector, "shown");
        auction.flag{value: 1 ether}(1);
        vm.prank(dave);
        auction.unlockFlags(1);
        require(auction.credit(dave) == 40 ether, "the flags come back");
        vm.warp(NOW + 2 * DAY);
        _expect(KeywordAdAuction.WrongState.selector, "shown");
        auction.finalize(1); // its payment was settled when it was hidden
    }

    function testFlagsBelowTheThresholdComeBackAfterTheDisplay() public {
        _threeBidRound(auction);
        vm.deal(dave, 100 ether);
        vm.prank(dave);
        auction.flag{value: 99 ether}(2);
        vm.warp(NOW + 2 * DAY);
        vm.prank(dave);
        _expect(KeywordAdAuction.WrongState.selector, "shown");
        auction.flag{value: 1 ether}(2); // too late
        vm.prank(dave);
        auction.unlockFlags(2);
        auction.finalize(2);
        require(auction.credit(dave) == 99 ether && auction.burned() == 2 ether, "unlocked; bob's payment burned");
    }

    function testInRebateModeThePaymentsFundARebatePoolTheRebaterHandsToBuyers() public {
        KeywordAdAuction rebating = _deploy(rebater);
        _threeBidRound(rebating);
        vm.warp(NOW + 2 * DAY);
        rebating.finalize(1);
        rebating.finalize(2);
        require(rebating.rebatePool() == 5 ether && rebating.burned() == 0, "pooled, not burned");
        address[] memory buyers = new address[](2);
        (buyers[0], buyers[1]) = (address(0xB1), address(0xB2));
        uint256[] memory amounts = new uint256[](2);
        (amounts[0], amounts[1]) = (4 ether, 2 ether);
        vm.prank(rebater);
        _expect(KeywordAdAuction.BadParameter.selector, "amounts");
        rebating.rebate(buyers, amounts); // more than the pool
        amounts[1] = 1 ether;
        vm.prank(alice);
        _expect(KeywordAdAuction.NotEligible.selector, "rebater");
        rebating.rebate(buyers, amounts);
        vm.prank(rebater);
        rebating.rebate(buyers, amounts);
        require(rebating.credit(address(0xB1)) == 4 ether && rebating.rebatePool() == 0, "handed out");
        vm.prank(rebater);
        _expect(KeywordAdAuction.NotEligible.selector, "rebater");
        auction.rebate(buyers, amounts); // the burning deployment has no rebater
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller seller = new ReentrantCaller();
        vm.deal(address(this), 10 ether);
        bytes32 salt = bytes32(uint256(1));
        bytes32 sealedBid = keccak256(abi.encode(shoes, uint64(0), address(seller), 1 ether, _ad(alice), salt));
        seller.act{value: 10 ether}(address(auction), abi.encodeCall(KeywordAdAuction.commitBid, (shoes, sealedBid)));
        vm.warp(NOW + COMMIT);
        seller.act(address(auction), abi.encodeCall(KeywordAdAuction.revealBid, (shoes, 0, 1 ether, _ad(alice), salt)));
        vm.warp(NOW + COMMIT + REVEAL);
        auction.settle(shoes, 0);
        seller.act(address(auction), abi.encodeCall(KeywordAdAuction.reclaim, (shoes, 0)));
        seller.arm(address(auction), abi.encodeCall(PullPayments.withdraw, ()));
        seller.act(address(auction), abi.encodeCall(PullPayments.withdraw, ()));
        require(seller.reentries() == 1 && seller.reentryFailed(), "the nested withdraw was refused");
        require(address(seller).balance == 10 ether - RESERVE, "paid once");
        require(address(auction).balance == RESERVE, "the payment held for the display");
    }

    function testBadDeploymentsAndBidsAreRejected() public {
        _expect(KeywordAdAuction.BadParameter.selector, "periods");
        new KeywordAdAuction(DAY, DAY, 1, 2, RESERVE, THRESHOLD, PENALTY_BPS, address(0));
        _expect(KeywordAdAuction.BadParameter.selector, "slots");
        new KeywordAdAuction(DAY, COMMIT, REVEAL, 11, RESERVE, THRESHOLD, PENALTY_BPS, address(0));
        _expect(KeywordAdAuction.BadParameter.selector, "penaltyBps");
        new KeywordAdAuction(DAY, COMMIT, REVEAL, 2, RESERVE, THRESHOLD, 10_001, address(0));
        _expect(KeywordAdAuction.BadParameter.selector, "spamThreshold");
        new KeywordAdAuction(DAY, COMMIT, REVEAL, 2, RESERVE, 0, PENALTY_BPS, address(0));
        vm.startPrank(alice);
        _expect(KeywordAdAuction.BadParameter.selector, "keyword");
        auction.commitBid{value: 1 ether}(0, keccak256("x"));
        auction.commitBid{value: 1 ether}(shoes, keccak256("x"));
        _expect(KeywordAdAuction.NotEligible.selector, "once");
        auction.commitBid{value: 1 ether}(shoes, keccak256("y"));
        vm.stopPrank();
        vm.warp(NOW + DAY); // round 1's commit window
        vm.prank(alice);
        require(auction.commitBid{value: 1 ether}(shoes, keccak256("y")) == 1, "one a round");
    }

    function testFuzzEveryWeiIsRefundedPaidOrPenalized(uint96 a, uint96 b, uint96 c, bool revealC, bool spam)
        public
    {
        uint256[3] memory amounts = [RESERVE + a % 1e21, RESERVE + b % 1e21, RESERVE + c % 1e21];
        address[3] memory bidders = [alice, bob, carol];
        for (uint256 i = 0; i < 3; ++i) {
            vm.deal(bidders[i], amounts[i] + i); // a bid may exceed setUp's funding
            _commit(auction, bidders[i], amounts[i], amounts[i] + i);
        }
        vm.warp(NOW + COMMIT);
        for (uint256 i = 0; i < (revealC ? 3 : 2); ++i) {
            _reveal(auction, bidders[i], amounts[i]);
        }
        vm.warp(NOW + COMMIT + REVEAL);
        auction.settle(shoes, 0);
        if (spam) {
            vm.deal(dave, THRESHOLD);
            vm.prank(dave);
            auction.flag{value: THRESHOLD}(1);
            vm.prank(dave);
            auction.unlockFlags(1);
        }
        vm.warp(NOW + 2 * DAY);
        for (uint256 id = spam ? 2 : 1; id <= auction.adCount(); ++id) {
            auction.finalize(id);
        }
        uint256 credited = 0;
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(bidders[i]);
            auction.reclaim(shoes, 0);
            credited += auction.credit(bidders[i]);
        }
        credited += auction.credit(dave);
        require(address(auction).balance == credited, "only credits are left");
        uint256 deposits = amounts[0] + amounts[1] + amounts[2] + 3;
        require(deposits + (spam ? THRESHOLD : 0) == credited + auction.burned(), "nothing created or lost");
    }
}
