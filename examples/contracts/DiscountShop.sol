// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// Compile next to a copy of middleware/rules/IRules.sol.
import "./IRules.sol";

/// @notice A shop whose discounts are business rules (examples/rules/discount.rules) run by the native
///         rules engine: it registers the rules once, then asks them for each order's discount.
contract DiscountShop {
    IRules public constant RULES = IRules(0x0000000000000000000000000000000000000C10);

    address public immutable owner;
    uint256 public immutable ruleSet;
    uint256 public campaignFact;
    uint256 public nextOrder = 1;

    event Quoted(uint256 indexed order, address indexed buyer, int256 amount, int256 discountPercent, int256 price);

    constructor(string memory rules) {
        owner = msg.sender;
        ruleSet = RULES.registerRuleSet(rules);
        campaignFact = RULES.insertFact(ruleSet, "Campaign", abi.encode(false));
    }

    /// @notice Turns the promotional campaign on or off (shop owner only).
    function setCampaign(bool active) external {
        require(msg.sender == owner, "DiscountShop: not the owner");
        RULES.updateFact(ruleSet, campaignFact, abi.encode(active));
    }

    /// @notice Computes the discount of an order by `msg.sender` of customer tier `tier`; returns the percent off.
    function quote(string calldata tier, int256 amount) external returns (int256 discountPercent) {
        uint256 orderNumber = nextOrder++;
        uint256 customer = RULES.insertFact(ruleSet, "Customer", abi.encode(msg.sender, tier));
        uint256 order = RULES.insertFact(
            ruleSet, "Order", abi.encode(int256(orderNumber), msg.sender, amount, int256(0))
        );
        RULES.fireAllRules(ruleSet);
        (, bytes memory fields) = RULES.getFact(ruleSet, order);
        (, , , discountPercent) = abi.decode(fields, (int256, address, int256, int256));
        RULES.retractFact(ruleSet, order);
        RULES.retractFact(ruleSet, customer);
        emit Quoted(orderNumber, msg.sender, amount, discountPercent, amount - amount * discountPercent / 100);
    }
}
