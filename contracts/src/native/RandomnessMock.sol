// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRandomness} from "@cmt/middleware/randomness/IRandomness.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the randomness beacon, for Foundry's local EVM
/// @notice Etch it at 0x…0C14 (NativeMocks.etchAll). A local EVM has no validators and no reveals, so the value of
/// height h is keccak256("cmt-randomness-mock", h): deterministic, and NOT random (a test needs repeatable values;
/// vm.roll moves block.number). Availability, expiry after 8,192 blocks, request() pinning and the revert reasons
/// are the chain's. validatorOf answers zeros (no validator has a hash chain here).
contract RandomnessMock is IRandomness {
    uint64 internal constant RING_SIZE = 8192;

    mapping(uint64 => bool) internal _requested;

    /// @inheritdoc IRandomness
    function request(uint64 height) external {
        if (height <= block.number) {
            revert(string.concat("Randomness: height ", MockText.decimal(height), " is not in the future (block ",
                                 MockText.decimal(block.number), ")"));
        }
        _requested[height] = true;
        emit RandomnessRequested(msg.sender, height);
    }

    /// @inheritdoc IRandomness
    function isAvailable(uint64 height) external view returns (bool) {
        return height < block.number && (_requested[height] || uint256(height) + RING_SIZE >= block.number);
    }

    /// @inheritdoc IRandomness
    function valueAt(uint64 height) external view returns (bytes32) {
        if (height >= block.number) {
            revert(string.concat("Randomness: randomness of height ", MockText.decimal(height),
                                 " is not available yet (block ", MockText.decimal(block.number),
                                 "; readable from block ", MockText.decimal(uint256(height) + 1), ")"));
        }
        if (!_requested[height] && uint256(height) + RING_SIZE < block.number) {
            revert(string.concat("Randomness: randomness of height ", MockText.decimal(height),
                                 " has expired (values are kept 8192 blocks unless requested before they are produced)"));
        }
        return keccak256(abi.encodePacked("cmt-randomness-mock", height));
    }

    /// @inheritdoc IRandomness
    function latestHeight() external view returns (uint64) {
        return uint64(block.number - 1);
    }

    /// @inheritdoc IRandomness
    function isRequested(uint64 height) external view returns (bool) {
        return _requested[height];
    }

    /// @inheritdoc IRandomness
    function validatorOf(bytes32) external pure returns (bytes32, uint64, uint64, uint64) {
        return (bytes32(0), 0, 0, 0);
    }
}
