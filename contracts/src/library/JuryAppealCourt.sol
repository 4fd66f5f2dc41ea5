// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ArbitratedEscrow} from "./ArbitratedEscrow.sol";
import {JuryClient} from "./JuryClient.sol";

/// @title Jury appeal court: a jury drawn by sortition from the native juror registry hears appeals of escrow rulings
/// @notice An ArbitratedEscrow deployed with this contract as its `appealCourt` lets the party an arbiter ruled
/// against appeal within the escrow's appeal window: the appellant pays the court's `appealFee`, the court holds the
/// deal (`holdForAppeal`) and opens a case on IJury with the fee. Jurors are drawn from the beacon of the next block
/// (anyone calls `IJury.draw`), commit and reveal their votes on IJury, and after the reveal window anyone calls
/// `decide`: a yes majority overturns the ruling (the appellant wins), a no majority upholds it, and an undecided
/// jury (a tie, or nobody revealed) leaves the arbiter's ruling standing; the court then calls the escrow's
/// `decideAppeal`, which settles the deal at once. The jurors vote on the question "should the arbiter's ruling be
/// overturned?", reading the evidence hashes of the deal's escrow events and of the `Appealed` event.
/// @dev Fees: the appeal fee goes to IJury as the case fee, paid to the majority jurors whatever they decide. What
/// IJury returns to the court for the case (the fee and silent stakes of an undecided case, the rounding dust of a
/// decided one) is credited to the appellant (see JuryClient). If `decide` comes after the escrow's appeal period
/// ended, the escrow's own `finalize` settles the arbiter's ruling and the jury's ruling is only recorded here.
/// One court serves any number of escrows that name it; it checks each escrow's appeal period leaves room for the
/// jury's windows. Calls into an escrow come after this contract's records change, behind a reentrancy guard.
contract JuryAppealCourt is JuryClient {
    /// @notice How an appeal ended.
    enum Outcome {
        None,
        Pending, // the jury has not decided yet
        Overturned, // a yes majority: the appellant won the deal
        Upheld, // a no majority: the arbiter's ruling stands
        Undecided, // a tie or no revealed vote: the arbiter's ruling stands
        Lapsed // decided after the escrow's appeal period: the escrow settled the arbiter's ruling itself
    }

    /// @notice One appeal of a ruled deal.
    struct Appeal {
        ArbitratedEscrow escrow;
        uint256 dealId;
        address appellant;
        ArbitratedEscrow.Party ruledFor; // the arbiter's ruling under appeal
        uint256 caseId; // the IJury case
        Outcome outcome;
    }

    /// @notice Wei an appellant pays, all of it the IJury case fee.
    uint256 public immutable appealFee;
    /// @notice Appeals made; ids run from 1.
    uint256 public appealCount;
    mapping(uint256 => Appeal) private _appeals;

    /// @notice `appellant` appealed the ruling on deal `dealId` of `escrow`; IJury case `caseId` hears it.
    /// @param evidence a content hash of the appellant's grounds
    event Appealed(uint256 indexed appealId, address indexed escrow, uint256 indexed dealId, address appellant,
        uint256 caseId, bytes32 evidence);
    /// @notice Appeal `appealId` was decided: the jury's `ruling`, the party the deal settles for, how it ended, and
    /// the wei IJury returned that the appellant was credited.
    event AppealDecided(uint256 indexed appealId, uint8 ruling, ArbitratedEscrow.Party winner, Outcome outcome,
        uint256 returned);

    /// @notice The caller may not make this call (only the party ruled against appeals).
    error NotAllowed();
    /// @notice The appeal is not in the state the call needs.
    error WrongOutcome(Outcome current);

    /// @param jurors_ jurors drawn per appeal (odd, 1 to 128)
    /// @param stakePerJuror_ wei of stake each drawn juror puts at risk
    /// @param commitSeconds_ seconds the jurors have to commit, from the draw
    /// @param revealSeconds_ seconds they then have to reveal
    /// @param appealFee_ wei an appellant pays (positive), the jurors' fee
    constructor(uint32 jurors_, uint256 stakePerJuror_, uint64 commitSeconds_, uint64 revealSeconds_,
        uint256 appealFee_) JuryClient(jurors_, stakePerJuror_, commitSeconds_, revealSeconds_) {
        if (appealFee_ == 0) revert BadParameter("appealFee");
        appealFee = appealFee_;
    }

    /// @notice The party the arbiter ruled against appeals deal `dealId` of `escrow`, paying `appealFee`, within the
    /// escrow's appeal window. The escrow must name this court and give it more than the jury's windows to decide.
    /// @param evidence a content hash of the appellant's grounds
    /// @return appealId the appeal's id
    function appeal(ArbitratedEscrow escrow, uint256 dealId, bytes32 evidence)
        external
        payable
        nonReentrant
        returns (uint256 appealId)
    {
        if (msg.value != appealFee) revert BadParameter("appealFee");
        if (escrow.appealCourt() != address(this)) revert BadParameter("escrow");
        if (escrow.appealPeriod() <= uint256(commitSeconds) + revealSeconds) revert BadParameter("appealPeriod");
        ArbitratedEscrow.Deal memory deal = escrow.getDeal(dealId);
        if (deal.stage != ArbitratedEscrow.Stage.Ruled) revert BadParameter("dealId");
        address loser = deal.winner == ArbitratedEscrow.Party.Buyer ? deal.seller : deal.buyer;
        if (msg.sender != loser) revert NotAllowed();
        appealId = ++appealCount;
        Appeal storage record = _appeals[appealId];
        record.escrow = escrow;
        record.dealId = dealId;
        record.appellant = msg.sender;
        record.ruledFor = deal.winner;
        record.outcome = Outcome.Pending;
        escrow.holdForAppeal(dealId);
        record.caseId = _openCase(msg.value);
        emit Appealed(appealId, address(escrow), dealId, msg.sender, record.caseId, evidence);
    }

    /// @notice Anyone decides appeal `appealId` once its jury can be decided (after IJury's reveal window; IJury's
    /// reason when too early): the escrow's deal settles for the appellant on a yes majority, else as ruled.
    /// @return outcome how the appeal ended
    function decide(uint256 appealId) external nonReentrant returns (Outcome outcome) {
        Appeal storage record = _appeals[appealId];
        if (record.outcome != Outcome.Pending) revert WrongOutcome(record.outcome);
        (uint8 ruling, uint256 returned) = _decideCase(record.caseId, appealFee);
        _credit(record.appellant, returned);
        ArbitratedEscrow.Deal memory deal = record.escrow.getDeal(record.dealId);
        bool inTime = deal.stage == ArbitratedEscrow.Stage.Appealed && block.timestamp < deal.deadline;
        ArbitratedEscrow.Party winner = record.ruledFor;
        if (inTime && ruling == 1) {
            winner = winner == ArbitratedEscrow.Party.Buyer ? ArbitratedEscrow.Party.Seller : ArbitratedEscrow.Party.Buyer;
        }
        if (!inTime) {
            outcome = Outcome.Lapsed;
        } else if (ruling == 1) {
            outcome = Outcome.Overturned;
        } else {
            outcome = ruling == 2 ? Outcome.Upheld : Outcome.Undecided;
        }
        record.outcome = outcome;
        emit AppealDecided(appealId, ruling, winner, outcome, returned);
        if (inTime) record.escrow.decideAppeal(record.dealId, winner, bytes32(record.caseId));
    }

    /// @notice Appeal `appealId` as recorded (a zero appellant for an unknown id).
    function getAppeal(uint256 appealId) external view returns (Appeal memory) {
        return _appeals[appealId];
    }
}
