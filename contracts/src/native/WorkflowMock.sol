// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IWorkflow} from "@cmt/middleware/bpm/IWorkflow.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the workflow native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C11 (NativeMocks.etchAll). It cannot read a definition's JSON: deployDefinition stores
/// the text and numbers it, and a test then describes the process to the mock with describe (name, version,
/// start state) and describeTask (a task of a state, its role and the state it leads to). Instances are then
/// started with role bindings, tasks are completed by the member bound to their role only, and every transition is
/// recorded in the history with the native events and "Workflow: " reasons. Not modelled: JSON validation, guards
/// (a described task always leads to its state), the data a task sets (stored start data only; the typed getters
/// revert), and timers (nextTimerAt is 0; no block runs here). The definition and instance counts are in slots 0
/// and 1 as in the native contract, so in a fork new ids follow the chain's.
contract WorkflowMock is IWorkflow {
    struct Definition {
        string name;
        uint256 version;
        string json;
        string start;
    }

    struct Task {
        string role;
        string to;
        bool toEnd;
        bool exists;
    }

    struct Entry {
        string from;
        string to;
        string cause;
        address actor;
        uint256 time;
    }

    struct Instance {
        uint256 definitionId;
        string state;
        bool ended;
        uint256 enteredAt;
        string[] roles;
        address[] members;
        bytes data;
        Entry[] history;
    }

    uint256 internal _definitionCount;
    uint256 internal _instanceCount;
    mapping(uint256 => Definition) internal _definitions;
    mapping(uint256 => mapping(bytes32 => Task)) internal _tasks;
    mapping(uint256 => Instance) internal _instances;

    /// @inheritdoc IWorkflow
    /// @dev The JSON is stored, not validated; describe and describeTask tell the mock the process.
    function deployDefinition(string calldata json) external returns (uint256 definitionId) {
        definitionId = ++_definitionCount;
        _definitions[definitionId].json = json;
        emit DefinitionDeployed(definitionId, msg.sender, "", 0);
    }

    /// @notice Mock only: the name, version and start state of a deployed definition.
    function describe(uint256 definitionId, string calldata name, uint256 version, string calldata start) external {
        Definition storage d = _definition(definitionId);
        (d.name, d.version, d.start) = (name, version, start);
    }

    /// @notice Mock only: in `state`, task `task` may be completed by the member bound to `role` and leads to `to`
    /// (an end state when `toEnd`).
    function describeTask(uint256 definitionId, string calldata state, string calldata task, string calldata role,
                          string calldata to, bool toEnd) external {
        _definition(definitionId);
        _tasks[definitionId][_taskKey(state, task)] = Task(role, to, toEnd, true);
    }

    /// @inheritdoc IWorkflow
    function definitionCount() external view returns (uint256) {
        return _definitionCount;
    }

    /// @inheritdoc IWorkflow
    function getDefinition(uint256 definitionId)
        external view returns (string memory name, uint256 version, string memory json)
    {
        Definition storage d = _definition(definitionId);
        return (d.name, d.version, d.json);
    }

    /// @inheritdoc IWorkflow
    function startInstance(uint256 definitionId, string[] calldata roles, address[] calldata members,
                           bytes calldata data) external returns (uint256 instanceId) {
        Definition storage d = _definition(definitionId);
        require(bytes(d.start).length > 0, "Workflow mock: describe the definition first (describe, describeTask)");
        if (roles.length != members.length) {
            revert(string.concat("Workflow: ", MockText.decimal(roles.length), " roles but ",
                                 MockText.decimal(members.length), " members"));
        }
        for (uint256 i = 0; i < roles.length; i++) {
            for (uint256 j = 0; j < i; j++) {
                if (keccak256(bytes(roles[i])) == keccak256(bytes(roles[j]))) {
                    revert(string.concat("Workflow: role '", roles[i], "' bound twice"));
                }
            }
            if (members[i] == address(0)) {
                revert(string.concat("Workflow: role '", roles[i], "' must be bound to a non-zero 20-byte address"));
            }
        }
        instanceId = ++_instanceCount;
        Instance storage instance = _instances[instanceId];
        (instance.definitionId, instance.state, instance.enteredAt) = (definitionId, d.start, block.timestamp);
        for (uint256 i = 0; i < roles.length; i++) instance.roles.push(roles[i]);
        (instance.members, instance.data) = (members, data);
        instance.history.push(Entry("", d.start, "start", msg.sender, block.timestamp));
        emit InstanceStarted(instanceId, definitionId, msg.sender);
        emit Transitioned(instanceId, "", d.start, "start", msg.sender);
    }

    /// @inheritdoc IWorkflow
    /// @dev `data` is not decoded and guards are not evaluated: the described transition is taken.
    function completeTask(uint256 instanceId, string calldata task, bytes calldata)
        external returns (string memory state)
    {
        Instance storage instance = _instance(instanceId);
        if (instance.ended) {
            revert(string.concat("Workflow: the instance has ended (in state '", instance.state, "')"));
        }
        Task storage spec = _tasks[instance.definitionId][_taskKey(instance.state, task)];
        if (!spec.exists) {
            revert(string.concat("Workflow: state '", instance.state, "' has no task '", task, "'"));
        }
        if (_member(instance, spec.role) != msg.sender) {
            revert(string.concat("Workflow: task '", task, "' may only be completed by the member bound to role '",
                                 spec.role, "'"));
        }
        string memory from = instance.state;
        (instance.state, instance.ended, instance.enteredAt) = (spec.to, spec.toEnd, block.timestamp);
        instance.history.push(Entry(from, spec.to, task, msg.sender, block.timestamp));
        emit Transitioned(instanceId, from, spec.to, task, msg.sender);
        return spec.to;
    }

    /// @inheritdoc IWorkflow
    /// @dev Not modelled (the mock knows tasks only): reverts.
    function deliverMessage(uint256, string calldata, bytes calldata) external pure returns (string memory) {
        revert("Workflow mock: messages are not modelled");
    }

    /// @inheritdoc IWorkflow
    /// @dev The mock has one branch: its state, or none once ended.
    function activeStates(uint256 instanceId) external view returns (string[] memory states) {
        Instance storage instance = _instance(instanceId);
        states = new string[](instance.ended ? 0 : 1);
        if (!instance.ended) states[0] = instance.state;
    }

    /// @inheritdoc IWorkflow
    /// @dev The mock has no groups: always empty.
    function groupMembers(uint256, string calldata) external pure returns (address[] memory) {
        return new address[](0);
    }

    /// @inheritdoc IWorkflow
    /// @dev The mock starts no sub-processes: always 0.
    function parentInstance(uint256) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IWorkflow
    function instanceCount() external view returns (uint256) {
        return _instanceCount;
    }

    /// @inheritdoc IWorkflow
    /// @dev The mock has no timers: nextTimerAt is always 0.
    function instanceState(uint256 instanceId)
        external view returns (string memory state, bool ended, uint256 enteredAt, uint256 nextTimerAt)
    {
        Instance storage instance = _instance(instanceId);
        return (instance.state, instance.ended, instance.enteredAt, 0);
    }

    /// @inheritdoc IWorkflow
    function instanceDefinition(uint256 instanceId) external view returns (uint256) {
        return _instance(instanceId).definitionId;
    }

    /// @inheritdoc IWorkflow
    function roleMember(uint256 instanceId, string calldata role) external view returns (address member) {
        member = _member(_instance(instanceId), role);
        if (member == address(0)) revert(string.concat("Workflow: no role '", role, "'"));
    }

    /// @inheritdoc IWorkflow
    /// @dev The data given at the start, as given (tasks' data is not decoded by the mock).
    function instanceData(uint256 instanceId) external view returns (bytes memory) {
        return _instance(instanceId).data;
    }

    /// @inheritdoc IWorkflow
    /// @dev Not modelled (the mock does not know the data fields): reverts.
    function getInt(uint256, string calldata) external pure returns (int256) {
        revert("Workflow mock: typed field reads are not modelled (decode instanceData)");
    }

    /// @inheritdoc IWorkflow
    /// @dev Not modelled (the mock does not know the data fields): reverts.
    function getBool(uint256, string calldata) external pure returns (bool) {
        revert("Workflow mock: typed field reads are not modelled (decode instanceData)");
    }

    /// @inheritdoc IWorkflow
    /// @dev Not modelled (the mock does not know the data fields): reverts.
    function getString(uint256, string calldata) external pure returns (string memory) {
        revert("Workflow mock: typed field reads are not modelled (decode instanceData)");
    }

    /// @inheritdoc IWorkflow
    /// @dev Not modelled (the mock does not know the data fields): reverts.
    function getAddress(uint256, string calldata) external pure returns (address) {
        revert("Workflow mock: typed field reads are not modelled (decode instanceData)");
    }

    /// @inheritdoc IWorkflow
    function historyLength(uint256 instanceId) external view returns (uint256) {
        return _instance(instanceId).history.length;
    }

    /// @inheritdoc IWorkflow
    function historyEntry(uint256 instanceId, uint256 index) external view
        returns (string memory from, string memory to, string memory cause, address actor, uint256 time)
    {
        Entry[] storage history = _instance(instanceId).history;
        if (index >= history.length) {
            revert(string.concat("Workflow: history entry ", MockText.decimal(index), " of ",
                                 MockText.decimal(history.length)));
        }
        Entry storage entry = history[index];
        return (entry.from, entry.to, entry.cause, entry.actor, entry.time);
    }

    function _definition(uint256 definitionId) internal view returns (Definition storage) {
        if (definitionId == 0 || definitionId > _definitionCount) {
            revert(string.concat("Workflow: no definition ", MockText.decimal(definitionId)));
        }
        return _definitions[definitionId];
    }

    function _instance(uint256 instanceId) internal view returns (Instance storage) {
        if (instanceId == 0 || instanceId > _instanceCount) {
            revert(string.concat("Workflow: no instance ", MockText.decimal(instanceId)));
        }
        return _instances[instanceId];
    }

    function _member(Instance storage instance, string memory role) internal view returns (address) {
        for (uint256 i = 0; i < instance.roles.length; i++) {
            if (keccak256(bytes(instance.roles[i])) == keccak256(bytes(role))) return instance.members[i];
        }
        return address(0);
    }

    function _taskKey(string memory state, string memory task) internal pure returns (bytes32) {
        return keccak256(abi.encode(state, task));
    }
}
