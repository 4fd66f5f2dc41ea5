// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ISponsor} from "@cmt/vm/sponsorship/ISponsor.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the sponsored-gas native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C16 (NativeMocks.etchAll). configure, deposit, withdraw and the views behave as on the
/// chain, with the same checks and revert reasons. A local EVM has no sponsored transactions: the chain charges a
/// sponsored transaction's fee to the deposit when it executes it, which no contract can do, so in the mock deposits
/// only change by deposit and withdraw, and sponsoredTxsOf answers (0, 0) (no sponsored transaction was recorded).
/// Storage layout differs from the chain's, so in a fork the mock starts empty.
contract SponsorMock is ISponsor {
    uint64 internal constant MIN_TX_GAS = 21000;
    uint64 internal constant MAX_WINDOW_SECONDS = 366 days;

    struct Sponsorship {
        bool configured;
        address manager;
        uint256 balance;
        uint64 maxGasPerTx;
        uint32 maxTxsPerSenderPerWindow;
        uint64 windowSeconds;
        uint64 maxGasPerBlock;
    }

    mapping(address => Sponsorship) internal _sponsorships;

    /// @inheritdoc ISponsor
    function configure(address target, address manager, uint64 maxGasPerTx, uint32 maxTxsPerSenderPerWindow,
                       uint64 windowSeconds, uint64 maxGasPerBlock) external {
        Sponsorship storage s = _sponsorships[target];
        if (!s.configured && msg.sender != target) {
            revert(string.concat("Sponsor: only ", MockText.hexAddress(target),
                                 " itself may set up its sponsorship"));
        }
        if (s.configured && msg.sender != target && msg.sender != s.manager) {
            revert(string.concat("Sponsor: only the target or its manager may configure the sponsorship of ",
                                 MockText.hexAddress(target)));
        }
        if (maxGasPerTx < MIN_TX_GAS) {
            revert(string.concat("Sponsor: maxGasPerTx must be at least 21000, got ", MockText.decimal(maxGasPerTx)));
        }
        if (maxTxsPerSenderPerWindow == 0) revert("Sponsor: maxTxsPerSenderPerWindow must be at least 1, got 0");
        if (windowSeconds == 0 || windowSeconds > MAX_WINDOW_SECONDS) {
            revert(string.concat("Sponsor: windowSeconds must be 1 to 31622400, got ", MockText.decimal(windowSeconds)));
        }
        if (maxGasPerBlock < maxGasPerTx) {
            revert(string.concat("Sponsor: maxGasPerBlock (", MockText.decimal(maxGasPerBlock),
                                 ") must be at least maxGasPerTx (", MockText.decimal(maxGasPerTx), ")"));
        }
        s.configured = true;
        s.manager = manager;
        s.maxGasPerTx = maxGasPerTx;
        s.maxTxsPerSenderPerWindow = maxTxsPerSenderPerWindow;
        s.windowSeconds = windowSeconds;
        s.maxGasPerBlock = maxGasPerBlock;
        emit SponsorshipConfigured(target, manager, maxGasPerTx, maxTxsPerSenderPerWindow, windowSeconds,
                                   maxGasPerBlock);
    }

    /// @inheritdoc ISponsor
    function deposit(address target) external payable {
        Sponsorship storage s = _sponsorships[target];
        if (!s.configured) revert(string.concat("Sponsor: ", MockText.hexAddress(target), " has no sponsorship"));
        if (msg.value == 0) revert("Sponsor: a deposit needs a value above 0");
        s.balance += msg.value;
        emit SponsorDeposit(target, msg.sender, msg.value, s.balance);
    }

    /// @inheritdoc ISponsor
    function withdraw(address target, uint256 amount) external {
        Sponsorship storage s = _sponsorships[target];
        if (!s.configured) revert(string.concat("Sponsor: ", MockText.hexAddress(target), " has no sponsorship"));
        if (msg.sender != target && msg.sender != s.manager) {
            revert(string.concat("Sponsor: only the target or its manager may withdraw from ",
                                 MockText.hexAddress(target)));
        }
        if (amount == 0) revert("Sponsor: a withdrawal needs an amount above 0");
        if (amount > s.balance) {
            revert(string.concat("Sponsor: withdrawal of ", MockText.decimal(amount), " wei exceeds the deposit of ",
                                 MockText.hexAddress(target), " (", MockText.decimal(s.balance), " wei)"));
        }
        s.balance -= amount;
        (bool paid,) = msg.sender.call{value: amount}("");
        if (!paid) revert(string.concat("Sponsor: payment to ", MockText.hexAddress(msg.sender), " failed"));
        emit SponsorWithdrawal(target, msg.sender, amount, s.balance);
    }

    /// @inheritdoc ISponsor
    function sponsorshipOf(address target) external view returns (address, uint256, uint64, uint32, uint64, uint64) {
        Sponsorship storage s = _sponsorships[target];
        return (s.manager, s.balance, s.maxGasPerTx, s.maxTxsPerSenderPerWindow, s.windowSeconds, s.maxGasPerBlock);
    }

    /// @inheritdoc ISponsor
    function sponsoredTxsOf(address, address) external pure returns (uint32, uint64) {
        return (0, 0);
    }
}
