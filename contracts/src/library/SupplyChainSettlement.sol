// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Supply-chain settlement: goods change hands along a chain, each hand-over settled on a shared ledger
/// @notice Members keep CMT on the contract's ledger. A member registers a lot of goods and becomes its holder;
/// the holder offers it to the next hand at a price with an acceptance deadline; the receiver accepts (the goods
/// arrived), and at that moment the lot is the receiver's and the price moves from the receiver's balance to the
/// sender's. Payments among members are book entries, so they net out: a member that buys and sells along the
/// chain deposits only what its purchases exceed its sales by at their peak, and withdraws its net gain whenever
/// it likes. An offer the receiver does not accept by the deadline can be withdrawn by the sender.
/// @dev Rounding: none; prices are whole wei and move unchanged. The ledger's balances always add up to the CMT
/// the contract holds. Value leaves the contract only in `withdraw`, to its caller, after its balance is reduced,
/// behind a reentrancy guard.
contract SupplyChainSettlement is ReentrancyGuard {
    /// @notice A lot of goods and where it stands.
    struct Lot {
        address holder;
        bytes32 goods; // hash of the off-chain description (items, quantities, documents)
        uint256 pendingHandOver; // 0 when none is offered
        uint32 hands; // how many hand-overs it went through
    }

    /// @notice An offer to hand a lot over.
    struct HandOver {
        uint256 lot;
        address from;
        address to;
        uint256 price; // wei
        uint64 acceptBy;
        Status status;
    }

    /// @notice Where a hand-over stands.
    enum Status {
        None,
        Offered,
        Accepted,
        Rejected,
        Withdrawn
    }

    /// @notice Lots registered; ids run from 1.
    uint256 public lotCount;
    /// @notice Hand-overs offered; ids run from 1.
    uint256 public handOverCount;
    mapping(uint256 => Lot) private _lots;
    mapping(uint256 => HandOver) private _handOvers;
    /// @notice Each member's CMT on the ledger, in wei.
    mapping(address => uint256) public balance;
    /// @notice Wei each member has paid for goods on the ledger, in total.
    mapping(address => uint256) public grossPaid;
    /// @notice Wei each member has been paid for goods on the ledger, in total.
    mapping(address => uint256) public grossReceived;

    /// @notice `member` deposited `amount` wei onto the ledger.
    event Deposited(address indexed member, uint256 amount);
    /// @notice `member` withdrew `amount` wei from the ledger.
    event Withdrawn(address indexed member, uint256 amount);
    /// @notice `holder` registered lot `lot` of goods `goods`.
    event LotRegistered(uint256 indexed lot, address indexed holder, bytes32 goods);
    /// @notice The holder offered lot `lot` to `to` for `price` wei, to accept by `acceptBy`.
    event HandOverOffered(uint256 indexed id, uint256 indexed lot, address indexed from, address to, uint256 price,
        uint64 acceptBy);
    /// @notice `to` accepted hand-over `id`: the lot is its own and `price` wei moved on the ledger.
    event HandOverSettled(uint256 indexed id, uint256 indexed lot, address indexed to, uint256 price);
    /// @notice The receiver refused hand-over `id` (`reason`: hash of its note); the lot stays with the sender.
    event HandOverRejected(uint256 indexed id, bytes32 reason);
    /// @notice The sender withdrew hand-over `id` after its deadline passed unanswered.
    event HandOverWithdrawn(uint256 indexed id);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller may not make this call.
    error NotAllowed();
    /// @notice The record is not in the state the call needs (`state` names it).
    error WrongState(string state);
    /// @notice The member's ledger balance (`available` wei) does not cover `needed` wei.
    error InsufficientBalance(uint256 available, uint256 needed);
    /// @notice A transfer of CMT was refused by its recipient.
    error PaymentFailed();

    /// @notice Adds the CMT sent to the caller's ledger balance.
    function deposit() external payable {
        if (msg.value == 0) revert BadParameter("value");
        balance[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Takes `amount` wei of the caller's ledger balance out of the contract.
    function withdraw(uint256 amount) external nonReentrant {
        uint256 available = balance[msg.sender];
        if (amount == 0) revert BadParameter("amount");
        if (amount > available) revert InsufficientBalance(available, amount);
        balance[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }

    /// @notice The caller registers a lot of goods (described off chain, hashing to `goods`) and holds it.
    /// @return lot the lot's id
    function registerLot(bytes32 goods) external returns (uint256 lot) {
        if (goods == bytes32(0)) revert BadParameter("goods");
        lot = ++lotCount;
        _lots[lot] = Lot(msg.sender, goods, 0, 0);
        emit LotRegistered(lot, msg.sender, goods);
    }

    /// @notice The holder offers lot `lot` to `to` for `price` wei, to be accepted by `acceptBy`; one offer per lot
    /// at a time, and its terms never change.
    /// @return id the hand-over's id
    function offer(uint256 lot, address to, uint256 price, uint64 acceptBy) external returns (uint256 id) {
        Lot storage goods = _lots[lot];
        if (msg.sender != goods.holder) revert NotAllowed();
        if (goods.pendingHandOver != 0) revert WrongState("no offer pending");
        if (to == address(0) || to == msg.sender) revert BadParameter("to");
        if (acceptBy <= block.timestamp) revert BadParameter("acceptBy");
        id = ++handOverCount;
        _handOvers[id] = HandOver(lot, msg.sender, to, price, acceptBy, Status.Offered);
        goods.pendingHandOver = id;
        emit HandOverOffered(id, lot, msg.sender, to, price, acceptBy);
    }

    /// @notice The receiver accepts hand-over `id` before its deadline: the lot becomes its own and the price
    /// moves from its ledger balance to the sender's.
    function accept(uint256 id) external {
        HandOver storage handOver = _pendingFor(id, msg.sender);
        if (block.timestamp > handOver.acceptBy) revert WrongState("before the deadline");
        uint256 available = balance[msg.sender];
        if (available < handOver.price) revert InsufficientBalance(available, handOver.price);
        handOver.status = Status.Accepted;
        Lot storage goods = _lots[handOver.lot];
        goods.holder = msg.sender;
        goods.pendingHandOver = 0;
        goods.hands += 1;
        balance[msg.sender] = available - handOver.price;
        balance[handOver.from] += handOver.price;
        grossPaid[msg.sender] += handOver.price;
        grossReceived[handOver.from] += handOver.price;
        emit HandOverSettled(id, handOver.lot, msg.sender, handOver.price);
    }

    /// @notice The receiver refuses hand-over `id` (for example, goods not as described); the lot stays with the
    /// sender and nothing moves.
    function reject(uint256 id, bytes32 reason) external {
        HandOver storage handOver = _pendingFor(id, msg.sender);
        handOver.status = Status.Rejected;
        _lots[handOver.lot].pendingHandOver = 0;
        emit HandOverRejected(id, reason);
    }

    /// @notice The sender withdraws hand-over `id` once its deadline has passed unanswered, freeing the lot.
    function withdrawOffer(uint256 id) external {
        HandOver storage handOver = _handOvers[id];
        if (msg.sender != handOver.from) revert NotAllowed();
        if (handOver.status != Status.Offered) revert WrongState("offered");
        if (block.timestamp <= handOver.acceptBy) revert WrongState("after the deadline");
        handOver.status = Status.Withdrawn;
        _lots[handOver.lot].pendingHandOver = 0;
        emit HandOverWithdrawn(id);
    }

    /// @notice Lot `lot` as it stands.
    function getLot(uint256 lot) external view returns (Lot memory) {
        return _lots[lot];
    }

    /// @notice Hand-over `id` as recorded.
    function getHandOver(uint256 id) external view returns (HandOver memory) {
        return _handOvers[id];
    }

    /// @dev The offered hand-over `id` whose receiver is `receiver`; reverts otherwise.
    function _pendingFor(uint256 id, address receiver) private view returns (HandOver storage handOver) {
        handOver = _handOvers[id];
        if (receiver != handOver.to) revert NotAllowed();
        if (handOver.status != Status.Offered) revert WrongState("offered");
    }
}
