"""What the harness saw during a chaos run: block hashes per height and node, acknowledged transactions, signing records.

The observer polls every node's RPC while faults strike and records each block
hash a node reports at each height, so a fork that existed only for a while is
still caught. A transaction is acknowledged once a receipt for it was seen; its
block must hold it on every node at the end. Each validator's
``data/last_signed.json`` is sampled and must never move backwards.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.chaos.rpc import RpcFailure, batch, call

POLL_S = 0.5
MAX_BLOCKS_PER_POLL = 50


@dataclass(frozen=True)
class Acknowledged:
    """A transaction whose receipt the harness saw: where it was committed."""

    tx_hash: str
    block_number: int
    block_hash: str


@dataclass
class ChainHistory:
    """Everything observed, and every safety violation found while observing."""

    hashes: dict[int, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(dict))
    heights: dict[int, int] = field(default_factory=dict)
    acknowledged: dict[str, Acknowledged] = field(default_factory=dict)
    signed_steps: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def record_block(self, node: int, height: int, block_hash: str) -> None:
        """Node ``node`` reports ``block_hash`` at ``height``; two hashes at one height is a fork."""
        seen = self.hashes[height]
        if block_hash not in seen and seen:
            others = {h: sorted(nodes) for h, nodes in seen.items()}
            self.violations.append(f"fork at height {height}: node {node} has {block_hash}, others {others}")
        seen.setdefault(block_hash, set()).add(node)

    def record_receipt(self, receipt: dict[str, object]) -> None:
        """A receipt was seen: its transaction is acknowledged where the receipt places it."""
        tx_hash = str(receipt["transactionHash"])
        entry = Acknowledged(tx_hash, int(str(receipt["blockNumber"]), 16), str(receipt["blockHash"]))
        previous = self.acknowledged.setdefault(tx_hash, entry)
        if previous != entry:
            self.violations.append(f"transaction {tx_hash} acknowledged in {previous} and later in {entry}")

    def record_signed_step(self, node: int, step: tuple[int, int, int]) -> None:
        """A sample of a validator's last-signed (height, round, step); it must never decrease."""
        last = self.signed_steps.get(node)
        if last is not None and step < last:
            self.violations.append(f"node {node}'s last_signed.json went back from {last} to {step}")
        self.signed_steps[node] = max(step, last or step)

    def top(self) -> int:
        """The highest height any node reported."""
        return max(self.heights.values(), default=0)


class Observer:
    """Polls every node for new blocks and their receipts, and samples the signing records, into a history."""

    def __init__(self, session: aiohttp.ClientSession, urls: list[str], homes: list[Path], validators: int,
                 history: ChainHistory) -> None:
        self._session = session
        self._urls = urls
        self._homes = homes
        self._validators = validators
        self.history = history
        self._receipts_read: set[int] = set()

    async def run(self) -> None:
        """Observe until cancelled."""
        while True:
            await self.poll_once()
            await asyncio.sleep(POLL_S)

    async def poll_once(self) -> None:
        """One round over every node."""
        await asyncio.gather(*(self._poll_node(index) for index in range(len(self._urls))))
        for index in range(self._validators):
            self._sample_signed(index)

    async def _poll_node(self, index: int) -> None:
        url = self._urls[index]
        try:
            height = int(str(await call(self._session, url, "eth_blockNumber")), 16)
            known = self.history.heights.get(index, 0)
            numbers = list(range(known + 1, min(height, known + MAX_BLOCKS_PER_POLL) + 1))
            if not numbers:
                return
            blocks = await batch(self._session, url, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
            for number, block in zip(numbers, blocks):
                assert isinstance(block, dict)
                self.history.record_block(index, number, str(block["hash"]))
                if block["transactions"] and number not in self._receipts_read:
                    receipts = await call(self._session, url, "eth_getBlockReceipts", hex(number))
                    assert isinstance(receipts, list)
                    for receipt in receipts:
                        self.history.record_receipt(receipt)
                    self._receipts_read.add(number)
                self.history.heights[index] = number
        except RpcFailure:
            return

    def _sample_signed(self, index: int) -> None:
        try:
            data = json.loads((self._homes[index] / "data" / "last_signed.json").read_text())
            step = (int(data["height"]), int(data["round"]), int(data["step"]))
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as exc:
            self.history.violations.append(f"node {index}'s last_signed.json is unreadable: {exc!r}")
            return
        self.history.record_signed_step(index, step)


async def wait_for_progress(session: aiohttp.ClientSession, urls: list[str], above: int, bound_s: float) -> float | None:
    """Seconds until every node reports a height above ``above``; ``None`` if that took longer than ``bound_s``."""
    started = time.monotonic()
    remaining = set(range(len(urls)))
    while remaining:
        if time.monotonic() - started > bound_s:
            return None
        for index in sorted(remaining):
            try:
                if int(str(await call(session, urls[index], "eth_blockNumber")), 16) > above:
                    remaining.discard(index)
            except RpcFailure:
                pass
        if remaining:
            await asyncio.sleep(0.1)
    return time.monotonic() - started


async def wait_for_agreement(session: aiohttp.ClientSession, urls: list[str], bound_s: float) -> float | None:
    """Seconds until every node is within one block of the highest; ``None`` if not within ``bound_s``.

    A node that follows the chain but stays a fixed number of blocks behind never gets there.
    """
    started = time.monotonic()
    while time.monotonic() - started <= bound_s:
        heights = []
        for url in urls:
            try:
                heights.append(int(str(await call(session, url, "eth_blockNumber")), 16))
            except RpcFailure:
                break
        if len(heights) == len(urls) and max(heights) - min(heights) <= 1:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None
