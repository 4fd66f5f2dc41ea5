// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";

/// @notice The oracle quorum of the library's oracle-driven tests: a 2-of-3 set on the IOracle mock.
abstract contract OracleQuorumFixture {
    IOracle oracle = IOracle(NativeMocks.ORACLE);
    address[] oracles = [address(0x0A1), address(0x0A2), address(0x0A3)];
    uint256 quorum; // a 2-of-3 set of `oracles`

    /// @dev Defines `quorum` as `definer` (the mocks must be etched first).
    function _defineQuorum(address definer) internal {
        vm.prank(definer);
        quorum = oracle.defineSet(oracles, 2);
    }
}
