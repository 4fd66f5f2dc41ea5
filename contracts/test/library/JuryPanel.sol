// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IJury} from "@cmt/middleware/jury/IJury.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";

/// @notice Jurors for the tests of contracts that open IJury cases: stakes a panel on the jury mock and plays a
/// case's draw, sealed votes and reveals on the mock's clock.
abstract contract JuryPanel {
    uint8 internal constant SILENT = 0;
    uint8 internal constant YES = 1;
    uint8 internal constant NO = 2;

    IJury internal jury = IJury(NativeMocks.JURY);
    address[] internal panel;

    /// @dev Stakes `count` jurors of `amount` wei each on the jury mock (etched by NativeMocks.etchAll).
    function _seatPanel(uint256 count, uint256 amount) internal {
        for (uint256 i = 0; i < count; ++i) {
            address juror = address(uint160(0x7000 + i));
            vm.deal(juror, amount);
            vm.prank(juror);
            jury.stake{value: amount}();
            panel.push(juror);
        }
    }

    /// @dev Three seats' votes (SILENT, YES or NO).
    function _votes(uint8 a, uint8 b, uint8 c) internal pure returns (uint8[] memory votes) {
        votes = new uint8[](3);
        (votes[0], votes[1], votes[2]) = (a, b, c);
    }

    /// @dev Draws case `caseId` once its beacon (the block after the one that opened it) is committed, has each seat commit and reveal its vote (SILENT seats
    /// do neither), and leaves the clock past the reveal window, so the case can be finalized.
    function _hear(uint256 caseId, uint8[] memory votes) internal returns (address[] memory drawn) {
        _draw(caseId);
        drawn = jury.jurors(caseId);
        for (uint32 i = 0; i < drawn.length; ++i) {
            if (votes[i] == SILENT) continue;
            vm.prank(drawn[i]);
            jury.commitVote(caseId, i, keccak256(abi.encodePacked(caseId, drawn[i], votes[i] == YES, _salt(i))));
        }
        (,,,, uint64 commitEnds, uint64 revealEnds) = jury.caseInfo(caseId);
        vm.warp(commitEnds + 1);
        for (uint32 i = 0; i < drawn.length; ++i) {
            if (votes[i] == SILENT) continue;
            vm.prank(drawn[i]);
            jury.revealVote(caseId, i, votes[i] == YES, _salt(i));
        }
        vm.warp(revealEnds + 1);
    }

    /// @dev Moves past the beacon height of case `caseId` (opened in this block) and draws its jurors.
    function _draw(uint256 caseId) internal {
        vm.roll(block.number + 2);
        jury.draw(caseId);
    }

    function _salt(uint32 seat) private pure returns (bytes32) {
        return keccak256(abi.encode("juror salt", seat));
    }
}
