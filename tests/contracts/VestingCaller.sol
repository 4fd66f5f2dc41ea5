// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// The tests compile this file next to a copy of vm/native/interfaces/IVesting.sol.
import "./IVesting.sol";

/// @notice Reaches the native vesting contract through its Solidity interface.
contract VestingCaller {
    IVesting public constant VESTING = IVesting(0x0000000000000000000000000000000000000C01);

    uint256 public lastReleased;

    function count() external view returns (uint256) {
        return VESTING.scheduleCount();
    }

    function schedule(uint256 id) external view returns (
        address beneficiary, uint256 total, uint256 start, uint256 period, uint256 periods, uint256 released
    ) {
        return VESTING.getSchedule(id);
    }

    function releasable(uint256 id) external view returns (uint256) {
        return VESTING.releasableAmount(id);
    }

    function locked(address beneficiary) external view returns (uint256) {
        return VESTING.lockedOf(beneficiary);
    }

    function release(uint256 id) external returns (uint256 amount) {
        amount = VESTING.release(id);
        lastReleased = amount;
    }

    /// @notice Releases, then reverts: nothing of the release may survive.
    function releaseThenRevert(uint256 id) external {
        VESTING.release(id);
        revert("caller changed its mind");
    }

    /// @notice Releases, catching the native contract's revert reason.
    function tryRelease(uint256 id) external returns (bool ok, string memory reason) {
        try VESTING.release(id) returns (uint256 amount) {
            lastReleased = amount;
            return (true, "");
        } catch Error(string memory why) {
            return (false, why);
        }
    }

    /// @notice Attempts a release in a static context (must fail: it writes state).
    function staticRelease(uint256 id) external view returns (bool ok, bytes memory data) {
        return address(VESTING).staticcall(abi.encodeCall(IVesting.release, (id)));
    }
}
