// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IWebhooks} from "@cmt/middleware/webhooks/IWebhooks.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the callback-request native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C12 (NativeMocks.etchAll). requestCallback checks the topic and payload as the chain does,
/// numbers the request and emits CallbackRequested. Nothing is delivered: delivery is the nodes' work after a block
/// commits, and no answer transaction comes back in a local EVM. The request count is in slot 0 as in the native
/// contract, so in a fork new ids follow the chain's.
contract WebhooksMock is IWebhooks {
    uint256 internal constant MAX_TOPIC_BYTES = 64;
    uint256 internal constant MAX_PAYLOAD_BYTES = 4096;

    uint256 internal _requestCount;

    /// @inheritdoc IWebhooks
    function requestCallback(string calldata topic, bytes calldata payload) external returns (uint256 requestId) {
        bytes calldata text = bytes(topic);
        bool valid = text.length >= 1 && text.length <= MAX_TOPIC_BYTES;
        for (uint256 i = 0; valid && i < text.length; i++) valid = text[i] > 0x20 && text[i] < 0x7f;
        if (!valid) {
            revert(string.concat("Webhooks: topic must be 1 to ", MockText.decimal(MAX_TOPIC_BYTES),
                                 " printable ASCII characters without spaces"));
        }
        if (payload.length > MAX_PAYLOAD_BYTES) {
            revert(string.concat("Webhooks: payload too large (", MockText.decimal(payload.length),
                                 " bytes, limit ", MockText.decimal(MAX_PAYLOAD_BYTES), ")"));
        }
        requestId = ++_requestCount;
        emit CallbackRequested(requestId, msg.sender, keccak256(text), topic, payload);
    }

    /// @inheritdoc IWebhooks
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }
}
