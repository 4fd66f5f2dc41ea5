// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PullPayments} from "./PullPayments.sol";

/// @title Groups: paid communities with dues, a moderator's share, promoter access, member-funded events, a ranking
/// @notice Anyone creates a group for the platform's creation fee and becomes its owner, naming a moderator. Members
/// pay dues in CMT per period; promoters pay per period for the right to post promotions to the group. Of every
/// payment the moderator's share goes to the moderator and the rest to the owner. Members propose events with a
/// funding target and a deadline; members fund them; an event that reaches its target pays its organizer, one that
/// misses it by the deadline refunds each funder. Paying dues, funding events and attending them earn participation
/// points, and each group keeps its ten most active members in order.
/// @dev Rounding: the moderator's share of a payment is floor(amount * moderatorBps / 10000), the owner receives the
/// rest, so the two always add up to the payment. Every payment is credited to its recipients, who withdraw it
/// (pull payments); value leaves the contract only in `withdraw`, `fund` (the part above an event's target, back to
/// the caller) and `refund`, after the records change, behind a reentrancy guard.
contract Groups is PullPayments {
    /// @notice A group's terms and officers.
    struct Group {
        address owner;
        address moderator;
        uint256 dues; // wei per period of membership
        uint256 promoterFee; // wei per period of promoter access
        uint64 period; // seconds
        uint16 moderatorBps; // the moderator's share of dues and promoter fees, in basis points
    }

    /// @notice An event funded by members.
    struct Event {
        uint256 group;
        address organizer;
        uint256 target; // wei
        uint256 raised; // wei
        uint64 deadline;
        bool funded; // the target was reached and credited to the organizer
    }

    /// @notice How many members a group's ranking holds.
    uint256 public constant RANKED = 10;
    /// @notice Points for each period of dues paid.
    uint256 public constant DUES_POINTS = 1;
    /// @notice Points for funding an event.
    uint256 public constant FUNDING_POINTS = 1;
    /// @notice Points for attending an event, as checked in by its organizer.
    uint256 public constant ATTENDANCE_POINTS = 2;
    /// @notice At most this many periods are paid in one call and attendees checked in at once.
    uint256 public constant MAX_BATCH = 50;

    /// @notice The account credited with creation fees.
    address public immutable platform;
    /// @notice Wei a group's creation costs.
    uint256 public immutable creationFee;

    /// @notice Groups created; ids run from 1.
    uint256 public groupCount;
    /// @notice Events proposed; ids run from 1.
    uint256 public eventCount;
    mapping(uint256 => Group) private _groups;
    mapping(uint256 => Event) private _events;
    mapping(uint256 => address[]) private _ranking;
    /// @notice Until when each account is a member of each group (block time).
    mapping(uint256 => mapping(address => uint64)) public memberUntil;
    /// @notice Until when each account may promote in each group (block time).
    mapping(uint256 => mapping(address => uint64)) public promoterUntil;
    /// @notice Each member's participation points in each group.
    mapping(uint256 => mapping(address => uint256)) public points;
    /// @notice Wei each funder put into each event.
    mapping(uint256 => mapping(address => uint256)) public contribution;
    /// @notice Whether an attendee was checked in at an event.
    mapping(uint256 => mapping(address => bool)) public attended;

    /// @notice `owner` created group `id` (moderator, dues, promoter fee, period, moderator's share).
    event GroupCreated(
        uint256 indexed id, address indexed owner, address indexed moderator, uint256 dues, uint256 promoterFee,
        uint64 period, uint16 moderatorBps
    );
    /// @notice The owner set group `id`'s dues and promoter fee for payments made from now on.
    event TermsChanged(uint256 indexed id, uint256 dues, uint256 promoterFee);
    /// @notice The owner named a new moderator for group `id`.
    event ModeratorChanged(uint256 indexed id, address indexed moderator);
    /// @notice `member` paid `amount` wei of dues; its membership runs until `until`.
    event DuesPaid(uint256 indexed id, address indexed member, uint256 amount, uint64 until);
    /// @notice `promoter` paid `amount` wei for access until `until`.
    event PromoterAccessBought(uint256 indexed id, address indexed promoter, uint256 amount, uint64 until);
    /// @notice A promoter with access posted a promotion (its content, off chain, has hash `content`).
    event Promoted(uint256 indexed id, address indexed promoter, bytes32 content);
    /// @notice `member` proposed event `eventId` in group `id`.
    event EventProposed(uint256 indexed eventId, uint256 indexed id, address indexed organizer, uint256 target,
        uint64 deadline, bytes32 description);
    /// @notice `funder` put `amount` wei into event `eventId`.
    event EventFundedBy(uint256 indexed eventId, address indexed funder, uint256 amount);
    /// @notice Event `eventId` reached its target, credited to its organizer.
    event EventFunded(uint256 indexed eventId, address indexed organizer, uint256 amount);
    /// @notice `funder` took back `amount` wei from an event that missed its target.
    event EventRefunded(uint256 indexed eventId, address indexed funder, uint256 amount);
    /// @notice The organizer checked `attendee` in at event `eventId`.
    event CheckedIn(uint256 indexed eventId, address indexed attendee);
    /// @notice `member`'s participation points in group `id` are now `total`.
    event Participated(uint256 indexed id, address indexed member, uint256 total);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller may not make this call.
    error NotAllowed();
    /// @notice The sent value is not what the call costs (`expected` wei).
    error WrongValue(uint256 expected);
    /// @notice The event is not in the state the call needs (`state` names it).
    error WrongState(string state);

    /// @param platform_ the account credited with creation fees
    /// @param creationFee_ wei a group's creation costs
    constructor(address platform_, uint256 creationFee_) {
        if (platform_ == address(0)) revert BadParameter("platform");
        platform = platform_;
        creationFee = creationFee_;
    }

    /// @notice Creates a group, paying exactly the creation fee; the caller becomes its owner.
    /// @param moderator the group's moderator
    /// @param dues wei per period of membership
    /// @param promoterFee wei per period of promoter access
    /// @param period seconds of one period (at least an hour)
    /// @param moderatorBps the moderator's share of dues and promoter fees, in basis points (at most 10000)
    /// @return id the group's id
    function createGroup(address moderator, uint256 dues, uint256 promoterFee, uint64 period, uint16 moderatorBps)
        external
        payable
        returns (uint256 id)
    {
        if (msg.value != creationFee) revert WrongValue(creationFee);
        if (moderator == address(0)) revert BadParameter("moderator");
        if (period < 1 hours) revert BadParameter("period");
        if (moderatorBps > 10_000) revert BadParameter("moderatorBps");
        id = ++groupCount;
        _groups[id] = Group(msg.sender, moderator, dues, promoterFee, period, moderatorBps);
        credit[platform] += msg.value;
        emit GroupCreated(id, msg.sender, moderator, dues, promoterFee, period, moderatorBps);
    }

    /// @notice The owner sets the dues and promoter fee of payments made from now on (paid periods keep running).
    function setTerms(uint256 id, uint256 dues, uint256 promoterFee) external {
        Group storage group = _groups[id];
        if (msg.sender != group.owner) revert NotAllowed();
        (group.dues, group.promoterFee) = (dues, promoterFee);
        emit TermsChanged(id, dues, promoterFee);
    }

    /// @notice The owner names a new moderator, who receives the share of payments made from now on.
    function setModerator(uint256 id, address moderator) external {
        Group storage group = _groups[id];
        if (msg.sender != group.owner) revert NotAllowed();
        if (moderator == address(0)) revert BadParameter("moderator");
        group.moderator = moderator;
        emit ModeratorChanged(id, moderator);
    }

    /// @notice Pays `periods` periods of dues (exactly dues × periods wei), extending the caller's membership from
    /// its current end or from now, whichever is later. A change of dues after the call was signed makes it revert
    /// instead of charging the new amount.
    /// @return until the end of the membership
    function payDues(uint256 id, uint256 periods) external payable returns (uint64 until) {
        Group storage group = _groups[id];
        until = _extend(memberUntil[id], group, periods, group.dues);
        emit DuesPaid(id, msg.sender, msg.value, until);
        _score(id, msg.sender, DUES_POINTS * periods);
    }

    /// @notice Buys `periods` periods of promoter access (exactly promoterFee × periods wei).
    /// @return until the end of the access
    function buyPromoterAccess(uint256 id, uint256 periods) external payable returns (uint64 until) {
        Group storage group = _groups[id];
        until = _extend(promoterUntil[id], group, periods, group.promoterFee);
        emit PromoterAccessBought(id, msg.sender, msg.value, until);
    }

    /// @notice A promoter with current access posts a promotion whose content (off chain) hashes to `content`.
    function promote(uint256 id, bytes32 content) external {
        if (promoterUntil[id][msg.sender] <= block.timestamp) revert NotAllowed();
        emit Promoted(id, msg.sender, content);
    }

    /// @notice Whether `account` is a member of group `id` now.
    function isMember(uint256 id, address account) public view returns (bool) {
        return memberUntil[id][account] > block.timestamp;
    }

    /// @notice A member proposes an event needing `target` wei by `deadline`.
    /// @return eventId the event's id
    function proposeEvent(uint256 id, uint256 target, uint64 deadline, bytes32 description)
        external
        returns (uint256 eventId)
    {
        if (!isMember(id, msg.sender)) revert NotAllowed();
        if (target == 0) revert BadParameter("target");
        if (deadline <= block.timestamp) revert BadParameter("deadline");
        eventId = ++eventCount;
        _events[eventId] = Event(id, msg.sender, target, 0, deadline, false);
        emit EventProposed(eventId, id, msg.sender, target, deadline, description);
    }

    /// @notice A member funds an event before its deadline; what exceeds the target is returned in the same call.
    /// The contribution that reaches the target credits the whole target to the organizer.
    /// @return accepted the wei kept as the caller's contribution
    function fund(uint256 eventId) external payable nonReentrant returns (uint256 accepted) {
        Event storage fundedEvent = _events[eventId];
        if (!isMember(fundedEvent.group, msg.sender)) revert NotAllowed();
        if (fundedEvent.funded || block.timestamp >= fundedEvent.deadline) revert WrongState("open");
        if (msg.value == 0) revert BadParameter("value");
        uint256 room = fundedEvent.target - fundedEvent.raised;
        accepted = msg.value < room ? msg.value : room;
        fundedEvent.raised += accepted;
        if (contribution[eventId][msg.sender] == 0) _score(fundedEvent.group, msg.sender, FUNDING_POINTS);
        contribution[eventId][msg.sender] += accepted;
        emit EventFundedBy(eventId, msg.sender, accepted);
        if (fundedEvent.raised == fundedEvent.target) {
            fundedEvent.funded = true;
            credit[fundedEvent.organizer] += fundedEvent.target;
            emit EventFunded(eventId, fundedEvent.organizer, fundedEvent.target);
        }
        if (msg.value > accepted) _send(msg.sender, msg.value - accepted);
    }

    /// @notice Returns the caller's contribution to an event that missed its target by its deadline.
    function refund(uint256 eventId) external nonReentrant {
        Event storage missed = _events[eventId];
        if (missed.funded || block.timestamp < missed.deadline) revert WrongState("missed");
        uint256 amount = contribution[eventId][msg.sender];
        if (amount == 0) revert NothingDue();
        contribution[eventId][msg.sender] = 0;
        emit EventRefunded(eventId, msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice The organizer of a funded event checks members in (at most MAX_BATCH at once; each one once).
    function checkIn(uint256 eventId, address[] calldata attendees) external {
        Event storage held = _events[eventId];
        if (msg.sender != held.organizer) revert NotAllowed();
        if (!held.funded) revert WrongState("funded");
        if (attendees.length > MAX_BATCH) revert BadParameter("attendees");
        for (uint256 i = 0; i < attendees.length; ++i) {
            address attendee = attendees[i];
            if (attended[eventId][attendee] || !isMember(held.group, attendee)) revert BadParameter("attendee");
            attended[eventId][attendee] = true;
            emit CheckedIn(eventId, attendee);
            _score(held.group, attendee, ATTENDANCE_POINTS);
        }
    }

    /// @notice Group `id`'s terms and officers (a zero owner for an unknown id).
    function getGroup(uint256 id) external view returns (Group memory) {
        return _groups[id];
    }

    /// @notice Event `eventId` as recorded.
    function getEvent(uint256 eventId) external view returns (Event memory) {
        return _events[eventId];
    }

    /// @notice Group `id`'s most active members, most points first (ties: who reached the score first), at most
    /// RANKED.
    function ranking(uint256 id) external view returns (address[] memory) {
        return _ranking[id];
    }

    /// @dev Extends a paid-until time by `periods` periods, charging `price` per period and splitting the payment.
    function _extend(mapping(address => uint64) storage paidUntil, Group storage group, uint256 periods,
        uint256 price) private returns (uint64 until) {
        if (group.owner == address(0)) revert BadParameter("group");
        if (periods == 0 || periods > MAX_BATCH) revert BadParameter("periods");
        if (msg.value != price * periods) revert WrongValue(price * periods);
        uint64 from = paidUntil[msg.sender] > block.timestamp ? paidUntil[msg.sender] : uint64(block.timestamp);
        until = from + group.period * uint64(periods);
        paidUntil[msg.sender] = until;
        uint256 share = msg.value * group.moderatorBps / 10_000;
        credit[group.moderator] += share;
        credit[group.owner] += msg.value - share;
    }

    /// @dev Adds participation points and moves the member up the group's ranking.
    function _score(uint256 id, address member, uint256 gained) private {
        uint256 total = points[id][member] + gained;
        points[id][member] = total;
        emit Participated(id, member, total);
        address[] storage ranked = _ranking[id];
        uint256 place = ranked.length;
        for (uint256 i = 0; i < ranked.length; ++i) {
            if (ranked[i] == member) {
                place = i;
                break;
            }
        }
        if (place == ranked.length) {
            if (place < RANKED) {
                ranked.push(member);
            } else if (points[id][ranked[place - 1]] < total) {
                place -= 1;
                ranked[place] = member;
            } else {
                return;
            }
        }
        while (place > 0 && points[id][ranked[place - 1]] < total) {
            ranked[place] = ranked[place - 1];
            ranked[place - 1] = member;
            --place;
        }
    }
}
