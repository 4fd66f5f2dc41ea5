// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title Brand ambassadors: pay per view and per like of a post, as an oracle quorum reports them, up to a budget
/// @notice A business funds a campaign with a budget in CMT for one post (its content hash) and one ambassador, at
/// a rate in wei per view and per like, naming an oracle set of the native oracle quorum (IOracle at 0x…0C13).
/// Once per reporting period anyone asks that set for the post's counts (`requestCounts`); once the request
/// resolves anyone settles it (`settle`): the ambassador is credited the growth of the counts since the last
/// report at the campaign's rates, capped by what is left of the budget. A request that times out pays nothing
/// and the next period asks again. The business ends the campaign when it likes; what is unspent returns to it.
/// @dev The oracle request: topic `REPORT_TOPIC`, payload `abi.encode(address(this), campaignId, post,
/// ambassador)`, deadline `answerWindow` seconds after the request, answers of at most 64 bytes. The answer is
/// `abi.encode(uint256 views, uint256 likes)` (exactly 64 bytes): the post's total counts since it was published.
/// A resolved answer of another length is rejected and pays nothing.
/// Arithmetic: the reported counts are marks that only rise; a report pays
/// `(views - settledViews) * weiPerView + (likes - settledLikes) * weiPerLike` for the counts above the marks
/// (0 for a count that fell), computed without overflow (saturating) and capped by the remaining budget. There is
/// no division, so there is no rounding: the ambassador is paid exactly the rate times the growth, or the whole
/// rest of the budget when that is less. Counts beyond what the budget pays are not owed later. Payments are
/// credited and withdrawn by their owners (pull payments) behind a reentrancy guard.
contract BrandAmbassadors is PullPayments {
    /// @notice A campaign's terms, fixed at creation.
    struct Terms {
        address ambassador;
        bytes32 post; // content hash of the post
        uint256 weiPerView;
        uint256 weiPerLike;
        uint256 oracleSet; // IOracle set id
        uint64 period; // seconds between two requests
        uint64 answerWindow; // seconds the oracles have to answer a request
    }

    /// @notice A campaign's terms and progress.
    struct Campaign {
        address business;
        Terms terms;
        uint256 remaining; // wei of budget left
        uint256 settledViews; // the highest view count settled so far
        uint256 settledLikes; // the highest like count settled so far
        uint256 requestId; // the IOracle request awaiting settlement, 0 if none
        uint64 nextRequestAt; // block time from which the next request may be made
        bool ended;
    }

    /// @notice The native oracle quorum.
    IOracle public constant ORACLE = IOracle(0x0000000000000000000000000000000000000c13);
    /// @notice The topic of every counts request.
    string public constant REPORT_TOPIC = "social.post-counts";
    /// @notice The length of an answer: abi.encode(uint256 views, uint256 likes).
    uint32 public constant ANSWER_BYTES = 64;
    /// @notice The longest reporting period: a year.
    uint64 public constant MAX_PERIOD = 365 days;
    /// @notice The longest answer window: the oracle's limit on a deadline, 7 days.
    uint64 public constant MAX_ANSWER_WINDOW = 7 days;

    uint8 private constant PENDING = 1;
    uint8 private constant RESOLVED = 2;

    /// @notice Campaigns created; ids run from 1.
    uint256 public campaignCount;
    mapping(uint256 => Campaign) private _campaigns;

    /// @notice `business` funded campaign `id` with `budget` wei on `terms`.
    event CampaignCreated(uint256 indexed id, address indexed business, address indexed ambassador, Terms terms,
        uint256 budget);
    /// @notice Campaign `id` asked its oracle set for the post's counts in oracle request `requestId`.
    event CountsRequested(uint256 indexed id, uint256 indexed requestId, uint64 deadline);
    /// @notice Request `requestId` reported `views` and `likes`; the ambassador was credited `paid` wei and
    /// `remaining` wei of budget is left.
    event CountsSettled(uint256 indexed id, uint256 indexed requestId, uint256 views, uint256 likes, uint256 paid,
        uint256 remaining);
    /// @notice Request `requestId` paid nothing: it timed out (`timedOut`) or its answer was not 64 bytes.
    event ReportFailed(uint256 indexed id, uint256 indexed requestId, bool timedOut);
    /// @notice The business ended campaign `id`; no further requests.
    event CampaignEnded(uint256 indexed id);
    /// @notice `amount` wei of campaign `id`'s unspent budget was credited to its business.
    event Refunded(uint256 indexed id, uint256 amount);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The campaign is not in the state the call needs (`state` names it).
    error WrongState(string state);
    /// @notice The next request may be made from block time `nextRequestAt`.
    error TooEarly(uint64 nextRequestAt);
    /// @notice Only the campaign's business may do this.
    error NotTheBusiness();

    /// @notice The caller funds a campaign with the CMT sent as its budget.
    /// @param terms the ambassador (non-zero), the post's content hash (non-zero), the rates (not both zero), an
    /// existing oracle set, a period of 1 s to MAX_PERIOD and an answer window of 1 s to MAX_ANSWER_WINDOW
    /// @return id the campaign's id
    function createCampaign(Terms calldata terms) external payable returns (uint256 id) {
        if (msg.value == 0) revert BadParameter("budget");
        if (terms.ambassador == address(0)) revert BadParameter("ambassador");
        if (terms.post == bytes32(0)) revert BadParameter("post");
        if (terms.weiPerView == 0 && terms.weiPerLike == 0) revert BadParameter("rates");
        if (terms.period == 0 || terms.period > MAX_PERIOD) revert BadParameter("period");
        if (terms.answerWindow == 0 || terms.answerWindow > MAX_ANSWER_WINDOW) revert BadParameter("answerWindow");
        if (terms.oracleSet == 0 || terms.oracleSet > ORACLE.setCount()) revert BadParameter("oracleSet");
        id = ++campaignCount;
        Campaign storage campaign = _campaigns[id];
        campaign.business = msg.sender;
        campaign.terms = terms;
        campaign.remaining = msg.value;
        campaign.nextRequestAt = uint64(block.timestamp);
        emit CampaignCreated(id, msg.sender, terms.ambassador, terms, msg.value);
    }

    /// @notice Asks campaign `id`'s oracle set for the post's counts (anyone may call, at most once per period,
    /// while the campaign runs, has budget left and no request awaits settlement).
    /// @return requestId the IOracle request
    function requestCounts(uint256 id) external returns (uint256 requestId) {
        Campaign storage campaign = _open(id);
        if (campaign.ended) revert WrongState("running");
        if (campaign.remaining == 0) revert WrongState("budget left");
        if (campaign.requestId != 0) revert WrongState("settled");
        if (block.timestamp < campaign.nextRequestAt) revert TooEarly(campaign.nextRequestAt);
        Terms storage terms = campaign.terms;
        uint64 deadline = uint64(block.timestamp) + terms.answerWindow;
        campaign.nextRequestAt = uint64(block.timestamp) + terms.period;
        requestId = ORACLE.request(terms.oracleSet, REPORT_TOPIC,
            abi.encode(address(this), id, terms.post, terms.ambassador), deadline, ANSWER_BYTES);
        campaign.requestId = requestId;
        emit CountsRequested(id, requestId, deadline);
    }

    /// @notice Settles campaign `id`'s request once it resolved or timed out (anyone may call): credits the
    /// ambassador the growth of the counts at the campaign's rates, capped by the budget (nothing if it timed out
    /// or its answer is malformed), and refunds the rest to the business if the campaign has ended.
    /// @return paid the wei credited to the ambassador
    function settle(uint256 id) external returns (uint256 paid) {
        Campaign storage campaign = _open(id);
        uint256 requestId = campaign.requestId;
        if (requestId == 0) revert WrongState("requested");
        (uint8 status, bytes memory value) = ORACLE.result(requestId);
        if (status == PENDING) revert WrongState("answered");
        campaign.requestId = 0;
        if (status != RESOLVED || value.length != ANSWER_BYTES) {
            emit ReportFailed(id, requestId, status != RESOLVED);
        } else {
            (uint256 views, uint256 likes) = abi.decode(value, (uint256, uint256));
            paid = _pay(campaign, views, likes);
            emit CountsSettled(id, requestId, views, likes, paid, campaign.remaining);
        }
        if (campaign.ended) _refund(id, campaign);
    }

    /// @notice The business ends campaign `id` (once): no further requests. The unspent budget is credited to it
    /// now, or, if a request awaits settlement, when that request is settled (so the ambassador is paid for it
    /// first).
    function end(uint256 id) external {
        Campaign storage campaign = _open(id);
        if (msg.sender != campaign.business) revert NotTheBusiness();
        if (campaign.ended) revert WrongState("running");
        campaign.ended = true;
        emit CampaignEnded(id);
        if (campaign.requestId == 0) _refund(id, campaign);
    }

    /// @notice What a report of `views` and `likes` would pay campaign `id`'s ambassador now.
    function owed(uint256 id, uint256 views, uint256 likes) external view returns (uint256) {
        return _owed(_campaigns[id], views, likes);
    }

    /// @notice Campaign `id` as recorded (a zero business for an unknown id).
    function getCampaign(uint256 id) external view returns (Campaign memory) {
        return _campaigns[id];
    }

    /// @dev The growth above the settled marks at the campaign's rates (saturating), capped by the budget left.
    function _owed(Campaign storage campaign, uint256 views, uint256 likes) private view returns (uint256) {
        Terms storage terms = campaign.terms;
        uint256 growth = Math.saturatingAdd(
            Math.saturatingMul(Math.saturatingSub(views, campaign.settledViews), terms.weiPerView),
            Math.saturatingMul(Math.saturatingSub(likes, campaign.settledLikes), terms.weiPerLike));
        return Math.min(growth, campaign.remaining);
    }

    /// @dev Credits the ambassador what a report of `views` and `likes` earns and raises the settled marks.
    function _pay(Campaign storage campaign, uint256 views, uint256 likes) private returns (uint256 paid) {
        paid = _owed(campaign, views, likes);
        campaign.settledViews = Math.max(views, campaign.settledViews);
        campaign.settledLikes = Math.max(likes, campaign.settledLikes);
        campaign.remaining -= paid;
        credit[campaign.terms.ambassador] += paid;
    }

    /// @dev Credits campaign `id`'s business what is left of its budget.
    function _refund(uint256 id, Campaign storage campaign) private {
        uint256 amount = campaign.remaining;
        campaign.remaining = 0;
        credit[campaign.business] += amount;
        emit Refunded(id, amount);
    }

    /// @dev Campaign `id`, reverting for an unknown id.
    function _open(uint256 id) private view returns (Campaign storage campaign) {
        campaign = _campaigns[id];
        if (campaign.business == address(0)) revert WrongState("created");
    }
}
