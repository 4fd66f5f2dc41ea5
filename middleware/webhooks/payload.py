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
from typing import Any

from middleware.webhooks.contract import decode_callback_request
from vm.logs import BlockLog


def idempotency_key(log: BlockLog) -> str:
    """Unique per log, stable across retries and restarts: tx hash and log index, or block hash and event index."""
    if log.tx_hash is None:
        return f"0x{log.block_hash.hex()}-event-{log.log_index}"
    return f"0x{log.tx_hash.hex()}-{log.log_index}"


def canonical_json(document: Any) -> bytes:
    """The canonical JSON bytes of ``document`` (sorted keys, no whitespace, ASCII)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def delivery_document(log: BlockLog, subscription_id: str, chain_id: int, block_time: int) -> dict[str, Any]:
    """The delivery of ``log`` (of a block of chain ``chain_id`` timed ``block_time``) to subscription
    ``subscription_id`` as a JSON-ready mapping."""
    entry = log.log
    document: dict[str, Any] = {
        "idempotencyKey": idempotency_key(log),
        "subscription": subscription_id,
        "chainId": chain_id,
        "blockNumber": log.block_number,
        "blockHash": "0x" + log.block_hash.hex(),
        "blockTime": block_time,
        "transactionHash": None if log.tx_hash is None else "0x" + log.tx_hash.hex(),
        "transactionIndex": log.tx_index,
        "source": "block" if log.tx_hash is None else "transaction",
        "logIndex": log.log_index,
        "address": "0x" + entry.address.hex(),
        "topics": ["0x" + topic.hex() for topic in entry.topics],
        "data": "0x" + entry.data.hex(),
    }
    request = decode_callback_request(entry.address, entry.topics, entry.data)
    if request is not None:
        document["callback"] = {
            "requestId": str(request.request_id),
            "requester": "0x" + request.requester.hex(),
            "topic": request.topic,
            "payload": "0x" + request.payload.hex(),
        }
    return document


def delivery_body(log: BlockLog, subscription_id: str, chain_id: int, block_time: int) -> bytes:
    """The canonical JSON body POSTed for ``log`` to subscription ``subscription_id``."""
    return canonical_json(delivery_document(log, subscription_id, chain_id, block_time))
