"""Webhook subscriptions of a node: those of ``config.toml`` (fixed) and those added over the admin RPC
(persisted in LevelDB under ``u``, at most ``MAX_ADMIN_SUBSCRIPTIONS``)."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cybermiles_node.errors import NodeError
from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.storage.schema import WEBHOOK_SUBSCRIPTION_PREFIX, webhook_subscription_key
from middleware.webhooks.errors import SubscriptionError, UnknownSubscription
from middleware.webhooks.subscription import Subscription, parse_subscription

log = logging.getLogger(__name__)

MAX_ADMIN_SUBSCRIPTIONS = 256


class SubscriptionRegistry:
    """Subscriptions from config (fixed) and from the admin RPC (persisted in LevelDB)."""

    def __init__(self, db: LevelDB, configured: Sequence[Subscription]) -> None:
        self._db = db
        self._configured = {s.id: s for s in configured}
        self._added: dict[str, Subscription] = {}
        for key, record in db.iterate(prefix=WEBHOOK_SUBSCRIPTION_PREFIX):
            try:
                subscription = parse_subscription(json.loads(record), f"stored subscription {key[1:].decode()}")
            except (ValueError, SubscriptionError) as exc:
                raise NodeError(f"webhook subscriptions in the database: {exc}") from None
            if subscription.id in self._configured:
                log.warning("stored webhook subscription %s is shadowed by the config", subscription.id)
                continue
            self._added[subscription.id] = subscription

    def all(self) -> list[Subscription]:
        """Config subscriptions, then admin ones, each group by id."""
        return [self._configured[i] for i in sorted(self._configured)] + [self._added[i] for i in sorted(self._added)]

    def secret_of(self, subscription_id: str) -> bytes | None:
        """The secret of a subscription (None if it is gone)."""
        found = self._configured.get(subscription_id) or self._added.get(subscription_id)
        return None if found is None else found.secret

    def source_of(self, subscription_id: str) -> str:
        """``config`` or ``admin``."""
        return "config" if subscription_id in self._configured else "admin"

    def add(self, spec: Mapping[str, Any]) -> Subscription:
        """Validate, persist and activate an admin subscription."""
        subscription = parse_subscription(spec, "subscription")
        if subscription.id in self._configured or subscription.id in self._added:
            raise SubscriptionError(f"subscription {subscription.id!r} already exists")
        if len(self._added) >= MAX_ADMIN_SUBSCRIPTIONS:
            raise SubscriptionError(f"at most {MAX_ADMIN_SUBSCRIPTIONS} subscriptions may be added over the RPC")
        record = {key: spec[key] for key in sorted(spec)}
        self._db.write({webhook_subscription_key(subscription.id): json.dumps(record).encode()}, (), sync=True)
        self._added[subscription.id] = subscription
        return subscription

    def remove(self, subscription_id: str) -> None:
        """Remove an admin subscription (config ones are removed by editing the config)."""
        if subscription_id in self._configured:
            raise SubscriptionError(f"subscription {subscription_id!r} comes from the config file; edit it there")
        if subscription_id not in self._added:
            raise UnknownSubscription(f"no subscription {subscription_id!r}")
        self._db.write({}, (webhook_subscription_key(subscription_id),), sync=True)
        del self._added[subscription_id]
