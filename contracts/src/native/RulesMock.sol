// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRules} from "@cmt/middleware/rules/IRules.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the rules-engine native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C10 (NativeMocks.etchAll). It keeps rule sets, their owners and their facts, emits
/// RuleSetRegistered and RulesFired and reverts with the native "Rules: " reasons for unknown rule sets and
/// facts, non-owners and the source and working-memory limits. It cannot run the rules engine: sources are stored
/// without being compiled (no syntax errors), fact types and fields are stored as given (not checked against the
/// templates), fireAllRules and fireRules fire nothing, return 0 and emit RulesFired(ruleSet, 0), no RuleEvent is
/// emitted and pendingActivations is 0. Budgets are kept (fundRuleSet, withdrawBudget, ruleSetBudget, with their
/// events and reverts), but as no rule fires, no pay action ever spends them. Test the rules themselves on the chain or with `cmnode rules check`.
/// The rule-set count (slot 0) and owners (mapping at slot 1) are where the native contract keeps them, so in a
/// fork the mock numbers new rule sets after the chain's and knows their owners.
contract RulesMock is IRules {
    uint256 internal constant MAX_CHAIN_SOURCE = 32 * 1024;
    uint256 internal constant MAX_CHAIN_FACTS = 512;

    struct Fact {
        string factType;
        bytes fields;
    }

    uint256 internal _ruleSetCount;
    mapping(uint256 => address) internal _owners;
    mapping(uint256 => uint256) internal _lastFactId;
    mapping(uint256 => uint256[]) internal _factIds;
    mapping(uint256 => mapping(uint256 => Fact)) internal _facts;
    mapping(uint256 => uint256) internal _budgets;

    /// @inheritdoc IRules
    /// @dev The source is stored, not compiled: a malformed source is accepted here and refused by the chain.
    function registerRuleSet(string calldata source) external returns (uint256 ruleSet) {
        if (bytes(source).length > MAX_CHAIN_SOURCE) {
            revert(string.concat("Rules: source of ", MockText.decimal(bytes(source).length), " bytes exceeds ",
                                 MockText.decimal(MAX_CHAIN_SOURCE)));
        }
        ruleSet = _ruleSetCount++;
        _owners[ruleSet] = msg.sender;
        emit RuleSetRegistered(ruleSet, msg.sender);
    }

    /// @inheritdoc IRules
    /// @dev The type and fields are not checked against the rule set's templates.
    function insertFact(uint256 ruleSet, string calldata factType, bytes calldata fields)
        external returns (uint256 factId)
    {
        _requireOwner(ruleSet);
        require(bytes(factType).length > 0, "Rules: unknown fact type ''");
        if (_factIds[ruleSet].length >= MAX_CHAIN_FACTS) {
            revert(string.concat("Rules: working memory is full (", MockText.decimal(MAX_CHAIN_FACTS), " facts)"));
        }
        factId = ++_lastFactId[ruleSet];
        _facts[ruleSet][factId] = Fact(factType, fields);
        _factIds[ruleSet].push(factId);
    }

    /// @inheritdoc IRules
    function updateFact(uint256 ruleSet, uint256 factId, bytes calldata fields) external returns (bool) {
        _requireOwner(ruleSet);
        _fact(ruleSet, factId).fields = fields;
        return true;
    }

    /// @inheritdoc IRules
    function retractFact(uint256 ruleSet, uint256 factId) external returns (bool) {
        _requireOwner(ruleSet);
        _fact(ruleSet, factId);
        delete _facts[ruleSet][factId];
        uint256[] storage ids = _factIds[ruleSet];
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == factId) {
                for (uint256 j = i + 1; j < ids.length; j++) ids[j - 1] = ids[j];
                ids.pop();
                break;
            }
        }
        return true;
    }

    /// @inheritdoc IRules
    /// @dev The mock has no rules engine: fires nothing, returns 0 and emits RulesFired(ruleSet, 0).
    function fireAllRules(uint256 ruleSet) external returns (uint256 fired) {
        _requireOwner(ruleSet);
        emit RulesFired(ruleSet, 0);
        return 0;
    }

    /// @inheritdoc IRules
    /// @dev The mock has no rules engine: fires nothing, returns 0 and emits RulesFired(ruleSet, 0).
    function fireRules(uint256 ruleSet, uint256) external returns (uint256 fired) {
        _requireOwner(ruleSet);
        emit RulesFired(ruleSet, 0);
        return 0;
    }

    /// @inheritdoc IRules
    function getFact(uint256 ruleSet, uint256 factId)
        external view returns (string memory factType, bytes memory fields)
    {
        _requireRuleSet(ruleSet);
        Fact storage fact = _fact(ruleSet, factId);
        return (fact.factType, fact.fields);
    }

    /// @inheritdoc IRules
    function factIds(uint256 ruleSet) external view returns (uint256[] memory) {
        _requireRuleSet(ruleSet);
        return _factIds[ruleSet];
    }

    /// @inheritdoc IRules
    /// @dev The mock has no rules engine: always 0.
    function pendingActivations(uint256 ruleSet) external view returns (uint256) {
        _requireRuleSet(ruleSet);
        return 0;
    }

    /// @inheritdoc IRules
    function ruleSetOwner(uint256 ruleSet) external view returns (address) {
        _requireRuleSet(ruleSet);
        return _owners[ruleSet];
    }

    /// @inheritdoc IRules
    function ruleSetCount() external view returns (uint256) {
        return _ruleSetCount;
    }

    /// @inheritdoc IRules
    function fundRuleSet(uint256 ruleSet) external payable returns (uint256 budget) {
        _requireRuleSet(ruleSet);
        require(msg.value > 0, "Rules: fundRuleSet needs a value (the CMT to escrow)");
        budget = _budgets[ruleSet] + msg.value;
        _budgets[ruleSet] = budget;
        emit BudgetFunded(ruleSet, msg.sender, msg.value);
    }

    /// @inheritdoc IRules
    function withdrawBudget(uint256 ruleSet, uint256 amount) external returns (bool) {
        _requireRuleSet(ruleSet);
        require(msg.sender == _owners[ruleSet], "Rules: only the rule set's owner may withdraw its budget");
        uint256 budget = _budgets[ruleSet];
        if (amount > budget) {
            revert(string.concat("Rules: withdrawal of ", MockText.decimal(amount), " wei exceeds the budget of ",
                                 MockText.decimal(budget), " wei of rule set ", MockText.decimal(ruleSet)));
        }
        _budgets[ruleSet] = budget - amount;
        (bool sent,) = msg.sender.call{value: amount}("");
        require(sent, "Rules: transfer to the owner failed");
        emit BudgetWithdrawn(ruleSet, msg.sender, amount);
        return true;
    }

    /// @inheritdoc IRules
    function ruleSetBudget(uint256 ruleSet) external view returns (uint256) {
        _requireRuleSet(ruleSet);
        return _budgets[ruleSet];
    }

    function _requireRuleSet(uint256 ruleSet) internal view {
        if (ruleSet >= _ruleSetCount) revert(string.concat("Rules: unknown rule set ", MockText.decimal(ruleSet)));
    }

    function _requireOwner(uint256 ruleSet) internal view {
        _requireRuleSet(ruleSet);
        require(_owners[ruleSet] == msg.sender, "Rules: only the rule set's owner may change its facts");
    }

    function _fact(uint256 ruleSet, uint256 factId) internal view returns (Fact storage fact) {
        fact = _facts[ruleSet][factId];
        if (bytes(fact.factType).length == 0) {
            revert(string.concat("Rules: no fact ", MockText.decimal(factId), " in rule set ",
                                 MockText.decimal(ruleSet)));
        }
    }
}
