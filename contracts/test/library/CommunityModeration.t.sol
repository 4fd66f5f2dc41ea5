// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {CommunityModeration} from "../../src/library/CommunityModeration.sol";
import {JuryClient} from "../../src/library/JuryClient.sol";
import {NativeMocks} from "../../src/native/NativeMocks.sol";
import {JuryPanel} from "./JuryPanel.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract CommunityModerationTest is JuryPanel {
    CommunityModeration moderation;
    address requester = address(0x9E9);
    address treasury = address(0x7EA);
    address spammer = address(0x5BA);
    address keeper = address(0x6EE9);
    bytes32 listing = keccak256("listing: replica watches sold as originals");
    bytes32 grounds = keccak256("photos of the serial numbers");
    uint256 constant FEE = 0.5 ether;
    uint256 constant PLEDGE = 5 ether;
    uint256 constant STAKE = 1 ether;
    uint64 constant DAY = 1 days;

    function setUp() public {
        vm.warp(1_000_000);
        vm.roll(100);
        NativeMocks.etchAll();
        moderation = new CommunityModeration(3, STAKE, DAY, DAY, FEE, PLEDGE, treasury, 10 * DAY);
        _seatPanel(5, 2 * STAKE);
        vm.deal(requester, 100 ether);
        vm.deal(keeper, 1 ether);
    }

    function _requestRemoval() internal returns (uint256 id) {
        vm.prank(requester);
        id = moderation.requestListingRemoval{value: FEE + PLEDGE}(listing, grounds);
    }

    function _caseOf(uint256 id) internal view returns (uint256) {
        return moderation.getRequest(id).caseId;
    }

    function _decided(uint256 id, uint8[] memory votes) internal returns (CommunityModeration.Status) {
        _hear(_caseOf(id), votes);
        vm.prank(keeper);
        return moderation.decide(id);
    }

    function testAYesMajorityRemovesTheListingAndRepaysThePledge() public {
        uint256 id = _requestRemoval();
        require(moderation.openRequestOf(listing) == id && !moderation.isRemoved(listing), "open, not removed yet");
        require(address(moderation).balance == PLEDGE && address(jury).balance == 10 * STAKE + FEE, "pledge held");
        require(_decided(id, _votes(YES, YES, NO)) == CommunityModeration.Status.Upheld, "upheld");
        require(moderation.isRemoved(listing), "removed for every reader");
        require(moderation.credit(requester) == PLEDGE, "the pledge is repaid");
        require(moderation.openRequestOf(listing) == 0, "no open request");
        uint256 before = requester.balance;
        vm.prank(requester);
        moderation.withdraw();
        require(requester.balance == before + PLEDGE && address(moderation).balance == 0, "withdrawn");
    }

    function testTheMajorityIsRepaidPlusAShareOfTheFeeAndOfTheMinoritysStake() public {
        uint256 id = _requestRemoval();
        uint256 caseId = _caseOf(id);
        address[] memory drawn = _hear(caseId, _votes(YES, NO, YES));
        uint256 yesBefore = drawn[0].balance;
        moderation.decide(id);
        uint256 share = (FEE + STAKE) / 2; // the fee plus the minority's forfeited stake, split by the two
        require(drawn[0].balance == yesBefore + share && drawn[2].balance == yesBefore + share, "majority paid");
        (uint256 active,,) = jury.jurorOf(drawn[1]);
        require(active == STAKE, "the minority juror forfeited its stake");
    }

    function testANoMajorityKeepsTheListingAndForfeitsThePledgeToTheTreasury() public {
        uint256 id = _requestRemoval();
        require(_decided(id, _votes(NO, NO, SILENT)) == CommunityModeration.Status.Rejected, "rejected");
        require(!moderation.isRemoved(listing), "kept");
        require(moderation.credit(requester) == 0 && moderation.credit(treasury) == PLEDGE, "forfeited");
        _requestRemoval(); // a rejected subject may be asked about again
    }

    function testAForfeitBurnsThePledgeWhenThereIsNoTreasury() public {
        moderation = new CommunityModeration(3, STAKE, DAY, DAY, FEE, PLEDGE, address(0), 10 * DAY);
        uint256 id = _requestRemoval();
        uint256 zero = address(0).balance;
        _decided(id, _votes(NO, NO, NO));
        require(address(0).balance == zero + PLEDGE && moderation.burned() == PLEDGE, "burned");
        // three winners share the fee: the 2 wei IJury cannot split return to the requester
        require(address(moderation).balance == moderation.credit(requester) && moderation.credit(requester) == 2,
            "only the rounding dust is left, credited");
    }

    function testAnUndecidedJuryRemovesNothingAndCreditsThePledgeAndThePotBack() public {
        uint256 id = _requestRemoval();
        require(_decided(id, _votes(YES, NO, SILENT)) == CommunityModeration.Status.Undecided, "undecided");
        require(!moderation.isRemoved(listing), "kept");
        // a tie: IJury returns the fee and the silent juror's stake, which go to the requester with its pledge
        require(moderation.credit(requester) == PLEDGE + FEE + STAKE, "pledge and pot back");
        require(address(moderation).balance == moderation.credit(requester), "holds only what it credited");
    }

    function testAnAccountClosureIsReadThroughIsClosed() public {
        vm.prank(requester);
        uint256 id = moderation.requestAccountClosure{value: FEE + PLEDGE}(spammer, grounds);
        require(moderation.getRequest(id).kind == CommunityModeration.Kind.CloseAccount, "a closure");
        _decided(id, _votes(YES, YES, YES));
        require(moderation.isClosed(spammer) && moderation.isRemoved(moderation.accountSubject(spammer)), "closed");
        require(!moderation.isClosed(requester), "only the subject");
    }

    function testMalformedRequestsAreRefusedWithPreciseErrorsAndNothingChanges() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "pledge"));
        moderation.requestListingRemoval{value: FEE + PLEDGE - 1}(listing, grounds);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "pledge"));
        moderation.requestListingRemoval{value: FEE - 1}(listing, grounds);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "listing"));
        moderation.requestListingRemoval{value: FEE + PLEDGE}(bytes32(0), grounds);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "account"));
        moderation.requestAccountClosure{value: FEE + PLEDGE}(address(0), grounds);
        vm.stopPrank();
        require(moderation.requestCount() == 0 && address(moderation).balance == 0, "nothing recorded or kept");
        uint256 id = _requestRemoval();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.SubjectBusy.selector, listing));
        moderation.requestListingRemoval{value: FEE + PLEDGE}(listing, grounds); // one open request per subject
        _decided(id, _votes(YES, YES, YES));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.SubjectBusy.selector, listing));
        moderation.requestListingRemoval{value: FEE + PLEDGE}(listing, grounds); // removed already
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.WrongStatus.selector,
            CommunityModeration.Status.Upheld));
        moderation.decide(id);
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.WrongStatus.selector,
            CommunityModeration.Status.None));
        moderation.submitEvidence(id + 1, grounds);
    }

    function testInvalidTermsAreRefusedAtDeployment() public {
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "jurors"));
        new CommunityModeration(2, STAKE, DAY, DAY, FEE, PLEDGE, treasury, 10 * DAY);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "commitSeconds"));
        new CommunityModeration(3, STAKE, 8 * DAY, DAY, FEE, PLEDGE, treasury, 10 * DAY);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "caseTimeout"));
        new CommunityModeration(3, STAKE, DAY, DAY, FEE, PLEDGE, treasury, 2 * DAY);
        vm.expectRevert(abi.encodeWithSelector(JuryClient.BadParameter.selector, "caseFee"));
        new CommunityModeration(3, STAKE, DAY, DAY, 0, PLEDGE, treasury, 10 * DAY);
    }

    function testAJuryThatNeverDecidesLetsTheRequestLapseAndThePledgeReturn() public {
        uint256 id = _requestRemoval();
        uint64 decideBy = moderation.getRequest(id).decideBy;
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.Deadline.selector, decideBy));
        moderation.lapse(id);
        (bool ok,) = address(moderation).call(abi.encodeCall(moderation.decide, (id))); // nobody drew the jurors
        require(!ok, "nothing to decide");
        vm.warp(decideBy);
        vm.prank(keeper);
        moderation.lapse(id);
        require(moderation.credit(requester) == PLEDGE, "pledge back");
        require(moderation.openRequestOf(listing) == 0 && !moderation.isRemoved(listing), "free again");
    }

    function testADrawnJuryCannotBeLapsedAround() public {
        uint256 id = _requestRemoval();
        _hear(_caseOf(id), _votes(NO, NO, NO)); // drawn, voted, not finalized by anyone
        vm.warp(moderation.getRequest(id).decideBy);
        vm.expectRevert(abi.encodeWithSelector(CommunityModeration.JuryDrawn.selector, _caseOf(id)));
        moderation.lapse(id); // the requester cannot dodge the forfeit by waiting instead of deciding
        moderation.decide(id);
        require(moderation.credit(treasury) == PLEDGE, "forfeited");
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller caller = new ReentrantCaller();
        vm.deal(address(caller), 100 ether);
        caller.act{value: FEE + PLEDGE}(address(moderation),
            abi.encodeCall(moderation.requestListingRemoval, (listing, grounds)));
        _decided(1, _votes(YES, YES, YES));
        uint256 owed = moderation.credit(address(caller));
        require(owed == PLEDGE + 2, "the pledge and the fee's rounding dust");
        caller.arm(address(moderation), abi.encodeCall(moderation.withdraw, ()));
        uint256 before = address(caller).balance;
        caller.act(address(moderation), abi.encodeCall(moderation.withdraw, ()));
        require(caller.reentries() == 1 && caller.reentryFailed(), "the nested withdraw was refused");
        require(address(caller).balance == before + owed, "paid once");
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzzEveryWeiIsPaidCreditedOrForfeited(uint8 a, uint8 b, uint8 c, uint96 extra) public {
        uint256 pledge = PLEDGE + uint256(extra) % 100 ether;
        vm.deal(requester, FEE + pledge);
        vm.prank(requester);
        uint256 id = moderation.requestListingRemoval{value: FEE + pledge}(listing, grounds);
        uint256 total = address(jury).balance + address(moderation).balance;
        for (uint256 i = 0; i < panel.length; ++i) total += panel[i].balance;
        _hear(_caseOf(id), _votes(a % 3, b % 3, c % 3));
        CommunityModeration.Status status = moderation.decide(id);
        uint256 after_ = address(jury).balance + address(moderation).balance;
        for (uint256 i = 0; i < panel.length; ++i) after_ += panel[i].balance;
        require(after_ == total, "no wei created or lost");
        uint256 owed = moderation.credit(requester) + moderation.credit(treasury);
        require(address(moderation).balance == owed, "holds exactly what it owes");
        require((moderation.credit(treasury) == pledge) == (status == CommunityModeration.Status.Rejected), "fate");
        require(moderation.isRemoved(listing) == (status == CommunityModeration.Status.Upheld), "removal");
    }
}
