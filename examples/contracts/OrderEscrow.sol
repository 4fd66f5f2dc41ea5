// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// Compile next to a copy of middleware/bpm/IWorkflow.sol (the workflow engine's interface).
import "./IWorkflow.sol";

/// @title An order paid into escrow and driven through the "order-escrow" process (examples/bpm/order-escrow.json)
/// @notice The buyer deploys the escrow for a seller and an arbiter; the escrow starts a workflow instance in which
/// it plays the "escrow" role. The buyer pays through the escrow (task "pay"); the seller ships and the buyer
/// confirms, accepts or disputes directly on the workflow engine, which enforces who may do what and when; the
/// arbiter resolves disputes; a missed delivery deadline refunds the buyer by a timer. Once the instance reaches
/// "completed" or "refunded", anyone may call settle() to pay the seller or refund the buyer.
contract OrderEscrow {
    IWorkflow public constant WORKFLOW = IWorkflow(0x0000000000000000000000000000000000000c11);

    address public immutable buyer;
    address public immutable seller;
    address public immutable arbiter;
    uint256 public immutable instanceId;
    uint256 public price;
    bool public settled;

    event Paid(uint256 amount);
    event Settled(address indexed to, uint256 amount);

    /// @param definitionId an "order-escrow" definition deployed on the workflow engine
    constructor(uint256 definitionId, address seller_, address arbiter_) {
        buyer = msg.sender;
        seller = seller_;
        arbiter = arbiter_;
        string[] memory roles = new string[](4);
        address[] memory members = new address[](4);
        (roles[0], members[0]) = ("buyer", msg.sender);
        (roles[1], members[1]) = ("seller", seller_);
        (roles[2], members[2]) = ("arbiter", arbiter_);
        (roles[3], members[3]) = ("escrow", address(this));
        instanceId = WORKFLOW.startInstance(definitionId, roles, members, "");
    }

    /// @notice The buyer pays the price into escrow; the workflow moves from "created" to "paid".
    function pay() external payable {
        require(msg.sender == buyer, "OrderEscrow: only the buyer pays");
        price = msg.value;
        WORKFLOW.completeTask(instanceId, "pay", abi.encode(int256(msg.value)));
        emit Paid(msg.value);
    }

    /// @notice The workflow's current state.
    function state() public view returns (string memory current) {
        (current,,,) = WORKFLOW.instanceState(instanceId);
    }

    /// @notice Pays the seller once the order is "completed", or refunds the buyer once it is "refunded".
    function settle() external {
        require(!settled, "OrderEscrow: already settled");
        bytes32 current = keccak256(bytes(state()));
        address to;
        if (current == keccak256("completed")) {
            to = seller;
        } else if (current == keccak256("refunded")) {
            to = buyer;
        } else {
            revert("OrderEscrow: the order is not finished");
        }
        settled = true;
        uint256 amount = price;
        (bool ok, ) = payable(to).call{value: amount}("");
        require(ok, "OrderEscrow: payment failed");
        emit Settled(to, amount);
    }
}
