// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Juror registry and sortition: stake-weighted random juries (native contract at 0x0000000000000000000000000000000000000C15)
/// @notice Token holders opt in as jurors by staking CMT. A case draws `jurors` distinct jurors, each with probability
///         proportional to its active stake, among those with at least `stakePerJuror` active stake (jurors with less
///         are skipped; the draw reverts when too few are eligible). Randomness is the chain's beacon value of the
///         height after the one that opened the case. Drawn jurors commit
///         keccak256(abi.encodePacked(caseId, juror, vote, salt)) within the commit window, then reveal (vote, salt)
///         within the reveal window (both in block time, starting when the case is drawn). finalize() decides the
///         case by the majority of revealed votes: each juror of the minority and each juror that did not reveal
///         forfeits `stakePerJuror` from its stake (capped at what it still holds); the forfeits and the case fee are
///         split equally among the majority, which also keeps its stakes; the integer remainder goes to the case's
///         creator. A tie, or no reveal at all, rules UNDECIDED (3): the fee and the silent jurors' forfeits go back to
///         the creator. Payments are plain balance transfers (no code of the receiver runs).
///         Limits: 1 to 128 jurors a case, windows of 1 to 604,800 s each, an active stake of 0 or at least 1 CMT,
///         an unbonding period of 1,814,400 s (21 days). Errors revert with "Jury: ...".
interface IJury {
    event JurorStaked(address indexed juror, uint256 amount, uint256 active);
    event JurorUnstakeRequested(address indexed juror, uint256 amount, uint64 availableAt);
    event JurorWithdrawn(address indexed juror, uint256 amount);
    event CaseOpened(uint256 indexed caseId, address indexed creator, uint32 jurors, uint64 beaconHeight);
    event JurorsDrawn(uint256 indexed caseId, address[] jurors);
    event VoteCommitted(uint256 indexed caseId, address indexed juror);
    event VoteRevealed(uint256 indexed caseId, address indexed juror, bool vote);
    /// @notice ruling codes: 0 pending, 1 for (yes), 2 against (no), 3 undecided (tie or nobody revealed)
    event CaseDecided(uint256 indexed caseId, uint8 ruling, uint32 votesFor, uint32 votesAgainst);
    /// @notice At finalize: what a juror of the majority received (its share of the fee and the forfeits).
    event JurorPaid(uint256 indexed caseId, address indexed juror, uint256 amount);
    /// @notice At finalize: what a juror of the minority or a silent juror lost from its stake.
    event StakeForfeited(uint256 indexed caseId, address indexed juror, uint256 amount);
    /// @notice The creator withdrew a case before its jurors were drawn; the fee went back to it.
    event CaseCancelled(uint256 indexed caseId, uint256 fee);

    /// @notice Opt in as a juror, or add stake (msg.value > 0); the active stake after it must be at least 1 CMT.
    function stake() external payable;

    /// @notice Leave (part of) the stake: it stops counting for draws at once and can be withdrawn after the
    ///         unbonding period (21 days, longer than a case's commit and reveal windows together). The active stake
    ///         left must be 0 or at least 1 CMT. A new request adds to the unbonding amount and restarts its period.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the unbonding stake to the juror once its period has passed.
    function withdraw() external;

    /// @notice A juror's active stake (counts for draws), unbonding stake and the block time it can be withdrawn.
    function jurorOf(address juror) external view returns (uint256 active, uint256 unbonding, uint64 availableAt);

    /// @notice The sum of all jurors' active stakes.
    function totalStake() external view returns (uint256);

    /// @notice Open a case (msg.value is the case fee, paid to the majority). Jurors are drawn from the beacon of
    ///         block.number + 1. `jurors` 1 to 128, `stakePerJuror` > 0, `commitSeconds` and `revealSeconds`
    ///         1 to 604,800. Case ids are 1, 2, ...
    function openCase(uint32 jurors, uint256 stakePerJuror, uint64 commitSeconds, uint64 revealSeconds)
        external
        payable
        returns (uint256 caseId);

    /// @notice Anyone, once the beacon height is committed: draws the jurors, starts the commit window.
    ///         Draw i takes r = keccak256(beacon, caseId, i, attempt) (each a 32-byte word) modulo the stake not yet
    ///         drawn, and picks the juror whose stake interval contains r; jurors below `stakePerJuror` are skipped
    ///         (attempt + 1). Reverts when fewer than `jurors` jurors have at least `stakePerJuror` active stake.
    function draw(uint256 caseId) external;

    /// @notice commitment = keccak256(abi.encodePacked(caseId, msg.sender, vote, salt)); `index` is the juror's
    ///         position in jurors(caseId). Once per juror, until commitEnds (inclusive).
    function commitVote(uint256 caseId, uint32 index, bytes32 commitment) external;

    /// @notice After commitEnds and until revealEnds (inclusive): the vote and salt of the juror's commitment.
    function revealVote(uint256 caseId, uint32 index, bool vote, bytes32 salt) external;

    /// @notice Anyone, after the reveal window: decides the case, pays the majority, forfeits minority and silent stakes.
    function finalize(uint256 caseId) external;

    /// @notice The creator only, before the draw (for instance when too few jurors qualify): the case is decided
    ///         UNDECIDED (3) without jurors and its fee is paid back to the creator.
    function cancelCase(uint256 caseId) external;

    /// @notice A case's creator, ruling, revealed votes and windows (commitEnds and revealEnds are 0 until drawn).
    function caseInfo(uint256 caseId)
        external
        view
        returns (
            address creator,
            uint8 ruling,
            uint32 votesFor,
            uint32 votesAgainst,
            uint64 commitEnds,
            uint64 revealEnds
        );

    /// @notice The drawn jurors in draw order (empty until drawn).
    function jurors(uint256 caseId) external view returns (address[] memory);

    /// @notice The case's ruling: 0 pending, 1 for, 2 against, 3 undecided.
    function ruling(uint256 caseId) external view returns (uint8);

    /// @notice The terms a case was opened with, and the beacon height its jurors are drawn from.
    function caseTerms(uint256 caseId)
        external
        view
        returns (
            uint32 jurorCount,
            uint256 stakePerJuror,
            uint256 fee,
            uint64 commitSeconds,
            uint64 revealSeconds,
            uint64 beaconHeight
        );

    /// @notice Juror `index` of a case: whether it committed, whether it revealed, and its vote (false until revealed).
    function voteOf(uint256 caseId, uint32 index) external view returns (bool committed, bool revealed, bool vote);

    /// @notice Number of cases opened so far.
    function caseCount() external view returns (uint256);
}
