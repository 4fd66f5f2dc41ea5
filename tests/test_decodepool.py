"""The decode worker pool: its answers equal the in-process decoder's, and a killed worker loses no request."""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
import rlp

from cybermiles_node.decodepool import DecodePool, worker_count
from tests.fuzz.conftest import corpus_inputs
from tests.test_vm_transactions import CHAIN_ID, SENDER, VALID_ENCODINGS, access_list, dynamic_fee, legacy, sign
from vm.errors import InvalidTransaction
from vm.transactions import DecodeFailure, DecodeOutcome, decode_transaction

FIELDS = ("nonce", "gas", "to", "value", "data", "r", "s", "intrinsic_gas", "max_fee_per_gas",
          "max_priority_fee_per_gas")


def _byte_edits(count: int) -> list[bytes]:
    """Valid encodings with a byte replaced or the tail cut, from a fixed seed."""
    rng = random.Random(7)
    edited = []
    for _ in range(count):
        raw = bytearray(rng.choice(VALID_ENCODINGS))
        at = rng.randrange(len(raw))
        if rng.random() < 0.5:
            raw[at] = rng.randrange(256)
        else:
            del raw[at:]
        edited.append(bytes(raw))
    return edited


def _inputs() -> list[bytes]:
    """Valid transactions of every type, refused ones of every kind, fuzz regressions and random edits."""
    valid = [*VALID_ENCODINGS, sign({"gasPrice": 10**9, "chainId": CHAIN_ID, "to": b"", "data": b"\x60\x00"}),
             *(dynamic_fee(tip=tip) for tip in range(1, 40))]
    refused = [
        legacy(chain_id=None), legacy(chain_id=CHAIN_ID + 1), access_list(chain_id=1),
        dynamic_fee(max_fee=1, tip=2), b"\x03" + VALID_ENCODINGS[2][1:], b"\x04" + VALID_ENCODINGS[2][1:],
        b"\x7f\xc0", b"", b"\xc0", rlp.encode([b""] * 9),
    ]
    corpus = [data for _, data in corpus_inputs("transactions")]
    return valid + refused + corpus + _byte_edits(300)


def _in_process(raw: bytes) -> DecodeOutcome:
    try:
        return decode_transaction(raw, CHAIN_ID)
    except InvalidTransaction as exc:
        return DecodeFailure(str(exc))


def _assert_same(got: DecodeOutcome, expected: DecodeOutcome) -> None:
    if isinstance(expected, DecodeFailure):
        assert got == expected
        return
    assert not isinstance(got, DecodeFailure), got
    assert type(got) is type(expected)
    assert got.encode() == expected.encode() and got.hash == expected.hash and got.sender == expected.sender
    for name in FIELDS:
        assert getattr(got, name) == getattr(expected, name), name
    assert got.get_message_for_signing() == expected.get_message_for_signing()


@pytest.fixture(scope="module")
def pool() -> Iterator[DecodePool]:
    decode_pool = DecodePool(CHAIN_ID, workers=2)
    yield decode_pool
    decode_pool.close()


def test_workers_answer_what_the_in_process_decoder_answers(pool: DecodePool) -> None:
    inputs = _inputs()
    expected = [_in_process(raw) for raw in inputs]
    assert sum(not isinstance(outcome, DecodeFailure) for outcome in expected) >= 43
    assert sum(isinstance(outcome, DecodeFailure) for outcome in expected) >= 10 + len(corpus_inputs("transactions"))
    got = pool.decode_blocking(inputs)
    assert len(got) == len(inputs)
    for outcome, reference in zip(got, expected):
        _assert_same(outcome, reference)
    assert got[0].sender == SENDER  # type: ignore[union-attr]


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(pool: DecodePool) -> None:
    inputs = _inputs()

    async def send_all() -> tuple[list[DecodeOutcome], list[DecodeOutcome]]:
        singles = await asyncio.gather(*(pool.decode(raw) for raw in inputs))
        many = await pool.decode_many(inputs)
        return list(singles), many

    singles, many = asyncio.run(send_all())
    for single, whole, raw in zip(singles, many, inputs):
        _assert_same(single, _in_process(raw))
        _assert_same(whole, _in_process(raw))


def _worker_pids() -> set[int]:
    """This process's spawned pool workers (not multiprocessing's resource tracker)."""
    return {child.pid for child in psutil.Process().children()
            if any("spawn_main" in part for part in child.cmdline())}


def test_a_killed_worker_is_replaced_without_losing_requests() -> None:
    before = _worker_pids()
    decode_pool = DecodePool(CHAIN_ID, workers=2)
    try:
        inputs = [dynamic_fee(tip=tip) for tip in range(1, 1001)]
        expected = [_in_process(raw) for raw in inputs]
        decode_pool.decode_blocking(inputs[:100])  # the workers start on the first request
        deadline = time.monotonic() + 60
        while len(_worker_pids() - before) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = _worker_pids() - before
        assert len(first) == 2

        async def decode_while_a_worker_dies() -> list[DecodeOutcome]:
            answers = asyncio.gather(*(decode_pool.decode(raw) for raw in inputs))
            await asyncio.sleep(0.005)  # the batch is on its way to the workers
            os.kill(min(first), signal.SIGKILL)
            return list(await answers)

        for got, reference in zip(asyncio.run(decode_while_a_worker_dies()), expected):
            _assert_same(got, reference)
        for got, reference in zip(decode_pool.decode_blocking(inputs), expected):  # and the pool still works
            _assert_same(got, reference)
        assert decode_pool.restarts >= 1
        assert min(first) not in _worker_pids()
    finally:
        decode_pool.close()
    assert not (_worker_pids() - before), "close() leaves no worker behind"


ORPHAN_SCRIPT = """
import os, signal, sys, time
from cybermiles_node.decodepool import DecodePool
pool = DecodePool(15, workers=1)
pool.decode_blocking([b"\\xc0"])  # the worker has started and answered
print(os.getpid(), flush=True)
time.sleep(60)
"""


def test_workers_end_when_their_node_is_killed() -> None:
    node = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(node.stdout.readline())  # type: ignore[union-attr]
        workers = [child for child in psutil.Process(pid).children()
                   if any("spawn_main" in part for part in child.cmdline())]
        assert len(workers) == 1
        node.send_signal(signal.SIGKILL)
        node.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, "the worker outlived its node"
    finally:
        node.kill()
        node.wait()


def test_without_workers_the_pool_decodes_in_process() -> None:
    before = _worker_pids()
    decode_pool = DecodePool(CHAIN_ID, workers=0)
    try:
        inputs = _inputs()[:60]
        for got, raw in zip(decode_pool.decode_blocking(inputs), inputs):
            _assert_same(got, _in_process(raw))
        for got, raw in zip(asyncio.run(decode_pool.decode_many(inputs)), inputs):
            _assert_same(got, _in_process(raw))
        assert _worker_pids() == before
    finally:
        decode_pool.close()


@pytest.mark.parametrize(("configured", "cpus", "expected"),
                         [(0, 1, 1), (0, 2, 1), (0, 3, 2), (0, 4, 3), (0, 16, 4), (1, 2, 1), (3, 2, 3)])
def test_worker_count(configured: int, cpus: int, expected: int) -> None:
    assert worker_count(configured, cpus) == expected
