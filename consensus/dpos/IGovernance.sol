// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Governance of the CyberMiles chain (native contract at 0x0000000000000000000000000000000000000C03)
/// @notice Validators and backup validators propose transfers from the foundation reserve (this contract's
/// balance) and chain-parameter changes, and vote on them weighted by voting power. A proposal is approved
/// when yes votes reach 2/3 of the total voting power of the current validators and backups, rejected when
/// no votes do, and expires (never executed) if neither happens before its expiry time. Approved proposals
/// execute at the end of a block, in id order. Kinds: 0 transfer, 1 parameter. Answers: 0 yes, 1 no,
/// 2 abstain. Statuses: 0 pending, 1 approved, 2 rejected, 3 expired, 4 executed, 5 failed.
interface IGovernance {
    /// @notice A proposal was made.
    event ProposalCreated(uint256 indexed id, address indexed proposer, uint8 kind, uint256 expireAt);
    /// @notice A voter answered (or changed its answer) with its voting power at that time.
    event Voted(uint256 indexed id, address indexed voter, uint8 answer, uint256 power);
    /// @notice A proposal was approved, rejected or expired.
    event ProposalDecided(uint256 indexed id, uint8 status);
    /// @notice An approved proposal was executed (status 4) or could not be (status 5, with the reason).
    event ProposalExecuted(uint256 indexed id, uint8 status, string detail);
    /// @notice CMT paid from the reserve by an executed transfer proposal.
    event ReserveTransferred(uint256 indexed id, address indexed to, uint256 amount);
    /// @notice A chain parameter changed by an executed parameter proposal.
    event ParamChanged(uint256 indexed id, string name, string value);

    /// @notice Propose paying `amount` wei from the reserve to `to` (validators and backups only).
    function proposeTransfer(address to, uint256 amount, string calldata reason) external returns (uint256 id);

    /// @notice Propose setting parameter `name` to `value` (decimal digits, true/false or a 0x address),
    /// checked against the parameter table when proposed (validators and backups only).
    function proposeParam(string calldata name, string calldata value, string calldata reason)
        external returns (uint256 id);

    /// @notice Answer a pending proposal: 0 yes, 1 no, 2 abstain; a later vote replaces an earlier one.
    function vote(uint256 id, uint8 answer) external;

    /// @notice Number of proposals ever made; ids run from 0.
    function proposalCount() external view returns (uint256);

    /// @notice One proposal. `to`/`amount` are set for transfers, `name`/`value` for parameter changes.
    function getProposal(uint256 id) external view returns (
        uint8 kind, address proposer, address to, uint256 amount, string memory name, string memory value,
        string memory reason, uint8 status, uint256 createdAt, uint256 expireAt, uint256 decidedAt,
        string memory detail
    );

    /// @notice Ids of the pending proposals, ascending.
    function openProposals() external view returns (uint256[] memory);

    /// @notice The votes on a proposal, in the order voters first voted.
    function getVotes(uint256 id) external view returns (
        address[] memory voters, uint8[] memory answers, uint256[] memory powers
    );

    /// @notice The value in force of one chain parameter, as text.
    function getParam(string calldata name) external view returns (string memory);

    /// @notice Every chain parameter and its value in force, as text.
    function getParams() external view returns (string[] memory names, string[] memory values);

    /// @notice The foundation reserve in wei.
    function reserve() external view returns (uint256);
}
