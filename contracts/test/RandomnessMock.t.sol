// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IRandomness} from "@cmt/middleware/randomness/IRandomness.sol";
import {NativeMocks} from "../src/native/NativeMocks.sol";

/// @notice The beacon mock etched at 0x…0C14: a requested height is readable once committed and kept for ever;
/// an unrequested one expires after 8,192 blocks; reads too early revert with the chain's reason.
contract RandomnessMockTest {
    IRandomness internal constant BEACON = IRandomness(NativeMocks.RANDOMNESS);

    function setUp() public {
        NativeMocks.etchAll();
        vm.roll(100);
    }

    function testRequestedHeightIsReadableOnceCommittedAndKept() public {
        BEACON.request(101);
        require(BEACON.isRequested(101) && !BEACON.isAvailable(101), "requested, not yet available");
        try BEACON.valueAt(101) returns (bytes32) {
            revert("read before commit");
        } catch Error(string memory reason) {
            require(keccak256(bytes(reason)) == keccak256(
                "Randomness: randomness of height 101 is not available yet (block 100; readable from block 102)"),
                reason);
        }
        vm.roll(102);
        bytes32 value = BEACON.valueAt(101);
        require(BEACON.latestHeight() == 101, "latest height");
        vm.roll(101 + 8192 + 10);
        require(BEACON.valueAt(101) == value && BEACON.isAvailable(101), "kept for ever");
        require(!BEACON.isAvailable(99), "unrequested heights expire");
    }

    function testOnlyFutureHeightsCanBeRequested() public {
        try BEACON.request(100) {
            revert("requested the current height");
        } catch Error(string memory reason) {
            require(keccak256(bytes(reason)) == keccak256("Randomness: height 100 is not in the future (block 100)"),
                    reason);
        }
    }
}
