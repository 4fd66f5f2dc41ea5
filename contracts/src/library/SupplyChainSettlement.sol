// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Supply-chain settlement: goods change hands along a chain, each hand-over settled and netted on a ledger
/// @notice Members keep CMT on the contract's ledger. A member registers a lot of goods and becomes its holder;
/// the holder offers it to the next hand at a price with an acceptance deadline; the receiver accepts (the goods
/// arrived), and at that moment the lot is the receiver's and the price is settled: first against what the sender
/// owes the receiver (bilateral netting), then as a debt to the sender within the credit line the sender granted
/// the receiver, and the rest from the receiver's ledger balance to the sender's. Anyone may net a cycle of debts
/// (each member owing the next) by its smallest debt, which changes no member's net position; a debtor repays, or
/// its creditor collects, from the debtor's ledger balance, and a member withdraws only what exceeds its debts.
/// So members convert to and from CMT only their net positions, from time to time. An offer the receiver does not
/// answer by the deadline can be withdrawn by the sender.
/// @dev Rounding: none; prices are whole wei and move unchanged. The ledger's balances always add up to the CMT
/// the contract holds; debts are claims between members, not CMT. A creditor bears the risk of the credit line it
/// grants beyond the debtor's balance. Value leaves the contract only in `withdraw`, to its caller, after its
/// balance is reduced, behind a reentrancy guard.
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

    /// @notice The longest cycle of debts netted in one call.
    uint256 public constant MAX_CYCLE = 16;

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
    /// @notice The most a creditor lets a debtor owe it, in wei.
    mapping(address => mapping(address => uint256)) public creditLine;
    /// @notice What a debtor owes a creditor, in wei.
    mapping(address => mapping(address => uint256)) public debt;
    /// @notice What each member owes all its creditors together, in wei.
    mapping(address => uint256) public totalDebt;

    /// @notice `member` deposited `amount` wei onto the ledger.
    event Deposited(address indexed member, uint256 amount);
    /// @notice `member` withdrew `amount` wei from the ledger.
    event Withdrawn(address indexed member, uint256 amount);
    /// @notice `holder` registered lot `lot` of goods `goods`.
    event LotRegistered(uint256 indexed lot, address indexed holder, bytes32 goods);
    /// @notice The holder offered lot `lot` to `to` for `price` wei, to accept by `acceptBy`.
    event HandOverOffered(uint256 indexed id, uint256 indexed lot, address indexed from, address to, uint256 price,
        uint64 acceptBy);
    /// @notice `to` accepted hand-over `id`: the lot is its own and its price was settled: `netted` wei against
    /// the sender's debt to `to`, `onCredit` wei as `to`'s debt to the sender, `paid` wei on the ledger.
    event HandOverSettled(uint256 indexed id, uint256 indexed lot, address indexed to, uint256 netted,
        uint256 onCredit, uint256 paid);
    /// @notice `creditor` lets `debtor` owe it up to `limit` wei (debts already owed stay).
    event CreditLineSet(address indexed creditor, address indexed debtor, uint256 limit);
    /// @notice `amount` wei of `debtor`'s debt to `creditor` moved from the debtor's balance to the creditor's.
    event DebtSettled(address indexed debtor, address indexed creditor, uint256 amount);
    /// @notice A cycle of debts (`members`, each owing the next, the last the first) was reduced by `amount` wei.
    event CycleNetted(address[] members, uint256 amount);
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

    /// @notice Takes `amount` wei of the caller's ledger balance out of the contract; what it owes stays.
    function withdraw(uint256 amount) external nonReentrant {
        uint256 held = balance[msg.sender];
        uint256 available = held > totalDebt[msg.sender] ? held - totalDebt[msg.sender] : 0;
        if (amount == 0) revert BadParameter("amount");
        if (amount > available) revert InsufficientBalance(available, amount);
        balance[msg.sender] = held - amount;
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

    /// @notice The receiver accepts hand-over `id` before its deadline: the lot becomes its own and the price is
    /// settled against the sender's debt to it, then on the sender's credit line, then from its ledger balance.
    function accept(uint256 id) external {
        HandOver storage handOver = _pendingFor(id, msg.sender);
        if (block.timestamp > handOver.acceptBy) revert WrongState("before the deadline");
        address from = handOver.from;
        uint256 price = handOver.price;
        uint256 netted = _min(price, debt[from][msg.sender]);
        uint256 owed = debt[msg.sender][from];
        uint256 room = creditLine[from][msg.sender] > owed ? creditLine[from][msg.sender] - owed : 0;
        uint256 onCredit = _min(price - netted, room);
        uint256 paid = price - netted - onCredit;
        uint256 available = balance[msg.sender];
        if (available < paid) revert InsufficientBalance(available, paid);
        handOver.status = Status.Accepted;
        Lot storage goods = _lots[handOver.lot];
        goods.holder = msg.sender;
        goods.pendingHandOver = 0;
        goods.hands += 1;
        debt[from][msg.sender] -= netted;
        totalDebt[from] -= netted;
        debt[msg.sender][from] = owed + onCredit;
        totalDebt[msg.sender] += onCredit;
        balance[msg.sender] = available - paid;
        balance[from] += paid;
        grossPaid[msg.sender] += price;
        grossReceived[from] += price;
        emit HandOverSettled(id, handOver.lot, msg.sender, netted, onCredit, paid);
    }

    /// @notice The caller lets `debtor` owe it up to `limit` wei for goods it hands over; lowering it leaves what
    /// is already owed.
    function setCreditLine(address debtor, uint256 limit) external {
        if (debtor == address(0) || debtor == msg.sender) revert BadParameter("debtor");
        creditLine[msg.sender][debtor] = limit;
        emit CreditLineSet(msg.sender, debtor, limit);
    }

    /// @notice Moves `amount` wei of `debtor`'s debt to `creditor` from the debtor's ledger balance to the
    /// creditor's: the debtor repays, or the creditor collects (either may call; the debt is payable on demand).
    function settleDebt(address debtor, address creditor, uint256 amount) external {
        if (msg.sender != debtor && msg.sender != creditor) revert NotAllowed();
        if (amount == 0 || amount > debt[debtor][creditor]) revert BadParameter("amount");
        uint256 available = balance[debtor];
        if (available < amount) revert InsufficientBalance(available, amount);
        debt[debtor][creditor] -= amount;
        totalDebt[debtor] -= amount;
        balance[debtor] = available - amount;
        balance[creditor] += amount;
        emit DebtSettled(debtor, creditor, amount);
    }

    /// @notice Nets a cycle of debts (anyone may call): `members[i]` owes `members[i + 1]` and the last owes the
    /// first; every debt of the cycle drops by the smallest of them. No member's net position changes (a member
    /// may appear more than once; a debt the call would take below zero reverts it).
    /// @return amount the wei each debt of the cycle dropped by
    function netCycle(address[] calldata members) external returns (uint256 amount) {
        uint256 count = members.length;
        if (count < 2 || count > MAX_CYCLE) revert BadParameter("members");
        amount = type(uint256).max;
        for (uint256 i = 0; i < count; ++i) {
            amount = _min(amount, debt[members[i]][members[(i + 1) % count]]);
        }
        if (amount == 0) revert BadParameter("members");
        for (uint256 i = 0; i < count; ++i) {
            debt[members[i]][members[(i + 1) % count]] -= amount;
            totalDebt[members[i]] -= amount;
        }
        emit CycleNetted(members, amount);
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

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev The offered hand-over `id` whose receiver is `receiver`; reverts otherwise.
    function _pendingFor(uint256 id, address receiver) private view returns (HandOver storage handOver) {
        handOver = _handOvers[id];
        if (receiver != handOver.to) revert NotAllowed();
        if (handOver.status != Status.Offered) revert WrongState("offered");
    }
}
