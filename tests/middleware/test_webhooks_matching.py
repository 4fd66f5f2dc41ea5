"""Webhooks: subscription filters, the delivery body and HMAC signatures."""
from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import time
from pathlib import Path

import eth_abi
import pytest
from eth_hash.auto import keccak

from middleware.webhooks.contract import CALLBACK_REQUESTED_TOPIC
from middleware.webhooks.errors import SignatureError, StaleSignature, SubscriptionError
from middleware.webhooks.payload import delivery_body
from middleware.webhooks.signing import parse_header, sign, verify
from middleware.webhooks.subscription import parse_subscription
from vm.logs import BlockLog
from vm.native.addresses import WEBHOOKS_ADDRESS
from vm.receipts import Log

TOKEN = bytes.fromhex("5f" * 20)
OTHER = bytes.fromhex("6e" * 20)
TRANSFER = keccak(b"Transfer(address,address,uint256)")
APPROVAL = keccak(b"Approval(address,address,uint256)")
ALICE = bytes(12) + bytes.fromhex("aa" * 20)
BOB = bytes(12) + bytes.fromhex("bb" * 20)
SECRET = "a shared secret of some length"


def spec(**fields: object) -> dict[str, object]:
    """A valid subscription mapping with ``fields`` replaced."""
    return {"id": "shop", "url": "https://shop.example/hook", "secret": SECRET, **fields}


def hexed(value: bytes) -> str:
    return "0x" + value.hex()


# -- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "address", "topics", "expected"),
    [
        ({}, OTHER, (APPROVAL,), True),
        ({"addresses": [hexed(TOKEN)]}, TOKEN, (TRANSFER,), True),
        ({"addresses": [hexed(TOKEN)]}, OTHER, (TRANSFER,), False),
        ({"topics": [hexed(TRANSFER)]}, OTHER, (TRANSFER, ALICE, BOB), True),
        ({"topics": [hexed(TRANSFER)]}, OTHER, (APPROVAL, ALICE, BOB), False),
        ({"topics": [None, hexed(ALICE)]}, TOKEN, (TRANSFER, ALICE, BOB), True),
        ({"topics": ["*", hexed(ALICE)]}, TOKEN, (APPROVAL, BOB, ALICE), False),
        ({"topics": [[hexed(TRANSFER), hexed(APPROVAL)]]}, TOKEN, (APPROVAL,), True),
        ({"topics": [None, None, hexed(BOB)]}, TOKEN, (TRANSFER, ALICE), False),  # the log is too short
        ({"topics": [hexed(TRANSFER), None, None, None]}, TOKEN, (TRANSFER,), True),  # trailing wildcards
        ({"topics": [hexed(TRANSFER)]}, TOKEN, (), False),  # an anonymous event without topics
    ],
    ids=["any", "address", "other-address", "topic0", "other-topic0", "wildcard", "star-wildcard",
         "alternatives", "too-short", "trailing-wildcards", "no-topics"],
)
def test_subscriptions_match_like_eth_get_logs(filters, address, topics, expected) -> None:
    assert parse_subscription(spec(**filters), "s").matches(address, topics) is expected


def test_callback_topic_selects_iwebhooks_requests_of_that_topic() -> None:
    subscription = parse_subscription(spec(callback_topic="carrier.delivery"), "s")
    request = (CALLBACK_REQUESTED_TOPIC, (7).to_bytes(32, "big"), ALICE, keccak(b"carrier.delivery"))
    assert subscription.matches(WEBHOOKS_ADDRESS, request)
    assert not subscription.matches(WEBHOOKS_ADDRESS, request[:3] + (keccak(b"payments.refund"),))
    assert not subscription.matches(TOKEN, request)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://shop.example"}, r"s\.url: expected an http:// or https:// URL"),
        ({"secret": "short"}, r"s\.secret: expected a string of 16 to 256 characters"),
        ({"id": "has space"}, r"s\.id: expected 1-64 characters"),
        ({"addresses": ["0x1234"]}, r"s\.addresses\[0\]: expected a 0x-prefixed 20-byte hex address"),
        ({"topics": [None, "0xzz"]}, r"s\.topics\[1\]: expected a 0x-prefixed 32-byte hex topic"),
        ({"topics": [None] * 5}, r"s\.topics: expected a list of at most 4 topic positions"),
        ({"topics": [[]]}, r"s\.topics\[0\]: expected 1 to 16 alternative topics"),
        ({"colour": "red"}, r"s: unknown setting 'colour'"),
        ({"callback_topic": "x", "topics": [None]}, r"callback_topic: cannot be combined"),
    ],
)
def test_malformed_subscriptions_name_the_offending_key(fields, message) -> None:
    with pytest.raises(SubscriptionError, match=message):
        parse_subscription(spec(**fields), "s")


