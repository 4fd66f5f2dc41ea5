// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IVesting} from "@cmt/vm/native/interfaces/IVesting.sol";

/// @title Reference mock of the vesting native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C01 (NativeMocks.etchAll). The chain's schedules come from its genesis; the mock starts
/// with none and a test adds its own with addSchedule (paying the total). vestedAmount, releasableAmount, lockedOf
/// and release follow the chain's formula: total * min(periods, (now - start) / period) / periods, by block time.
contract VestingMock is IVesting {
    struct Schedule {
        address beneficiary;
        uint256 total;
        uint256 start;
        uint256 period;
        uint256 periods;
        uint256 released;
    }

    Schedule[] internal _schedules;

    /// @notice Mock only: lock msg.value for `beneficiary`, released in `periods` equal parts every `period` seconds
    /// from `start`. Returns the schedule id.
    function addSchedule(address beneficiary, uint256 start, uint256 period, uint256 periods)
        external payable returns (uint256 id)
    {
        require(beneficiary != address(0) && period > 0 && periods > 0 && msg.value > 0,
                "Vesting mock: a schedule needs a beneficiary, a value and positive periods");
        id = _schedules.length;
        _schedules.push(Schedule(beneficiary, msg.value, start, period, periods, 0));
    }

    /// @inheritdoc IVesting
    function scheduleCount() external view returns (uint256) {
        return _schedules.length;
    }

    /// @inheritdoc IVesting
    function getSchedule(uint256 id) external view returns (
        address beneficiary, uint256 total, uint256 start, uint256 period, uint256 periods, uint256 released
    ) {
        Schedule storage s = _schedule(id);
        return (s.beneficiary, s.total, s.start, s.period, s.periods, s.released);
    }

    /// @inheritdoc IVesting
    function vestedAmount(uint256 id) public view returns (uint256) {
        Schedule storage s = _schedule(id);
        if (block.timestamp <= s.start) return 0;
        uint256 elapsed = (block.timestamp - s.start) / s.period;
        return s.total * (elapsed < s.periods ? elapsed : s.periods) / s.periods;
    }

    /// @inheritdoc IVesting
    function releasableAmount(uint256 id) public view returns (uint256) {
        return vestedAmount(id) - _schedules[id].released;
    }

    /// @inheritdoc IVesting
    function lockedOf(address beneficiary) external view returns (uint256 locked) {
        for (uint256 id = 0; id < _schedules.length; id++) {
            if (_schedules[id].beneficiary == beneficiary) locked += _schedules[id].total - vestedAmount(id);
        }
    }

    /// @inheritdoc IVesting
    function release(uint256 id) external returns (uint256 amount) {
        amount = releasableAmount(id);
        require(amount > 0, "Vesting: nothing to release");
        Schedule storage s = _schedules[id];
        s.released += amount;
        emit Released(id, s.beneficiary, amount);
        (bool paid,) = s.beneficiary.call{value: amount}("");
        require(paid, "Vesting mock: payment refused by the beneficiary");
    }

    function _schedule(uint256 id) internal view returns (Schedule storage) {
        require(id < _schedules.length, "Vesting: unknown schedule");
        return _schedules[id];
    }
}
