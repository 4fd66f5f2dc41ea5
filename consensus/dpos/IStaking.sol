// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Delegated proof of stake: staking, election, rewards and slashing
/// @notice Native contract at 0x0000000000000000000000000000000000000c02. Amounts are wei of CMT; rates are
/// basis points (1/10,000). Rules, formulas and gas costs: docs/staking.md. A failed rule reverts with
/// Error(string) whose message starts with "Staking: ". Every method returns a value, so Solidity callers
/// (0.8.10 and later) skip the code-size check that an account without code, like this one, would fail.
interface IStaking {
    /// @notice A candidacy. `state`: 0 candidate, 1 validator, 2 backup validator.
    struct CandidateInfo {
        address owner;
        uint256 id;
        bytes32 pubKey;          // Ed25519 consensus public key
        bytes32 pendingPubKey;   // swapped in at the next election (zero: none)
        uint256 maxAmount;       // most stake the candidacy accepts
        uint256 commissionBp;    // default commission of new delegations
        uint256 selfStake;       // what the owner must keep delegated
        uint256 stake;           // bonded stake (all delegations)
        uint256 pendingReward;   // awards credited, not yet compounded into delegations
        uint256 votingPower;     // in the elected set (0 when not elected)
        bool verified;
        bool active;
        bool jailed;
        uint256 missedBlocks;    // consecutive blocks missed as a validator
        uint256 delegatorCount;
        address pendingOwner;    // named by transferCandidacy (zero: none)
        uint256 declaredAt;      // block number
        uint8 state;
        string name;
        string website;
        string location;
        string email;
        string profile;
    }

    /// @notice A member of the elected set.
    struct Member {
        address owner;
        bytes32 pubKey;
        uint256 votingPower;
    }

    /// @notice A delegation of `delegator` to the candidacy owned by `candidate`.
    struct DelegationInfo {
        address candidate;
        address delegator;
        uint256 amount;
        uint256 commissionBp;
        uint256 rewarded;        // total award compounded into this delegation
        uint256 slashed;         // total slashed from it
    }

    /// @notice A pending unbonding, paid to the delegator at `matureTime` (block time).
    struct UnbondingInfo {
        uint256 seq;
        address candidate;
        uint256 amount;
        uint256 matureTime;
    }

    /// @notice What a candidate was credited by the latest block that paid awards.
    struct AwardInfo {
        address owner;
        uint256 amount;
    }

    /// @notice A validator that missed consecutive blocks.
    struct AbsentInfo {
        address owner;
        bytes32 pubKey;
        uint256 missedBlocks;
    }

    /// @notice Where the CMT is. total = genesis + minted - burned; circulating excludes everything held by
    /// staking (bonded, unbonding, rewards), vesting (locked) and governance (reserve).
    struct SupplyInfo {
        uint256 total;
        uint256 minted;
        uint256 burned;
        uint256 bonded;
        uint256 unbonding;
        uint256 rewards;
        uint256 locked;
        uint256 reserve;
        uint256 circulating;
    }

