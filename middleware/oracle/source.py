"""Asking a web service for an oracle answer, and reading ``OracleRequested`` logs.

An oracle node POSTs each request it must answer to its configured source URL as
canonical JSON (``request_document``) and takes the response body, bytes as they are,
as its observation. The answer is bounded in time (the whole exchange) and size (the
request's ``maxResponseBytes`` and the node's own limit); anything else (a refused
connection, a non-2xx status, a body too large or empty) is a ``SourceError``.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import eth_abi

from middleware.oracle.contract import REQUESTED_TOPIC
from middleware.oracle.errors import SourceError
from vm.native.addresses import ORACLE_ADDRESS

REQUEST_FIELDS = ["string", "bytes", "uint64", "uint32", "uint256", "address[]"]


@dataclass(frozen=True)
class ObservedRequest:
    """An ``OracleRequested`` event: what an oracle node must answer, and by when."""

    request_id: int
    set_id: int
    requester: bytes
    topic: str
    payload: bytes
    deadline: int
    max_response_bytes: int
    threshold: int
    members: tuple[bytes, ...]


def decode_request(address: bytes, topics: tuple[bytes, ...], data: bytes) -> ObservedRequest | None:
    """The request a log announces, or None if it is not a well-formed ``OracleRequested`` of the oracle contract."""
    if address != ORACLE_ADDRESS or len(topics) != 4 or topics[0] != REQUESTED_TOPIC:
        return None
    try:
        topic, payload, deadline, max_bytes, threshold, members = eth_abi.decode(REQUEST_FIELDS, data)
    except Exception:  # noqa: BLE001 - eth_abi raises several unrelated types for malformed data
        return None
    return ObservedRequest(
        int.from_bytes(topics[1], "big"), int.from_bytes(topics[2], "big"), topics[3][12:], topic, payload,
        deadline, max_bytes, threshold, tuple(bytes.fromhex(m[2:]) for m in members),
    )


def request_document(request: ObservedRequest, chain_id: int) -> bytes:
    """The JSON body POSTed to a source: the request's fields, keys sorted, numbers as decimal strings."""
    return json.dumps({
        "chainId": str(chain_id), "deadline": str(request.deadline), "maxResponseBytes": request.max_response_bytes,
        "payload": "0x" + request.payload.hex(), "requestId": str(request.request_id),
        "requester": "0x" + request.requester.hex(), "setId": str(request.set_id), "topic": request.topic,
    }, sort_keys=True, separators=(",", ":")).encode()


def fetch_answer(url: str, body: bytes, max_bytes: int, timeout_seconds: float) -> bytes:
    """POST ``body`` to ``url`` and return the answer: 1..``max_bytes`` bytes within ``timeout_seconds``."""
    http_request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(http_request, timeout=timeout_seconds) as response:
            answer = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"source {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"source {url} unreachable or too slow: {getattr(exc, 'reason', exc)}") from None
    if len(answer) > max_bytes:
        raise SourceError(f"source {url} answered more than {max_bytes} bytes")
    if not answer:
        raise SourceError(f"source {url} answered nothing")
    return answer
