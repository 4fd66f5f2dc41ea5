// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IStaking} from "@cmt/consensus/dpos/IStaking.sol";
import {IGovernance} from "@cmt/consensus/dpos/IGovernance.sol";
import {IRules} from "@cmt/middleware/rules/IRules.sol";
import {IWorkflow} from "@cmt/middleware/bpm/IWorkflow.sol";
import {IWebhooks} from "@cmt/middleware/webhooks/IWebhooks.sol";
import {IVesting} from "@cmt/vm/native/interfaces/IVesting.sol";
import {NativeMocks} from "../src/native/NativeMocks.sol";
import {GovernanceMock} from "../src/native/GovernanceMock.sol";
import {VestingMock} from "../src/native/VestingMock.sol";
import {WorkflowMock} from "../src/native/WorkflowMock.sol";

/// @notice The reference mocks, etched at the native addresses, called through the native interfaces.
contract NativeMocksTest {
    IStaking internal constant STAKING = IStaking(NativeMocks.STAKING);
    IRules internal constant RULES = IRules(NativeMocks.RULES);
    IWorkflow internal constant WORKFLOW = IWorkflow(NativeMocks.WORKFLOW);
    IGovernance internal constant GOVERNANCE = IGovernance(NativeMocks.GOVERNANCE);
    IVesting internal constant VESTING = IVesting(NativeMocks.VESTING);
    IWebhooks internal constant WEBHOOKS = IWebhooks(NativeMocks.WEBHOOKS);

    address internal constant OWNER = address(0xA11CE);
    address internal constant DELEGATOR = address(0xB0B);
    bytes32 internal constant KEY = bytes32(uint256(0x1234));

    event Delegated(address indexed delegator, address indexed candidate, uint256 amount);
    event RulesFired(uint256 indexed ruleSet, uint256 fired);

    function setUp() public {
        NativeMocks.etchAll();
        vm.deal(OWNER, 1_000_000 ether);
        vm.deal(DELEGATOR, 1_000_000 ether);
    }

    function _declare() internal {
        vm.prank(OWNER);
        STAKING.declareCandidacy{value: 10_000 ether}(KEY, 100_000 ether, 1000, "alice", "", "", "", "");
    }

    function testDeclareBondsTheSelfStake() public {
        _declare();
        IStaking.CandidateInfo memory info = STAKING.getCandidate(OWNER);
        require(info.owner == OWNER && info.pubKey == KEY, "owner and key");
        require(info.selfStake == 10_000 ether && info.stake == 10_000 ether, "self-stake bonded");
        require(info.active && info.votingPower == 0, "active, not elected");
        require(STAKING.candidateCount() == 1, "one candidacy");
        require(STAKING.getSupply().bonded == 10_000 ether, "bonded in the supply");
    }

    function testDeclareOutsideTheRangeRevertsLikeTheChain() public {
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)",
            "Staking: send between 10000000000000000000000 (the self-stake) and 100000000000000000000000 wei"));
        STAKING.declareCandidacy{value: 1 ether}(KEY, 100_000 ether, 1000, "alice", "", "", "", "");
    }

    function testDelegateAndWithdrawIntoUnbonding() public {
        _declare();
        vm.prank(DELEGATOR);
        vm.expectEmit(true, true, false, true);
        emit Delegated(DELEGATOR, OWNER, 2000 ether);
        STAKING.delegate{value: 2000 ether}(OWNER);
        IStaking.DelegationInfo[] memory list = STAKING.getDelegations(DELEGATOR);
        require(list.length == 1 && list[0].amount == 2000 ether && list[0].commissionBp == 1000, "delegation");
        require(STAKING.getCandidate(OWNER).stake == 12_000 ether, "candidate stake");
        vm.prank(DELEGATOR);
        uint256 seq = STAKING.withdraw(OWNER, 500 ether);
        IStaking.UnbondingInfo[] memory unbondings = STAKING.getUnbondings(DELEGATOR);
        require(unbondings.length == 1 && unbondings[0].seq == seq && unbondings[0].amount == 500 ether, "unbonding");
        require(unbondings[0].matureTime == block.timestamp + 7 days, "matures after the unbonding period");
        require(STAKING.getDelegations(DELEGATOR)[0].amount == 1500 ether, "rest stays bonded");
    }

    function testDelegateBelowTheMinimumReverts() public {
        _declare();
        vm.prank(DELEGATOR);
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Staking: delegation below the minimum of 1000000000000000000000 wei"));
        STAKING.delegate{value: 1 ether}(OWNER);
    }

    function testDelegateToANonCandidateReverts() public {
        vm.prank(DELEGATOR);
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Staking: 0x00000000000000000000000000000000000a11ce is not a candidate"));
        STAKING.delegate{value: 1000 ether}(OWNER);
    }

    function testTheMockElectsNobody() public {
        _declare();
        require(STAKING.getValidators().length == 0 && STAKING.getBackups().length == 0, "no election");
    }

    function _registerRules() internal returns (uint256 ruleSet) {
        vm.prank(OWNER);
        ruleSet = RULES.registerRuleSet("template Order { amount: int; }");
    }

    function testRulesKeepFactsAndFireNothing() public {
        uint256 ruleSet = _registerRules();
        require(RULES.ruleSetOwner(ruleSet) == OWNER && RULES.ruleSetCount() == ruleSet + 1, "registered");
        vm.startPrank(OWNER);
        uint256 factId = RULES.insertFact(ruleSet, "Order", abi.encode(int256(5000)));
        RULES.updateFact(ruleSet, factId, abi.encode(int256(7000)));
        vm.expectEmit(true, false, false, true);
        emit RulesFired(ruleSet, 0);
        require(RULES.fireAllRules(ruleSet) == 0, "the mock fires nothing");
        vm.stopPrank();
        (string memory factType, bytes memory fields) = RULES.getFact(ruleSet, factId);
        require(keccak256(bytes(factType)) == keccak256("Order"), "fact type");
        require(abi.decode(fields, (int256)) == 7000, "updated fields");
        require(RULES.factIds(ruleSet).length == 1 && factId == 1, "fact ids from 1");
        vm.prank(OWNER);
        RULES.retractFact(ruleSet, factId);
        require(RULES.factIds(ruleSet).length == 0, "retracted");
    }

    function testOnlyTheOwnerChangesFacts() public {
        uint256 ruleSet = _registerRules();
        vm.prank(DELEGATOR);
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Rules: only the rule set's owner may change its facts"));
        RULES.insertFact(ruleSet, "Order", abi.encode(int256(1)));
    }

    function testUnknownRuleSetReverts() public {
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "Rules: unknown rule set 7"));
        RULES.factIds(7);
    }

    function testWorkflowTaskByRole() public {
        uint256 definitionId = WORKFLOW.deployDefinition("{\"name\":\"approval\"}");
        WorkflowMock(address(WORKFLOW)).describe(definitionId, "approval", 1, "submitted");
        WorkflowMock(address(WORKFLOW)).describeTask(definitionId, "submitted", "approve", "manager", "approved", true);
        string[] memory roles = new string[](1);
        roles[0] = "manager";
        address[] memory members = new address[](1);
        members[0] = OWNER;
        uint256 instanceId = WORKFLOW.startInstance(definitionId, roles, members, "");
        vm.prank(DELEGATOR);
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Workflow: task 'approve' may only be completed by the member bound to role 'manager'"));
        WORKFLOW.completeTask(instanceId, "approve", "");
        vm.prank(OWNER);
        WORKFLOW.completeTask(instanceId, "approve", "");
        (string memory state, bool ended,,) = WORKFLOW.instanceState(instanceId);
        require(keccak256(bytes(state)) == keccak256("approved") && ended, "moved to the end state");
        require(WORKFLOW.historyLength(instanceId) == 2, "start and the task in the history");
        (string memory from,, string memory cause, address actor,) = WORKFLOW.historyEntry(instanceId, 1);
        require(keccak256(bytes(from)) == keccak256("submitted") && actor == OWNER, "history entry");
        require(keccak256(bytes(cause)) == keccak256("approve"), "cause is the task");
    }

    function testGovernanceProposeAndVote() public {
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Governance: only validators and backup validators may propose"));
        GOVERNANCE.proposeParam("max_validators", "21", "more validators");
        GovernanceMock(address(GOVERNANCE)).setVoter(OWNER, 2);
        GovernanceMock(address(GOVERNANCE)).setVoter(DELEGATOR, 1);
        vm.prank(OWNER);
        uint256 id = GOVERNANCE.proposeParam("max_validators", "21", "more validators");
        vm.prank(OWNER);
        GOVERNANCE.vote(id, 0);
        require(_proposalStatus(id) == 1, "2 of 3 is approved");
        require(GOVERNANCE.openProposals().length == 0, "nothing open");
    }

    /// getProposal's twelve results are more than the legacy code generator decodes at once: read the status word.
    function _proposalStatus(uint256 id) internal view returns (uint256 status) {
        (bool ok, bytes memory result) = address(GOVERNANCE).staticcall(abi.encodeCall(IGovernance.getProposal, (id)));
        require(ok && result.length >= 8 * 32, "getProposal");
        assembly {
            status := mload(add(result, 256))
        }
    }

    function testVestingReleasesByPeriod() public {
        vm.warp(1_000_000);
        uint256 id = VestingMock(address(VESTING)).addSchedule{value: 1000 ether}(OWNER, block.timestamp, 90 days, 10);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "Vesting: nothing to release"));
        VESTING.release(id);
        vm.warp(block.timestamp + 180 days);
        require(VESTING.releasableAmount(id) == 200 ether, "two periods vested");
        uint256 before = OWNER.balance;
        VESTING.release(id);
        require(OWNER.balance - before == 200 ether && VESTING.lockedOf(OWNER) == 800 ether, "paid and locked");
    }

    function testWebhooksNumberRequestsAndCheckTopics() public {
        require(WEBHOOKS.requestCallback("order.shipped", hex"01") == 1, "first request");
        vm.expectRevert(abi.encodeWithSignature(
            "Error(string)", "Webhooks: topic must be 1 to 64 printable ASCII characters without spaces"));
        WEBHOOKS.requestCallback("has space", "");
        require(WEBHOOKS.requestCount() == 1, "one request");
    }
}
