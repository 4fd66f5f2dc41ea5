"""Webhooks: the persistent outbox (LevelDB), retries with backoff, dead letters, bounds."""
from __future__ import annotations

from pathlib import Path

import pytest

from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.webhook_outbox_store import LevelDBOutboxStore
from middleware.webhooks.errors import OutboxError, WebhookError
from middleware.webhooks.outbox import OUTBOX_FULL, Delivery, Outbox
from middleware.webhooks.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=3, initial_delay_ms=100, max_delay_ms=250)


def delivery(n: int, subscription: str = "shop") -> Delivery:
    return Delivery(subscription, "http://127.0.0.1:1/hook", f"0x{n:064x}-0", b'{"n":%d}' % n)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.ldb"


def open_outbox(path: Path, **bounds: int) -> tuple[LevelDB, Outbox]:
    db = LevelDB(path)
    return db, Outbox(LevelDBOutboxStore(db), POLICY, **bounds)


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay_ms=1_000, max_delay_ms=5_000)
    assert [policy.delay_ms(n) for n in range(1, 6)] == [1_000, 2_000, 4_000, 5_000, 5_000]
    assert not policy.exhausted(4) and policy.exhausted(5)
    assert RetryPolicy().delay_ms(10_000) == RetryPolicy().max_delay_ms
    with pytest.raises(WebhookError, match="retry policy"):
        RetryPolicy(initial_delay_ms=10, max_delay_ms=5)


def test_entries_cursor_and_attempts_survive_reopening(db_path: Path) -> None:
    db, outbox = open_outbox(db_path)
    assert outbox.cursor is None
    outbox.append([delivery(1), delivery(2)], height=7, now_ms=1_000)
    outbox.append([delivery(3)], height=8, now_ms=1_000)
    outbox.acknowledge(1)
    outbox.record_failure(2, now_ms=2_000, error="HTTP 500")
    db.close()

    db, reopened = open_outbox(db_path)
    assert reopened.cursor == 8
    assert [(e.sequence, e.delivery, e.attempts, e.next_attempt_ms, e.last_error) for e in reopened.pending()] == [
        (2, delivery(2), 1, 2_100, "HTTP 500"),
        (3, delivery(3), 0, 1_000, ""),
    ]
    reopened.append([delivery(4)], height=9, now_ms=3_000)
    assert [e.sequence for e in reopened.pending()] == [2, 3, 4]  # sequences never reused
    db.close()


def test_appending_a_height_twice_is_refused(db_path: Path) -> None:
    db, outbox = open_outbox(db_path)
    outbox.append([], height=4, now_ms=0)
    with pytest.raises(OutboxError, match="block 4 was already appended"):
        outbox.append([delivery(1)], height=4, now_ms=0)
    assert outbox.pending() == []
    db.close()


def test_due_entries_come_earliest_first_and_skip_those_in_flight(db_path: Path) -> None:
    db, outbox = open_outbox(db_path)
    outbox.append([delivery(1), delivery(2), delivery(3)], height=1, now_ms=1_000)
    outbox.record_failure(1, now_ms=1_000, error="timed out")  # next attempt at 1_100
    assert [e.sequence for e in outbox.due(1_000)] == [2, 3]
    assert [e.sequence for e in outbox.due(1_100)] == [2, 3, 1]
    assert [e.sequence for e in outbox.due(1_100, exclude={2}, limit=1)] == [3]
    assert outbox.next_attempt_ms(exclude={2, 3}) == 1_100
    db.close()


def test_exhausted_deliveries_become_dead_letters_and_can_be_retried(db_path: Path) -> None:
    db, outbox = open_outbox(db_path)
    outbox.append([delivery(1)], height=1, now_ms=0)
    schedule = [outbox.record_failure(1, now_ms=t, error=f"HTTP 50{t}").next_attempt_ms for t in (0, 1, 2)]
    assert schedule == [100, 201, 252]  # 100, 200, then the 250 cap
    assert outbox.pending() == []
    [dead] = outbox.dead_letters()
    assert (dead.sequence, dead.attempts, dead.last_error) == (1, 3, "HTTP 502")
    db.close()

    db, reopened = open_outbox(db_path)
    assert [e.sequence for e in reopened.dead_letters()] == [1]
    revived = reopened.retry_dead(1, now_ms=5_000)
    assert (revived.attempts, revived.next_attempt_ms) == (0, 5_000)
    assert reopened.dead_letters() == [] and [e.sequence for e in reopened.due(5_000)] == [1]
    with pytest.raises(OutboxError, match="no dead letter 1"):
        reopened.retry_dead(1, now_ms=5_000)
    db.close()


def test_a_full_outbox_sends_new_deliveries_to_the_dead_letters(db_path: Path) -> None:
    db, outbox = open_outbox(db_path, max_pending=2, max_dead=2)
    added = outbox.append([delivery(n) for n in range(1, 6)], height=1, now_ms=0)
    assert [e.sequence for e in added] == [1, 2]
    assert [e.sequence for e in outbox.pending()] == [1, 2]
    # 3, 4, 5 overflowed; the dead-letter list keeps the newest two
    assert [(e.sequence, e.last_error) for e in outbox.dead_letters()] == [(4, OUTBOX_FULL), (5, OUTBOX_FULL)]
    with pytest.raises(OutboxError, match=r"outbox full \(2 pending deliveries\)"):
        outbox.retry_dead(4, now_ms=0)
    db.close()
    db, reopened = open_outbox(db_path, max_pending=2, max_dead=2)
    assert [e.sequence for e in reopened.dead_letters()] == [4, 5]
    db.close()


def test_removing_a_subscription_discards_its_entries(db_path: Path) -> None:
    db, outbox = open_outbox(db_path)
    outbox.append([delivery(1, "a"), delivery(2, "b"), delivery(3, "a")], height=1, now_ms=0)
    for _ in range(POLICY.max_attempts):
        outbox.record_failure(3, now_ms=0, error="HTTP 404")
    assert outbox.discard_subscription("a") == 2
    assert [e.delivery.subscription_id for e in outbox.pending()] == ["b"] and outbox.dead_letters() == []
    db.close()
    db, reopened = open_outbox(db_path)
    assert [e.sequence for e in reopened.pending()] == [2] and reopened.dead_letters() == []
    db.close()


def test_a_corrupt_record_is_reported(db_path: Path) -> None:
    db = LevelDB(db_path)
    db.write({b"w" + (1).to_bytes(8, "big"): b"not json"}, (), sync=False)
    with pytest.raises(OutboxError, match="outbox record 1 is corrupt"):
        Outbox(LevelDBOutboxStore(db), POLICY)
    db.close()
