// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Genesis vesting lock-ups (native contract at 0x0000000000000000000000000000000000000C01)
/// @notice Team & partners and 5miles allocations are released 10% per quarter over 2.5 years.
interface IVesting {
    /// @notice Emitted when vested CMT is paid to a beneficiary.
    event Released(uint256 indexed id, address indexed beneficiary, uint256 amount);

    /// @notice Number of lock-up schedules.
    function scheduleCount() external view returns (uint256);

    /// @notice A schedule's beneficiary, total, start time, period (seconds), number of periods and amount released.
    function getSchedule(uint256 id) external view returns (
        address beneficiary, uint256 total, uint256 start, uint256 period, uint256 periods, uint256 released
    );

    /// @notice Amount vested by the current block time.
    function vestedAmount(uint256 id) external view returns (uint256);

    /// @notice Amount vested and not yet released.
    function releasableAmount(uint256 id) external view returns (uint256);

    /// @notice CMT still locked for a beneficiary across its schedules.
    function lockedOf(address beneficiary) external view returns (uint256);

    /// @notice Pays the beneficiary what is due; anyone may call. Reverts with "Vesting: nothing to release".
    function release(uint256 id) external returns (uint256);
}