def test_missing_secret_is_reported() -> None:
    with pytest.raises(SubscriptionError, match=r"s: missing 'secret'"):
        parse_subscription({"id": "a", "url": "http://x.example"}, "s")


def test_description_never_shows_the_secret() -> None:
    described = parse_subscription(spec(topics=[None, hexed(ALICE)]), "s").describe()
    assert SECRET not in json.dumps(described)
    assert described["topics"] == [None, [hexed(ALICE)]]


# -- payload ----------------------------------------------------------------------------------


def committed(address: bytes, topics: tuple[bytes, ...], data: bytes) -> BlockLog:
    return BlockLog(12, b"\x0b" * 32, b"\x7a" * 32, 2, 5, Log(address, topics, data))


def test_body_is_canonical_json_with_the_idempotency_key() -> None:
    body = delivery_body(committed(TOKEN, (TRANSFER, ALICE, BOB), (1000).to_bytes(32, "big")), "shop", 15, 1_700_000_123)
    document = json.loads(body)
    assert body == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["idempotencyKey"] == "0x" + "7a" * 32 + "-5"
    assert (document["chainId"], document["blockNumber"], document["logIndex"], document["transactionIndex"]) == (
        15, 12, 5, 2)
    assert document["topics"] == [hexed(TRANSFER), hexed(ALICE), hexed(BOB)]
    assert document["address"] == hexed(TOKEN) and document["subscription"] == "shop"
    assert "callback" not in document


def test_callback_requests_are_decoded_in_the_body() -> None:
    payload = eth_abi.encode(["uint256", "string"], [3, "TRACK-1"])
    topics = (CALLBACK_REQUESTED_TOPIC, (2**255).to_bytes(32, "big"), ALICE, keccak(b"carrier.delivery"))
    data = eth_abi.encode(["string", "bytes"], ["carrier.delivery", payload])
    document = json.loads(delivery_body(committed(WEBHOOKS_ADDRESS, topics, data), "carrier", 15, 1_700_000_123))
    assert document["callback"] == {
        "requestId": str(2**255), "requester": hexed(ALICE[12:]), "topic": "carrier.delivery",
        "payload": hexed(payload),
    }
    garbled = json.loads(delivery_body(committed(WEBHOOKS_ADDRESS, topics, b"\x01\x02"), "carrier", 15, 1_700_000_123))
    assert "callback" not in garbled and garbled["data"] == "0x0102"


# -- signatures -------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    header = sign(b"k" * 16, 1_700_000_000, body)
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(b"k" * 16, header, body, now=1_700_000_100) == (1_700_000_000, expected)


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "error", "message"),
    [
        (None, b"x", b"k" * 16, 100, SignatureError, "missing X-CMT-Signature"),
        ("t=100;v1=00", b"x", b"k" * 16, 100, SignatureError, "malformed X-CMT-Signature"),
        (sign(b"k" * 16, 100, b"x"), b"y", b"k" * 16, 100, SignatureError, "does not match"),
        (sign(b"k" * 16, 100, b"x"), b"x", b"j" * 16, 100, SignatureError, "does not match"),
        (sign(b"k" * 16, 100, b"x"), b"x", b"k" * 16, 401, StaleSignature, "more than 300 s"),
        (sign(b"k" * 16, 500, b"x"), b"x", b"k" * 16, 100, StaleSignature, "more than 300 s"),
    ],
    ids=["missing", "malformed", "tampered-body", "wrong-secret", "stale", "future"],
)
def test_bad_signatures_are_refused(header, body, secret, now, error, message) -> None:
    with pytest.raises(error, match=message):
        verify(secret, header, body, now=now)


def test_re_dating_a_signature_breaks_it() -> None:
    timestamp, value = parse_header(sign(b"k" * 16, 100, b"x"))
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"k" * 16, f"t={timestamp + 200},v1={value}", b"x", now=300)



def test_the_example_receiver_verifies_what_the_node_signs() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "webhooks" / "receiver.py"
    module_spec = importlib.util.spec_from_file_location("webhook_receiver_example", path)
    receiver = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(receiver)
    body, now = b'{"idempotencyKey":"0x01-0"}', int(time.time())
    assert receiver.verified(b"k" * 16, sign(b"k" * 16, now, body), body)
    assert not receiver.verified(b"k" * 16, sign(b"k" * 16, now, body), body + b" ")
    assert not receiver.verified(b"k" * 16, sign(b"k" * 16, now - 301, body), body)
    assert not receiver.verified(b"k" * 16, "garbage", body)
    assert receiver.signature_header(b"k" * 16, body, now) == sign(b"k" * 16, now, body)
