// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Pull payments: credits their owners withdraw, behind a reentrancy guard
/// @notice A contract that owes CMT credits it to the recipient's account here; the recipient takes it with
/// `withdraw()`. So a recipient that refuses payment, or re-enters, cannot block or drain anyone else.
abstract contract PullPayments is ReentrancyGuard {
    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public credit;

    /// @notice `account` withdrew `amount` wei.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Nothing is due to the caller.
    error NothingDue();
    /// @notice A transfer of CMT was refused by its recipient.
    error PaymentFailed();

    /// @notice Withdraws the caller's whole credit.
    function withdraw() external nonReentrant {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingDue();
        credit[msg.sender] = 0;
        _withdrawn(amount);
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @dev Called as `amount` wei of credit leaves by `withdraw`, for a contract that keeps a total of what it owes.
    function _withdrawn(uint256 amount) internal virtual {}

    /// @dev Sends `amount` wei to `to`, reverting if it refuses; callers update their records first.
    function _send(address to, uint256 amount) internal {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}
