"""``cmnode webhooks``: manage a running node's webhook subscriptions and dead letters over the admin RPC.

The node must be started with ``admin_rpc = true`` in its ``[webhooks]`` config
section; these commands call ``admin_addWebhook``, ``admin_removeWebhook``,
``admin_listWebhooks``, ``admin_listDeadLetters`` and ``admin_retryDeadLetter``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError, RpcResponseError
from cybermiles_node.cli.accounts import secret_text
from cybermiles_node.cli.contracts import rpc_option
from cybermiles_node.cli.output import CommandError, emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiIntRange

METHOD_NOT_FOUND = -32601


def _call(rpc_url: str, method: str, *params: Any) -> Any:
    try:
        return RpcClient(rpc_url).call(method, *params)
    except RpcResponseError as exc:
        if exc.code == METHOD_NOT_FOUND:
            raise CommandError(f"{exc} (is admin_rpc = true in the node's [webhooks] config?)") from None
        raise


def _topic_positions(topics: tuple[str, ...]) -> list[Any]:
    """``--topic`` values: ``*`` (any), one topic, or alternatives separated by ``|``."""
    return ["*" if t == "*" else t.split("|") if "|" in t else t for t in topics]


@click.group("webhooks")
def webhooks() -> None:
    """Webhook subscriptions and dead letters of a running node (needs admin_rpc = true)."""


@webhooks.command("add")
@click.argument("subscription_id")
@click.argument("url")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File whose first line is the HMAC secret (16-256 characters).")
@click.option("--address", "addresses", multiple=True, help="Contract address to match (repeatable; none: any).")
@click.option("--topic", "topics", multiple=True,
              help="Topic position: 0x-topic, alternatives a|b, or * for any (repeat in order).")
@click.option("--callback-topic", help="Match IWebhooks.CallbackRequested of this topic instead of --address/--topic.")
@click.option("--block-events", is_flag=True,
              help="Also deliver events of begin/end-block hooks (workflow timers, awards, elections).")
@rpc_option
@json_option
def add(subscription_id: str, url: str, secret_file: Path, addresses: tuple[str, ...], topics: tuple[str, ...],
        callback_topic: str | None, block_events: bool, rpc_url: str, json_output: bool) -> None:
    """Subscribe URL to committed logs matching the filter."""
    with reporting_errors(json_output, (RpcClientError,)):
        lines = secret_text(secret_file, "secret file").splitlines()
        spec: dict[str, Any] = {"id": subscription_id, "url": url, "secret": lines[0] if lines else ""}
        if addresses:
            spec["addresses"] = list(addresses)
        if topics:
            spec["topics"] = _topic_positions(topics)
        if callback_topic is not None:
            spec["callback_topic"] = callback_topic
        if block_events:
            spec["block_events"] = True
        added = _call(rpc_url, "admin_addWebhook", spec)
    emit(json_output, added, [f"added webhook {added['id']} -> {added['url']}"])


@webhooks.command("remove")
@click.argument("subscription_id")
@rpc_option
@json_option
def remove(subscription_id: str, rpc_url: str, json_output: bool) -> None:
    """Remove a subscription added over the RPC (its undelivered entries are dropped)."""
    with reporting_errors(json_output, (RpcClientError,)):
        removed = _call(rpc_url, "admin_removeWebhook", subscription_id)
    emit(json_output, removed, [f"removed webhook {subscription_id} ({removed['discarded']} undelivered dropped)"])


@webhooks.command("list")
@rpc_option
@json_option
def list_webhooks(rpc_url: str, json_output: bool) -> None:
    """List the subscriptions (from config and from the RPC)."""
    with reporting_errors(json_output, (RpcClientError,)):
        subscriptions = _call(rpc_url, "admin_listWebhooks")
    lines = [f"{s['id']:<20} {s['source']:<6} {s['url']}  addresses={json.dumps(s['addresses'])} "
             f"topics={json.dumps(s['topics'])}" for s in subscriptions] or ["no webhook subscriptions"]
    emit(json_output, {"subscriptions": subscriptions}, lines)


@webhooks.command("dead-letters")
@click.option("--retry", "retry_sequence", type=AsciiIntRange(min=1), default=None,
              help="Put this dead letter back into the outbox instead of listing.")
@rpc_option
@json_option
def dead_letters(retry_sequence: int | None, rpc_url: str, json_output: bool) -> None:
    """List deliveries that exhausted their attempts, or retry one."""
    with reporting_errors(json_output, (RpcClientError,)):
        if retry_sequence is not None:
            entry = _call(rpc_url, "admin_retryDeadLetter", retry_sequence)
            emit(json_output, entry, [f"dead letter {retry_sequence} is pending again"])
            return
        letters = _call(rpc_url, "admin_listDeadLetters")
    lines = [f"{d['sequence']:>6} {d['subscription']:<20} {d['idempotencyKey']}  attempts={d['attempts']}  "
             f"{d['lastError']}" for d in letters] or ["no dead letters"]
    emit(json_output, {"deadLetters": letters}, lines)


def add_webhook_commands(group: click.Group) -> None:
    """Register ``cmnode webhooks ...`` on the top-level command group."""
    group.add_command(webhooks)
