// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IdentityGrants} from "../../src/library/IdentityGrants.sol";

contract IdentityGrantsTest {
    event Accessed(uint256 indexed id, address indexed user, address indexed app, bytes32 item);

    IdentityGrants grants;
    address user = address(0x05E4);
    address lender = address(0x1E4D);
    address marketer = address(0xAD5);
    bytes32 bank = keccak256("bank.account");
    bytes32 underwriting = keccak256("loan underwriting");
    uint64 constant NOW = 1_000_000;

    function setUp() public {
        vm.warp(NOW);
        grants = new IdentityGrants();
    }

    function _grant(uint64 expiresAt) internal returns (uint256 id) {
        vm.prank(user);
        id = grants.grant(lender, bank, underwriting, expiresAt);
    }

    function testGrantedAppReadsForItsPurposeAndTheAccessIsRecorded() public {
        uint256 id = _grant(NOW + 1 days);
        require(grants.authorization(user, lender, bank, underwriting) == id, "authorized");
        vm.expectEmit(true, true, true, true);
        emit Accessed(id, user, lender, bank);
        vm.prank(lender);
        require(grants.recordAccess(user, bank, underwriting) == id, "under the grant");
    }

    function testOtherAppsItemsAndPurposesAreNotCovered() public {
        _grant(NOW + 1 days);
        require(grants.authorization(user, marketer, bank, underwriting) == 0, "another app");
        require(grants.authorization(user, lender, keccak256("home.address"), underwriting) == 0, "another item");
        require(grants.authorization(user, lender, bank, keccak256("marketing")) == 0, "another purpose");
        vm.prank(marketer);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.NoGrant.selector));
        grants.recordAccess(user, bank, underwriting);
    }

    function testGrantsExpireByBlockTime() public {
        _grant(NOW + 1 days);
        vm.warp(NOW + 1 days);
        require(grants.authorization(user, lender, bank, underwriting) == 0, "expired");
        vm.prank(lender);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.NoGrant.selector));
        grants.recordAccess(user, bank, underwriting);
    }

    function testOnlyTheUserRevokesAndRevocationIsImmediate() public {
        uint256 id = _grant(NOW + 365 days);
        vm.prank(lender);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.NotAllowed.selector));
        grants.revoke(id);
        vm.prank(user);
        grants.revoke(id);
        require(grants.getGrant(id).revoked, "shows as revoked");
        require(grants.authorization(user, lender, bank, underwriting) == 0, "no longer authorized");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.NoGrant.selector));
        grants.revoke(id);
    }

    function testANewGrantReplacesThePreviousOne() public {
        uint256 first = _grant(NOW + 365 days);
        vm.prank(user);
        uint256 second = grants.grant(lender, bank, keccak256("identity check"), NOW + 1 hours);
        require(grants.currentGrant(user, lender, bank) == second && second != first, "replaced");
        require(grants.authorization(user, lender, bank, underwriting) == 0, "the old purpose is gone");
        require(grants.authorization(user, lender, bank, keccak256("identity check")) == second, "the new one holds");
    }

    function testBadGrantsAreRefused() public {
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.BadParameter.selector, "expiresAt"));
        grants.grant(lender, bank, underwriting, NOW);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.BadParameter.selector, "app"));
        grants.grant(address(0), bank, underwriting, NOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IdentityGrants.BadParameter.selector, "app"));
        grants.grant(user, bank, underwriting, NOW + 1);
        vm.stopPrank();
    }
}
