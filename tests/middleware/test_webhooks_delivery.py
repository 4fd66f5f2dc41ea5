"""Webhooks: the dispatcher against a local HTTP receiver (retries, backoff, dead letters, restart)."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from cybermiles_node.storage.leveldb import LevelDB
from cybermiles_node.webhook_outbox_store import LevelDBOutboxStore
from middleware.webhooks.dispatcher import DeliveryDispatcher
from middleware.webhooks.outbox import Delivery, Outbox
from middleware.webhooks.retry import RetryPolicy
from middleware.webhooks.signing import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    verify,
)

SECRET = b"receiver secret 0123456789"


@dataclass
class Receiver:
    """A local web service that refuses the first ``failures`` requests of each key with 503."""

    failures: int = 0
    status_after: int = 200
    seen: list[tuple[str, int, bytes, float]] = field(default_factory=list)  # key, attempt, body, time
    acknowledged: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verify(SECRET, request.headers.get(SIGNATURE_HEADER), body, now=int(time.time()))
        key = request.headers[IDEMPOTENCY_HEADER]
        self.seen.append((key, int(request.headers[ATTEMPT_HEADER]), body, time.monotonic()))
        if sum(1 for k, *_ in self.seen if k == key) <= self.failures:
            return web.Response(status=503)
        if self.status_after == 200:
            self.acknowledged.append(key)
        return web.Response(status=self.status_after)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def deliveries(url: str, count: int) -> list[Delivery]:
    return [Delivery("shop", url, f"0x{n:064x}-0", json.dumps({"n": n}).encode()) for n in range(count)]


async def run_until(dispatcher: DeliveryDispatcher, done, timeout: float = 10.0) -> None:
    """Run ``dispatcher`` until ``done()`` holds, then stop it."""
    task = asyncio.create_task(dispatcher.run())
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.01)
    finally:
        dispatcher.stop()
        await task


def secrets(subscription_id: str) -> bytes | None:
    return SECRET if subscription_id == "shop" else None


async def scenario_failed_deliveries_are_retried_with_backoff_until_acknowledged(tmp_path: Path) -> None:
    receiver = Receiver(failures=2)
    await receiver.start()
    db = LevelDB(tmp_path / "db")
    outbox = Outbox(LevelDBOutboxStore(db), RetryPolicy(max_attempts=5, initial_delay_ms=100, max_delay_ms=1_000))
    outbox.append(deliveries(receiver.url, 3), height=1, now_ms=0)
    dispatcher = DeliveryDispatcher(outbox, secrets, max_concurrency=2)
    await run_until(dispatcher, lambda: len(receiver.acknowledged) == 3)
    await receiver.stop()
    assert sorted(receiver.acknowledged) == [d.idempotency_key for d in deliveries(receiver.url, 3)]
    assert outbox.pending() == [] and outbox.dead_letters() == []
    first = [(attempt, at) for key, attempt, _, at in receiver.seen if key == receiver.acknowledged[0]]
    assert [attempt for attempt, _ in first] == [1, 2, 3]
    assert first[1][1] - first[0][1] >= 0.09 and first[2][1] - first[1][1] >= 0.19  # 100 ms, then 200 ms
    db.close()


async def scenario_deliveries_that_never_succeed_become_dead_letters(tmp_path: Path) -> None:
    receiver = Receiver(failures=0, status_after=500)
    await receiver.start()
    db = LevelDB(tmp_path / "db")
    outbox = Outbox(LevelDBOutboxStore(db), RetryPolicy(max_attempts=3, initial_delay_ms=20, max_delay_ms=40))
    outbox.append(deliveries(receiver.url, 1), height=1, now_ms=0)
    await run_until(DeliveryDispatcher(outbox, secrets), lambda: bool(outbox.dead_letters()))
    await receiver.stop()
    [dead] = outbox.dead_letters()
    assert (dead.attempts, dead.last_error) == (3, "HTTP 500")
    assert [attempt for _, attempt, _, _ in receiver.seen] == [1, 2, 3]
    db.close()


async def scenario_unreachable_receivers_count_as_failures(tmp_path: Path) -> None:
    db = LevelDB(tmp_path / "db")
    outbox = Outbox(LevelDBOutboxStore(db), RetryPolicy(max_attempts=2, initial_delay_ms=10, max_delay_ms=10))
    outbox.append(deliveries("http://127.0.0.1:1/hook", 1), height=1, now_ms=0)
    await run_until(DeliveryDispatcher(outbox, secrets), lambda: bool(outbox.dead_letters()))
    assert "ClientConnectorError" in outbox.dead_letters()[0].last_error
    db.close()


async def scenario_a_restart_resumes_pending_deliveries_and_repeats_none(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    db = LevelDB(tmp_path / "db")
    policy = RetryPolicy(max_attempts=5, initial_delay_ms=50, max_delay_ms=50)
    outbox = Outbox(LevelDBOutboxStore(db), policy)
    outbox.append(deliveries(receiver.url, 2), height=1, now_ms=0)
    await run_until(DeliveryDispatcher(outbox, secrets), lambda: len(receiver.acknowledged) == 2)
    outbox.append(deliveries(receiver.url, 4)[2:], height=2, now_ms=0)  # committed while stopped
    db.close()

    db = LevelDB(tmp_path / "db")
    outbox = Outbox(LevelDBOutboxStore(db), policy)
    await run_until(DeliveryDispatcher(outbox, secrets), lambda: len(receiver.acknowledged) == 4)
    await receiver.stop()
    assert sorted(receiver.acknowledged) == [d.idempotency_key for d in deliveries(receiver.url, 4)]
    assert len(receiver.seen) == 4  # each body exactly once
    db.close()


async def scenario_concurrency_is_bounded(tmp_path: Path) -> None:
    in_flight, peak = 0, 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    db = LevelDB(tmp_path / "db")
    outbox = Outbox(LevelDBOutboxStore(db), RetryPolicy())
    outbox.append(deliveries(url, 9), height=1, now_ms=0)
    await run_until(DeliveryDispatcher(outbox, secrets, max_concurrency=3), lambda: not outbox.pending())
    await runner.cleanup()
    assert peak == 3
    db.close()


def test_failed_deliveries_are_retried_with_backoff_until_acknowledged(tmp_path: Path) -> None:
    asyncio.run(scenario_failed_deliveries_are_retried_with_backoff_until_acknowledged(tmp_path))


def test_deliveries_that_never_succeed_become_dead_letters(tmp_path: Path) -> None:
    asyncio.run(scenario_deliveries_that_never_succeed_become_dead_letters(tmp_path))


def test_unreachable_receivers_count_as_failures(tmp_path: Path) -> None:
    asyncio.run(scenario_unreachable_receivers_count_as_failures(tmp_path))


def test_a_restart_resumes_pending_deliveries_and_repeats_none(tmp_path: Path) -> None:
    asyncio.run(scenario_a_restart_resumes_pending_deliveries_and_repeats_none(tmp_path))


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    asyncio.run(scenario_concurrency_is_bounded(tmp_path))
