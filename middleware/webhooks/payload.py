"""The JSON body of a delivery: one committed log and where it sits in the chain.

The body is canonical JSON (keys sorted, no spaces, ASCII only), so the bytes signed
are the bytes sent and a receiver may re-serialise nothing. Fields::

    {"idempotencyKey": "0x<tx hash>-<log index>", "subscription": "<id>", "chainId": 15,
     "blockNumber": 12, "blockHash": "0x...", "blockTime": 1700000000,
     "transactionHash": "0x...", "transactionIndex": 0, "logIndex": 3,
     "address": "0x...", "topics": ["0x...", ...], "data": "0x...",
     "callback": {"requestId": "1", "requester": "0x...", "topic": "...", "payload": "0x..."}}

``logIndex`` is the log's position in its block (as ``eth_getLogs`` reports it);
``callback`` is present only for a well-formed ``IWebhooks.CallbackRequested`` log
(``requestId`` is a decimal string because it is a uint256).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from middleware.webhooks.contract import decode_callback_request


@dataclass(frozen=True)
class CommittedLog:
    """A log of a committed block, with its position.

    A transaction's log has its transaction hash and index; a *block event* (emitted by
    a native contract's begin/end-block hook: a workflow timer, a block award, an
    election) has none, and ``log_index`` counts it among the block's events.
    """

    chain_id: int
    block_number: int
    block_hash: bytes
    block_time: int
    tx_hash: bytes | None
    tx_index: int | None
    log_index: int
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes

    @property
    def idempotency_key(self) -> str:
        """Unique per log, stable across retries and restarts: tx hash and log index, or block hash and event index."""
        if self.tx_hash is None:
            return f"0x{self.block_hash.hex()}-event-{self.log_index}"
        return f"0x{self.tx_hash.hex()}-{self.log_index}"


def canonical_json(document: Any) -> bytes:
    """The canonical JSON bytes of ``document`` (sorted keys, no whitespace, ASCII)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def delivery_document(log: CommittedLog, subscription_id: str) -> dict[str, Any]:
    """The delivery of ``log`` to subscription ``subscription_id`` as a JSON-ready mapping."""
    document: dict[str, Any] = {
        "idempotencyKey": log.idempotency_key,
        "subscription": subscription_id,
        "chainId": log.chain_id,
        "blockNumber": log.block_number,
        "blockHash": "0x" + log.block_hash.hex(),
        "blockTime": log.block_time,
        "transactionHash": None if log.tx_hash is None else "0x" + log.tx_hash.hex(),
        "transactionIndex": log.tx_index,
        "source": "block" if log.tx_hash is None else "transaction",
        "logIndex": log.log_index,
        "address": "0x" + log.address.hex(),
        "topics": ["0x" + topic.hex() for topic in log.topics],
        "data": "0x" + log.data.hex(),
    }
    request = decode_callback_request(log.address, log.topics, log.data)
    if request is not None:
        document["callback"] = {
            "requestId": str(request.request_id),
            "requester": "0x" + request.requester.hex(),
            "topic": request.topic,
            "payload": "0x" + request.payload.hex(),
        }
    return document


def delivery_body(log: CommittedLog, subscription_id: str) -> bytes:
    """The canonical JSON body POSTed for ``log`` to subscription ``subscription_id``."""
    return canonical_json(delivery_document(log, subscription_id))
