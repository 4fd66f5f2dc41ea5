"""The ``IWebhooks`` native contract: a contract asks the outside world for a callback.

``requestCallback(topic, payload)`` numbers the request (1, 2, ...) and emits
``CallbackRequested(requestId, requester, topicHash, topic, payload)``: request id,
calling contract and ``keccak256(topic)`` are indexed, so a subscription can select the
requests of one topic or one contract. The node's webhook dispatcher delivers matching
requests after commit; the answer comes back as an inbound callback, a transaction of
the node's oracle account (see ``middleware.webhooks.inbound``).

Bounds: a topic is 1..``MAX_TOPIC_BYTES`` bytes of printable ASCII; a payload at most
``MAX_PAYLOAD_BYTES`` bytes.

Gas of ``requestCallback``: ``REQUEST_GAS`` (5,000) base + one storage read (2,100) and
one write of the counter (20,000 for the very first request, 5,000 after) + the event
(375 + 4 x 375 for the topics + 8 per byte of ABI-encoded data, which is 128 bytes plus
topic and payload each rounded up to 32 bytes). With a 16-byte topic and a 32-byte
payload: 5,000 + 2,100 + 5,000 + 1,875 + 8 x 192 = 15,511 gas (30,511 for the first
request of the chain), on top of the transaction's intrinsic and call-data gas.
``requestCount()`` costs 200 + 2,100.

Storage: slot 0 holds the number of requests made so far.
"""
from __future__ import annotations

from dataclasses import dataclass

import eth_abi
from eth_hash.auto import keccak

from vm.errors import NativeContractError
from vm.native.addresses import WEBHOOKS_ADDRESS
from vm.native.framework import CallContext, NativeContract, method

COUNT_SLOT = 0
REQUEST_GAS = 5_000
MAX_TOPIC_BYTES = 64
MAX_PAYLOAD_BYTES = 4_096
CALLBACK_REQUESTED = "CallbackRequested(uint256,address,bytes32,string,bytes)"
CALLBACK_REQUESTED_TOPIC = keccak(CALLBACK_REQUESTED.encode())


@dataclass(frozen=True)
class CallbackRequest:
    """A decoded ``CallbackRequested`` event."""

    request_id: int
    requester: bytes
    topic: str
    payload: bytes


def decode_callback_request(address: bytes, topics: tuple[bytes, ...], data: bytes) -> CallbackRequest | None:
    """The callback request a log carries, or None if the log is not a well-formed ``CallbackRequested``."""
    if address != WEBHOOKS_ADDRESS or len(topics) != 4 or topics[0] != CALLBACK_REQUESTED_TOPIC:
        return None
    try:
        topic, payload = eth_abi.decode(["string", "bytes"], data)
    except Exception:  # noqa: BLE001 - eth_abi raises several unrelated types for malformed data
        return None
    return CallbackRequest(int.from_bytes(topics[1], "big"), topics[2][12:], topic, payload)


class WebhooksContract(NativeContract):
    """Callback requests to the outside world (interface: ``IWebhooks.sol``)."""

    address = WEBHOOKS_ADDRESS
    name = "Webhooks"

    @method("requestCallback(string,bytes)", returns=["uint256"], gas=REQUEST_GAS)
    def request_callback(self, ctx: CallContext, topic: str, payload: bytes) -> int:
        """Record a callback request and announce it; returns its id."""
        encoded = topic.encode()
        if not 0 < len(encoded) <= MAX_TOPIC_BYTES or not all(32 < byte < 127 for byte in encoded):
            raise NativeContractError(
                f"Webhooks: topic must be 1 to {MAX_TOPIC_BYTES} printable ASCII characters without spaces"
            )
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise NativeContractError(f"Webhooks: payload too large ({len(payload)} bytes, limit {MAX_PAYLOAD_BYTES})")
        request_id = ctx.load(COUNT_SLOT) + 1
        ctx.store(COUNT_SLOT, request_id)
        ctx.emit(
            CALLBACK_REQUESTED,
            indexed=[("uint256", request_id), ("address", ctx.sender), ("bytes32", keccak(encoded))],
            data=[("string", topic), ("bytes", payload)],
        )
        return request_id

    @method("requestCount()", returns=["uint256"], gas=200, view=True)
    def request_count(self, ctx: CallContext) -> int:
        """Number of callback requests made so far."""
        return ctx.load(COUNT_SLOT)
