"""The transfer load of a chaos run: signed value transfers from funded dev accounts over JSON-RPC.

Each sender keeps a few transfers in flight with consecutive nonces, sends each
to a random node, and re-sends the same signed bytes to another node while no
receipt has been seen (a node may have died or been cut off before relaying it),
so the load survives any fault. Receipts are what the observer saw.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp
from eth_account.signers.local import LocalAccount

from tests.chaos.history import ChainHistory
from tests.chaos.rpc import Refused, Unreachable, call
from tests.e2e.nodeproc import dev_account

CHAIN_ID = 15
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
FIRST_SENDER = 5  # the dev accounts before it own the validators
IN_FLIGHT = 4
RESEND_S = 4.0
TICK_S = 0.3


@dataclass
class Pending:
    """A signed transfer not yet acknowledged."""

    raw: str
    tx_hash: str
    sent_at: float


class TransferLoad:
    """Several senders, each keeping ``IN_FLIGHT`` transfers in flight until acknowledged."""

    def __init__(self, session: aiohttp.ClientSession, urls: list[str], history: ChainHistory, senders: int,
                 rng: random.Random) -> None:
        self._session = session
        self._urls = urls
        self._history = history
        self._accounts = [dev_account(FIRST_SENDER + i) for i in range(senders)]
        self._rng = rng
        self.sent = 0
        self.resent = 0

    async def run(self) -> None:
        """Send until cancelled."""
        await asyncio.gather(*(self._sender(account) for account in self._accounts))

    async def _sender(self, account: LocalAccount) -> None:
        nonce = 0
        pending: dict[int, Pending] = {}
        while True:
            for number in [n for n, p in pending.items() if p.tx_hash in self._history.acknowledged]:
                del pending[number]
            while len(pending) < IN_FLIGHT:
                signed = account.sign_transaction({
                    "to": RECIPIENT, "value": 1, "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
                    "nonce": nonce, "chainId": CHAIN_ID,
                })
                pending[nonce] = Pending("0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex(), 0.0)
                nonce += 1
            now = time.monotonic()
            for entry in pending.values():
                if now - entry.sent_at >= RESEND_S:
                    self.resent += entry.sent_at > 0
                    self.sent += entry.sent_at == 0
                    entry.sent_at = now
                    await self._send(entry.raw)
            await asyncio.sleep(TICK_S)

    async def _send(self, raw: str) -> None:
        """Send to a random node, trying the others when it does not answer; a refusal is not retried here."""
        order = self._rng.sample(range(len(self._urls)), len(self._urls))
        for index in order:
            try:
                await call(self._session, self._urls[index], "eth_sendRawTransaction", raw, timeout=2.0)
                return
            except Unreachable:
                continue
            except Refused:
                return  # e.g. already known, nonce too low: the node has or had the transaction
