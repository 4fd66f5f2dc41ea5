// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice An account (a contract) that makes the calls a test gives it and, once armed, re-enters its target with
/// a set call the first time it is paid, recording whether that nested call failed.
contract ReentrantCaller {
    address private target;
    bytes private reentry;
    /// @notice How many payments arrived while armed.
    uint256 public reentries;
    /// @notice Whether the nested call reverted.
    bool public reentryFailed;

    /// @notice Calls `target_` with `data` and the value sent; reverts with the callee's reason.
    function act(address target_, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        (ok, result) = target_.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice From now on, the first payment makes the nested call `reentry_` to `target_`.
    function arm(address target_, bytes calldata reentry_) external {
        (target, reentry) = (target_, reentry_);
    }

    receive() external payable {
        if (reentry.length > 0 && reentries++ == 0) {
            (bool ok,) = target.call(reentry);
            reentryFailed = !ok;
        }
    }
}
