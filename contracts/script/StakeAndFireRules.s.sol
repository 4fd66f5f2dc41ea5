// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IStaking} from "@cmt/consensus/dpos/IStaking.sol";
import {IRules} from "@cmt/middleware/rules/IRules.sol";
import {NativeMocks} from "../src/native/NativeMocks.sol";

/// @title Stake with a validator and fire business rules, from a forge script
/// @notice Delegates 1,000 CMT to a validator (VALIDATOR, default the dev chain's validator owner), registers a
/// rule set that grants large orders a discount, inserts an order and fires the rules.
///
///     forge script script/StakeAndFireRules.s.sol --rpc-url http://127.0.0.1:8545 --private-key <key> \
///         --broadcast --skip-simulation
///
/// forge first runs run() in its local EVM, where the native contracts are replaced by the reference mocks
/// (NativeMocks.etchAll): the mocks return the ids the chain will give (the rule-set count is read from the
/// chain's storage) but fire no rules. The broadcast transactions then run on the node, where the native rules
/// engine fires the rule (RuleEvent "LargeOrder" and RulesFired in the last receipt). --skip-simulation is needed
/// because forge's second, on-chain simulation replays the transactions without the mocks.
contract StakeAndFireRules {
    IStaking internal constant STAKING = IStaking(NativeMocks.STAKING);
    IRules internal constant RULES = IRules(NativeMocks.RULES);
    address internal constant DEV_VALIDATOR_OWNER = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;
    uint256 internal constant DELEGATION = 1000 ether;

    string internal constant DISCOUNT_RULES =
        "template Order { id: int; amount: int; discount: int; }\n"
        "rule \"large order\" no_loop when { $o: Order(amount > 1000, discount < 5); }\n"
        "then { update $o { discount = 5 }; emit LargeOrder($o.id, $o.amount); }\n";

    /// @notice Delegate, register the rules, insert an order of `amount` 5000 and fire; returns the rule set's id.
    function run() external returns (uint256 ruleSet) {
        address validator = vm.envOr("VALIDATOR", DEV_VALIDATOR_OWNER);
        NativeMocks.etchAll();
        NativeMocks.copyCandidate(validator);
        vm.startBroadcast();
        STAKING.delegate{value: DELEGATION}(validator);
        ruleSet = RULES.registerRuleSet(DISCOUNT_RULES);
        RULES.insertFact(ruleSet, "Order", abi.encode(int256(1), int256(5000), int256(0)));
        RULES.fireAllRules(ruleSet);
        vm.stopBroadcast();
    }
}
