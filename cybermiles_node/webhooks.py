"""Webhooks in the node: the LevelDB outbox, subscriptions, the oracle submitter and the service.

``WebhookService`` owns the outbox (kept in the node's LevelDB under the prefixes of
``storage.schema``), the subscriptions (from config, plus those added over the admin
RPC, which are persisted), the delivery dispatcher and the inbound callback server.
``on_commit(block, receipts)`` runs right after each commit, in the thread that
committed: it appends a delivery per (matching log, subscription) and advances the
outbox cursor in one write. At start-up ``catch_up`` re-scans the committed blocks after
the cursor, so a crash between a commit and its ``on_commit`` loses nothing; a new
outbox starts at the current height (history is not delivered).

Inbound callbacks become transactions of the oracle account, whose key is unlocked
from the node's keystore with the password in ``inbound.password_file``, and are
admitted through ``NodeBackend.send_raw_transaction``, the path of
``eth_sendRawTransaction``.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from eth_account import Account

from consensus.types import Block, Header
from cybermiles_node.cli.accounts import read_secret_file
from cybermiles_node.cli.output import CommandError
from cybermiles_node.errors import NodeError
from cybermiles_node.keystore import Keystore, KeystoreError
from cybermiles_node.rpc_backend import NodeBackend
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.storage.schema import (
    WEBHOOK_DEAD_LETTER_PREFIX,
    WEBHOOK_OUTBOX_PREFIX,
    WEBHOOK_SUBSCRIPTION_PREFIX,
    MetaName,
    decode_height,
    encode_height,
    meta_key,
    webhook_dead_letter_key,
    webhook_outbox_key,
    webhook_subscription_key,
)
from middleware.webhooks.dispatcher import DeliveryDispatcher, wall_clock_ms
from middleware.webhooks.errors import (
    OutboxError,
    SubmissionRejected,
    SubscriptionError,
    UnknownSubscription,
    WebhookError,
)
from middleware.webhooks.inbound import InboundEndpoint, create_inbound_app
from middleware.webhooks.outbox import Delivery, Outbox, OutboxChange, OutboxSnapshot
from middleware.webhooks.payload import delivery_body, idempotency_key
from middleware.webhooks.settings import InboundSettings, WebhookSettings
from middleware.webhooks.subscription import Subscription, parse_subscription
from rpc.admin import AdminRequestError
from rpc.backend import CallRequest
from rpc.errors import RPCError
from vm.logs import block_event_logs, transaction_logs
from vm.receipts import Receipt

log = logging.getLogger(__name__)

MAX_ADMIN_SUBSCRIPTIONS = 256
ORACLE_TIP = 1_000_000_000  # 1 gwei priority fee on oracle transactions


class LevelDBOutboxStore:
    """``OutboxStore`` over the node's LevelDB: pending ``w``, dead ``d``, cursor in a meta record."""

    def __init__(self, db: LevelDB) -> None:
        self._db = db

    def load(self) -> OutboxSnapshot:
        """Everything stored, in sequence order."""
        state = self._db.get(meta_key(MetaName.WEBHOOK_OUTBOX))
        cursor, next_sequence = (None, 1) if state is None else (decode_height(state[:8]), decode_height(state[8:]))
        return OutboxSnapshot(
            pending=[(decode_height(k[1:]), v) for k, v in self._db.iterate(prefix=WEBHOOK_OUTBOX_PREFIX)],
            dead=[(decode_height(k[1:]), v) for k, v in self._db.iterate(prefix=WEBHOOK_DEAD_LETTER_PREFIX)],
            cursor=cursor,
            next_sequence=next_sequence,
        )

    def apply(self, change: OutboxChange) -> None:
        """One LevelDB write batch (not fsynced: a lost tail is re-derived from the blocks after the cursor)."""
        puts = {webhook_outbox_key(seq): record for seq, record in change.put_pending.items()}
        puts.update({webhook_dead_letter_key(seq): record for seq, record in change.put_dead.items()})
        deletes = [webhook_outbox_key(seq) for seq in change.delete_pending]
        deletes += [webhook_dead_letter_key(seq) for seq in change.delete_dead]
        if change.position is not None:
            cursor, next_sequence = change.position
            puts[meta_key(MetaName.WEBHOOK_OUTBOX)] = encode_height(cursor) + encode_height(next_sequence)
        self._db.write(puts, deletes, sync=False)


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


class OracleSubmitter:
    """``TxSubmitter``: signs calls with the oracle key and admits them like ``eth_sendRawTransaction``."""

    def __init__(self, backend: NodeBackend, private_key: bytes) -> None:
        self._backend = backend
        self._account = Account.from_key(private_key)
        self._address = bytes.fromhex(self._account.address[2:])
        self._lock = asyncio.Lock()  # one at a time: each takes the next pending nonce

    @property
    def address(self) -> bytes:
        """The oracle account."""
        return self._address

    async def submit(self, to: bytes, data: bytes) -> bytes:
        """Estimate, sign and admit a call of ``to``; ``SubmissionRejected`` if it would revert or is refused."""
        async with self._lock:
            try:
                latest = await self._backend.latest_height()
                gas = await self._backend.estimate_gas(CallRequest(sender=self._address, to=to, data=data), latest)
                base_fee = await self._backend.next_base_fee()
                nonce = await self._backend.pending_nonce(self._address)
                signed = self._account.sign_transaction({
                    "chainId": self._backend.chain_id(), "nonce": nonce, "to": to, "data": data, "value": 0,
                    "gas": gas + gas // 5, "maxFeePerGas": 2 * base_fee + ORACLE_TIP,
                    "maxPriorityFeePerGas": ORACLE_TIP,
                })
                return await self._backend.send_raw_transaction(bytes(signed.raw_transaction))
            except RPCError as exc:
                raise SubmissionRejected(f"transaction refused: {exc.message}") from None


def unlock_oracle(keystore_dir: Path, settings: InboundSettings, home_root: Path) -> bytes:
    """The oracle account's private key, from the keystore and the configured password file."""
    if settings.oracle_account is None or settings.password_file is None:
        raise NodeError("webhooks.inbound: oracle_account and password_file are required when enabled")
    password_path = Path(settings.password_file).expanduser()
    if not password_path.is_absolute():
        password_path = home_root / password_path
    try:
        lines = read_secret_file(password_path, "webhooks.inbound.password_file").splitlines()
        return Keystore(keystore_dir).unlock(settings.oracle_account, lines[0] if lines else "")
    except (CommandError, KeystoreError) as exc:
        raise NodeError(f"webhooks.inbound: cannot unlock oracle account {settings.oracle_account}: {exc}") from None


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