    event CandidateDeclared(address indexed owner, bytes32 indexed pubKey, uint256 maxAmount, uint256 commissionBp,
                            uint256 selfStake);
    event CandidateUpdated(address indexed owner, bytes32 pubKey, uint256 maxAmount, uint256 commissionBp);
    event CandidateWithdrawn(address indexed owner);
    event CandidateVerified(address indexed owner, bool verified);
    event CandidateActivated(address indexed owner, bool active);
    event OwnershipTransferStarted(address indexed owner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Delegated(address indexed delegator, address indexed candidate, uint256 amount);
    event Withdrawn(address indexed delegator, address indexed candidate, uint256 amount, uint256 seq,
                    uint256 matureTime);
    event UnbondingPaid(address indexed delegator, uint256 indexed seq, uint256 amount);
    event CommissionRateSet(address indexed candidate, address indexed delegator, uint256 commissionBp);
    /// @notice Stake cut from a candidate's delegations (moved to the reserve).
    event Slashed(address indexed owner, bytes32 indexed pubKey, uint256 amount, bool doubleSign);
    event Jailed(address indexed owner, bytes32 indexed pubKey, bool doubleSign);
    /// @notice Each block: award minted, fees collected, base fee burned, amount credited to candidates
    /// (0 when no validator signed the previous block: it is kept for the next block).
    event BlockAward(uint256 minted, uint256 fees, uint256 burned, uint256 distributed);
    event Elected(uint256 validators, uint256 backups, uint256 totalPower);

    /// @notice Become a candidate. msg.value, between maxAmount x self_staking_ratio and maxAmount, is bonded
    /// as the owner's self-stake.
    function declareCandidacy(bytes32 pubKey, uint256 maxAmount, uint256 commissionBp, string calldata name,
                              string calldata website, string calldata location, string calldata email,
                              string calldata profile) external payable returns (uint256 id);

    /// @notice Change the candidacy (pubKey zero keeps the key; a new key applies at the next election; a new
    /// description clears verification). msg.value is added to the owner's stake.
    function updateCandidacy(bytes32 pubKey, uint256 maxAmount, uint256 commissionBp, string calldata name,
                             string calldata website, string calldata location, string calldata email,
                             string calldata profile) external payable returns (uint256 stake);

    /// @notice Unbond every delegation of the sender's candidacy and remove it.
    function withdrawCandidacy() external returns (uint256 unbonded);

    /// @notice Mark a candidacy verified (foundation address only).
    function verifyCandidacy(address owner, bool verified) external returns (bool);

    /// @notice Re-activate the sender's candidacy, also after it was jailed.
    function activateCandidacy() external returns (bool active);

    /// @notice Stop the sender's candidacy from being elected.
    function deactivateCandidacy() external returns (bool active);

    /// @notice Name the account that may take over the sender's candidacy.
    function transferCandidacy(address newOwner) external returns (bool);

    /// @notice Take over the candidacy of `previousOwner`, which named the sender; its self-stake moves too.
    function acceptCandidacy(address previousOwner) external returns (uint256 id);

    /// @notice Bond msg.value to the candidacy owned by `candidate`.
    function delegate(address candidate) external payable returns (uint256 delegated);

    /// @notice Start unbonding `amount` from `candidate`; paid after unbonding_period. Returns the sequence number.
    function withdraw(address candidate, uint256 amount) external returns (uint256 seq);

    /// @notice Set the commission the sender's candidacy takes from `delegator` (at most the candidacy's rate).
    function setCommissionRate(address delegator, uint256 commissionBp) external returns (bool);

    /// @notice The validators in force, in rank order.
    function getValidators() external view returns (Member[] memory);

    /// @notice The backup validators in force, in rank order.
    function getBackups() external view returns (Member[] memory);

    /// @notice The candidacy owned by `owner` (reverts when there is none).
    function getCandidate(address owner) external view returns (CandidateInfo memory);

    /// @notice Number of candidacies.
    function candidateCount() external view returns (uint256);

    /// @notice Candidacies ordered by id, at most 100 from position `offset`.
    function getCandidates(uint256 offset, uint256 limit) external view returns (CandidateInfo[] memory);

    /// @notice A delegator's delegations, ordered by candidacy id.
    function getDelegations(address delegator) external view returns (DelegationInfo[] memory);

    /// @notice The delegations to the candidacy owned by `candidate`, ordered by delegator.
    function getCandidateDelegations(address candidate) external view returns (DelegationInfo[] memory);

    /// @notice A delegator's pending unbondings.
    function getUnbondings(address delegator) external view returns (UnbondingInfo[] memory);

    /// @notice The awards of the latest block that paid awards.
    function getAwardInfos() external view returns (AwardInfo[] memory);

    /// @notice Validators with consecutive missed blocks.
    function getAbsentValidators() external view returns (AbsentInfo[] memory);

    /// @notice The supply breakdown.
    function getSupply() external view returns (SupplyInfo memory);
}
