// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IStaking} from "@cmt/consensus/dpos/IStaking.sol";
import {IRules} from "@cmt/middleware/rules/IRules.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";

/// @notice Run against a node: forge test --fork-url http://127.0.0.1:8545 --match-path 'test/fork/*'.
/// Accounts, balances and the dev validator's candidacy come from the chain; staking and rules run on the mocks.
contract NativeForkTest {
    IStaking internal constant STAKING = IStaking(NativeMocks.STAKING);
    IRules internal constant RULES = IRules(NativeMocks.RULES);
    address internal constant DEV_VALIDATOR_OWNER = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;
    address internal constant DEV_ACCOUNT_3 = 0x90F79bf6EB2c4f870365E785982E1f101E93b906;

    uint256 internal _chainRuleSets;

    function setUp() public {
        _chainRuleSets = _storageWord(NativeMocks.RULES, 0);
        NativeMocks.etchAll();
        NativeMocks.copyCandidate(DEV_VALIDATOR_OWNER);
    }

    function testTheForkIsTheDevChain() public view {
        require(block.chainid == 15, "the local chain's id");
        require(block.number > 0, "blocks were made");
        require(DEV_ACCOUNT_3.balance >= 1_000_000 ether, "dev accounts are funded");
        require(NativeMocks.STAKING.balance >= 1_000_000 ether, "the chain's staking contract holds the stake");
    }

    function testDelegateToTheChainsValidator() public {
        IStaking.CandidateInfo memory validator = STAKING.getCandidate(DEV_VALIDATOR_OWNER);
        require(validator.stake >= 1_000_000 ether && validator.pubKey != bytes32(0), "copied from the chain");
        vm.prank(DEV_ACCOUNT_3);
        STAKING.delegate{value: 1000 ether}(DEV_VALIDATOR_OWNER);
        require(STAKING.getCandidate(DEV_VALIDATOR_OWNER).stake == validator.stake + 1000 ether, "stake grew");
        IStaking.DelegationInfo[] memory delegations = STAKING.getDelegations(DEV_ACCOUNT_3);
        require(delegations.length == 1 && delegations[0].amount == 1000 ether, "the delegation");
    }

    function testRuleSetIdsFollowTheChains() public {
        vm.startPrank(DEV_ACCOUNT_3);
        uint256 ruleSet = RULES.registerRuleSet("template Order { id: int; amount: int; discount: int; }");
        require(ruleSet == _chainRuleSets, "numbered after the chain's rule sets");
        uint256 factId = RULES.insertFact(ruleSet, "Order", abi.encode(int256(1), int256(5000), int256(0)));
        require(RULES.fireAllRules(ruleSet) == 0, "the mock fires nothing");
        vm.stopPrank();
        (, bytes memory fields) = RULES.getFact(ruleSet, factId);
        (, int256 amount,) = abi.decode(fields, (int256, int256, int256));
        require(amount == 5000, "fact read back");
    }

    function _storageWord(address account, uint256 slot) internal returns (uint256) {
        string memory params = string.concat(
            "[\"", vm.toString(account), "\",\"", vm.toString(abi.encode(slot)), "\",\"latest\"]");
        return abi.decode(vm.rpc("eth_getStorageAt", params), (uint256));
    }
}
