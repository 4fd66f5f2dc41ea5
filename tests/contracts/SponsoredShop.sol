// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ISponsor} from "./ISponsor.sol";

/// @notice A shop whose calls cost shoppers nothing: it sets up its own sponsorship in its constructor, with the
/// deployer as manager, and deposits the value it was deployed with.
contract SponsoredShop {
    ISponsor internal constant SPONSOR = ISponsor(0x0000000000000000000000000000000000000C16);

    mapping(address => uint256) public visits;

    constructor(uint64 maxGasPerTx, uint32 maxTxsPerSenderPerWindow, uint64 windowSeconds, uint64 maxGasPerBlock)
        payable
    {
        SPONSOR.configure(address(this), msg.sender, maxGasPerTx, maxTxsPerSenderPerWindow, windowSeconds,
                          maxGasPerBlock);
        if (msg.value > 0) SPONSOR.deposit{value: msg.value}(address(this));
    }

    /// @notice Count a visit of the caller.
    function visit() external {
        visits[msg.sender] += 1;
    }

    /// @notice Always reverts (a sponsored call that fails still costs the deposit its gas).
    function refuse() external pure {
        revert("SponsoredShop: refused");
    }
}
