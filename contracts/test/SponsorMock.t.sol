// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {ISponsor} from "@cmt/vm/sponsorship/ISponsor.sol";
import {MockText} from "../src/native/MockText.sol";
import {NativeMocks} from "../src/native/NativeMocks.sol";

/// @notice A contract that sets up its own sponsorship, as a sponsored contract does on the chain.
contract SelfSponsored {
    constructor(address manager) payable {
        ISponsor(NativeMocks.SPONSOR).configure(address(this), manager, 100_000, 5, 3600, 1_000_000);
        ISponsor(NativeMocks.SPONSOR).deposit{value: msg.value}(address(this));
    }
}

/// @notice The sponsor mock etched at 0x…0C16: configure, deposit and withdraw with the chain's rules and reasons.
contract SponsorMockTest {
    ISponsor internal constant SPONSOR = ISponsor(NativeMocks.SPONSOR);
    address internal constant MANAGER = address(0xA11CE);
    address internal constant STRANGER = address(0xB0B);

    function setUp() public {
        NativeMocks.etchAll();
        vm.deal(address(this), 10 ether);
    }

    function _error(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }

    function testATargetConfiguresAndFundsItselfAndItsManagerWithdraws() public {
        address target = address(new SelfSponsored{value: 2 ether}(MANAGER));
        (address manager, uint256 balance, uint64 maxGas, uint32 maxTxs, uint64 window, uint64 blockGas) =
            SPONSOR.sponsorshipOf(target);
        require(manager == MANAGER && balance == 2 ether, "manager and deposit");
        require(maxGas == 100_000 && maxTxs == 5 && window == 3600 && blockGas == 1_000_000, "bounds");
        vm.prank(STRANGER);
        vm.expectRevert(_error(string.concat("Sponsor: only the target or its manager may withdraw from ",
                                             MockText.hexAddress(target))));
        SPONSOR.withdraw(target, 1);
        vm.prank(MANAGER);
        SPONSOR.withdraw(target, 0.5 ether);
        (, balance,,,,) = SPONSOR.sponsorshipOf(target);
        require(balance == 1.5 ether && MANAGER.balance == 0.5 ether, "withdrawn to the manager");
        (uint32 used, uint64 start) = SPONSOR.sponsoredTxsOf(target, STRANGER);
        require(used == 0 && start == 0, "no sponsored transactions in a local EVM");
    }

    function testOnlyTheTargetSetsUpItsSponsorshipAndBoundsAreChecked() public {
        string memory stranger = MockText.hexAddress(STRANGER);
        vm.expectRevert(_error(string.concat("Sponsor: only ", stranger, " itself may set up its sponsorship")));
        SPONSOR.configure(STRANGER, MANAGER, 100_000, 5, 3600, 1_000_000);
        vm.prank(STRANGER);
        vm.expectRevert(_error("Sponsor: maxGasPerBlock (99999) must be at least maxGasPerTx (100000)"));
        SPONSOR.configure(STRANGER, MANAGER, 100_000, 5, 3600, 99_999);
        vm.expectRevert(_error(string.concat("Sponsor: ", stranger, " has no sponsorship")));
        SPONSOR.deposit{value: 1}(STRANGER);
    }
}
