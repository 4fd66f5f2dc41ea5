"""What RPC reads cost, and what they cost block production.

Starts a development node (``cmnode start --dev``) from a checkout (this one, or
``--repo`` for another, to compare two versions side by side), fills blocks
with value transfers from the 20 funded dev accounts, then measures:

* ``eth_getTransactionReceipt`` and ``eth_getTransactionByHash`` of transactions
  in the largest block, one at a time and as a batch of 100, and
  ``eth_getBlockReceipts`` of that block;
* block building time (from the node's log) while 4 clients poll receipts and
  nonces as wallets do;
* ``eth_getBalance`` latency and block building time while 4 clients run
  endless-loop ``eth_call`` s (``JUMPDEST PUSH1 0 JUMP`` at the default gas).

Prints figures; never passes or fails.

    python -m benchmarks.rpc_reads [--repo PATH] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.hdkeys import derive_accounts
from benchmarks.rpcclient import RpcClient
from benchmarks.txbuild import Fees, sign

REPO = Path(__file__).resolve().parents[1]
CHAIN_ID = 15
PER_SENDER = 64  # the pool's per-sender cap
ENDLESS_LOOP = "0x5b600056"
BUILT = re.compile(r"built in (\d+) ms")


def free_port() -> int:
    """A TCP port free on loopback now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_node(repo: Path, home: Path, port: int, log: Path, interval_ms: int) -> subprocess.Popen[bytes]:
    """``cmnode start --dev`` with ``repo``'s code."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.Popen(
        [sys.executable, "-m", "cybermiles_node.cli", "start", "--dev", "--home", str(home),
         "--rpc-addr", f"127.0.0.1:{port}", "--block-interval", str(interval_ms)],
        cwd=repo, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )


async def wait_ready(client: RpcClient, process: subprocess.Popen[bytes]) -> None:
    """Until the node answers ``eth_blockNumber``."""
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"the node exited with {process.returncode}")
        try:
            await client.call("eth_blockNumber")
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise SystemExit("the node did not start")


def build_times(log: Path, start_line: int) -> tuple[list[int], int]:
    """Block building times (ms) logged after line ``start_line``, and the log's line count."""
    lines = log.read_text().splitlines()
    return [int(m.group(1)) for line in lines[start_line:] if (m := BUILT.search(line))], len(lines)


