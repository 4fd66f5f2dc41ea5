"""Webhooks in the node: appending committed logs, catching up after a crash, admin operations, over LevelDB."""
from __future__ import annotations

import json

import eth_abi
import pytest
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from cybermiles_node.webhook_service import WebhookService
from middleware.webhooks.settings import WebhookSettings
from middleware.webhooks.subscription import parse_subscription
from rpc.admin import AdminRequestError
from tests.test_application import Proposer
from vm.native.addresses import STAKING_ADDRESS, WEBHOOKS_ADDRESS

CHAIN_ID = 15
GWEI = 10**9
SETTINGS = WebhookSettings(subscriptions=(
    parse_subscription({"id": "carrier", "url": "http://127.0.0.1:9/c", "secret": "carrier secret 0123",
                        "callback_topic": "carrier.delivery"}, "s"),
    parse_subscription({"id": "everything", "url": "http://127.0.0.1:9/e", "secret": "audit secret 012345"}, "s"),
))


@pytest.fixture
def chain(open_node, validator_key, genesis, dev_keys):
    """A node, its proposer, and ``request(topic)``: a signed requestCallback transaction."""
    node = open_node("a")
    nonce = iter(range(1_000))

    def request(topic: str) -> bytes:
        data = function_signature_to_4byte_selector("requestCallback(string,bytes)") + eth_abi.encode(
            ["string", "bytes"], [topic, b"\x01"])
        tx = {"nonce": next(nonce), "to": to_checksum_address(WEBHOOKS_ADDRESS), "data": data, "gas": 200_000,
              "maxFeePerGas": 5 * GWEI, "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}
        return bytes(dev_keys[6].sign_transaction(tx).raw_transaction)

    return node, Proposer(node, validator_key, genesis), request


def committed(proposer: Proposer, *txs: bytes):
    block = proposer.propose(txs)
    proposer.decide(block)
    return block


def test_committed_logs_are_appended_once_and_caught_up_after_a_crash(chain) -> None:
    node, proposer, request = chain
    service = WebhookService(SETTINGS, CHAIN_ID, node.store, node.db)
    assert service.catch_up() == 0 and service.outbox.cursor == 0  # a new outbox starts at the current height

    first = committed(proposer, request("carrier.delivery"), request("payments.refund"))
    service.on_commit(first, node.app.last_receipts)
    entries = service.outbox.pending()
    assert [(e.delivery.subscription_id, json.loads(e.delivery.body)["logIndex"]) for e in entries] == [
        ("carrier", 0), ("everything", 0), ("everything", 1)]
    receipts = node.store.get_receipts(first.hash)
    assert entries[0].delivery.idempotency_key == f"0x{receipts[0].tx_hash.hex()}-0"
    assert entries[2].delivery.idempotency_key == f"0x{receipts[1].tx_hash.hex()}-1"
    service.on_commit(first, node.app.last_receipts)  # the same block again changes nothing
    assert len(service.outbox.pending()) == 3

    # the node dies after committing two more blocks, before appending them
    committed(proposer, request("carrier.delivery"))
    committed(proposer)
    restarted = WebhookService(SETTINGS, CHAIN_ID, node.store, node.db)
    assert restarted.catch_up() == 2 and restarted.outbox.cursor == 3
    assert [e.delivery.subscription_id for e in restarted.outbox.pending()] == [
        "carrier", "everything", "everything", "carrier", "everything"]

    # a gap between the cursor and a committed block is filled before that block is appended
    committed(proposer, request("carrier.delivery"))
    fifth = committed(proposer)
    restarted.on_commit(fifth, node.app.last_receipts)
    assert restarted.outbox.cursor == 5 and len(restarted.outbox.pending()) == 7


def test_admin_subscriptions_persist_and_config_ones_cannot_be_removed(chain) -> None:
    node, proposer, request = chain
    service = WebhookService(SETTINGS, CHAIN_ID, node.store, node.db)
    service.catch_up()
    with pytest.raises(AdminRequestError, match=r"subscription\.url: expected an http:// or https:// URL"):
        service.add_webhook({"id": "x", "url": "mailto:a@b", "secret": "s" * 16})
    with pytest.raises(AdminRequestError, match="subscription 'carrier' already exists"):
        service.add_webhook({"id": "carrier", "url": "http://127.0.0.1:9/x", "secret": "s" * 16})
    added = service.add_webhook({"id": "audit", "url": "http://127.0.0.1:9/a", "secret": "s" * 16,
                                 "addresses": ["0x" + WEBHOOKS_ADDRESS.hex()]})
    assert added["source"] == "admin" and "secret" not in added

    reopened = WebhookService(SETTINGS, CHAIN_ID, node.store, node.db)
    assert [(s["id"], s["source"]) for s in reopened.list_webhooks()] == [
        ("carrier", "config"), ("everything", "config"), ("audit", "admin")]
    block = committed(proposer, request("carrier.delivery"))
    reopened.on_commit(block, node.app.last_receipts)
    assert sorted(e.delivery.subscription_id for e in reopened.outbox.pending()) == ["audit", "carrier", "everything"]

    with pytest.raises(AdminRequestError, match="comes from the config file"):
        reopened.remove_webhook("carrier")
    assert reopened.remove_webhook("audit") == {"id": "audit", "removed": True, "discarded": 1}
    with pytest.raises(AdminRequestError, match="no subscription 'audit'"):
        reopened.remove_webhook("audit")
    assert [s["id"] for s in WebhookService(SETTINGS, CHAIN_ID, node.store, node.db).list_webhooks()] == [
        "carrier", "everything"]
    with pytest.raises(AdminRequestError, match="no dead letter 9"):
        reopened.retry_dead_letter(9)


def test_block_events_reach_only_subscriptions_that_ask_for_them(chain) -> None:
    node, proposer, request = chain
    staking = "0x" + STAKING_ADDRESS.hex()
    settings = WebhookSettings(subscriptions=(
        parse_subscription({"id": "awards", "url": "http://127.0.0.1:9/a", "secret": "award secret 0123456",
                            "addresses": [staking], "block_events": True}, "s"),
        parse_subscription({"id": "txs-only", "url": "http://127.0.0.1:9/t", "secret": "tx secret 0123456789"}, "s"),
    ))
    service = WebhookService(settings, CHAIN_ID, node.store, node.db)
    service.catch_up()
    block = committed(proposer, request("carrier.delivery"))
    service.on_commit(block, node.app.last_receipts)
    events = node.store.get_block_events(block.hash)
    award_indexes = [i for i, event in enumerate(events) if event.address == STAKING_ADDRESS]
    assert award_indexes  # the block award of this block
    deliveries = [entry.delivery for entry in service.outbox.pending()]
    by_subscription = {sub: [d for d in deliveries if d.subscription_id == sub] for sub in ("awards", "txs-only")}
    assert [json.loads(d.body)["source"] for d in by_subscription["txs-only"]] == ["transaction"]
    awards = [json.loads(d.body) for d in by_subscription["awards"]]
    assert [a["logIndex"] for a in awards] == award_indexes
    assert all(a["source"] == "block" and a["transactionHash"] is None for a in awards)
    assert [d.idempotency_key for d in by_subscription["awards"]] == [
        f"0x{block.hash.hex()}-event-{i}" for i in award_indexes]
