// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {BrandAmbassadors} from "../../src/library/BrandAmbassadors.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";
import {OracleQuorumFixture} from "./OracleQuorumFixture.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract BrandAmbassadorsTest is OracleQuorumFixture {
    BrandAmbassadors ambassadors;
    address brand = address(0xB4A9D);
    address ambassador = address(0xA4B);
    address keeper = address(0x6EE9);
    bytes32 post = keccak256("photo of the new trainers, posted by the ambassador");
    uint256 constant PER_VIEW = 0.001 ether;
    uint256 constant PER_LIKE = 0.01 ether;
    uint64 constant NOW = 1_000_000;
    uint64 constant DAY = 1 days;
    uint64 constant HOUR = 1 hours;

    function setUp() public {
        vm.warp(NOW);
        NativeMocks.etchAll();
        ambassadors = new BrandAmbassadors();
        vm.deal(brand, 100 ether);
        _defineQuorum(brand);
    }

    function _terms(address who) internal view returns (BrandAmbassadors.Terms memory) {
        return BrandAmbassadors.Terms(who, post, PER_VIEW, PER_LIKE, quorum, DAY, HOUR);
    }

    function _campaign(uint256 budget) internal returns (uint256 id) {
        vm.prank(brand);
        id = ambassadors.createCampaign{value: budget}(_terms(ambassador));
    }

    /// @dev Oracle `index` answers request `requestId` with `views` and `likes` in the documented format.
    function _attest(uint256 index, uint256 requestId, uint256 views, uint256 likes) internal {
        vm.prank(oracles[index]);
        oracle.attest(requestId, abi.encode(views, likes));
    }

    /// @dev Requests campaign `id`'s counts and has two of the three oracles report `views` and `likes`.
    function _report(uint256 id, uint256 views, uint256 likes) internal returns (uint256 requestId) {
        requestId = ambassadors.requestCounts(id);
        _attest(0, requestId, views, likes);
        _attest(1, requestId, views, likes);
    }

    function _settledBy(address who, uint256 id) internal returns (uint256 paid) {
        vm.prank(who);
        paid = ambassadors.settle(id);
    }

    function _expectState(string memory state) internal {
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.WrongState.selector, state));
    }

    function _accounted(uint256 id) internal view returns (bool) {
        uint256 credits = ambassadors.credit(brand) + ambassadors.credit(ambassador);
        return address(ambassadors).balance == credits + ambassadors.getCampaign(id).remaining;
    }

    function testTheRequestAsksTheNamedSetInTheDocumentedFormat() public {
        uint256 id = _campaign(10 ether);
        address[] memory members = oracles;
        vm.expectEmit(true, true, true, true);
        emit IOracle.OracleRequested(1, quorum, address(ambassadors), "social.post-counts",
            abi.encode(address(ambassadors), id, post, ambassador), NOW + HOUR, 64, 2, members);
        vm.prank(keeper);
        require(ambassadors.requestCounts(id) == 1, "the oracle's request id");
        IOracle.RequestInfo memory info = oracle.getRequest(1);
        require(info.requester == address(ambassadors) && info.setId == quorum && info.threshold == 2, "the set");
        require(ambassadors.getCampaign(id).requestId == 1, "awaiting settlement");
    }

    function testResolvedCountsPayTheGrowthAtTheRatesEachPeriod() public {
        uint256 id = _campaign(10 ether);
        _report(id, 100, 10);
        require(_settledBy(keeper, id) == 0.2 ether, "100 views and 10 likes");
        vm.warp(NOW + DAY);
        _report(id, 250, 12);
        require(_settledBy(keeper, id) == 0.17 ether, "150 more views and 2 more likes");
        BrandAmbassadors.Campaign memory campaign = ambassadors.getCampaign(id);
        require(campaign.settledViews == 250 && campaign.settledLikes == 12, "the marks");
        require(campaign.remaining == 9.63 ether && ambassadors.credit(ambassador) == 0.37 ether, "credited");
        vm.prank(ambassador);
        ambassadors.withdraw();
        require(ambassador.balance == 0.37 ether && _accounted(id), "paid in CMT");
    }

    function testOneRequestPerPeriodAndNoneWhileOneAwaitsSettlement() public {
        uint256 id = _campaign(10 ether);
        uint256 requestId = ambassadors.requestCounts(id);
        _expectState("settled");
        ambassadors.requestCounts(id);
        _attest(0, requestId, 100, 10);
        _attest(1, requestId, 100, 10);
        ambassadors.settle(id);
        _expectState("requested");
        ambassadors.settle(id); // nothing to settle twice
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.TooEarly.selector, NOW + DAY));
        ambassadors.requestCounts(id);
        vm.warp(NOW + DAY);
        ambassadors.requestCounts(id);
    }

    function testConflictingAnswersPayOnlyWhatTheQuorumAgreed() public {
        uint256 id = _campaign(10 ether);
        uint256 requestId = ambassadors.requestCounts(id);
        _attest(0, requestId, 100, 10);
        _attest(1, requestId, 99_999, 9_999); // an inflated count
        _expectState("answered");
        ambassadors.settle(id); // pending: no two agree yet
        _attest(2, requestId, 100, 10);
        require(_settledBy(keeper, id) == 0.2 ether, "the agreed counts");
    }

    function testATimedOutRequestPaysNothingAndIsRetriedNextPeriod() public {
        uint256 id = _campaign(10 ether);
        uint256 requestId = ambassadors.requestCounts(id);
        _attest(0, requestId, 100, 10);
        _attest(1, requestId, 120, 10);
        _attest(2, requestId, 140, 10); // three different answers: no quorum
        vm.warp(NOW + HOUR + 1);
        vm.expectEmit(true, true, true, true);
        emit BrandAmbassadors.ReportFailed(id, requestId, true);
        require(_settledBy(keeper, id) == 0, "nothing paid");
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.TooEarly.selector, NOW + DAY));
        ambassadors.requestCounts(id);
        vm.warp(NOW + DAY);
        _report(id, 140, 10);
        require(_settledBy(keeper, id) == 0.24 ether, "the whole growth, on the retry");
    }

    function testCountsThatGoDownPayNothingAndAreNotPaidTwice() public {
        uint256 id = _campaign(10 ether);
        _report(id, 100, 10);
        ambassadors.settle(id);
        vm.warp(NOW + DAY);
        _report(id, 80, 9); // views removed by the platform
        require(_settledBy(keeper, id) == 0, "a fall pays nothing");
        BrandAmbassadors.Campaign memory campaign = ambassadors.getCampaign(id);
        require(campaign.settledViews == 100 && campaign.settledLikes == 10, "the marks do not fall");
        vm.warp(NOW + 2 * DAY);
        _report(id, 120, 10);
        require(_settledBy(keeper, id) == 0.02 ether, "only the views above the mark");
    }

    function testAnExhaustedBudgetPaysWhatIsLeftAndTakesNoMoreRequests() public {
        uint256 id = _campaign(0.15 ether);
        _report(id, 100, 10); // earns 0.2 CMT
        vm.expectEmit(true, true, true, true);
        emit BrandAmbassadors.CountsSettled(id, 1, 100, 10, 0.15 ether, 0);
        ambassadors.settle(id);
        vm.warp(NOW + DAY);
        _expectState("budget left");
        ambassadors.requestCounts(id);
        require(ambassadors.credit(ambassador) == 0.15 ether && _accounted(id), "the whole budget, no more");
    }

    function testCountsTooLargeToMultiplyPayTheBudgetInsteadOfReverting() public {
        uint256 id = _campaign(1 ether);
        _report(id, type(uint256).max, type(uint256).max);
        require(_settledBy(keeper, id) == 1 ether, "saturates at the budget");
        require(ambassadors.owed(id, type(uint256).max, 0) == 0, "nothing left to owe");
    }

    function testAMalformedAnswerIsRejectedAndPaysNothing() public {
        uint256 id = _campaign(10 ether);
        uint256 requestId = ambassadors.requestCounts(id);
        for (uint256 i = 0; i < 2; ++i) {
            vm.prank(oracles[i]);
            oracle.attest(requestId, abi.encode(uint256(100))); // 32 bytes: views without likes
        }
        vm.expectEmit(true, true, true, true);
        emit BrandAmbassadors.ReportFailed(id, requestId, false);
        require(_settledBy(keeper, id) == 0, "nothing paid");
        require(ambassadors.getCampaign(id).settledViews == 0, "no mark moved");
    }

    function testTheBusinessCannotEndAheadOfAPendingReportToKeepTheBudget() public {
        uint256 id = _campaign(10 ether);
        uint256 requestId = ambassadors.requestCounts(id);
        vm.prank(brand);
        ambassadors.end(id);
        require(ambassadors.credit(brand) == 0, "no refund while a report is pending");
        _expectState("running");
        ambassadors.requestCounts(id);
        _attest(0, requestId, 100, 10);
        _attest(1, requestId, 100, 10);
        vm.warp(NOW + HOUR);
        ambassadors.settle(id);
        require(ambassadors.credit(ambassador) == 0.2 ether, "the ambassador paid first");
        require(ambassadors.credit(brand) == 9.8 ether && ambassadors.getCampaign(id).remaining == 0, "the rest back");
        require(_accounted(id), "every wei accounted for");
    }

    function testAnAmbassadorWhoNeverSettlesOrWithdrawsLocksNothing() public {
        uint256 id = _campaign(10 ether);
        _report(id, 100, 10); // resolved; the ambassador goes silent
        vm.startPrank(brand);
        ambassadors.end(id);
        ambassadors.settle(id); // the business settles itself
        ambassadors.withdraw();
        vm.stopPrank();
        require(brand.balance == 90 ether + 9.8 ether, "the unspent budget back");
        require(ambassadors.credit(ambassador) == 0.2 ether && address(ambassadors).balance == 0.2 ether, "kept");
        uint256 untouched = _campaign(5 ether); // a campaign never reported on
        vm.prank(brand);
        ambassadors.end(untouched);
        require(ambassadors.credit(brand) == 5 ether, "refunded at once");
    }

    function testOnlyTheBusinessEndsItsCampaignAndOnlyOnce() public {
        uint256 id = _campaign(10 ether);
        vm.prank(ambassador);
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.NotTheBusiness.selector));
        ambassadors.end(id);
        vm.startPrank(brand);
        ambassadors.end(id);
        _expectState("running");
        ambassadors.end(id); // once
        vm.stopPrank();
        require(ambassadors.credit(brand) == 10 ether, "refunded once");
        _expectState("created");
        ambassadors.end(id + 1);
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller account = new ReentrantCaller();
        vm.prank(brand);
        uint256 id = ambassadors.createCampaign{value: 10 ether}(_terms(address(account)));
        _report(id, 100, 10);
        ambassadors.settle(id);
        account.arm(address(ambassadors), abi.encodeCall(PullPayments.withdraw, ()));
        account.act(address(ambassadors), abi.encodeCall(PullPayments.withdraw, ()));
        require(account.reentries() == 1 && account.reentryFailed(), "the nested withdraw was refused");
        require(address(account).balance == 0.2 ether && address(ambassadors).balance == 9.8 ether, "paid once");
    }

    function testBadCampaignsAreRejected() public {
        BrandAmbassadors.Terms memory terms = _terms(ambassador);
        vm.startPrank(brand);
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.BadParameter.selector, "budget"));
        ambassadors.createCampaign(terms);
        terms.oracleSet = 2;
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.BadParameter.selector, "oracleSet"));
        ambassadors.createCampaign{value: 1 ether}(terms);
        terms = _terms(ambassador);
        terms.answerWindow = 8 days;
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.BadParameter.selector, "answerWindow"));
        ambassadors.createCampaign{value: 1 ether}(terms);
        terms = _terms(ambassador);
        (terms.weiPerView, terms.weiPerLike) = (0, 0);
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.BadParameter.selector, "rates"));
        ambassadors.createCampaign{value: 1 ether}(terms);
        terms = _terms(address(0));
        vm.expectRevert(abi.encodeWithSelector(BrandAmbassadors.BadParameter.selector, "ambassador"));
        ambassadors.createCampaign{value: 1 ether}(terms);
        vm.stopPrank();
    }

    function testFuzzEveryWeiIsAccountedFor(uint96 seed, uint64 views1, uint64 likes1, uint64 views2, uint64 likes2)
        public
    {
        uint256 budget = uint256(seed) + 1;
        vm.deal(brand, budget);
        uint256 id = _campaign(budget);
        _report(id, views1, likes1);
        uint256 first = ambassadors.settle(id);
        vm.warp(NOW + DAY);
        uint256 second;
        if (ambassadors.getCampaign(id).remaining > 0) {
            _report(id, views2, likes2);
            second = ambassadors.settle(id);
        } else {
            _expectState("budget left");
            ambassadors.requestCounts(id);
            views2 = likes2 = 0;
        }
        uint256 earned = uint256(views1 > views2 ? views1 : views2) * PER_VIEW
            + uint256(likes1 > likes2 ? likes1 : likes2) * PER_LIKE;
        require(first + second == (earned < budget ? earned : budget), "the rates times the highest counts, capped");
        vm.prank(brand);
        ambassadors.end(id);
        require(ambassadors.credit(ambassador) + ambassadors.credit(brand) == budget, "the budget, split");
        require(_accounted(id), "every wei accounted for");
    }
}
