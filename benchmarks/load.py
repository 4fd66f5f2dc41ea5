"""Load generator for any Ethereum JSON-RPC endpoint.

Pre-signs N value transfers and/or N ERC-20 transfers from 100 senders of the dev
mnemonic, sends them in ``eth_sendRawTransaction`` batches and reports submitted
and committed tx/s, send-to-receipt latency, lost and failed transactions, blocks
and the node's peak RSS. The setup (funding senders, deploying the token) is not timed.

    python -m benchmarks.load --rpc http://127.0.0.1:8545 --kind all -n 5000
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psutil

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.contract import TOKEN_SOURCE, compile_token
from benchmarks.errors import BenchmarkError
from benchmarks.hdkeys import DEV_MNEMONIC, derive_accounts
from benchmarks.measure import RunRecord, send_and_observe
from benchmarks.prepare import ETHER, Chain, pending_nonces, prepare_chain, read_fees
from benchmarks.report import Summary, summarise, summary_table
from benchmarks.rpcclient import RpcClient
from benchmarks.rss import RssSampler, find_listening_pid
from benchmarks.txbuild import build_workload

KINDS = ("transfer", "erc20")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MIN_SENDERS = 3


@dataclass(frozen=True)
class LoadOptions:
    """How the load is generated and observed."""

    transactions: int = 5000
    senders: int = 100
    batch: int = 100
    connections: int = 4
    timeout: float = 120.0
    poll_interval: float = 0.02
    base_fee_multiplier: int = 10
    fund_wei: int = 100 * ETHER
    mnemonic: str = DEV_MNEMONIC
    contract: Path = TOKEN_SOURCE
    rate: float | None = None  # transactions/s offered at a steady pace (None: as fast as possible)


def node_pid_for(url: str) -> int | None:
    """The id of the local process serving ``url``, if the URL is on loopback and the process is visible."""
    parsed = urlparse(url)
    if parsed.hostname not in LOOPBACK_HOSTS:
        return None
    return find_listening_pid(parsed.port or (443 if parsed.scheme == "https" else 80))


async def prepare(url: str, kinds: tuple[str, ...], options: LoadOptions) -> Chain:
    """Untimed setup: derive senders, fund them and, for ERC-20 load, deploy and distribute the token."""
    if options.senders < MIN_SENDERS:
        raise BenchmarkError(f"at least {MIN_SENDERS} senders are needed (the token owner and two traders)")
    accounts = derive_accounts(options.senders, options.mnemonic)
    contract = compile_token(options.contract) if "erc20" in kinds else None
    return await prepare_chain(url, accounts, contract, options.fund_wei, options.base_fee_multiplier)


async def run_workload(url: str, chain: Chain, kind: str, options: LoadOptions, pid: int | None) -> Summary:
    """Pre-sign one workload, then send it and observe its commits; sample the node's RSS meanwhile."""
    summary, _ = await run_workload_record(url, chain, kind, options, pid)
    return summary


async def run_workload_record(
    url: str, chain: Chain, kind: str, options: LoadOptions, pid: int | None, send_urls: Sequence[str] = (),
) -> tuple[Summary, RunRecord]:
    """``run_workload``, also returning the raw timings (per-block observation times included).

    With ``send_urls`` the batches go round-robin to those endpoints (nodes of one
    network) while commits are observed on ``url``.
    """
    async with RpcClient(url) as client:
        nonces = await pending_nonces(client, chain.accounts)
        fees = await read_fees(client, options.base_fee_multiplier)
    txs = build_workload(kind, options.transactions, chain.accounts, nonces, chain.chain_id, fees,
                         chain.token, chain.token_gas)
    async with contextlib.AsyncExitStack() as stack:
        sampler = await stack.enter_async_context(RssSampler(pid)) if pid is not None else None
        record = await send_and_observe(
            url, txs, batch_size=options.batch, connections=options.connections,
            timeout=options.timeout, poll_interval=options.poll_interval, send_urls=send_urls, rate=options.rate,
        )
    return summarise(kind, record, sampler.peak_bytes if sampler is not None else None), record


