// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title BPM workflow engine (native contract at 0x0000000000000000000000000000000000000c11)
/// @notice Deploy a process definition (JSON, see docs/bpm.md), start instances of it with role bindings,
/// complete tasks, and read instances and their history. Timer transitions fire at the end of the block in
/// which they come due (at most 64 per block; later ones in the next blocks, in due-time then instance-id order).
/// Data travels ABI-encoded: int fields as int256, bool as bool, string as string, address as address.
/// Failures revert with Error(string) reasons starting "Workflow: ".
interface IWorkflow {
    /// @notice A definition was deployed.
    event DefinitionDeployed(uint256 indexed definitionId, address indexed deployer, string name, uint256 version);

    /// @notice An instance was started (its first Transitioned event follows, from "" with cause "start").
    event InstanceStarted(uint256 indexed instanceId, uint256 indexed definitionId, address indexed starter);

    /// @notice An instance moved between states. cause: the completed task's name, "start" or "timer";
    /// actor: who completed the task or started the instance (the zero address for timers).
    event Transitioned(uint256 indexed instanceId, string from, string to, string cause, address actor);

    /// @notice Validates and stores a definition; reverts with the exact place of the first problem,
    /// e.g. "Workflow: states.shipped.transitions[1].guard: unknown field 'amout'". Ids start at 1.
    function deployDefinition(string calldata json) external returns (uint256 definitionId);

    /// @notice Number of definitions deployed (also the newest id).
    function definitionCount() external view returns (uint256);

    /// @notice A definition's name, version and JSON text (as stored: minified).
    function getDefinition(uint256 definitionId) external view returns (string memory name, uint256 version, string memory json);

    /// @notice Starts an instance in the start state. roles[i] is bound to members[i]; every role of the
    /// definition must be bound exactly once, to a non-zero address. data is empty (every field holds its
    /// zero value) or abi.encode of every data field in declaration order. Ids start at 1.
    function startInstance(uint256 definitionId, string[] calldata roles, address[] calldata members, bytes calldata data)
        external returns (uint256 instanceId);

    /// @notice Completes a task of the instance's current state; only the member bound to the task's role may.
    /// data is abi.encode of the fields the task sets, in the order of its "sets" list (empty if none).
    /// The first transition on the task whose guard holds is taken; returns the new state.
    function completeTask(uint256 instanceId, string calldata task, bytes calldata data) external returns (string memory state);

    /// @notice Delivers a message an active state waits for (an inbound webhook or oracle answer); only the
    /// member bound to the role the message names ("from") may. data is abi.encode of the fields the message
    /// sets, in the order of its "sets" list (empty if none). Returns the (first branch's) new state.
    function deliverMessage(uint256 instanceId, string calldata message, bytes calldata data)
        external returns (string memory state);

    /// @notice The state of every active branch (token), in order; empty once the instance has ended.
    function activeStates(uint256 instanceId) external view returns (string[] memory);

    /// @notice The addresses bound to a group (the members of per-participant tasks).
    function groupMembers(uint256 instanceId, string calldata group) external view returns (address[] memory);

    /// @notice The instance that started this one as a sub-process (0: none).
    function parentInstance(uint256 instanceId) external view returns (uint256);

    /// @notice Number of instances started (also the newest id).
    function instanceCount() external view returns (uint256);

    /// @notice The current state, whether it is an end state, when it was entered (block time) and when its
    /// next timer comes due (0: none).
    function instanceState(uint256 instanceId) external view
        returns (string memory state, bool ended, uint256 enteredAt, uint256 nextTimerAt);

    /// @notice The definition an instance runs.
    function instanceDefinition(uint256 instanceId) external view returns (uint256);

    /// @notice The address bound to a role.
    function roleMember(uint256 instanceId, string calldata role) external view returns (address);

    /// @notice Every data field, abi.encode'd in declaration order.
    function instanceData(uint256 instanceId) external view returns (bytes memory);

    /// @notice One data field; reverts unless the field has the getter's type.
    function getInt(uint256 instanceId, string calldata field) external view returns (int256);
    function getBool(uint256 instanceId, string calldata field) external view returns (bool);
    function getString(uint256 instanceId, string calldata field) external view returns (string memory);
    function getAddress(uint256 instanceId, string calldata field) external view returns (address);

    /// @notice Number of history entries (the start counts as the first).
    function historyLength(uint256 instanceId) external view returns (uint256);

    /// @notice History entry `index` (0 = the start, whose `from` is "").
    function historyEntry(uint256 instanceId, uint256 index) external view
        returns (string memory from, string memory to, string memory cause, address actor, uint256 time);
}
