"""Subscriptions: which committed logs go to which URL, signed with which secret.

A subscription filters logs the way ``eth_getLogs`` does: ``addresses`` (empty: any
contract) and up to four topic positions, each ``None`` (any topic) or a tuple of
alternatives (any of them). A ``callback_topic`` is a shorthand for the requests of the
``IWebhooks`` native contract: it adds that contract's address and the
``CallbackRequested`` signature with the topic's hash at the fourth position.

``parse_subscription`` builds one from a JSON/TOML mapping (config file or admin RPC)
and names the offending key precisely; ``Subscription.describe`` is the inverse (minus
the secret).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eth_hash.auto import keccak

from middleware.webhooks.contract import CALLBACK_REQUESTED_TOPIC
from middleware.webhooks.errors import SubscriptionError
from vm.logs import LogFilter
from vm.native.addresses import WEBHOOKS_ADDRESS

MAX_TOPIC_POSITIONS = 4
MAX_ALTERNATIVES = 16
MAX_ADDRESSES = 16
MAX_URL_LENGTH = 2_048
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
WILDCARD_TOPIC = "*"  # any topic at this position (TOML has no null)
SUBSCRIPTION_KEYS = frozenset({"id", "url", "secret", "addresses", "topics", "callback_topic", "block_events"})

TopicFilter = tuple[tuple[bytes, ...] | None, ...]


@dataclass(frozen=True)
class Subscription:
    """Deliver logs of ``addresses`` matching ``topics`` to ``url``, signed with ``secret``.

    Transactions' logs always; with ``block_events`` also the events native contracts
    emit in their begin/end-block hooks (workflow timers, block awards, elections).
    """

    id: str
    url: str
    secret: bytes
    addresses: tuple[bytes, ...] = ()
    topics: TopicFilter = ()
    block_events: bool = False

    @functools.cached_property
    def log_filter(self) -> LogFilter:
        """The logs this subscription delivers: Ethereum's matching rules, as ``eth_getLogs``, except that
        wildcards after the last named topic ask for nothing (a log with fewer topics still matches)."""
        topics = list(self.topics)
        while topics and topics[-1] is None:
            topics.pop()
        return LogFilter(self.addresses, tuple(topics))

    def matches(self, address: bytes, topics: tuple[bytes, ...]) -> bool:
        """Whether a log emitted by ``address`` with ``topics`` is delivered to this subscription."""
        return self.log_filter.matches(address, topics)

    def describe(self) -> dict[str, Any]:
        """The subscription as JSON (the secret is never shown)."""
        return {
            "id": self.id,
            "url": self.url,
            "addresses": ["0x" + a.hex() for a in self.addresses],
            "topics": [
                None if wanted is None else ["0x" + t.hex() for t in wanted] for wanted in self.topics
            ],
            "blockEvents": self.block_events,
        }


def _address(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise SubscriptionError(f"{where}: expected a 0x-prefixed 20-byte hex address, got {value!r}")
    return bytes.fromhex(value[2:])


def _topic(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise SubscriptionError(f"{where}: expected a 0x-prefixed 32-byte hex topic, got {value!r}")
    return bytes.fromhex(value[2:])


def parse_url(value: Any, where: str) -> str:
    """An absolute http(s) URL with a host, at most ``MAX_URL_LENGTH`` characters."""
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        raise SubscriptionError(f"{where}: expected an http(s) URL of at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError(f"{where}: expected an http:// or https:// URL with a host, got {value!r}")
    return value


def parse_secret(value: Any, where: str) -> bytes:
    """A shared HMAC secret: a string of ``MIN_SECRET_LENGTH``..``MAX_SECRET_LENGTH`` characters."""
    if not isinstance(value, str) or not MIN_SECRET_LENGTH <= len(value) <= MAX_SECRET_LENGTH:
        raise SubscriptionError(
            f"{where}: expected a string of {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters"
        )
    return value.encode()


def parse_topic_filter(value: Any, where: str) -> TopicFilter:
    """Topic positions as ``eth_getLogs`` takes them: null (or ``"*"``), a topic, or a list of alternatives."""
    if not isinstance(value, list) or len(value) > MAX_TOPIC_POSITIONS:
        raise SubscriptionError(f"{where}: expected a list of at most {MAX_TOPIC_POSITIONS} topic positions")
    positions: list[tuple[bytes, ...] | None] = []
    for index, position in enumerate(value):
        here = f"{where}[{index}]"
        if position is None or position == WILDCARD_TOPIC:
            positions.append(None)
        elif isinstance(position, list):
            if not 0 < len(position) <= MAX_ALTERNATIVES:
                raise SubscriptionError(f"{here}: expected 1 to {MAX_ALTERNATIVES} alternative topics")
            positions.append(tuple(_topic(item, f"{here}[{j}]") for j, item in enumerate(position)))
        else:
            positions.append((_topic(position, here),))
    return tuple(positions)


def callback_filter(topic: str) -> TopicFilter:
    """The topic filter selecting ``IWebhooks`` callback requests of ``topic``."""
    return ((CALLBACK_REQUESTED_TOPIC,), None, None, (keccak(topic.encode()),))


def parse_subscription(data: Any, where: str) -> Subscription:
    """A subscription from a mapping with ``id``, ``url``, ``secret`` and optional filters."""
    if not isinstance(data, Mapping):
        raise SubscriptionError(f"{where}: expected a table/object")
    unknown = sorted(set(data) - SUBSCRIPTION_KEYS)
    if unknown:
        raise SubscriptionError(f"{where}: unknown setting {unknown[0]!r}")
    for key in ("id", "url", "secret"):
        if key not in data:
            raise SubscriptionError(f"{where}: missing {key!r}")
    sub_id = data["id"]
    if not isinstance(sub_id, str) or not ID_PATTERN.match(sub_id):
        raise SubscriptionError(f"{where}.id: expected 1-64 characters of A-Z a-z 0-9 _ . -, got {sub_id!r}")
    raw_addresses = data.get("addresses", [])
    if isinstance(raw_addresses, str):
        raw_addresses = [raw_addresses]
    if not isinstance(raw_addresses, list) or len(raw_addresses) > MAX_ADDRESSES:
        raise SubscriptionError(f"{where}.addresses: expected a list of at most {MAX_ADDRESSES} addresses")
    addresses = tuple(_address(a, f"{where}.addresses[{i}]") for i, a in enumerate(raw_addresses))
    topics = parse_topic_filter(data.get("topics", []), f"{where}.topics")
    if "callback_topic" in data:
        name = data["callback_topic"]
        if not isinstance(name, str) or not name:
            raise SubscriptionError(f"{where}.callback_topic: expected a non-empty string")
        if topics or addresses:
            raise SubscriptionError(f"{where}.callback_topic: cannot be combined with addresses or topics")
        addresses, topics = (WEBHOOKS_ADDRESS,), callback_filter(name)
    block_events = data.get("block_events", False)
    if not isinstance(block_events, bool):
        raise SubscriptionError(f"{where}.block_events: expected true or false, got {block_events!r}")
    return Subscription(
        id=sub_id,
        url=parse_url(data["url"], f"{where}.url"),
        secret=parse_secret(data["secret"], f"{where}.secret"),
        addresses=tuple(sorted(set(addresses))),
        topics=topics,
        block_events=block_events,
    )