async def run_all(url: str, kinds: tuple[str, ...], options: LoadOptions, pid: int | None) -> list[Summary]:
    """Prepare the chain once and run each workload of ``kinds`` in turn, reporting progress on stderr."""
    print(f"[{url}] setup: funding {options.senders} senders"
          + (", deploying and distributing the ERC-20" if "erc20" in kinds else ""), file=sys.stderr)
    chain = await prepare(url, kinds, options)
    summaries = []
    for kind in kinds:
        print(f"[{url}] {kind}: {options.transactions} transactions", file=sys.stderr)
        summaries.append(await run_workload(url, chain, kind, options, pid))
    return summaries


def name_list(allowed: Sequence[str], noun: str) -> Callable[[str], tuple[str, ...]]:
    """argparse type: a comma-separated, non-empty list of names from ``allowed``."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {noun}(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(allowed)}"
            )
        return names

    return parse


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
    return value


def rpc_url(text: str) -> str:
    """argparse type: an http(s) URL with a host."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text}")
    return text


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by the load generator and the side-by-side comparison."""
    parser.add_argument("-n", "--transactions", type=positive_int, default=5000,
                        help="transactions per workload (default 5000)")
    parser.add_argument("--senders", type=positive_int, default=100, help="sending accounts (default 100)")
    parser.add_argument("--batch", type=positive_int, default=100,
                        help="eth_sendRawTransaction calls per JSON-RPC batch (default 100)")
    parser.add_argument("--connections", type=positive_int, default=4,
                        help="concurrent HTTP connections for sending (default 4)")
    parser.add_argument("--timeout", type=positive_float, default=120.0,
                        help="seconds to wait for commits after the last batch is sent (default 120)")
    parser.add_argument("--poll", type=positive_float, default=0.02,
                        help="seconds between eth_blockNumber polls (default 0.02)")
    parser.add_argument("--fee-multiplier", type=positive_int, default=10,
                        help="maxFeePerGas = this x latest base fee + tip (default 10)")
    parser.add_argument("--fund-ether", type=positive_int, default=100,
                        help="ether each sender is topped up to in the setup (default 100)")
    parser.add_argument("--mnemonic", default=DEV_MNEMONIC, help="mnemonic of the senders (default: the dev mnemonic)")
    parser.add_argument("--contract", type=Path, default=TOKEN_SOURCE,
                        help="ERC-20 Solidity source with a contract named Token")
    parser.add_argument("--rate", type=positive_float, default=None,
                        help="offer the transactions at this steady rate (tx/s) instead of all at once; "
                             "latency under a load the network can carry")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def options_from(args: argparse.Namespace) -> LoadOptions:
    """The ``LoadOptions`` given on the command line."""
    return LoadOptions(
        transactions=args.transactions, senders=args.senders, batch=args.batch, connections=args.connections,
        timeout=args.timeout, poll_interval=args.poll, base_fee_multiplier=args.fee_multiplier,
        fund_wei=args.fund_ether * ETHER, mnemonic=args.mnemonic, contract=args.contract, rate=args.rate,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of the load generator."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Send pre-signed value or ERC-20 transfers to an Ethereum JSON-RPC endpoint and report "
                    "throughput, latency, losses and the node's peak memory.",
    )
    parser.add_argument("--rpc", type=rpc_url, default="http://127.0.0.1:8545", help="JSON-RPC URL (default http://127.0.0.1:8545)")
    parser.add_argument("--kind", choices=(*KINDS, "all"), default="all",
                        help="workload: value transfers, ERC-20 transfers, or both in turn (default all)")
    parser.add_argument("--pid", type=positive_int,
                        help="node process to sample RSS from (default: the process listening on the RPC port)")
    add_load_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the workloads and print the figures; exit 1 with a message on failure."""
    args = parse_args(argv)
    kinds = KINDS if args.kind == "all" else (args.kind,)
    if args.pid is not None and not psutil.pid_exists(args.pid):
        print(f"error: --pid {args.pid}: no such process", file=sys.stderr)
        return 2
    pid = args.pid if args.pid is not None else node_pid_for(args.rpc)
    if pid is None:
        print("note: node process not found (give --pid); peak RSS will not be reported", file=sys.stderr)
    try:
        summaries = asyncio.run(run_all(args.rpc, kinds, options_from(args), pid))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps({"rpc": args.rpc, "node_pid": pid, "results": [s.as_dict() for s in summaries]}, indent=2))
    else:
        print(summary_table(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
