"""Webhook settings as the node's config file gives them (parsed by ``cybermiles_node.config``)."""
from __future__ import annotations

from dataclasses import dataclass, field

from middleware.webhooks.retry import RetryPolicy
from middleware.webhooks.signing import DEFAULT_TOLERANCE_SECONDS
from middleware.webhooks.subscription import Subscription


@dataclass(frozen=True)
class AllowedCall:
    """A contract method an inbound caller may call: address and canonical signature."""

    contract: bytes
    method: str


@dataclass(frozen=True)
class Caller:
    """An inbound caller: its name (the URL path), HMAC secret and the calls it may make."""

    name: str
    secret: bytes
    allowed: tuple[AllowedCall, ...]


@dataclass(frozen=True)
class InboundSettings:
    """The inbound callback endpoint (off unless enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8600
    callers: tuple[Caller, ...] = ()
    oracle_account: str | None = None  # 0x address of a key in the node's keystore
    password_file: str | None = None  # file holding that key's password (relative: to the node home)
    window_seconds: int = DEFAULT_TOLERANCE_SECONDS
    replay_cache_size: int = 10_000
    max_body_bytes: int = 64 * 1024


@dataclass(frozen=True)
class DeliverySettings:
    """Outbound delivery: retries, concurrency, timeouts and outbox bounds."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 4
    timeout_seconds: int = 10
    max_pending: int = 10_000
    max_dead_letters: int = 10_000


@dataclass(frozen=True)
class WebhookSettings:
    """The ``[webhooks]`` section."""

    subscriptions: tuple[Subscription, ...] = ()
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    inbound: InboundSettings = field(default_factory=InboundSettings)
    admin_rpc: bool = False
