// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {Groups} from "../../src/library/Groups.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract GroupsTest {
    Groups groups;
    uint256 id;
    address platform = address(0x9A7F);
    address owner = address(0x0E);
    address moderator = address(0x30D);
    address alice = address(0xA11CE);
    address bob = address(0xB0B);
    address carol = address(0xCA201);
    address promoter = address(0x9209);
    uint256 constant FEE = 5 ether;
    uint256 constant DUES = 1 ether;
    uint256 constant PROMO = 3 ether;
    uint64 constant MONTH = 30 days;
    uint64 constant NOW = 1_000_000;

    function setUp() public {
        vm.warp(NOW);
        groups = new Groups(platform, FEE);
        vm.deal(owner, 100 ether);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        vm.deal(carol, 100 ether);
        vm.deal(promoter, 100 ether);
        vm.prank(owner);
        id = groups.createGroup{value: FEE}(moderator, DUES, PROMO, MONTH, 2_000);
    }

    function _join(address member, uint256 periods) internal {
        vm.prank(member);
        groups.payDues{value: DUES * periods}(id, periods);
    }

    function _event(uint256 target) internal returns (uint256 eventId) {
        vm.prank(alice);
        eventId = groups.proposeEvent(id, target, NOW + 7 days, keccak256("meetup"));
    }

    function testCreationFeeGoesToThePlatformAndDuesAreSplitWithTheModerator() public {
        require(groups.credit(platform) == FEE, "creation fee");
        _join(alice, 3);
        require(groups.memberUntil(id, alice) == NOW + 3 * MONTH && groups.isMember(id, alice), "three months");
        require(groups.credit(moderator) == 0.6 ether && groups.credit(owner) == 2.4 ether, "20% to the moderator");
        vm.warp(NOW + MONTH);
        _join(alice, 1);
        require(groups.memberUntil(id, alice) == NOW + 4 * MONTH, "extended from the current end");
        vm.warp(NOW + 4 * MONTH);
        require(!groups.isMember(id, alice), "lapsed");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongValue.selector, FEE));
        groups.createGroup{value: 1 ether}(moderator, DUES, PROMO, MONTH, 0);
    }

    function testRoundingGivesTheOwnerTheDust() public {
        vm.prank(owner);
        uint256 odd = groups.createGroup{value: FEE}(moderator, 7, 0, MONTH, 3_333);
        vm.prank(alice);
        groups.payDues{value: 7}(odd, 1);
        require(groups.credit(moderator) == 2 && groups.credit(owner) == 5, "floor(7 * 33.33%) = 2, the owner 5");
    }

    function testPromotersPayForAccessAndOnlyThenPromote() public {
        vm.prank(promoter);
        vm.expectRevert(abi.encodeWithSelector(Groups.NotAllowed.selector));
        groups.promote(id, keccak256("50% off shoes"));
        vm.prank(promoter);
        groups.buyPromoterAccess{value: PROMO}(id, 1);
        vm.prank(promoter);
        groups.promote(id, keccak256("50% off shoes"));
        require(groups.credit(moderator) == 0.6 ether, "the moderator's share of the access fee");
        require(!groups.isMember(id, promoter), "access is not membership");
        vm.warp(NOW + MONTH);
        vm.prank(promoter);
        vm.expectRevert(abi.encodeWithSelector(Groups.NotAllowed.selector));
        groups.promote(id, keccak256("expired"));
    }

    function testAFundedEventPaysItsOrganizerAndReturnsTheExcess() public {
        _join(alice, 1);
        _join(bob, 1);
        uint256 eventId = _event(10 ether);
        vm.prank(alice);
        groups.fund{value: 4 ether}(eventId);
        vm.prank(bob);
        uint256 accepted = groups.fund{value: 9 ether}(eventId);
        require(accepted == 6 ether && bob.balance == 100 ether - DUES - 6 ether, "only the room left is taken");
        require(groups.getEvent(eventId).funded && groups.credit(alice) == 10 ether, "credited to the organizer");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongState.selector, "open"));
        groups.fund{value: 1 ether}(eventId);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongState.selector, "missed"));
        groups.refund(eventId);
        uint256 before = alice.balance;
        vm.prank(alice);
        groups.withdraw();
        require(alice.balance == before + 10 ether, "withdrawn");
    }

    function testOnlyMembersProposeAndFund() public {
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Groups.NotAllowed.selector));
        groups.proposeEvent(id, 1 ether, NOW + 1 days, bytes32(0));
        _join(alice, 1);
        uint256 eventId = _event(1 ether);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Groups.NotAllowed.selector));
        groups.fund{value: 1 ether}(eventId);
    }

    function testAnEventThatMissesItsTargetRefundsEveryFunderWithoutTheOrganizer() public {
        _join(alice, 1);
        _join(bob, 1);
        uint256 eventId = _event(10 ether);
        vm.prank(bob);
        groups.fund{value: 3 ether}(eventId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongState.selector, "missed"));
        groups.refund(eventId);
        vm.warp(NOW + 7 days);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongState.selector, "open"));
        groups.fund{value: 7 ether}(eventId);
        vm.prank(bob);
        groups.refund(eventId);
        require(bob.balance == 100 ether - DUES, "everything back");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PullPayments.NothingDue.selector));
        groups.refund(eventId);
        require(groups.credit(alice) == 0, "the organizer got nothing");
    }

    function testRankingOrdersMembersByParticipation() public {
        _join(alice, 1);
        _join(bob, 2);
        _join(carol, 1);
        uint256 eventId = _event(2 ether);
        vm.prank(carol);
        groups.fund{value: 2 ether}(eventId);
        address[] memory attendees = new address[](1);
        attendees[0] = carol;
        vm.prank(alice);
        groups.checkIn(eventId, attendees);
        address[] memory ranked = groups.ranking(id);
        require(ranked.length == 3 && ranked[0] == carol && ranked[1] == bob && ranked[2] == alice, "4, 2, 1 points");
        require(groups.points(id, carol) == 4, "dues 1 + funding 1 + attendance 2");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Groups.BadParameter.selector, "attendee"));
        groups.checkIn(eventId, attendees); // once per event
    }

    function testRankingKeepsTheTenMostActive() public {
        for (uint160 i = 1; i <= 11; ++i) {
            address member = address(0x1000 + i);
            vm.deal(member, 20 ether);
            _join(member, i);
        }
        address[] memory ranked = groups.ranking(id);
        require(ranked.length == 10 && ranked[0] == address(0x100B) && ranked[9] == address(0x1002), "top ten");
        _join(address(0x1001), 10); // 11 points: past everyone but the member with 11 paid first
        ranked = groups.ranking(id);
        require(ranked[0] == address(0x100B) && ranked[1] == address(0x1001), "moved up, ties keep the first");
        require(ranked[9] == address(0x1003), "the last one dropped out");
    }

    function testATermsChangeAheadOfAPaymentMakesItRevertInsteadOfOvercharging() public {
        vm.prank(owner);
        groups.setTerms(id, 2 ether, PROMO); // lands before alice's payment at the old dues
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Groups.WrongValue.selector, 2 ether));
        groups.payDues{value: DUES}(id, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Groups.NotAllowed.selector));
        groups.setTerms(id, 0, 0);
    }

    function testReentrantRefundPaysOnce() public {
        ReentrantCaller attacker = new ReentrantCaller();
        attacker.act{value: DUES}(address(groups), abi.encodeCall(Groups.payDues, (id, 1)));
        _join(alice, 1);
        uint256 eventId = _event(10 ether);
        attacker.act{value: 2 ether}(address(groups), abi.encodeCall(Groups.fund, (eventId)));
        vm.prank(alice);
        groups.fund{value: 3 ether}(eventId);
        vm.warp(NOW + 7 days);
        attacker.arm(address(groups), abi.encodeCall(Groups.refund, (eventId)));
        attacker.act(address(groups), abi.encodeCall(Groups.refund, (eventId)));
        require(attacker.reentries() == 1 && attacker.reentryFailed(), "the nested refund was refused");
        require(address(attacker).balance == 2 ether, "paid once");
        uint256 credits = groups.credit(platform) + groups.credit(owner) + groups.credit(moderator);
        require(address(groups).balance == credits + 3 ether, "alice's contribution and the credits remain");
    }

    function testBadParametersAreRejected() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(Groups.BadParameter.selector, "period"));
        groups.createGroup{value: FEE}(moderator, DUES, PROMO, 60, 0);
        vm.expectRevert(abi.encodeWithSelector(Groups.BadParameter.selector, "moderatorBps"));
        groups.createGroup{value: FEE}(moderator, DUES, PROMO, MONTH, 10_001);
        vm.expectRevert(abi.encodeWithSelector(Groups.BadParameter.selector, "group"));
        groups.payDues{value: DUES}(99, 1);
        vm.expectRevert(abi.encodeWithSelector(Groups.BadParameter.selector, "periods"));
        groups.payDues(id, 0);
        vm.stopPrank();
    }
}
