// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IJury} from "@cmt/middleware/jury/IJury.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title Jury client: the base of contracts that put a yes-or-no question to the native jury (IJury at 0x…0C15)
/// @notice The jury's terms are fixed at deployment: how many jurors are drawn, the stake each puts at risk, and the
/// commit and reveal windows. Opening a case pays its fee to IJury, which shares it among the majority's jurors with
/// the stakes of the minority and of the silent. Deciding a case finalizes it on IJury if nobody has yet and reads
/// its ruling: 1 yes, 2 no, 3 undecided (a tie, or nobody revealed).
/// @dev IJury pays the case's creator (this contract) what no juror earns (the whole pot of an undecided case: its
/// fee and the silent jurors' stakes; the rounding dust of a decided one) as a plain balance change that runs no
/// code here. `_owed` is what this contract owes (credits not yet withdrawn plus what it holds for pending business),
/// so the balance above it is what IJury returned that nobody was credited yet. A case finalized by `_decideCase` is
/// assigned the exact balance change of that call; a case someone finalized directly on IJury is assigned that
/// unassigned balance up to the most its case can have returned (its fee plus every drawn juror's stake), so a
/// return is never credited twice and an overpayment is never possible.
abstract contract JuryClient is PullPayments {
    /// @notice The native jury.
    IJury public constant JURY = IJury(0x0000000000000000000000000000000000000C15);
    /// @notice The longest commit or reveal window IJury accepts: 7 days.
    uint64 public constant MAX_WINDOW = 7 days;
    /// @notice The most jurors IJury draws for a case.
    uint32 public constant MAX_JURORS = 128;

    /// @notice Jurors drawn for each case (odd, so a full jury cannot tie).
    uint32 public immutable jurorCount;
    /// @notice Wei of active stake each drawn juror puts at risk.
    uint256 public immutable stakePerJuror;
    /// @notice Seconds the drawn jurors have to commit their sealed votes, from the draw.
    uint64 public immutable commitSeconds;
    /// @notice Seconds they then have to reveal them.
    uint64 public immutable revealSeconds;

    uint256 private _owed;

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);

    /// @param jurors_ jurors drawn for each case (odd, 1 to MAX_JURORS)
    /// @param stakePerJuror_ wei of stake each drawn juror puts at risk (positive)
    /// @param commitSeconds_ seconds to commit votes (1 to MAX_WINDOW)
    /// @param revealSeconds_ seconds to reveal them (1 to MAX_WINDOW)
    constructor(uint32 jurors_, uint256 stakePerJuror_, uint64 commitSeconds_, uint64 revealSeconds_) {
        if (jurors_ == 0 || jurors_ > MAX_JURORS || jurors_ % 2 == 0) revert BadParameter("jurors");
        if (stakePerJuror_ == 0) revert BadParameter("stakePerJuror");
        if (commitSeconds_ == 0 || commitSeconds_ > MAX_WINDOW) revert BadParameter("commitSeconds");
        if (revealSeconds_ == 0 || revealSeconds_ > MAX_WINDOW) revert BadParameter("revealSeconds");
        jurorCount = jurors_;
        stakePerJuror = stakePerJuror_;
        commitSeconds = commitSeconds_;
        revealSeconds = revealSeconds_;
    }

    /// @dev Opens a case on IJury with this contract's terms, paying `fee` wei from this call's value.
    function _openCase(uint256 fee) internal returns (uint256 caseId) {
        caseId = JURY.openCase{value: fee}(jurorCount, stakePerJuror, commitSeconds, revealSeconds);
    }

    /// @dev Finalizes case `caseId` on IJury unless it is decided already (IJury's revert reason when it is too
    /// early), and returns its ruling and the wei IJury returned for it, assigned as the contract's notice describes.
    function _decideCase(uint256 caseId, uint256 fee) internal returns (uint8 ruling, uint256 returned) {
        uint256 unassigned = address(this).balance - _owed;
        ruling = JURY.ruling(caseId);
        if (ruling == 0) {
            JURY.finalize(caseId);
            ruling = JURY.ruling(caseId);
            returned = address(this).balance - _owed - unassigned;
        } else {
            uint256 most = fee + stakePerJuror * jurorCount;
            returned = unassigned < most ? unassigned : most;
        }
        _owed += returned;
    }

    /// @dev Credits `amount` wei to `to` (withdrawn with `withdraw`) out of what this contract owes.
    function _credit(address to, uint256 amount) internal {
        credit[to] += amount;
    }

    /// @dev Records `amount` wei received for pending business (a pledge), which the contract now owes.
    function _hold(uint256 amount) internal {
        _owed += amount;
    }

    /// @dev Records that `amount` wei held or returned left as a transfer rather than as a credit (a burn).
    function _release(uint256 amount) internal {
        _owed -= amount;
    }

    /// @dev A withdrawal pays out credit this contract owed.
    function _withdrawn(uint256 amount) internal override {
        _owed -= amount;
    }
}
