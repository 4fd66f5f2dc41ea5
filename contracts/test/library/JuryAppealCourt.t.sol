// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {ArbitratedEscrow} from "../../src/library/ArbitratedEscrow.sol";
import {JuryAppealCourt} from "../../src/library/JuryAppealCourt.sol";
import {JuryClient} from "../../src/library/JuryClient.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";
import {JuryPanel} from "./JuryPanel.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract JuryAppealCourtTest is JuryPanel {
    JuryAppealCourt court;
    ArbitratedEscrow escrow;
    address buyer = address(0xB0B);
    address seller = address(0x5E11);
    address carrier = address(0xCA);
    address arbiter = address(0xA1);
    address keeper = address(0x6EE9);
    uint128 constant PRICE = 10 ether;
    uint128 constant DEPOSIT = 2 ether;
    uint128 constant ARBITER_FEE = 1 ether;
    uint256 constant APPEAL_FEE = 0.3 ether;
    uint256 constant STAKE = 1 ether;
    uint64 constant DAY = 1 days;
    ArbitratedEscrow.Party constant BUYER = ArbitratedEscrow.Party.Buyer;
    ArbitratedEscrow.Party constant SELLER = ArbitratedEscrow.Party.Seller;

    function setUp() public {
        vm.warp(1_000_000);
        vm.roll(100);
        NativeMocks.etchAll();
        court = new JuryAppealCourt(3, STAKE, DAY, DAY, APPEAL_FEE);
        escrow = new ArbitratedEscrow(DAY, 3 * DAY, address(court), 2 * DAY, 5 * DAY);
        _seatPanel(5, 2 * STAKE);
        vm.deal(buyer, 100 ether);
        vm.deal(seller, 100 ether);
        vm.deal(keeper, 1 ether);
    }

    /// @dev A deal between `buyer_` and the seller that the arbiter ruled for `winner`.
    function _ruled(address buyer_, ArbitratedEscrow.Party winner) internal returns (uint256 id) {
        vm.prank(buyer_);
        id = escrow.open{value: PRICE + DEPOSIT}(seller, carrier, PRICE, uint64(block.timestamp + 7 * DAY), DAY);
        vm.prank(seller);
        escrow.join{value: DEPOSIT}(id);
        vm.prank(seller);
        escrow.dispute(id, keccak256("the buyer keeps a delivered item"));
        vm.prank(arbiter);
        escrow.bid(id, ARBITER_FEE);
        vm.prank(buyer_);
        escrow.chooseArbiter(id, 0);
        vm.prank(seller);
        escrow.chooseArbiter(id, 0);
        vm.prank(arbiter);
        escrow.rule(id, winner, keccak256("reasons"));
    }

    function _appeal(address appellant, uint256 dealId) internal returns (uint256 appealId) {
        vm.prank(appellant);
        appealId = court.appeal{value: APPEAL_FEE}(escrow, dealId, keccak256("the arbiter never saw the photos"));
    }

    function _caseOf(uint256 appealId) internal view returns (uint256) {
        return court.getAppeal(appealId).caseId;
    }

    function _settled(uint256 toBuyer, uint256 toSeller) internal view {
        require(escrow.getDeal(1).stage == ArbitratedEscrow.Stage.Closed, "the deal settled");
        require(escrow.credit(buyer) == toBuyer, "buyer credit");
        require(escrow.credit(seller) == toSeller, "seller credit");
        require(escrow.credit(arbiter) == ARBITER_FEE, "the arbiter is paid its fee whatever the appeal decides");
    }

    function testAYesMajorityOverturnsTheRulingAndTheDealSettlesForTheAppellant() public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        require(escrow.getDeal(deal).stage == ArbitratedEscrow.Stage.Appealed, "the court holds the deal");
        require(address(jury).balance == 5 * 2 * STAKE + APPEAL_FEE, "the fee went to the jury");
        _hear(_caseOf(appealId), _votes(YES, YES, NO));
        vm.prank(keeper);
        require(court.decide(appealId) == JuryAppealCourt.Outcome.Overturned, "overturned");
        _settled(PRICE + 2 * DEPOSIT - ARBITER_FEE, 0);
        require(court.credit(buyer) == 0, "a decided jury returns nothing but dust (none here)");
    }

    function testANoMajorityUpholdsTheRuling() public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        _hear(_caseOf(appealId), _votes(NO, SILENT, NO));
        require(court.decide(appealId) == JuryAppealCourt.Outcome.Upheld, "upheld");
        _settled(0, PRICE + 2 * DEPOSIT - ARBITER_FEE);
    }

    function testTheSellerAppealsARulingForTheBuyer() public {
        uint256 deal = _ruled(buyer, BUYER);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JuryAppealCourt.NotAllowed.selector));
        court.appeal{value: APPEAL_FEE}(escrow, deal, bytes32(0)); // the winner has nothing to appeal
        uint256 appealId = _appeal(seller, deal);
        _hear(_caseOf(appealId), _votes(YES, YES, YES));
        court.decide(appealId);
        _settled(0, PRICE + 2 * DEPOSIT - ARBITER_FEE);
    }

    function testAnUndecidedJuryLeavesTheRulingAndItsPotIsCreditedToTheAppellant() public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        _hear(_caseOf(appealId), _votes(SILENT, SILENT, SILENT));
        require(court.decide(appealId) == JuryAppealCourt.Outcome.Undecided, "undecided");
        _settled(0, PRICE + 2 * DEPOSIT - ARBITER_FEE);
        // nobody revealed: IJury returns the fee and the three silent stakes to the court, which credits the appellant
        require(court.credit(buyer) == APPEAL_FEE + 3 * STAKE, "the pot is the appellant's");
        require(address(court).balance == court.credit(buyer), "the court holds only what it credited");
        uint256 before = buyer.balance;
        vm.prank(buyer);
        court.withdraw();
        require(buyer.balance == before + APPEAL_FEE + 3 * STAKE, "withdrawn");
    }

    function testAnAppealIsRefusedWithAPreciseErrorAndNothingChanges() public {
        uint256 deal = _ruled(buyer, SELLER);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "appealFee"));
        court.appeal{value: APPEAL_FEE - 1}(escrow, deal, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "dealId"));
        court.appeal{value: APPEAL_FEE}(escrow, deal + 1, bytes32(0));
        ArbitratedEscrow other = new ArbitratedEscrow(DAY, DAY, address(0), 0, 0);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "escrow"));
        court.appeal{value: APPEAL_FEE}(other, deal, bytes32(0));
        ArbitratedEscrow hasty = new ArbitratedEscrow(DAY, DAY, address(court), DAY, 2 * DAY);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "appealPeriod"));
        court.appeal{value: APPEAL_FEE}(hasty, deal, bytes32(0));
        vm.stopPrank();
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(JuryAppealCourt.NotAllowed.selector));
        court.appeal{value: APPEAL_FEE}(escrow, deal, bytes32(0));
        vm.warp(block.timestamp + 2 * DAY); // the appeal window is over
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ArbitratedEscrow.Deadline.selector, uint64(block.timestamp)));
        court.appeal{value: APPEAL_FEE}(escrow, deal, bytes32(0));
        require(court.appealCount() == 0 && address(court).balance == 0, "nothing recorded, nothing kept");
        require(escrow.getDeal(deal).stage == ArbitratedEscrow.Stage.Ruled, "the deal is as ruled");
        escrow.finalize(deal);
        _settled(0, PRICE + 2 * DEPOSIT - ARBITER_FEE);
    }

    function testADecisionBeforeTheJuryCanDecideChangesNothing() public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        (bool ok,) = address(court).call(abi.encodeCall(court.decide, (appealId))); // not drawn yet: IJury's reason
        require(!ok, "refused before the draw");
        _draw(_caseOf(appealId));
        (ok,) = address(court).call(abi.encodeCall(court.decide, (appealId)));
        require(!ok, "refused during the windows");
        require(court.getAppeal(appealId).outcome == JuryAppealCourt.Outcome.Pending, "still pending");
        require(escrow.getDeal(deal).stage == ArbitratedEscrow.Stage.Appealed, "still held");
    }

    function testAJuryThatDecidesAfterTheAppealPeriodLapsesAndTheRulingStands() public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        vm.warp(block.timestamp + 4 * DAY); // nobody drew the jurors for four days
        _hear(_caseOf(appealId), _votes(YES, YES, YES));
        escrow.finalize(deal); // the appeal period ended: the arbiter's ruling settles
        require(court.decide(appealId) == JuryAppealCourt.Outcome.Lapsed, "lapsed");
        _settled(0, PRICE + 2 * DEPOSIT - ARBITER_FEE);
        vm.expectRevert(abi.encodeWithSelector(JuryAppealCourt.WrongOutcome.selector, JuryAppealCourt.Outcome.Lapsed));
        court.decide(appealId);
    }

    function testCasesFinalizedDirectlyOnTheJuryAreEachCreditedOnceToTheirAppellant() public {
        uint256 first = _appeal(buyer, _ruled(buyer, SELLER));
        uint256 second = _appeal(seller, _ruled(buyer, BUYER));
        _hear(_caseOf(first), _votes(SILENT, SILENT, SILENT));
        _draw(_caseOf(second));
        (,,,,, uint64 revealEnds) = jury.caseInfo(_caseOf(second));
        vm.warp(revealEnds + 1);
        vm.startPrank(keeper); // someone finalizes both on IJury itself: the returns arrive without a call
        jury.finalize(_caseOf(first));
        jury.finalize(_caseOf(second));
        vm.stopPrank();
        court.decide(second);
        court.decide(first);
        require(court.credit(buyer) == APPEAL_FEE + 3 * STAKE, "the first appellant's pot");
        require(court.credit(seller) == APPEAL_FEE + 3 * STAKE, "the second appellant's pot");
        require(address(court).balance == 2 * (APPEAL_FEE + 3 * STAKE), "no wei credited twice");
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller appellant = new ReentrantCaller();
        vm.deal(address(appellant), 100 ether);
        uint256 deal = _ruled(address(appellant), SELLER);
        bytes memory call = abi.encodeCall(court.appeal, (escrow, deal, bytes32(0)));
        appellant.act{value: APPEAL_FEE}(address(court), call);
        _hear(court.getAppeal(1).caseId, _votes(SILENT, SILENT, SILENT));
        court.decide(1);
        uint256 owed = court.credit(address(appellant));
        appellant.arm(address(court), abi.encodeCall(court.withdraw, ()));
        uint256 before = address(appellant).balance;
        appellant.act(address(court), abi.encodeCall(court.withdraw, ()));
        require(appellant.reentries() == 1 && appellant.reentryFailed(), "the nested withdraw was refused");
        require(address(appellant).balance == before + owed, "paid once");
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzzEveryWeiIsAccountedFor(uint8 a, uint8 b, uint8 c) public {
        uint256 deal = _ruled(buyer, SELLER);
        uint256 appealId = _appeal(buyer, deal);
        uint256 total = address(jury).balance + address(court).balance + address(escrow).balance;
        for (uint256 i = 0; i < panel.length; ++i) total += panel[i].balance;
        address[] memory drawn = _hear(_caseOf(appealId), _votes(a % 3, b % 3, c % 3));
        court.decide(appealId);
        uint256 after_ = address(jury).balance + address(court).balance + address(escrow).balance;
        for (uint256 i = 0; i < panel.length; ++i) after_ += panel[i].balance;
        require(after_ == total, "no wei created or lost");
        require(address(court).balance == court.credit(buyer), "the court holds exactly what it owes");
        require(escrow.getDeal(deal).stage == ArbitratedEscrow.Stage.Closed, "the deal settled");
        require(drawn.length == 3, "three jurors drawn");
    }
}
