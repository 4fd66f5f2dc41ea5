"""The ``admin_`` namespace: webhook subscriptions and dead letters (registered only when enabled in config).

Methods (all answer JSON objects/lists):

* ``admin_addWebhook({id, url, secret, addresses?, topics?, callback_topic?})`` -> the subscription
* ``admin_removeWebhook(id)`` -> ``{"id", "removed": true, "discarded": <deliveries dropped>}``
* ``admin_listWebhooks()`` -> subscriptions (secrets are never returned), each with its ``source``
* ``admin_listDeadLetters()`` -> dead letters (sequence, subscription, idempotency key, attempts, last error)
* ``admin_retryDeadLetter(sequence)`` -> the delivery, pending again
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rpc.dispatch import Handler
from rpc.errors import InvalidParams
from rpc.params import Args, ParamError


class AdminRequestError(InvalidParams):
    """A well-formed admin request the node refuses (bad subscription, unknown id or sequence)."""


class WebhookAdmin(Protocol):
    """What the node offers the admin namespace; methods raise ``AdminRequestError`` to refuse."""

    def add_webhook(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Add (and persist) a subscription."""

    def remove_webhook(self, subscription_id: str) -> dict[str, Any]:
        """Remove an admin-added subscription and drop its undelivered entries."""

    def list_webhooks(self) -> list[dict[str, Any]]:
        """All subscriptions, from config and admin."""

    def list_dead_letters(self) -> list[dict[str, Any]]:
        """The dead letters in sequence order."""

    def retry_dead_letter(self, sequence: int) -> dict[str, Any]:
        """Put a dead letter back into the outbox."""


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ParamError("expected a JSON object")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError("expected a string")
    return value


def _sequence(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParamError("expected a positive integer")
    return value


class AdminAPI:
    """Handlers of the ``admin_`` webhook methods."""

    def __init__(self, admin: WebhookAdmin) -> None:
        self.admin = admin

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "admin_addWebhook": self.add_webhook,
            "admin_removeWebhook": self.remove_webhook,
            "admin_listWebhooks": self.list_webhooks,
            "admin_listDeadLetters": self.list_dead_letters,
            "admin_retryDeadLetter": self.retry_dead_letter,
        }

    async def add_webhook(self, params: Any, connection: Any) -> dict[str, Any]:
        """``admin_addWebhook``."""
        return self.admin.add_webhook(Args(params, 1, 1).get(0, _object))

    async def remove_webhook(self, params: Any, connection: Any) -> dict[str, Any]:
        """``admin_removeWebhook``."""
        return self.admin.remove_webhook(Args(params, 1, 1).get(0, _string))

    async def list_webhooks(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``admin_listWebhooks``."""
        Args(params, 0, 0)
        return self.admin.list_webhooks()

    async def list_dead_letters(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``admin_listDeadLetters``."""
        Args(params, 0, 0)
        return self.admin.list_dead_letters()

    async def retry_dead_letter(self, params: Any, connection: Any) -> dict[str, Any]:
        """``admin_retryDeadLetter``."""
        return self.admin.retry_dead_letter(Args(params, 1, 1).get(0, _sequence))
