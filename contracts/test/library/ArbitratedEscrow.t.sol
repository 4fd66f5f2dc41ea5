// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {ArbitratedEscrow} from "../../src/library/ArbitratedEscrow.sol";

/// @notice A seller that tries to withdraw twice by re-entering from its receive function.
contract ReentrantSeller {
    ArbitratedEscrow private immutable escrow;
    uint256 public reentries;
    bool public reentryFailed;

    constructor(ArbitratedEscrow escrow_) {
        escrow = escrow_;
    }

    function join(uint256 id) external payable {
        escrow.join{value: msg.value}(id);
    }

    function withdraw() external {
        escrow.withdraw();
    }

    receive() external payable {
        if (reentries++ == 0) {
            try escrow.withdraw() {} catch {
                reentryFailed = true;
            }
        }
    }
}

/// @notice The appeal court of the tests: it forwards holdForAppeal/decideAppeal for the test contract.
contract Court {
    function hold(ArbitratedEscrow escrow, uint256 id) external {
        escrow.holdForAppeal(id);
    }

    function decide(ArbitratedEscrow escrow, uint256 id, ArbitratedEscrow.Party winner) external {
        escrow.decideAppeal(id, winner, keccak256("appeal reasons"));
    }
}

contract ArbitratedEscrowTest {
    event Evidence(uint256 indexed id, address indexed by, bytes32 evidence);
    event ArbiterAppointed(uint256 indexed id, uint256 index, address indexed arbiter, uint256 fee, uint64 rulingEnds);

    ArbitratedEscrow escrow;
    address buyer = address(0xB0B);
    address seller = address(0x5E11);
    address carrier = address(0xCA);
    address arbiter = address(0xA1);
    address rival = address(0xA2);
    uint128 constant PRICE = 10 ether;
    uint128 constant DEPOSIT = 2 ether;
    uint64 constant DAY = 1 days;

    function setUp() public {
        vm.warp(1_000_000);
        escrow = new ArbitratedEscrow(DAY, 3 * DAY, address(0), 0, 0);
        vm.deal(buyer, 100 ether);
        vm.deal(seller, 100 ether);
    }

    function _open() internal returns (uint256 id) {
        vm.prank(buyer);
        id = escrow.open{value: PRICE + DEPOSIT}(seller, carrier, PRICE, uint64(block.timestamp + 7 * DAY), 2 * DAY);
    }

    function _active() internal returns (uint256 id) {
        id = _open();
        vm.prank(seller);
        escrow.join{value: DEPOSIT}(id);
    }

    function _disputed() internal returns (uint256 id) {
        id = _active();
        vm.prank(buyer);
        escrow.dispute(id, keccak256("item never arrived"));
        vm.prank(arbiter);
        escrow.bid(id, 1 ether);
        vm.prank(rival);
        escrow.bid(id, 0.5 ether);
    }

    function _appointed() internal returns (uint256 id) {
        id = _disputed();
        vm.prank(buyer);
        escrow.chooseArbiter(id, 0);
        vm.prank(seller);
        escrow.chooseArbiter(id, 0);
    }

    function _stage(uint256 id) internal view returns (ArbitratedEscrow.Stage) {
        return escrow.getDeal(id).stage;
    }

    function _credits(uint256 b, uint256 s, uint256 a) internal view {
        require(escrow.credit(buyer) == b, "buyer credit");
        require(escrow.credit(seller) == s, "seller credit");
        require(escrow.credit(arbiter) == a, "arbiter credit");
        require(address(escrow).balance == b + s + a, "every wei is credited");
    }

    function _expectStage(ArbitratedEscrow.Stage current) internal {
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.WrongStage.selector, current));
    }

    function testAcceptanceReleasesPriceToSellerAndDepositsBack() public {
        uint256 id = _active();
        vm.prank(buyer);
        escrow.acceptDelivery(id);
        _credits(0, PRICE + DEPOSIT, 0);
        require(buyer.balance == 100 ether - PRICE, "the buyer's deposit came back in the call");
        vm.prank(seller);
        escrow.withdraw();
        require(seller.balance == 100 ether + PRICE, "seller paid");
        require(escrow.credit(seller) == 0, "credit spent");
    }

    function testDeliveryConfirmationReleasesAfterSilentInspection() public {
        uint256 id = _active();
        vm.prank(carrier);
        escrow.confirmDelivery(id, keccak256("tracking 1Z999"));
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp + 2 * DAY)));
        escrow.release(id);
        vm.warp(block.timestamp + 2 * DAY);
        vm.prank(rival);
        escrow.release(id); // the buyer never answered: anyone may release
        _credits(DEPOSIT, PRICE + DEPOSIT, 0);
    }

    function testOnlyTheConfirmerConfirms() public {
        uint256 id = _active();
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.confirmDelivery(id, bytes32(0));
    }

    function testZeroInspectionReleasesOnConfirmation() public {
        vm.prank(buyer);
        uint256 id = escrow.open{value: PRICE + DEPOSIT}(seller, carrier, PRICE, uint64(block.timestamp + DAY), 0);
        vm.prank(seller);
        escrow.join{value: DEPOSIT}(id);
        vm.prank(carrier);
        escrow.confirmDelivery(id, keccak256("signed for"));
        require(_stage(id) == ArbitratedEscrow.Stage.Closed, "closed");
        _credits(DEPOSIT, PRICE + DEPOSIT, 0);
    }

    function testUndeliveredDealRefundsBuyerAfterDeadline() public {
        uint256 id = _active();
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp + 7 * DAY)));
        escrow.refundUndelivered(id);
        vm.warp(block.timestamp + 7 * DAY);
        vm.prank(carrier);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        escrow.confirmDelivery(id, bytes32(0));
        escrow.refundUndelivered(id);
        _credits(PRICE + DEPOSIT, DEPOSIT, 0);
    }

    function testBuyerCancelsAnOfferTheSellerNeverJoins() public {
        uint256 id = _open();
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "deposit"));
        escrow.join{value: DEPOSIT - 1}(id);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.cancel(id);
        vm.prank(buyer);
        escrow.cancel(id);
        _credits(PRICE + DEPOSIT, 0, 0);
        vm.prank(seller);
        _expectStage(ArbitratedEscrow.Stage.Closed);
        escrow.join{value: DEPOSIT}(id);
    }

    function testOpenRejectsBadTerms() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "deposit"));
        escrow.open{value: PRICE}(seller, carrier, PRICE, uint64(block.timestamp + DAY), 0);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "seller"));
        escrow.open{value: PRICE + 1}(buyer, carrier, PRICE, uint64(block.timestamp + DAY), 0);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "deliverBy"));
        escrow.open{value: PRICE + 1}(seller, carrier, PRICE, uint64(block.timestamp), 0);
        // the stored widths: amounts in uint96, times in uint40, the inspection in uint32
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "price"));
        escrow.open{value: PRICE + 1}(seller, carrier, uint128(type(uint96).max) + 1, uint64(block.timestamp + DAY), 0);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "deliverBy"));
        escrow.open{value: PRICE + 1}(seller, carrier, PRICE, uint64(type(uint40).max) + 1, 0);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "inspection"));
        escrow.open{value: PRICE + 1}(seller, carrier, PRICE, uint64(block.timestamp + DAY), uint64(type(uint32).max) + 1);
        vm.stopPrank();
    }

    function testBuyerWinsRulingAndSellersDepositPaysTheArbiter() public {
        uint256 id = _appointed();
        vm.prank(arbiter);
        escrow.rule(id, ArbitratedEscrow.Party.Buyer, keccak256("reasons"));
        // buyer: price back, own deposit, seller's deposit less the fee; arbiter: the fee
        _credits(PRICE + 2 * DEPOSIT - 1 ether, 0, 1 ether);
    }

    function testSellerWinsRulingAndBuyersDepositPaysTheArbiter() public {
        uint256 id = _appointed();
        vm.prank(arbiter);
        escrow.rule(id, ArbitratedEscrow.Party.Seller, keccak256("reasons"));
        _credits(0, PRICE + 2 * DEPOSIT - 1 ether, 1 ether);
    }

    function testOnlyTheAppointedArbiterRules() public {
        uint256 id = _appointed();
        vm.prank(rival);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.rule(id, ArbitratedEscrow.Party.Buyer, bytes32(0));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.rule(id, ArbitratedEscrow.Party.Buyer, bytes32(0));
    }

    function testPartiesCannotBidAndFeesAreCappedByTheDeposit() public {
        uint256 id = _active();
        vm.prank(seller);
        escrow.dispute(id, keccak256("buyer refuses a delivered item"));
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.bid(id, 0);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.BadParameter.selector, "fee"));
        escrow.bid(id, DEPOSIT + 1);
        vm.prank(arbiter);
        escrow.bid(id, DEPOSIT);
        vm.prank(rival);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.chooseArbiter(id, 0);
    }

    function testALaterCheaperBidCannotReplaceTheChosenOne() public {
        uint256 id = _disputed();
        vm.prank(buyer);
        escrow.chooseArbiter(id, 1);
        // a bid placed ahead of the seller's choice (front-running) adds an offer but changes nothing chosen
        vm.prank(address(0xA3));
        escrow.bid(id, 0);
        vm.expectEmit(true, true, false, true);
        emit ArbiterAppointed(id, 1, rival, 0.5 ether, uint64(block.timestamp + 3 * DAY));
        vm.prank(seller);
        escrow.chooseArbiter(id, 1);
        require(escrow.getDeal(id).arbiter == rival && escrow.getDeal(id).fee == 0.5 ether, "bid 1 appointed");
    }

    function testSilentPartyLosesItsSayWhenBiddingCloses() public {
        uint256 id = _disputed();
        vm.prank(seller);
        escrow.chooseArbiter(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp + DAY)));
        escrow.closeBidding(id);
        vm.warp(block.timestamp + DAY);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        escrow.chooseArbiter(id, 1);
        escrow.closeBidding(id);
        require(escrow.getDeal(id).arbiter == arbiter, "the seller's choice stands");
    }

    function testDifferentChoicesAppointTheLowerFee() public {
        uint256 id = _disputed();
        vm.prank(buyer);
        escrow.chooseArbiter(id, 0);
        vm.prank(seller);
        escrow.chooseArbiter(id, 1);
        vm.warp(block.timestamp + DAY);
        escrow.closeBidding(id);
        require(escrow.getDeal(id).arbiter == rival, "the lower fee stands");
    }

    function testNoChoiceUnwindsTheDeal() public {
        uint256 id = _disputed();
        vm.warp(block.timestamp + DAY);
        escrow.closeBidding(id);
        _credits(PRICE + DEPOSIT, DEPOSIT, 0);
    }

    function testArbiterWhoNeverRulesIsReplacedAndEarnsNothing() public {
        uint256 id = _appointed();
        vm.warp(block.timestamp + 3 * DAY);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        escrow.rule(id, ArbitratedEscrow.Party.Seller, bytes32(0));
        escrow.replaceArbiter(id);
        require(_stage(id) == ArbitratedEscrow.Stage.Disputed, "bidding reopened");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.chooseArbiter(id, 0); // the failed arbiter's bid
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.bid(id, 0);
        vm.prank(buyer);
        escrow.chooseArbiter(id, 1);
        vm.prank(seller);
        escrow.chooseArbiter(id, 1);
        vm.prank(rival);
        escrow.rule(id, ArbitratedEscrow.Party.Seller, bytes32(0));
        require(escrow.credit(rival) == 0.5 ether, "the new arbiter is paid");
        require(escrow.credit(arbiter) == 0, "the failed arbiter is not");
        require(escrow.credit(seller) == PRICE + 2 * DEPOSIT - 0.5 ether, "the seller wins the rest");
        require(address(escrow).balance == PRICE + 2 * DEPOSIT, "every wei is credited");
    }

    function testEvidenceIsRecordedAsContentHashEvents() public {
        uint256 id = _appointed();
        bytes32 photo = keccak256("photo of the damaged parcel");
        vm.expectEmit(true, true, false, true);
        emit Evidence(id, buyer, photo);
        vm.prank(buyer);
        escrow.submitEvidence(id, photo);
        vm.prank(arbiter);
        escrow.submitEvidence(id, keccak256("hearing notes"));
        vm.prank(rival);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.submitEvidence(id, photo);
    }

    function testDisputeAfterTheInspectionWindowIsTooLate() public {
        uint256 id = _active();
        vm.prank(carrier);
        escrow.confirmDelivery(id, bytes32(0));
        vm.warp(block.timestamp + 2 * DAY);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        escrow.dispute(id, bytes32(0));
    }

    /// An escrow with an appeal court (a two-day window, five days to decide) and a deal ruled for `winner`.
    function _ruledUnderCourt(ArbitratedEscrow.Party winner) internal returns (Court court, uint256 id) {
        court = new Court();
        escrow = new ArbitratedEscrow(DAY, 3 * DAY, address(court), 2 * DAY, 5 * DAY);
        id = _appointed();
        vm.prank(arbiter);
        escrow.rule(id, winner, bytes32(0));
    }

    function testAppealCourtOverturnsWithinItsWindow() public {
        (Court court, uint256 id) = _ruledUnderCourt(ArbitratedEscrow.Party.Seller);
        require(escrow.credit(seller) == 0 && escrow.credit(arbiter) == 0, "nothing settles before the window ends");
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.NotAllowed.selector));
        escrow.holdForAppeal(id); // only the court
        court.hold(escrow, id);
        vm.warp(block.timestamp + 2 * DAY);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp + 3 * DAY)));
        escrow.finalize(id);
        court.decide(escrow, id, ArbitratedEscrow.Party.Buyer);
        _credits(PRICE + 2 * DEPOSIT - 1 ether, 0, 1 ether);
    }

    function testRulingStandsWhenTheCourtDoesNotAct() public {
        (Court court, uint256 id) = _ruledUnderCourt(ArbitratedEscrow.Party.Seller);
        vm.warp(block.timestamp + 2 * DAY);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        court.hold(escrow, id); // too late
        escrow.finalize(id);
        _credits(0, PRICE + 2 * DEPOSIT - 1 ether, 1 ether);
    }

    function testHeldRulingStandsWhenTheCourtNeverDecides() public {
        (Court court, uint256 id) = _ruledUnderCourt(ArbitratedEscrow.Party.Buyer);
        court.hold(escrow, id);
        vm.warp(block.timestamp + 5 * DAY);
        escrow.finalize(id);
        _credits(PRICE + 2 * DEPOSIT - 1 ether, 0, 1 ether);
    }

    function testReentrantReceiverIsPaidOnce() public {
        ReentrantSeller attacker = new ReentrantSeller(escrow);
        vm.deal(address(attacker), 0);
        vm.deal(address(this), DEPOSIT);
        vm.prank(buyer);
        uint256 id = escrow.open{value: PRICE + DEPOSIT}(address(attacker), carrier, PRICE, uint64(block.timestamp + DAY), 0);
        attacker.join{value: DEPOSIT}(id);
        _open(); // another buyer's funds sit in the escrow too
        vm.prank(buyer);
        escrow.acceptDelivery(id);
        attacker.withdraw();
        require(attacker.reentries() == 1 && attacker.reentryFailed(), "the nested withdraw was refused");
        require(address(attacker).balance == PRICE + DEPOSIT, "paid its credit exactly once");
        require(address(escrow).balance == PRICE + DEPOSIT, "the other deal's funds stay");
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.PaymentFailed.selector));
        attacker.withdraw();
    }

    /// forge-config: default.fuzz.runs = 128
    function testFuzzEveryOutcomeCreditsExactlyWhatWasPaid(uint96 price, uint96 deposit, uint96 fee, bool buyerWins)
        public
    {
        deposit = uint96(1 + uint256(deposit) % 1e24);
        fee = uint96(uint256(fee) % (uint256(deposit) + 1));
        vm.deal(buyer, uint256(price) + deposit);
        vm.deal(seller, deposit);
        vm.prank(buyer);
        uint256 id = escrow.open{value: uint256(price) + deposit}(seller, carrier, price, uint64(block.timestamp + DAY), 0);
        vm.prank(seller);
        escrow.join{value: deposit}(id);
        vm.prank(seller);
        escrow.dispute(id, bytes32(0));
        vm.prank(arbiter);
        escrow.bid(id, fee);
        vm.prank(buyer);
        escrow.chooseArbiter(id, 0);
        vm.prank(seller);
        escrow.chooseArbiter(id, 0);
        vm.prank(arbiter);
        escrow.rule(id, buyerWins ? ArbitratedEscrow.Party.Buyer : ArbitratedEscrow.Party.Seller, bytes32(0));
        uint256 total = escrow.credit(buyer) + escrow.credit(seller) + escrow.credit(arbiter);
        require(total == uint256(price) + 2 * uint256(deposit), "no wei lost or created");
        require(escrow.credit(arbiter) == fee, "the arbiter gets its fee");
    }
}