def summary(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum of ``values``."""
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 4),
        "max": round(ordered[-1], 4),
    }


async def timed(coroutine: Any) -> float:
    """Seconds ``coroutine`` took."""
    started = time.perf_counter()
    await coroutine
    return time.perf_counter() - started


async def fill_blocks(client: RpcClient) -> tuple[str, list[str]]:
    """Send 64 transfers from each dev account; return the fullest block's number and its transaction hashes."""
    accounts = derive_accounts(20)
    base_fee = int((await client.call("eth_getBlockByNumber", "latest", False))["baseFeePerGas"], 16)
    fees = Fees(max_fee_per_gas=10 * base_fee + 10**9, max_priority_fee_per_gas=10**9)
    txs = []
    for nonce in range(PER_SENDER):
        for index, account in enumerate(accounts):
            receiver = accounts[(index + 1) % len(accounts)].address
            txs.append(sign(account, CHAIN_ID, nonce, fees, 21_000, receiver, value=1))
    for start in range(0, len(txs), 100):
        await client.batch([("eth_sendRawTransaction", [tx.raw]) for tx in txs[start:start + 100]])
    blocks: dict[str, list[str]] = {}
    for _ in range(600):
        receipts = await client.batch([("eth_getTransactionReceipt", [tx.tx_hash]) for tx in txs[-20:]])
        if all(isinstance(r, dict) for r in receipts):
            break
        await asyncio.sleep(0.2)
    for start in range(0, len(txs), 100):
        for tx, receipt in zip(txs[start:start + 100],
                               await client.batch([("eth_getTransactionReceipt", [tx.tx_hash]) for tx in txs[start:start + 100]])):
            blocks.setdefault(receipt["blockNumber"], []).append(tx.tx_hash)
    fullest = max(blocks, key=lambda number: len(blocks[number]))
    return fullest, blocks[fullest]


async def lookups(client: RpcClient, block: str, hashes: list[str]) -> dict[str, Any]:
    """Latency of receipt and transaction lookups in ``block``."""
    picks = [hashes[(i * 37) % len(hashes)] for i in range(50)]
    single_receipt = [await timed(client.call("eth_getTransactionReceipt", h)) for h in picks]
    single_tx = [await timed(client.call("eth_getTransactionByHash", h)) for h in picks]
    batch = [await timed(client.batch([("eth_getTransactionReceipt", [h]) for h in hashes[:100]])) for _ in range(5)]
    block_receipts = [await timed(client.call("eth_getBlockReceipts", block)) for _ in range(5)]
    return {
        "block_transactions": len(hashes),
        "receipt_seconds": summary(single_receipt),
        "transaction_seconds": summary(single_tx),
        "receipt_batch_100_seconds": summary(batch),
        "block_receipts_seconds": summary(block_receipts),
    }


async def under_polling(url: str, hashes: list[str], log: Path, seconds: float) -> dict[str, Any]:
    """Block building times while 4 clients poll receipts and nonces."""
    accounts = [a.address for a in derive_accounts(20)]
    _, start_line = build_times(log, 0)
    stop = time.monotonic() + seconds
    polls = 0

    async def poller(offset: int) -> None:
        nonlocal polls
        async with RpcClient(url, timeout=120) as client:
            while time.monotonic() < stop:
                calls = [("eth_getTransactionReceipt", [hashes[(offset + i * 7) % len(hashes)]]) for i in range(20)]
                calls += [("eth_getTransactionCount", [a, "pending"]) for a in accounts]
                await client.batch(calls)
                polls += len(calls)

    await asyncio.gather(*(poller(i) for i in range(4)))
    times, _ = build_times(log, start_line)
    return {"requests": polls, "requests_per_second": round(polls / seconds), "build_ms": summary(times)}


async def under_endless_calls(url: str, log: Path) -> dict[str, Any]:
    """``eth_getBalance`` latency and block building times while 4 endless-loop calls run."""
    _, start_line = build_times(log, 0)
    outcomes: list[str] = []

    async def endless() -> None:
        async with RpcClient(url, timeout=300) as client:
            started = time.perf_counter()
            reply = await client.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                                  "params": [{"data": ENDLESS_LOOP}, "latest"]}).encode())
            outcomes.append(f"{time.perf_counter() - started:.1f} s: "
                            f"{reply.get('error', {}).get('message', 'result') if isinstance(reply, dict) else reply}")

    calls = [asyncio.create_task(endless()) for _ in range(4)]
    await asyncio.sleep(0.3)
    latencies = []
    async with RpcClient(url, timeout=300) as client:
        while not all(call.done() for call in calls):
            latencies.append(await timed(client.call("eth_getBalance", derive_accounts(1)[0].address, "latest")))
            await asyncio.sleep(0.2)
    await asyncio.gather(*calls)
    times, _ = build_times(log, start_line)
    return {"calls": sorted(outcomes), "get_balance_seconds": summary(latencies), "build_ms": summary(times)}


async def measure(repo: Path, interval_ms: int, poll_seconds: float) -> dict[str, Any]:
    """Run every measurement against a fresh development node made from ``repo``."""
    with tempfile.TemporaryDirectory() as scratch:
        home, log, port = Path(scratch) / "home", Path(scratch) / "node.log", free_port()
        process = start_node(repo, home, port, log, interval_ms)
        url = f"http://127.0.0.1:{port}"
        try:
            async with RpcClient(url, timeout=300) as client:
                await wait_ready(client, process)
                block, hashes = await fill_blocks(client)
                figures: dict[str, Any] = {"lookups": await lookups(client, block, hashes)}
            figures["polling"] = await under_polling(url, hashes, log, poll_seconds)
            figures["endless_calls"] = await under_endless_calls(url, log)
            figures["alive"] = process.poll() is None
            return figures
        finally:
            process.terminate()
            process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose node to measure (default: this one)")
    parser.add_argument("--block-interval", type=int, default=2000, help="block interval in ms (default 2000)")
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="length of the polling phase")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.repo.resolve(), args.block_interval, args.poll_seconds))
    print(json.dumps(figures, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
