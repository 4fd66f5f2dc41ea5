"""WebSocket connections and ``eth_subscribe`` / ``eth_unsubscribe`` (``newHeads``, ``logs``,
``newPendingTransactions``).

One block listener registered with the backend fans each committed block out
to the subscriptions of every open connection, and one pending listener fans
out each transaction the mempool admits (its hash, or with geth's ``true``
second parameter the whole transaction) and records it in the
``PendingLog`` that pending-transaction filters read. Every connection has a
bounded outgoing queue; a client that falls that far behind is disconnected
rather than letting memory grow.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import SignedTransactionAPI

from consensus.types import Block
from rpc.backend import Backend
from rpc.dispatch import Handler
from rpc.errors import InvalidParams, LimitExceeded, MethodNotFound
from rpc.formatting import data, format_header, format_log, format_transaction
from rpc.ids import new_id
from rpc.jsonwire import encode_text
from rpc.params import Args, ParamError, brief, parse_bool, parse_filter
from rpc.pending_log import PendingLog
from vm.logs import LogFilter, transaction_logs
from vm.receipts import Receipt

NEW_HEADS = "newHeads"
LOGS = "logs"
NEW_PENDING_TRANSACTIONS = "newPendingTransactions"


@dataclass(frozen=True)
class Subscription:
    """One subscription of a connection; ``log_filter`` only for ``logs``, ``full`` for whole pending transactions."""

    kind: str
    log_filter: LogFilter | None = None
    full: bool = False


class WSConnection:
    """A WebSocket client: its subscriptions and its bounded queue of outgoing messages.

    ``None`` in the queue tells the writer to close the connection.
    """

    def __init__(self, max_queue: int) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max_queue)
        self.subscriptions: dict[str, Subscription] = {}
        self.overflowed = False
        self.closed = False

    def push(self, message: Any) -> None:
        """Queue a JSON message; on overflow drop the backlog and close the connection."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(encode_text(message))
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def close(self) -> None:
        """Stop sending: discard the backlog and queue the close signal."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


def _notification(subscription_id: str, result: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": {"subscription": subscription_id, "result": result},
    }


def _parse_subscription_id(value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError("subscription id must be a string")
    return value.lower()


class SubscriptionHub:
    """Open WebSocket connections and the delivery of block and log notifications."""

    def __init__(self, backend: Backend, max_connections: int, max_per_connection: int,
                 pending_log: PendingLog) -> None:
        """A hub without connections; admitted transactions' hashes go to ``pending_log`` once started."""
        self.backend = backend
        self.max_connections = max_connections
        self.max_per_connection = max_per_connection
        self.pending_log = pending_log
        self._connections: dict[WSConnection, None] = {}
        self._remove_listeners: list[Callable[[], None]] = []

    def start(self) -> None:
        """Start receiving committed blocks and admitted transactions from the backend."""
        if not self._remove_listeners:
            self._remove_listeners = [
                self.backend.add_block_listener(self.on_block),
                self.backend.add_pending_listener(self.on_pending),
            ]

    def stop(self) -> None:
        """Stop receiving blocks and transactions and close every connection."""
        for remove in self._remove_listeners:
            remove()
        self._remove_listeners = []
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()

    @property
    def connection_count(self) -> int:
        """Number of open WebSocket connections."""
        return len(self._connections)

    def subscription_counts(self) -> dict[str, int]:
        """Open subscriptions by kind (newHeads, logs, newPendingTransactions), over every connection."""
        counts = dict.fromkeys((NEW_HEADS, LOGS, NEW_PENDING_TRANSACTIONS), 0)
        for connection in list(self._connections):
            for subscription in connection.subscriptions.values():
                counts[subscription.kind] += 1
        return counts

    def attach(self, connection: WSConnection) -> None:
        """Register a new connection; raises ``LimitExceeded`` when the server is full."""
        if len(self._connections) >= self.max_connections:
            raise LimitExceeded(f"too many WebSocket connections, at most {self.max_connections}")
        self._connections[connection] = None

    def detach(self, connection: WSConnection) -> None:
        """Forget a closed connection and its subscriptions."""
        self._connections.pop(connection, None)
        connection.subscriptions.clear()
        connection.close()

    def on_block(self, block: Block, receipts: Sequence[Receipt]) -> None:
        """Deliver a committed block to ``newHeads`` and its logs to matching ``logs`` subscriptions."""
        head: dict[str, Any] | None = None
        entries = None
        for connection in list(self._connections):
            for subscription_id, subscription in list(connection.subscriptions.items()):
                if subscription.kind == NEW_PENDING_TRANSACTIONS:
                    continue
                if subscription.kind == NEW_HEADS:
                    if head is None:
                        head = format_header(block.header)
                    connection.push(_notification(subscription_id, head))
                    continue
                if entries is None:
                    entries = transaction_logs(block.number, block.hash, receipts)
                log_filter = subscription.log_filter
                for entry in entries:
                    if log_filter is not None and log_filter.matches_log(entry.log):
                        connection.push(_notification(subscription_id, format_log(entry)))

    def on_pending(self, tx: SignedTransactionAPI) -> None:
        """Record an admitted transaction's hash and deliver it to ``newPendingTransactions`` subscriptions."""
        self.pending_log.append(tx)
        tx_hash = data(tx.hash)
        full: dict[str, Any] | None = None
        for connection in list(self._connections):
            for subscription_id, subscription in list(connection.subscriptions.items()):
                if subscription.kind != NEW_PENDING_TRANSACTIONS:
                    continue
                if subscription.full and full is None:
                    full = format_transaction(tx, None)
                connection.push(_notification(subscription_id, full if subscription.full else tx_hash))

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"eth_subscribe": self.subscribe, "eth_unsubscribe": self.unsubscribe}

    async def subscribe(self, params: Any, connection: WSConnection | None) -> str:
        """``eth_subscribe``: ``["newHeads"]``, ``["logs", {address, topics}]`` or ``["newPendingTransactions", full?]``."""
        if connection is None:
            raise MethodNotFound("notifications not supported: subscribe over WebSocket")
        args = Args(params, 1, 2)
        kind = args.get(0, _parse_kind)
        if kind == NEW_HEADS:
            Args(params, 1, 1)
            subscription = Subscription(NEW_HEADS)
        elif kind == LOGS:
            spec = args.optional(1, parse_filter, None)
            if spec is not None and spec.block_hash is not None:
                raise InvalidParams("invalid argument 1: a logs subscription cannot name a blockHash")
            subscription = Subscription(
                LOGS,
                spec.log_filter if spec else LogFilter(),
            )
        elif kind == NEW_PENDING_TRANSACTIONS:
            subscription = Subscription(NEW_PENDING_TRANSACTIONS, full=args.optional(1, parse_bool, False))
        else:
            raise InvalidParams(
                f"unsupported subscription type {brief(kind)}: use newHeads, logs or newPendingTransactions"
            )
        if len(connection.subscriptions) >= self.max_per_connection:
            raise LimitExceeded(f"too many subscriptions on this connection, at most {self.max_per_connection}")
        subscription_id = new_id()
        connection.subscriptions[subscription_id] = subscription
        return subscription_id

    async def unsubscribe(self, params: Any, connection: WSConnection | None) -> bool:
        """``eth_unsubscribe``: true if the subscription existed on this connection."""
        if connection is None:
            raise MethodNotFound("notifications not supported: subscribe over WebSocket")
        subscription_id = Args(params, 1, 1).get(0, _parse_subscription_id)
        return connection.subscriptions.pop(subscription_id, None) is not None


def _parse_kind(value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError("subscription type must be a string")
    return value
