// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @notice The part of IWebhooks (middleware/webhooks/IWebhooks.sol) this contract uses, declared here so that the
///         file compiles on its own (`cmnode deploy examples/contracts/DeliveryEscrow.sol`).
interface IWebhooks {
    function requestCallback(string calldata topic, bytes calldata payload) external returns (uint256 requestId);
}

/// @title Delivery escrow: the buyer's payment is released to the seller when the carrier confirms delivery.
/// @notice `pay` holds the payment and asks the outside world, through the IWebhooks native contract, for a
///         "carrier.delivery" callback. The node delivers that request to the carrier's web service; the carrier's
///         confirmation comes back as an inbound callback, a transaction of the node's oracle account calling
///         `confirmDelivery(orderId)`, which pays the seller. Only the oracle may confirm.
contract DeliveryEscrow {
    IWebhooks public constant WEBHOOKS = IWebhooks(0x0000000000000000000000000000000000000C12);
    string public constant CALLBACK_TOPIC = "carrier.delivery";

    enum Status { None, Paid, Delivered }

    struct Order {
        address buyer;
        address payable seller;
        uint256 amount;
        Status status;
        uint256 requestId;
    }

    address public immutable oracle;
    uint256 public orderCount;
    mapping(uint256 => Order) public orders;

    event OrderPaid(uint256 indexed orderId, address indexed buyer, address indexed seller, uint256 amount,
                    uint256 requestId, string trackingNumber);
    event DeliveryConfirmed(uint256 indexed orderId, address indexed seller, uint256 amount);

    constructor(address oracle_) {
        require(oracle_ != address(0), "DeliveryEscrow: oracle is the zero address");
        oracle = oracle_;
    }

    /// @notice Pay for an order shipped with `trackingNumber`; returns the order id.
    function pay(address payable seller, string calldata trackingNumber) external payable returns (uint256 orderId) {
        require(msg.value > 0, "DeliveryEscrow: nothing paid");
        require(seller != address(0), "DeliveryEscrow: seller is the zero address");
        orderId = ++orderCount;
        uint256 requestId = WEBHOOKS.requestCallback(CALLBACK_TOPIC, abi.encode(orderId, trackingNumber));
        orders[orderId] = Order(msg.sender, seller, msg.value, Status.Paid, requestId);
        emit OrderPaid(orderId, msg.sender, seller, msg.value, requestId, trackingNumber);
    }

    /// @notice The carrier confirmed delivery of `orderId` (oracle only): release the payment to the seller.
    function confirmDelivery(uint256 orderId) external {
        require(msg.sender == oracle, "DeliveryEscrow: only the oracle confirms deliveries");
        Order storage order = orders[orderId];
        require(order.status == Status.Paid, "DeliveryEscrow: order is not awaiting delivery");
        order.status = Status.Delivered;
        (bool paid, ) = order.seller.call{value: order.amount}("");
        require(paid, "DeliveryEscrow: payment to the seller failed");
        emit DeliveryConfirmed(orderId, order.seller, order.amount);
    }
}
