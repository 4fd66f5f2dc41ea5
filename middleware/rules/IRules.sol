// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Rete rules engine (native contract at 0x0000000000000000000000000000000000000C10)
/// @notice Register a rule set (docs/rules-language.md), keep facts in its working memory and fire its rules
///         (at the block's time); pay actions move CMT from a budget escrowed with fundRuleSet.
///         Fact fields travel ABI-encoded in the template's field order: int as int256, bool, string, address,
///         e.g. abi.encode(int256(amount), customer). Failures revert with "Rules: <reason>".
interface IRules {
    /// @notice A rule set was registered by `owner`.
    event RuleSetRegistered(uint256 indexed ruleSet, address indexed owner);
    /// @notice A rule action ran `emit name(...)`; `data` is the values ABI-encoded with the types above.
    event RuleEvent(uint256 indexed ruleSet, string name, bytes data);
    /// @notice A fireAllRules/fireRules call fired `fired` activations.
    event RulesFired(uint256 indexed ruleSet, uint256 fired);
    /// @notice `from` escrowed `amount` wei for the rule set's pay actions.
    event BudgetFunded(uint256 indexed ruleSet, address indexed from, uint256 amount);
    /// @notice The owner took `amount` wei of the budget back.
    event BudgetWithdrawn(uint256 indexed ruleSet, address indexed owner, uint256 amount);
    /// @notice A `pay(to, amount)` action of rule `rule` moved `amount` wei of the budget to `to`.
    event RulePayment(uint256 indexed ruleSet, address indexed to, string rule, uint256 amount);

    /// @notice Compiles `source` and stores it; the caller becomes the owner. Reverts with the position of an error.
    function registerRuleSet(string calldata source) external returns (uint256 ruleSet);

    /// @notice Adds a fact of type `factType` (owner only); returns its id (ids start at 1, never reused).
    function insertFact(uint256 ruleSet, string calldata factType, bytes calldata fields) external returns (uint256 factId);

    /// @notice Replaces all fields of a fact (owner only); its matches activate again. Returns true.
    function updateFact(uint256 ruleSet, uint256 factId, bytes calldata fields) external returns (bool);

    /// @notice Removes a fact (owner only). Returns true.
    function retractFact(uint256 ruleSet, uint256 factId) external returns (bool);

    /// @notice Fires activations until none is left, at most 1000 (owner only); returns how many fired.
    function fireAllRules(uint256 ruleSet) external returns (uint256 fired);

    /// @notice Fires at most `maxActivations` (capped at 1000) activations (owner only); returns how many fired.
    function fireRules(uint256 ruleSet, uint256 maxActivations) external returns (uint256 fired);

    /// @notice A fact's type and fields (ABI-encoded in the template's field order).
    function getFact(uint256 ruleSet, uint256 factId) external view returns (string memory factType, bytes memory fields);

    /// @notice Ids of the facts in the working memory, ascending.
    function factIds(uint256 ruleSet) external view returns (uint256[] memory);

    /// @notice Number of activations waiting to fire.
    function pendingActivations(uint256 ruleSet) external view returns (uint256);

    /// @notice The account or contract that registered the rule set.
    function ruleSetOwner(uint256 ruleSet) external view returns (address);

    /// @notice Number of registered rule sets.
    function ruleSetCount() external view returns (uint256);

    /// @notice Escrows msg.value (must be > 0) for the rule set's pay actions (anyone); returns the new budget.
    function fundRuleSet(uint256 ruleSet) external payable returns (uint256 budget);

    /// @notice Moves `amount` wei of the budget back to the owner (owner only); reverts beyond the budget.
    function withdrawBudget(uint256 ruleSet, uint256 amount) external returns (bool);

    /// @notice The wei escrowed for the rule set's pay actions.
    function ruleSetBudget(uint256 ruleSet) external view returns (uint256);
}
