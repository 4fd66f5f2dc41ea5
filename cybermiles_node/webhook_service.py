"""The webhooks of a node: outbox, subscriptions, delivery dispatcher and inbound callback server.

``WebhookService`` owns the outbox (``webhook_outbox_store``), the subscriptions
(``webhook_subscriptions``: from config, plus those added over the admin RPC), the
delivery dispatcher and the inbound callback server (whose callbacks become the oracle
account's transactions, ``oracle_submitter``). ``on_commit(block, receipts)`` runs right
after each commit, in the thread that committed: it appends a delivery per (matching log,
subscription) and advances the outbox cursor in one write. At start-up ``catch_up``
re-scans the committed blocks after the cursor, so a crash between a commit and its
``on_commit`` loses nothing; a new outbox starts at the current height (history is not
delivered).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from consensus.types import Block, Header
from cybermiles_node.errors import NodeError
from cybermiles_node.oracle_submitter import OracleSubmitter, unlock_oracle
from cybermiles_node.rpc_backend import NodeBackend
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.webhook_outbox_store import LevelDBOutboxStore
from cybermiles_node.webhook_subscriptions import SubscriptionRegistry
from middleware.webhooks.dispatcher import DeliveryDispatcher, wall_clock_ms
from middleware.webhooks.errors import OutboxError, WebhookError
from middleware.webhooks.inbound import InboundEndpoint, create_inbound_app
from middleware.webhooks.outbox import Delivery, Outbox
from middleware.webhooks.payload import delivery_body, idempotency_key
from middleware.webhooks.settings import WebhookSettings
from middleware.webhooks.subscription import Subscription
from rpc.admin import AdminRequestError
from vm.logs import block_event_logs, transaction_logs
from vm.receipts import Receipt

log = logging.getLogger(__name__)


class WebhookService:
    """Outbox, subscriptions, dispatcher and inbound server of one node (also its ``WebhookAdmin``)."""

    def __init__(self, settings: WebhookSettings, chain_id: int, store: ChainStore, db: LevelDB) -> None:
        self.settings = settings
        self._chain_id = chain_id
        self._store = store
        delivery = settings.delivery
        try:
            self.outbox = Outbox(LevelDBOutboxStore(db), delivery.retry, max_pending=delivery.max_pending,
                                 max_dead=delivery.max_dead_letters)
        except OutboxError as exc:
            raise NodeError(f"webhook outbox: {exc}") from None
        self.subscriptions = SubscriptionRegistry(db, settings.subscriptions)
        self.dispatcher = DeliveryDispatcher(self.outbox, self.subscriptions.secret_of,
                                             max_concurrency=delivery.max_concurrency,
                                             timeout_seconds=delivery.timeout_seconds)
        self._dispatch_task: asyncio.Task[None] | None = None
        self._inbound_runner: web.AppRunner | None = None
        self.inbound_port: int | None = None

    # -- appending -------------------------------------------------------------------

    def _deliveries(self, header: Header, receipts: Sequence[Receipt]) -> list[Delivery]:
        subscriptions = self.subscriptions.all()
        deliveries: list[Delivery] = []
        events = self._store.get_block_events(header.hash)
        # the transactions' logs (numbered across the block, as eth_getLogs numbers them), then the
        # hooks' events (numbered among themselves, as cmt_getBlockEvents numbers them)
        entries = [*transaction_logs(header.number, header.hash, receipts),
                   *block_event_logs(header.number, header.hash, events)]
        for entry in entries:
            for subscription in subscriptions:
                if entry.tx_hash is None and not subscription.block_events:
                    continue
                if subscription.matches(entry.log.address, entry.log.topics):
                    deliveries.append(Delivery(
                        subscription.id, subscription.url, idempotency_key(entry),
                        delivery_body(entry, subscription.id, self._chain_id, header.timestamp)))
        return deliveries

    def on_commit(self, block: Block, receipts: Sequence[Receipt]) -> None:
        """Append the deliveries of a just-committed block (call right after each commit, in order)."""
        cursor = self.outbox.cursor
        if cursor is not None and block.number <= cursor:
            return
        if cursor is not None and block.number > cursor + 1:
            self.catch_up(block.number - 1)
        deliveries = self._deliveries(block.header, receipts)
        self.outbox.append(deliveries, block.number, wall_clock_ms())
        if deliveries:
            self.dispatcher.notify()

    def catch_up(self, height: int | None = None) -> int:
        """Append the committed blocks after the cursor up to ``height`` (default: the latest); returns how many."""
        latest = self._store.latest_height() if height is None else height
        cursor = self.outbox.cursor
        if cursor is None:
            self.outbox.append([], max(latest, 0), wall_clock_ms())  # a new outbox starts now
            return 0
        for number in range(cursor + 1, latest + 1):
            header = self._store.get_header_by_number(number)
            if header is None:  # a fast-synced node has no blocks before its pivot: nothing to deliver
                log.warning("webhooks: block %d is not stored; its logs are not delivered", number)
                self.outbox.append([], number, wall_clock_ms())
                continue
            self.outbox.append(self._deliveries(header, self._store.get_receipts(header.hash)), number,
                               wall_clock_ms())
        return max(latest - cursor, 0)

    # -- running ---------------------------------------------------------------------

    async def start(self, backend: NodeBackend, keystore_dir: Path, home_root: Path) -> None:
        """Catch up, start delivering, and serve inbound callbacks if enabled."""
        caught_up = self.catch_up()
        if caught_up:
            log.info("webhooks: appended the logs of %d block(s) committed before the last stop", caught_up)
        self._dispatch_task = asyncio.create_task(self.dispatcher.run())
        inbound = self.settings.inbound
        if inbound.enabled:
            submitter = OracleSubmitter(backend, unlock_oracle(keystore_dir, inbound, home_root))
            app = create_inbound_app(InboundEndpoint(inbound, submitter), inbound.max_body_bytes)
            self._inbound_runner = web.AppRunner(app, access_log=None)
            await self._inbound_runner.setup()
            site = web.TCPSite(self._inbound_runner, inbound.host, inbound.port)
            await site.start()
            self.inbound_port = int(self._inbound_runner.addresses[0][1])
            log.info("webhooks: inbound callbacks on http://%s:%d/callbacks/<caller> (oracle 0x%s)",
                     inbound.host, self.inbound_port, submitter.address.hex())
        log.info("webhooks: %d subscription(s), %d pending, %d dead letter(s)", len(self.subscriptions.all()),
                 len(self.outbox.pending()), len(self.outbox.dead_letters()))

    async def stop(self) -> None:
        """Stop serving callbacks and delivering (undelivered entries stay in the outbox)."""
        if self._inbound_runner is not None:
            await self._inbound_runner.cleanup()
            self._inbound_runner = None
        if self._dispatch_task is not None:
            self.dispatcher.stop()
            await self._dispatch_task
            self._dispatch_task = None

    # -- WebhookAdmin ------------------------------------------------------------------

    def _describe(self, subscription: Subscription) -> dict[str, Any]:
        return {**subscription.describe(), "source": self.subscriptions.source_of(subscription.id)}

    def add_webhook(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """``admin_addWebhook``."""
        try:
            return self._describe(self.subscriptions.add(spec))
        except WebhookError as exc:
            raise AdminRequestError(str(exc)) from None

    def remove_webhook(self, subscription_id: str) -> dict[str, Any]:
        """``admin_removeWebhook``: also drops the subscription's pending deliveries and dead letters."""
        try:
            self.subscriptions.remove(subscription_id)
        except WebhookError as exc:
            raise AdminRequestError(str(exc)) from None
        discarded = self.outbox.discard_subscription(subscription_id)
        return {"id": subscription_id, "removed": True, "discarded": discarded}

    def list_webhooks(self) -> list[dict[str, Any]]:
        """``admin_listWebhooks``."""
        return [self._describe(s) for s in self.subscriptions.all()]

    def list_dead_letters(self) -> list[dict[str, Any]]:
        """``admin_listDeadLetters``."""
        return [entry.describe() for entry in self.outbox.dead_letters()]

    def retry_dead_letter(self, sequence: int) -> dict[str, Any]:
        """``admin_retryDeadLetter``."""
        try:
            entry = self.outbox.retry_dead(sequence, wall_clock_ms())
        except OutboxError as exc:
            raise AdminRequestError(str(exc)) from None
        self.dispatcher.notify()
        return entry.describe()
