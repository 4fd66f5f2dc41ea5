// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Text for the mocks' revert reasons, written as the native contracts write them
library MockText {
    /// @notice `value` in decimal digits.
    function decimal(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 rest = value; rest != 0; rest /= 10) digits++;
        bytes memory text = new bytes(digits);
        for (; value != 0; value /= 10) text[--digits] = bytes1(uint8(48 + value % 10));
        return string(text);
    }

    /// @notice `account` as 0x and 40 lowercase hex digits.
    function hexAddress(address account) internal pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory text = new bytes(42);
        text[0] = "0";
        text[1] = "x";
        uint160 value = uint160(account);
        for (uint256 i = 41; i > 1; i--) {
            text[i] = digits[value & 15];
            value >>= 4;
        }
        return string(text);
    }
}
