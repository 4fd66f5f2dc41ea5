// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title The chain's randomness beacon (native contract at 0x0000000000000000000000000000000000000C14)
/// @notice RANDAO over per-validator hash chains: every block's proposer reveals the next element of its secret
///         hash chain, the chain checks it against the element revealed before and mixes it in. The value of height
///         h is the mix after block h: nobody (caller, proposer, a minority of validators) can choose it; a proposer
///         can only withhold its block (it then misses its slot, is counted and penalised), choosing between at most
///         two values per slot it holds. Values are readable from block h + 1 on, for 8,192 blocks, or for ever once
///         requested before they are produced. block.prevrandao is the value of the parent height.
///         Errors revert with "Randomness: ...". Security argument and limits: docs/randomness.md.
interface IRandomness {
    /// @notice `requester` asked to keep the value of `height`.
    event RandomnessRequested(address indexed requester, uint64 indexed height);
    /// @notice The validator with consensus key `validator` did not get a block decided in its proposer slot at
    ///         `height`; `missed` is its count of missed slots in all.
    event ProposerSlotMissed(bytes32 indexed validator, uint64 height, uint64 missed);
    /// @notice The validator missed 4 proposer slots within one window of 1,024 blocks (`window` = height / 1024)
    ///         and was jailed (and slashed where the chain slashes for downtime).
    event ProposerPenalised(bytes32 indexed validator, uint64 window, uint64 missed);

    /// @notice Keep the beacon value of a future height (height > block.number) readable for ever.
    function request(uint64 height) external;

    /// @notice Whether the value of `height` is readable now (committed, and kept).
    function isAvailable(uint64 height) external view returns (bool);

    /// @notice The beacon value of `height`; reverts when not committed yet, or expired unrequested (values are kept
    ///         8,192 blocks).
    function valueAt(uint64 height) external view returns (bytes32);

    /// @notice The latest height whose value is readable (block.number - 1).
    function latestHeight() external view returns (uint64);

    /// @notice Whether a contract asked to keep the value of `height` for ever.
    function isRequested(uint64 height) external view returns (bool);

    /// @notice A validator's hash-chain state, by its Ed25519 consensus public key: the element it revealed last (or
    ///         its anchor), how many reveals remain in the chain, the chain's epoch, and its missed proposer slots.
    function validatorOf(bytes32 pubKey)
        external
        view
        returns (bytes32 commitment, uint64 remaining, uint64 epoch, uint64 missed);
}
