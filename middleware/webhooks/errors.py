"""Errors of the webhooks middleware; ``WebhookError`` is the root."""
from __future__ import annotations


class WebhookError(Exception):
    """Root of every error raised by the ``middleware.webhooks`` package."""


class SubscriptionError(WebhookError):
    """A subscription definition that is malformed (bad URL, secret, address or topic filter)."""


class UnknownSubscription(WebhookError):
    """No subscription has the given id."""


class SignatureError(WebhookError):
    """A signature header that is missing, malformed, or does not verify."""


class StaleSignature(SignatureError):
    """A signature whose timestamp is outside the accepted window (a possible replay)."""


class OutboxError(WebhookError):
    """An outbox operation that cannot be done (unknown entry, corrupt record)."""


class CallbackRefused(WebhookError):
    """An inbound callback refused with an HTTP status; the message tells the caller why."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedCallback(CallbackRefused):
    """The body is not a valid callback document (400)."""

    status = 400


class UnauthorizedCallback(CallbackRefused):
    """Unknown caller, bad or stale signature (401)."""

    status = 401


class ForbiddenCallback(CallbackRefused):
    """The caller may not call this contract method (403)."""

    status = 403


class ReplayedCallback(CallbackRefused):
    """This callback (signature or id) was already accepted (409)."""

    status = 409


class CallbackTooLarge(CallbackRefused):
    """The body exceeds the size limit (413)."""

    status = 413


class CallbackBusy(CallbackRefused):
    """The replay cache is full of unexpired entries; the caller should retry later (429)."""

    status = 429


class SubmissionRejected(CallbackRefused):
    """The transaction was built but the node refused it (would revert, mempool refused) (422)."""

    status = 422
