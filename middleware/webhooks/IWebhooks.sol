// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Callback requests to the outside world (native contract at 0x0000000000000000000000000000000000000C12)
/// @notice A contract asks for an off-chain callback; nodes deliver the request to subscribed web services
///         after the block commits, and the answer comes back as a transaction of the node's oracle account.
interface IWebhooks {
    /// @notice Emitted for every request. `topicHash` is keccak256(bytes(topic)), so subscriptions can select a topic.
    event CallbackRequested(
        uint256 indexed requestId, address indexed requester, bytes32 indexed topicHash, string topic, bytes payload
    );

    /// @notice Requests a callback. `topic`: 1-64 printable ASCII characters without spaces; `payload`: at most
    ///         4096 bytes (ABI-encode what the receiver needs). Returns the request id (1, 2, ...).
    ///         Reverts with "Webhooks: topic must be ..." or "Webhooks: payload too large (...)".
    function requestCallback(string calldata topic, bytes calldata payload) external returns (uint256 requestId);

    /// @notice Number of callback requests made so far.
    function requestCount() external view returns (uint256);
}
