// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PullPayments} from "./PullPayments.sol";

/// @title Leads bidding: merchants bid CMT to send a message to users of a segment; users who open it are paid
/// @notice Users opt into segments (tags such as "car buyers in Dallas"). A merchant places a bid on a segment: a
/// budget in CMT, a price per user, how long users may accept and open the message, and the seal of the message's
/// content hash. Bids of a segment are kept highest price first. A user of the segment accepts a bid, which
/// reserves the price from the budget, so a user who goes on to open the message is sure to be paid; the merchant
/// sends the message to those who accepted. Opening is proven by commit and reveal: before the bid's deadline the
/// user commits keccak256(abi.encode(bidId, user, contentHash)), where contentHash is keccak256 of the message it
/// received; after the deadline anyone reveals contentHash (checked against the seal) and each user whose commitment
/// matches claims the price. After the claim period anyone closes the bid and the unspent budget returns to the
/// merchant.
/// @dev Rounding: there is no division. A budget pays floor(budget / price) users; the rest (budget mod price),
/// reservations never opened or never claimed, and the unreserved budget return to the merchant at closing. Every
/// payment is credited and withdrawn by its owner (pull payments) behind a reentrancy guard.
contract LeadsBidding is PullPayments {
    /// @notice Where a user stands with a bid.
    enum Reply {
        None,
        Accepted,
        Opened,
        Paid
    }

    /// @notice A merchant's bid for a segment's attention.
    struct Bid {
        address merchant;
        bytes32 segment;
        uint256 price; // wei paid to each user who opens the message
        uint256 available; // wei of budget not reserved by an acceptance
        uint256 reserved; // wei reserved for users who accepted and are not paid yet
        uint64 openUntil; // accept and commit before this block time
        uint64 claimUntil; // reveal and claim before this block time
        bytes32 seal; // keccak256(abi.encode(contentHash))
        bytes32 contentHash; // 0 until revealed
        bool closed;
    }

    /// @notice How long after a bid's deadline its users have to reveal and claim.
    uint64 public constant CLAIM_PERIOD = 3 days;

    /// @notice Bids placed; ids run from 1.
    uint256 public bidCount;
    mapping(uint256 => Bid) private _bids;
    /// @notice Whether a user opted into a segment.
    mapping(bytes32 => mapping(address => bool)) public optedIn;
    /// @notice Each user's reply to each bid.
    mapping(uint256 => mapping(address => Reply)) public replyOf;
    /// @notice Each user's commitment that it opened a bid's message.
    mapping(uint256 => mapping(address => bytes32)) public openCommitment;
    /// @notice The open bid of a segment with the highest price (0 if none); ties keep the earlier bid first.
    mapping(bytes32 => uint256) public firstBid;
    /// @notice The next open bid of the same segment at the same or a lower price (0 at the end).
    mapping(uint256 => uint256) public nextBid;
    mapping(uint256 => uint256) private _previousBid;

    /// @notice `user` opted into `segment`.
    event OptedIn(bytes32 indexed segment, address indexed user);
    /// @notice `user` opted out of `segment`.
    event OptedOut(bytes32 indexed segment, address indexed user);
    /// @notice `merchant` placed bid `id` on `segment`: `budget` wei paying `price` per user until `openUntil`.
    event BidPlaced(uint256 indexed id, address indexed merchant, bytes32 indexed segment, uint256 price,
        uint256 budget, uint64 openUntil, bytes32 seal);
    /// @notice `user` accepted bid `id`; its price is reserved for it.
    event Accepted(uint256 indexed id, address indexed user);
    /// @notice `user` committed to having opened bid `id`'s message.
    event Opened(uint256 indexed id, address indexed user, bytes32 commitment);
    /// @notice Bid `id`'s content hash was revealed by `by`.
    event Revealed(uint256 indexed id, address indexed by, bytes32 contentHash);
    /// @notice `user` was credited `amount` wei for opening bid `id`'s message.
    event Paid(uint256 indexed id, address indexed user, uint256 amount);
    /// @notice Bid `id` closed; `refunded` wei returned to its merchant.
    event BidClosed(uint256 indexed id, uint256 refunded);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller cannot take part in this bid; `term` names the term it misses.
    error NotEligible(string term);
    /// @notice The bid's unreserved budget cannot pay one more user.
    error BudgetExhausted(uint256 available, uint256 price);
    /// @notice The bid is not in the state the call needs (`state` names it).
    error WrongState(string state);
    /// @notice The revealed content hash does not match the seal, or the user's commitment does not match it.
    error WrongProof();

    /// @notice The caller opts into `segment`: it may accept the segment's bids.
    function optIn(bytes32 segment) external {
        if (segment == bytes32(0)) revert BadParameter("segment");
        optedIn[segment][msg.sender] = true;
        emit OptedIn(segment, msg.sender);
    }

    /// @notice The caller opts out of `segment`: it accepts none of the segment's bids from now on.
    function optOut(bytes32 segment) external {
        optedIn[segment][msg.sender] = false;
        emit OptedOut(segment, msg.sender);
    }

    /// @notice The caller places a bid on `segment` with the CMT sent as its budget.
    /// @param price the wei each user who opens the message is paid (the budget must pay at least one)
    /// @param openUntil the block time until which users accept and commit (in the future)
    /// @param seal keccak256(abi.encode(contentHash)), contentHash being keccak256 of the message's bytes; the
    /// message should carry a random line so that its hash cannot be guessed
    /// @param hint a listed bid of the segment at the same or a higher price to insert after (saves gas), or 0
    /// @return id the bid's id
    function placeBid(bytes32 segment, uint256 price, uint64 openUntil, bytes32 seal, uint256 hint)
        external
        payable
        returns (uint256 id)
    {
        if (segment == bytes32(0)) revert BadParameter("segment");
        if (price == 0 || msg.value < price) revert BadParameter("price");
        if (openUntil <= block.timestamp) revert BadParameter("openUntil");
        if (seal == bytes32(0)) revert BadParameter("seal");
        id = ++bidCount;
        _bids[id] = Bid(msg.sender, segment, price, msg.value, 0, openUntil, openUntil + CLAIM_PERIOD, seal, 0, false);
        _insert(segment, id, price, hint);
        emit BidPlaced(id, msg.sender, segment, price, msg.value, openUntil, seal);
    }

    /// @notice The caller, opted into the bid's segment, accepts bid `id`: its price is reserved from the budget
    /// for the caller until the claim period ends. Once per user and bid, before the bid's deadline.
    function accept(uint256 id) external {
        Bid storage bid = _openBid(id);
        if (!optedIn[bid.segment][msg.sender]) revert NotEligible("segment");
        if (replyOf[id][msg.sender] != Reply.None) revert NotEligible("once");
        if (bid.available < bid.price) revert BudgetExhausted(bid.available, bid.price);
        bid.available -= bid.price;
        bid.reserved += bid.price;
        replyOf[id][msg.sender] = Reply.Accepted;
        emit Accepted(id, msg.sender);
    }

    /// @notice The caller, who accepted bid `id`, commits to having opened its message, before the bid's deadline.
    /// @param commitment keccak256(abi.encode(id, caller, contentHash)) of the message it received
    function open(uint256 id, bytes32 commitment) external {
        _openBid(id);
        if (replyOf[id][msg.sender] != Reply.Accepted) revert NotEligible("accepted");
        if (commitment == bytes32(0)) revert BadParameter("commitment");
        replyOf[id][msg.sender] = Reply.Opened;
        openCommitment[id][msg.sender] = commitment;
        emit Opened(id, msg.sender, commitment);
    }

    /// @notice Reveals bid `id`'s content hash after its deadline and before its claim period ends (anyone: the
    /// merchant, or any user who opened the message if the merchant stays silent).
    function reveal(uint256 id, bytes32 contentHash) external {
        Bid storage bid = _bids[id];
        if (bid.merchant == address(0) || bid.closed || bid.contentHash != bytes32(0)) revert WrongState("sealed");
        if (block.timestamp < bid.openUntil || block.timestamp >= bid.claimUntil) revert WrongState("claiming");
        if (keccak256(abi.encode(contentHash)) != bid.seal) revert WrongProof();
        bid.contentHash = contentHash;
        emit Revealed(id, msg.sender, contentHash);
    }

    /// @notice The caller, whose commitment matches bid `id`'s revealed content hash, is credited the bid's price.
    /// @return amount the wei credited
    function claim(uint256 id) external returns (uint256 amount) {
        Bid storage bid = _bids[id];
        if (bid.contentHash == bytes32(0) || bid.closed || block.timestamp >= bid.claimUntil) {
            revert WrongState("revealed");
        }
        if (replyOf[id][msg.sender] != Reply.Opened) revert NotEligible("opened");
        if (openCommitment[id][msg.sender] != keccak256(abi.encode(id, msg.sender, bid.contentHash))) {
            revert WrongProof();
        }
        amount = bid.price;
        replyOf[id][msg.sender] = Reply.Paid;
        bid.reserved -= amount;
        credit[msg.sender] += amount;
        emit Paid(id, msg.sender, amount);
    }

    /// @notice Closes bid `id` (anyone may call) after its claim period, or after its deadline when nothing is
    /// reserved, and credits its merchant the unreserved budget and the unclaimed reservations.
    function close(uint256 id) external {
        Bid storage bid = _bids[id];
        bool done = block.timestamp >= bid.claimUntil || (block.timestamp >= bid.openUntil && bid.reserved == 0);
        if (bid.merchant == address(0) || bid.closed || !done) revert WrongState("over");
        uint256 refunded = bid.available + bid.reserved;
        bid.closed = true;
        bid.available = 0;
        bid.reserved = 0;
        _unlink(bid.segment, id);
        credit[bid.merchant] += refunded;
        emit BidClosed(id, refunded);
    }

    /// @notice Bid `id` as recorded (a zero merchant for an unknown id).
    function getBid(uint256 id) external view returns (Bid memory) {
        return _bids[id];
    }

    /// @notice Up to `count` bids of `segment` that a user may accept now, highest price first.
    function topBids(bytes32 segment, uint256 count) external view returns (uint256[] memory ids) {
        ids = new uint256[](count);
        uint256 found = 0;
        for (uint256 id = firstBid[segment]; id != 0 && found < count; id = nextBid[id]) {
            Bid storage bid = _bids[id];
            if (block.timestamp < bid.openUntil && bid.available >= bid.price) ids[found++] = id;
        }
        assembly {
            mstore(ids, found)
        }
    }

    /// @dev Bid `id`, reverting unless it exists and is still open to acceptances and commitments.
    function _openBid(uint256 id) private view returns (Bid storage bid) {
        bid = _bids[id];
        if (bid.merchant == address(0) || block.timestamp >= bid.openUntil) revert WrongState("open");
    }

    /// @dev Links bid `id` into `segment`'s list after the last bid priced at least `price`, searching from `hint`.
    function _insert(bytes32 segment, uint256 id, uint256 price, uint256 hint) private {
        uint256 before = 0;
        if (hint != 0) {
            Bid storage hinted = _bids[hint];
            if (hinted.segment != segment || hinted.closed || hinted.price < price) revert BadParameter("hint");
            before = hint;
        } else if (firstBid[segment] != 0 && _bids[firstBid[segment]].price >= price) {
            before = firstBid[segment];
        }
        if (before != 0) {
            while (nextBid[before] != 0 && _bids[nextBid[before]].price >= price) before = nextBid[before];
        }
        uint256 after_ = before == 0 ? firstBid[segment] : nextBid[before];
        if (before == 0) firstBid[segment] = id;
        else nextBid[before] = id;
        nextBid[id] = after_;
        _previousBid[id] = before;
        if (after_ != 0) _previousBid[after_] = id;
    }

    /// @dev Unlinks bid `id` from `segment`'s list.
    function _unlink(bytes32 segment, uint256 id) private {
        (uint256 before, uint256 after_) = (_previousBid[id], nextBid[id]);
        if (before == 0) firstBid[segment] = after_;
        else nextBid[before] = after_;
        if (after_ != 0) _previousBid[after_] = before;
        delete nextBid[id];
        delete _previousBid[id];
    }
}
