// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IJury} from "@cmt/middleware/jury/IJury.sol";
import {NativeMocks} from "../src/native/NativeMocks.sol";

/// @notice The juror-registry mock etched at 0x…0C15: a jury of 3 of 5 is drawn, votes and is paid.
contract JuryMockTest {
    IJury internal constant JURY = IJury(NativeMocks.JURY);

    function setUp() public {
        NativeMocks.etchAll();
        for (uint160 k = 1; k <= 5; k++) {
            address juror = address(0x1000 + k);
            vm.deal(juror, 100 ether);
            vm.prank(juror);
            JURY.stake{value: uint256(k) * 1 ether}();
        }
        vm.deal(address(this), 10 ether);
    }

    function _vote(uint256 caseId, uint32 index, bool vote, bool reveal) internal {
        address juror = JURY.jurors(caseId)[index];
        bytes32 salt = keccak256(abi.encode(index));
        vm.prank(juror);
        JURY.commitVote(caseId, index, keccak256(abi.encodePacked(caseId, juror, vote, salt)));
        if (!reveal) return;
        (,,,, uint64 commitEnds,) = JURY.caseInfo(caseId);
        vm.warp(commitEnds + 1);
        vm.prank(juror);
        JURY.revealVote(caseId, index, vote, salt);
    }

    function testDrawVoteAndPay() public {
        require(JURY.totalStake() == 15 ether, "total stake");
        uint256 caseId = JURY.openCase{value: 3 ether}(3, 1 ether, 100, 100);
        vm.roll(block.number + 2);
        JURY.draw(caseId);
        address[] memory drawn = JURY.jurors(caseId);
        require(drawn.length == 3, "three jurors");
        require(drawn[0] != drawn[1] && drawn[1] != drawn[2] && drawn[0] != drawn[2], "distinct jurors");
        _vote(caseId, 0, true, false);
        _vote(caseId, 1, true, false);
        _vote(caseId, 2, false, false);
        (,,,, uint64 commitEnds, uint64 revealEnds) = JURY.caseInfo(caseId);
        vm.warp(commitEnds + 1);
        for (uint32 i = 0; i < 2; i++) {
            vm.prank(drawn[i]);
            JURY.revealVote(caseId, i, true, keccak256(abi.encode(i)));
        }
        vm.warp(revealEnds + 1);
        uint256 before = drawn[0].balance;
        JURY.finalize(caseId);
        require(JURY.ruling(caseId) == 1, "ruled for");
        // the silent juror forfeits 1 CMT; the fee (3) plus 1 is split between the two majority jurors
        require(drawn[0].balance == before + 2 ether, "majority paid");
        (uint256 active,,) = JURY.jurorOf(drawn[2]);
        uint256 k = uint160(drawn[2]) - 0x1000;
        require(active == k * 1 ether - 1 ether, "silent juror forfeits");
    }

    function testTooFewEligibleJurorsRefuseTheDraw() public {
        uint256 caseId = JURY.openCase(2, 5 ether, 100, 100);
        vm.roll(block.number + 2);
        vm.expectRevert(abi.encodeWithSignature("Error(string)",
            "Jury: only 1 jurors have at least 5000000000000000000 wei active stake; case 1 needs 2"));
        JURY.draw(caseId);
    }

    function testTheCreatorCancelsAnUndrawnCaseAndGetsItsFeeBack() public {
        uint256 caseId = JURY.openCase{value: 1 ether}(2, 5 ether, 100, 100);
        uint256 before = address(this).balance;
        JURY.cancelCase(caseId);
        require(JURY.ruling(caseId) == 3 && address(this).balance == before + 1 ether, "cancelled, fee back");
        vm.roll(block.number + 2);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "Jury: case 1 was cancelled"));
        JURY.draw(caseId);
    }

    function testDrawWaitsForTheBeacon() public {
        uint256 caseId = JURY.openCase(1, 1 ether, 100, 100);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "Jury: the beacon of height 2 is not committed yet"));
        JURY.draw(caseId);
    }
}
