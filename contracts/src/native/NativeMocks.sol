// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IStaking} from "@cmt/consensus/dpos/IStaking.sol";
import {GovernanceMock} from "./GovernanceMock.sol";
import {JuryMock} from "./JuryMock.sol";
import {OracleMock} from "./OracleMock.sol";
import {RandomnessMock} from "./RandomnessMock.sol";
import {RulesMock} from "./RulesMock.sol";
import {SponsorMock} from "./SponsorMock.sol";
import {StakingMock} from "./StakingMock.sol";
import {VestingMock} from "./VestingMock.sol";
import {WebhooksMock} from "./WebhooksMock.sol";
import {WorkflowMock} from "./WorkflowMock.sol";

/// @title The native contracts' fixed addresses and the recipe that puts the reference mocks there
/// @notice On the chain these accounts hold the one-byte marker code 0xfe and Python answers their calls; Foundry's
/// local EVM (forge test, forge script, forge test --fork-url) would execute the marker and stop with
/// InvalidFEOpcode. Call etchAll() in setUp() or at the start of run(), before any call to a native contract.
library NativeMocks {
    address internal constant VESTING = 0x0000000000000000000000000000000000000C01;
    address internal constant STAKING = 0x0000000000000000000000000000000000000c02;
    address internal constant GOVERNANCE = 0x0000000000000000000000000000000000000c03;
    address internal constant RULES = 0x0000000000000000000000000000000000000C10;
    address internal constant WORKFLOW = 0x0000000000000000000000000000000000000c11;
    address internal constant WEBHOOKS = 0x0000000000000000000000000000000000000C12;
    address internal constant ORACLE = 0x0000000000000000000000000000000000000c13;
    address internal constant RANDOMNESS = 0x0000000000000000000000000000000000000C14;
    address internal constant JURY = 0x0000000000000000000000000000000000000C15;
    address internal constant SPONSOR = 0x0000000000000000000000000000000000000C16;

    /// @notice Replace the code at every native address by its reference mock (in the local EVM only).
    function etchAll() internal {
        vm.etch(VESTING, type(VestingMock).runtimeCode);
        vm.etch(STAKING, type(StakingMock).runtimeCode);
        vm.etch(GOVERNANCE, type(GovernanceMock).runtimeCode);
        vm.etch(RULES, type(RulesMock).runtimeCode);
        vm.etch(WORKFLOW, type(WorkflowMock).runtimeCode);
        vm.etch(WEBHOOKS, type(WebhooksMock).runtimeCode);
        vm.etch(ORACLE, type(OracleMock).runtimeCode);
        vm.etch(RANDOMNESS, type(RandomnessMock).runtimeCode);
        vm.etch(JURY, type(JuryMock).runtimeCode);
        vm.etch(SPONSOR, type(SponsorMock).runtimeCode);
    }

    /// @notice In a fork (forge test --fork-url, forge script --rpc-url): read `owner`'s candidacy from the node
    /// with eth_call and put it into the staking mock, so the test or script can delegate to it. Call after etchAll.
    function copyCandidate(address owner) internal returns (IStaking.CandidateInfo memory info) {
        string memory params = string.concat(
            "[{\"to\":\"", vm.toString(STAKING), "\",\"data\":\"",
            vm.toString(abi.encodeCall(IStaking.getCandidate, (owner))), "\"},\"latest\"]"
        );
        info = abi.decode(vm.rpc("eth_call", params), (IStaking.CandidateInfo));
        StakingMock(STAKING).seedCandidate(info);
    }
}
