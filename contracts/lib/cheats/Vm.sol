// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title The Foundry cheatcodes this project uses
/// @notice forge and cast answer calls to VM_ADDRESS in their local EVM; nothing is deployed there on a chain.
/// Only the cheatcodes the project's tests and scripts call are declared (signatures as Foundry defines them).
interface Vm {
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function startBroadcast() external;
    function stopBroadcast() external;
    function envOr(string calldata name, address defaultValue) external view returns (address value);
    function rpc(string calldata method, string calldata params) external returns (bytes memory data);
    function toString(bytes calldata value) external pure returns (string memory stringifiedValue);
    function toString(address value) external pure returns (string memory stringifiedValue);
}

// The cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

// The cheatcodes, ready to call.
Vm constant vm = Vm(VM_ADDRESS);
