// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JuryClient} from "./JuryClient.sol";

/// @title Community moderation: a pledged request to close an account or remove a listing, decided by a drawn jury
/// @notice Anyone asks for an account to be closed or a listing (named by its content hash) to be removed, sending
/// the case fee plus a pledge of at least `minPledge`. The fee opens a case on the native jury (IJury at 0x…0C15):
/// token holders who staked there are drawn by sortition, commit and reveal their votes, and the majority is repaid
/// its stake plus a share of the fee and of the minority's and the silent jurors' stakes (IJury's payout). After the
/// reveal window anyone calls `decide`: a yes majority removes the subject (`isRemoved` reads true for ever, for
/// every contract that consults this one) and the requester's pledge is credited back; a no majority rejects the
/// request and the pledge is forfeited to `forfeitTo` (the zero address burns it); an undecided jury (a tie, or
/// nobody revealed) removes nothing and credits the pledge back. A request whose jurors nobody drew within
/// `caseTimeout` of its opening lapses: anyone calls `lapse` and the pledge is credited back (a drawn jury can
/// always be decided once its reveal window ends, so a drawn request waits for `decide`).
/// @dev One open request per subject at a time; a removed subject takes no more requests. An account is the
/// subject `bytes32(uint256(uint160(account)))` (`accountSubject`). What IJury returns for a case (an undecided
/// case's fee and silent stakes) is credited to the requester (see JuryClient). No division: the pledge moves whole.
contract CommunityModeration is JuryClient {
    /// @notice What a request asks for.
    enum Kind {
        None,
        CloseAccount,
        RemoveListing
    }

    /// @notice Where a request stands.
    enum Status {
        None,
        Open, // the jury has not decided yet
        Upheld, // removed; the pledge was credited back
        Rejected, // kept; the pledge was forfeited
        Undecided, // kept; the pledge was credited back
        Lapsed // no jury drawn within caseTimeout; the pledge was credited back
    }

    /// @notice One moderation request.
    struct Request {
        address requester;
        Kind kind;
        Status status;
        uint64 decideBy; // block time after which a request whose jury was not drawn lapses
        bytes32 subject;
        uint256 pledge;
        uint256 caseId; // the IJury case
    }

    /// @notice Wei of each request paid to IJury as the case fee.
    uint256 public immutable caseFee;
    /// @notice The least pledge a request carries, in wei.
    uint256 public immutable minPledge;
    /// @notice Who receives forfeited pledges (credited); the zero address burns them.
    address public immutable forfeitTo;
    /// @notice Seconds from a request after which it lapses if its jury was not drawn.
    uint64 public immutable caseTimeout;

    /// @notice Requests made; ids run from 1.
    uint256 public requestCount;
    mapping(uint256 => Request) private _requests;
    /// @notice The open request on each subject, 0 if none.
    mapping(bytes32 => uint256) public openRequestOf;
    /// @notice Whether a jury removed the subject (a closed account or a removed listing).
    mapping(bytes32 => bool) public isRemoved;
    /// @notice Wei of forfeited pledges burned so far.
    uint256 public burned;

    /// @notice `requester` asked for `subject` to be closed or removed, pledging `pledge`; IJury case `caseId`
    /// decides by `decideBy`.
    /// @param evidence a content hash of the grounds
    event Requested(uint256 indexed id, address indexed requester, Kind kind, bytes32 indexed subject, uint256 pledge,
        uint256 caseId, uint64 decideBy, bytes32 evidence);
    /// @notice Someone added evidence (a content hash; the content stays off chain) to open request `id`.
    event Evidence(uint256 indexed id, address indexed by, bytes32 evidence);
    /// @notice Request `id` was decided: IJury's `ruling`, the request's new status, the pledge's fate (credited
    /// back to the requester when `pledgeReturned`, else forfeited), and the wei IJury returned to the requester.
    event Decided(uint256 indexed id, uint8 ruling, Status status, bool pledgeReturned, uint256 returned);
    /// @notice The jury did not decide request `id` by its deadline; its pledge was credited back.
    event Lapsed(uint256 indexed id);
    /// @notice `subject` was removed (an account closed or a listing taken down) by request `id`.
    event Removed(bytes32 indexed subject, uint256 indexed id);

    /// @notice The subject already has an open request, or was removed.
    error SubjectBusy(bytes32 subject);
    /// @notice The request is not in the state the call needs.
    error WrongStatus(Status current);
    /// @notice The request's deadline has not passed (for `lapse`).
    error Deadline(uint64 deadline);
    /// @notice The request's jury was drawn, so `decide` applies its ruling once the reveal window ends (for `lapse`).
    error JuryDrawn(uint256 caseId);

    /// @param jurors_ jurors drawn per request (odd, 1 to 128)
    /// @param stakePerJuror_ wei of stake each drawn juror puts at risk
    /// @param commitSeconds_ seconds the jurors have to commit, from the draw
    /// @param revealSeconds_ seconds they then have to reveal
    /// @param caseFee_ wei of each request paid to the jury (positive)
    /// @param minPledge_ the least pledge in wei (positive)
    /// @param forfeitTo_ who is credited forfeited pledges, or the zero address to burn them
    /// @param caseTimeout_ seconds after which a request whose jury nobody drew lapses (more than the two windows)
    constructor(uint32 jurors_, uint256 stakePerJuror_, uint64 commitSeconds_, uint64 revealSeconds_,
        uint256 caseFee_, uint256 minPledge_, address forfeitTo_, uint64 caseTimeout_)
        JuryClient(jurors_, stakePerJuror_, commitSeconds_, revealSeconds_)
    {
        if (caseFee_ == 0) revert BadParameter("caseFee");
        if (minPledge_ == 0) revert BadParameter("minPledge");
        if (caseTimeout_ <= uint256(commitSeconds_) + revealSeconds_) revert BadParameter("caseTimeout");
        caseFee = caseFee_;
        minPledge = minPledge_;
        forfeitTo = forfeitTo_;
        caseTimeout = caseTimeout_;
    }

    /// @notice Asks a jury to close `account`, sending `caseFee` plus a pledge of at least `minPledge`.
    /// @param evidence a content hash of the grounds
    /// @return id the request's id
    function requestAccountClosure(address account, bytes32 evidence) external payable returns (uint256 id) {
        if (account == address(0)) revert BadParameter("account");
        id = _request(Kind.CloseAccount, accountSubject(account), evidence);
    }

    /// @notice Asks a jury to remove the listing whose content hash is `listing`, sending `caseFee` plus a pledge of
    /// at least `minPledge`.
    /// @param evidence a content hash of the grounds
    /// @return id the request's id
    function requestListingRemoval(bytes32 listing, bytes32 evidence) external payable returns (uint256 id) {
        if (listing == bytes32(0)) revert BadParameter("listing");
        id = _request(Kind.RemoveListing, listing, evidence);
    }

    /// @notice Anyone adds evidence (a content hash) to open request `id`, for the jurors to read.
    function submitEvidence(uint256 id, bytes32 evidence) external {
        Request storage request = _requests[id];
        if (request.status != Status.Open) revert WrongStatus(request.status);
        emit Evidence(id, msg.sender, evidence);
    }

    /// @notice Anyone decides open request `id` once its jury can be decided (after IJury's reveal window; IJury's
    /// reason when too early). See the contract's notice for what each ruling does.
    /// @return status the request's new status
    function decide(uint256 id) external nonReentrant returns (Status status) {
        Request storage request = _requests[id];
        if (request.status != Status.Open) revert WrongStatus(request.status);
        (uint8 ruling, uint256 returned) = _decideCase(request.caseId, caseFee);
        status = ruling == 1 ? Status.Upheld : ruling == 2 ? Status.Rejected : Status.Undecided;
        request.status = status;
        delete openRequestOf[request.subject];
        _credit(request.requester, returned);
        bool pledgeReturned = status != Status.Rejected;
        emit Decided(id, ruling, status, pledgeReturned, returned);
        if (status == Status.Upheld) {
            isRemoved[request.subject] = true;
            emit Removed(request.subject, id);
        }
        if (pledgeReturned) {
            _credit(request.requester, request.pledge);
        } else if (forfeitTo != address(0)) {
            _credit(forfeitTo, request.pledge);
        } else {
            burned += request.pledge;
            _release(request.pledge);
            _send(address(0), request.pledge);
        }
    }

    /// @notice Anyone lapses open request `id` whose jurors nobody drew by its `decideBy`; the pledge is credited
    /// back and the subject can be requested again. (IJury keeps the case fee.)
    function lapse(uint256 id) external {
        Request storage request = _requests[id];
        if (request.status != Status.Open) revert WrongStatus(request.status);
        if (block.timestamp < request.decideBy) revert Deadline(request.decideBy);
        (,,,, uint64 commitEnds,) = JURY.caseInfo(request.caseId);
        if (commitEnds != 0) revert JuryDrawn(request.caseId);
        request.status = Status.Lapsed;
        delete openRequestOf[request.subject];
        _credit(request.requester, request.pledge);
        emit Lapsed(id);
    }

    /// @notice Whether a jury closed `account`.
    function isClosed(address account) external view returns (bool) {
        return isRemoved[accountSubject(account)];
    }

    /// @notice The subject under which requests about `account` are recorded.
    function accountSubject(address account) public pure returns (bytes32) {
        return bytes32(uint256(uint160(account)));
    }

    /// @notice Request `id` as recorded (a zero requester for an unknown id).
    function getRequest(uint256 id) external view returns (Request memory) {
        return _requests[id];
    }

    function _request(Kind kind, bytes32 subject, bytes32 evidence) private nonReentrant returns (uint256 id) {
        if (isRemoved[subject] || openRequestOf[subject] != 0) revert SubjectBusy(subject);
        if (msg.value < caseFee || msg.value - caseFee < minPledge) revert BadParameter("pledge");
        uint256 pledge = msg.value - caseFee;
        id = ++requestCount;
        uint64 decideBy = uint64(block.timestamp) + caseTimeout;
        _hold(pledge);
        openRequestOf[subject] = id;
        uint256 caseId = _openCase(caseFee);
        _requests[id] = Request(msg.sender, kind, Status.Open, decideBy, subject, pledge, caseId);
        emit Requested(id, msg.sender, kind, subject, pledge, caseId, decideBy, evidence);
    }
}
