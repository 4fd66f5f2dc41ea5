// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {ArbitratedEscrow} from "../../src/library/ArbitratedEscrow.sol";
import {DeliveryOracle} from "../../src/library/DeliveryOracle.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";
import {OracleQuorumFixture} from "./OracleQuorumFixture.sol";

contract DeliveryOracleTest is OracleQuorumFixture {
    event DeliveryConfirmed(uint256 indexed id, bytes32 proof, uint64 inspectionEnds);

    ArbitratedEscrow escrow;
    DeliveryOracle confirmer;
    address buyer = address(0xB0B);
    address seller = address(0x5E11);
    bytes32 parcel = keccak256("carrier tracking number 1Z999AA10123456784");
    uint128 constant PRICE = 10 ether;
    uint128 constant DEPOSIT = 2 ether;
    uint64 constant NOW = 1_000_000;
    uint64 constant DAY = 1 days;
    uint64 constant HOUR = 1 hours;

    function setUp() public {
        vm.warp(NOW);
        NativeMocks.etchAll();
        escrow = new ArbitratedEscrow(DAY, DAY, address(0), 0, 0);
        _defineQuorum(address(this));
        confirmer = new DeliveryOracle(escrow, quorum, HOUR);
        vm.deal(buyer, 100 ether);
        vm.deal(seller, 100 ether);
    }

    /// @dev An active deal (both deposits in) whose confirmer is `who`.
    function _deal(address who) internal returns (uint256 id) {
        vm.prank(buyer);
        id = escrow.open{value: PRICE + DEPOSIT}(seller, who, PRICE, NOW + 7 * DAY, DAY);
        vm.prank(seller);
        escrow.join{value: DEPOSIT}(id);
    }

    function _ask(uint256 id) internal returns (uint256 requestId) {
        vm.prank(seller);
        requestId = confirmer.requestConfirmation(id, parcel);
    }

    function _answer(uint256 index, uint256 requestId, uint256 status) internal {
        vm.prank(oracles[index]);
        oracle.attest(requestId, abi.encode(status));
    }

    function _expect(bytes4 selector) internal {
        vm.expectRevert(abi.encodeWithSelector(selector));
    }

    function testTheRequestAsksTheSetInTheDocumentedFormat() public {
        uint256 id = _deal(address(confirmer));
        address[] memory members = oracles;
        vm.expectEmit(true, true, true, true);
        emit IOracle.OracleRequested(1, quorum, address(confirmer), "delivery.status",
            abi.encode(address(escrow), id, parcel), NOW + HOUR, 32, 2, members);
        uint256 requestId = _ask(id);
        IOracle.RequestInfo memory info = oracle.getRequest(requestId);
        require(info.requester == address(confirmer) && info.setId == quorum && info.threshold == 2, "the set");
        require(info.deadline == NOW + HOUR && info.maxResponseBytes == 32, "the bounds");
        require(confirmer.pendingRequest(id) == requestId, "pending");
    }

    function testADeliveredQuorumConfirmsTheDealAndStartsTheInspectionWindow() public {
        uint256 id = _deal(address(confirmer));
        uint256 requestId = _ask(id);
        _answer(0, requestId, 1);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.StillPending.selector, requestId));
        confirmer.settle(requestId);
        _answer(2, requestId, 1);
        vm.warp(NOW + 60);
        vm.expectEmit(true, true, true, true);
        emit DeliveryConfirmed(id, keccak256(abi.encode(requestId, parcel)), NOW + 60 + DAY);
        require(confirmer.settle(requestId), "confirmed");
        ArbitratedEscrow.Deal memory deal = escrow.getDeal(id);
        require(deal.stage == ArbitratedEscrow.Stage.Delivered && deal.deadline == NOW + 60 + DAY, "inspection");
        require(confirmer.pendingRequest(id) == 0, "settled");
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.UnknownRequest.selector, requestId));
        confirmer.settle(requestId);
    }

    function testOneTamperedOracleCannotConfirmAgainstTheQuorum() public {
        uint256 id = _deal(address(confirmer));
        uint256 requestId = _ask(id);
        _answer(0, requestId, 1); // the seller's friend among the oracles says delivered
        _answer(1, requestId, 0);
        _answer(2, requestId, 0);
        require(!confirmer.settle(requestId), "not confirmed");
        require(escrow.getDeal(id).stage == ArbitratedEscrow.Stage.Active, "still waiting for delivery");
    }

    function testSilentOraclesConfirmNothingAndTheSellerMayAskAgain() public {
        uint256 id = _deal(address(confirmer));
        uint256 first = _ask(id);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.AlreadyRequested.selector, first));
        _ask(id);
        vm.warp(NOW + HOUR + 1);
        require(!confirmer.settle(first), "timed out");
        uint256 second = _ask(id);
        _answer(0, second, 1);
        _answer(1, second, 1);
        require(confirmer.settle(second), "confirmed on the second request");
    }

    function testAMalformedAnswerConfirmsNothing() public {
        uint256 id = _deal(address(confirmer));
        uint256 requestId = _ask(id);
        vm.prank(oracles[0]);
        oracle.attest(requestId, hex"01");
        vm.prank(oracles[1]);
        oracle.attest(requestId, hex"01");
        require(!confirmer.settle(requestId), "one byte is not an answer");
        require(escrow.getDeal(id).stage == ArbitratedEscrow.Stage.Active, "unchanged");
    }

    function testOnlyTheSellerOfAnActiveDealNamingThisConfirmerAsks() public {
        uint256 id = _deal(address(confirmer));
        vm.prank(buyer);
        _expect(DeliveryOracle.NotTheSeller.selector);
        confirmer.requestConfirmation(id, parcel);
        uint256 other = _deal(address(0xCA));
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "dealId"));
        confirmer.requestConfirmation(other, parcel);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "parcel"));
        confirmer.requestConfirmation(id, bytes32(0));
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "dealId"));
        confirmer.requestConfirmation(99, parcel);
    }

    function testADealThatMovedOnIsNotConfirmedAndTheRequestStillSettles() public {
        uint256 id = _deal(address(confirmer));
        uint256 requestId = _ask(id);
        vm.prank(buyer);
        escrow.acceptDelivery(id); // the buyer accepted before the oracles answered
        _answer(0, requestId, 1);
        _answer(1, requestId, 1);
        require(!confirmer.settle(requestId), "refused by the escrow");
        require(escrow.getDeal(id).stage == ArbitratedEscrow.Stage.Closed, "closed as accepted");
        require(confirmer.pendingRequest(id) == 0, "settled");
    }

    function testTheConstructorChecksItsParameters() public {
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "escrow"));
        new DeliveryOracle(ArbitratedEscrow(address(0)), quorum, HOUR);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "oracleSet"));
        new DeliveryOracle(escrow, quorum + 1, HOUR);
        vm.expectRevert(abi.encodeWithSelector(DeliveryOracle.BadParameter.selector, "answerWindow"));
        new DeliveryOracle(escrow, quorum, 8 days);
    }
}
