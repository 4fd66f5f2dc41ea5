"""Decoding transactions and recovering their senders on worker processes.

Decoding a transaction and recovering its sender (``vm.transactions.decode_batch``)
is most of what admitting it costs, needs no chain state, and holds the
interpreter for about 0.1 ms. ``DecodePool`` runs it on worker processes, so
one node uses every core for it while its main process keeps only what needs
state (nonce and balance admission, ordering, execution).

* Requests arriving within ``BATCH_WINDOW_SECONDS`` of each other (the calls of
  a JSON-RPC batch, batches from several connections) go to the workers
  together, split into one chunk per worker; ``decode_many`` sends a whole list
  (a gossiped batch, a block from a peer) at once.
* Results come back as the py-evm transactions themselves, their sender, hash
  and encoding cached: unpickling one costs a fifteenth of decoding it again.
* A worker that dies (killed, out of memory) breaks the executor; the pool
  starts fresh workers and sends the unanswered chunks again, at most
  ``MAX_ATTEMPTS`` times in all, then decodes them in-process: no request is
  lost.
* With no workers (``workers=0``) the same calls decode in-process, on a thread
  for the asynchronous ones, which first steps aside for block work
  (``step_aside``: the thread would take the interpreter from block execution).

Workers are spawned (the node has threads, so forking is unsafe), import only
``vm`` and this module, start on the first request (a node that never decodes a
transaction spawns none; the first request waits for their imports), and end
when the node's process does, even one killed with SIGKILL (a worker holds both
ends of its task queue's pipe, so it would otherwise wait forever).
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from cybermiles_node.errors import NodeError
from vm.transactions import DecodeOutcome, decode_batch

log = logging.getLogger(__name__)

BATCH_WINDOW_SECONDS = 0.002
MAX_BATCH = 512  # requests sent at once without waiting for the window to close
MIN_CHUNK = 32  # fewer transactions per worker cost more in messages than the split saves
MAX_ATTEMPTS = 3  # sends of one chunk to (fresh) workers before it is decoded in-process
MAX_WAITING = 16_384  # asynchronous requests queued or in flight; beyond it ``DecodePoolBusy``
MAX_AUTO_WORKERS = 4
PARENT_CHECK_SECONDS = 1.0  # how often a worker looks whether the node that started it still runs


class DecodePoolBusy(NodeError):
    """Too many transactions already wait to be decoded."""


def worker_count(configured: int, cpus: int | None = None) -> int:
    """The number of decode workers for ``[mempool] decode_workers``.

    0 means automatic: one per core but one (the main process keeps a core), at
    least 1 and at most ``MAX_AUTO_WORKERS`` (each worker holds about 45 MB). A
    positive number is taken as given.
    """
    if configured > 0:
        return configured
    available = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(available - 1, MAX_AUTO_WORKERS))


def start_worker_processes(count: int) -> ProcessPoolExecutor:
    """``count`` spawned worker processes (the node has threads: forking is unsafe).

    They hash with pysha3 (a dependency), over 10 times faster per call than
    eth-hash's default pycryptodome backend: eth-hash reads the environment on
    a process's first hash, and spawned workers inherit it.
    """
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker's initializer: end the worker once process ``parent_pid`` (its node) is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _chunks(raws: Sequence[bytes], workers: int) -> list[Sequence[bytes]]:
    """``raws`` split into at most ``workers`` contiguous chunks of at least ``MIN_CHUNK`` (bar the last)."""
    size = max(MIN_CHUNK, -(-len(raws) // workers))
    return [raws[start:start + size] for start in range(0, len(raws), size)]


class DecodePool:
    """Decodes raw transactions of one chain on worker processes (or in-process with none)."""

    def __init__(self, chain_id: int, workers: int, window_seconds: float = BATCH_WINDOW_SECONDS,
                 step_aside: Callable[[], None] | None = None) -> None:
        """``workers`` processes, started on the first request (0: decode in-process, after ``step_aside()`` off
        the event loop)."""
        self.chain_id = chain_id
        self._step_aside = step_aside
        self.workers = workers
        self.restarts = 0  # times dead workers were replaced (monitoring)
        self._window = window_seconds
        self._lock = threading.Lock()
        self._executor = self._start() if workers > 0 else None
        self._waiters = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tx-decode")
        self._batch: list[tuple[bytes, asyncio.Future[DecodeOutcome]]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._waiting = 0

    def _start(self) -> ProcessPoolExecutor:
        return start_worker_processes(self.workers)

    # -- blocking (execution thread, reader threads) ---------------------------------

    def decode_blocking(self, raws: Sequence[bytes]) -> list[DecodeOutcome]:
        """Each of ``raws`` decoded (``vm.transactions.decode_batch``), waiting for the workers."""
        executor = self._executor
        if not raws or executor is None:
            return decode_batch(raws, self.chain_id)
        chunks = _chunks(raws, self.workers)
        answers: list[list[DecodeOutcome] | None] = [None] * len(chunks)
        for _ in range(MAX_ATTEMPTS):
            futures = self._submit(executor, chunks, answers)
            broken = False
            for index, future in futures.items():
                try:
                    answers[index] = future.result() if future is not None else None
                except BrokenProcessPool:
                    answers[index] = None
                broken = broken or answers[index] is None
            if not broken:
                break
            executor = self._replace(executor)
            if executor is None:  # closed meanwhile
                break
        outcomes: list[DecodeOutcome] = []
        for chunk, answer in zip(chunks, answers):
            if answer is None:
                log.warning("decoding %d transactions in-process: worker processes keep dying", len(chunk))
                answer = decode_batch(chunk, self.chain_id)
            outcomes.extend(answer)
        return outcomes

    def _submit(self, executor: ProcessPoolExecutor, chunks: list[Sequence[bytes]],
                answers: list[list[DecodeOutcome] | None]) -> dict[int, Future[list[DecodeOutcome]] | None]:
        """Send the unanswered chunks; a chunk that could not be sent (the executor broke) maps to None."""
        futures: dict[int, Future[list[DecodeOutcome]] | None] = {}
        for index, chunk in enumerate(chunks):
            if answers[index] is not None:
                continue
            try:
                futures[index] = executor.submit(decode_batch, chunk, self.chain_id)
            except (BrokenProcessPool, RuntimeError):  # RuntimeError: shut down by a concurrent replacement
                futures[index] = None
        return futures

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor | None:
        """Fresh workers instead of ``broken`` (those another thread already started; None once closed)."""
        with self._lock:
            if self._executor is not broken:
                return self._executor
            log.warning("a transaction decoding worker died; starting %d fresh workers", self.workers)
            self._executor = self._start()
            self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)
        return self._executor

    # -- asynchronous (event loop) -----------------------------------------------------

    async def decode(self, raw: bytes) -> DecodeOutcome:
        """``raw`` decoded, batched with the other requests of the next ``window_seconds``."""
        if self._waiting >= MAX_WAITING:
            raise DecodePoolBusy(f"node busy: {self._waiting} transactions wait to be decoded")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DecodeOutcome] = loop.create_future()
        self._batch.append((raw, future))
        self._waiting += 1
        try:
            if len(self._batch) >= MAX_BATCH:
                self._flush()
            elif self._flush_handle is None:
                self._flush_handle = loop.call_later(self._window, self._flush)
            return await future
        finally:
            self._waiting -= 1

    async def decode_many(self, raws: Sequence[bytes]) -> list[DecodeOutcome]:
        """Each of ``raws`` decoded, sent to the workers at once (a gossiped batch)."""
        if self._waiting + len(raws) > MAX_WAITING:
            raise DecodePoolBusy(f"node busy: {self._waiting} transactions wait to be decoded")
        self._waiting += len(raws)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._waiters, self._decode_off_loop, raws)
        finally:
            self._waiting -= len(raws)

    def _flush(self) -> None:
        """Send the batch collected so far; its requests are answered when the workers are done."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        batch, self._batch = self._batch, []
        if not batch:
            return
        done = asyncio.get_running_loop().run_in_executor(
            self._waiters, self._decode_off_loop, [raw for raw, _ in batch]
        )
        done.add_done_callback(lambda finished: _answer(batch, finished))

    def _decode_off_loop(self, raws: Sequence[bytes]) -> list[DecodeOutcome]:
        """``decode_blocking`` on a waiter thread; decoding in-process first lets block work finish."""
        if self._executor is None and self._step_aside is not None:
            self._step_aside()
        return self.decode_blocking(raws)

    def close(self) -> None:
        """Stop the workers (requests still in flight are cancelled)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._waiters.shutdown(wait=False, cancel_futures=True)


def _answer(batch: list[tuple[bytes, asyncio.Future[DecodeOutcome]]],
            finished: asyncio.Future[list[DecodeOutcome]]) -> None:
    """Resolve each request of ``batch`` with its outcome (or the batch's failure)."""
    error = finished.exception() if not finished.cancelled() else asyncio.CancelledError()
    for index, (_, future) in enumerate(batch):
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(finished.result()[index])
