"""Gas of every ISponsor call, and what sponsoring costs a transaction (gas and execution time).

Every call is a transaction in its own block (one second apart) on an in-memory chain
with the sponsor contract installed; the figure is the receipt's gas used, 21,000
intrinsic gas and call data included; views are measured by ``eth_call``. An account
may sponsor calls to itself, which lets ``configure`` be measured without a compiler
(on a chain the target is a contract calling from its constructor: the same gas, less
the 21,000 of a transaction).

The overhead per sponsored transaction: the same call of a small counter contract
(one storage write) made by fresh senders, ``--calls`` in one block, once with a price
(1 gwei tip) and once with gas price 0 paid by a sponsorship; gas used per call of each,
and the median block execution time of ``--rounds`` blocks each way.

    python benchmarks/sponsor_gas.py
    python benchmarks/sponsor_gas.py --json --calls 200 --rounds 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from eth.db.backends.memory import MemoryDB
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from benchmarks.middleware_gas import CHAIN_ID, GENESIS_TIME, GWEI, MemoryChain, calldata
from benchmarks.report import render_table
from vm.execution import BlockEnv, ChainExecutor, GenesisAccount
from vm.native.addresses import SPONSOR_ADDRESS
from vm.sponsorship.contract import SponsorContract
from vm.sponsorship.records import Bounds, store_balance, store_settings
from vm.transactions import decode_transaction

OWNER = Account.from_key(keccak(b"sponsor gas benchmark owner"))
MANAGER = Account.from_key(keccak(b"sponsor gas benchmark manager"))
CONFIGURE = "configure(address,address,uint64,uint32,uint64,uint64)"
COUNTER = bytes.fromhex("5f546001015f5500")  # slot0 += 1: PUSH0 SLOAD PUSH1 1 ADD PUSH0 SSTORE STOP
COUNTER_ADDRESS = b"\xc0\x01" + b"\x00" * 18
CALL_GAS = 50_000


def measure_calls() -> dict[str, int]:
    """Gas per ISponsor call, in the order a sponsor makes them."""
    owner, manager = (bytes.fromhex(a.address[2:]) for a in (OWNER, MANAGER))
    chain = MemoryChain([SponsorContract()], [owner, manager])
    target = OWNER.address
    figures = {
        "configure (first, by the target)": chain.send(OWNER, SPONSOR_ADDRESS, calldata(
            CONFIGURE, target, MANAGER.address, 100_000, 5, 3_600, 1_000_000)),
        "configure (later, by the manager)": chain.send(MANAGER, SPONSOR_ADDRESS, calldata(
            CONFIGURE, target, MANAGER.address, 200_000, 10, 600, 2_000_000)),
        "deposit (first)": chain.send(MANAGER, SPONSOR_ADDRESS, calldata("deposit(address)", target), 10**18),
        "deposit (top-up)": chain.send(OWNER, SPONSOR_ADDRESS, calldata("deposit(address)", target), 10**18),
        "withdraw (part, by the manager)": chain.send(MANAGER, SPONSOR_ADDRESS,
                                                      calldata("withdraw(address,uint256)", target, 10**17)),
    }
    figures["sponsorshipOf (eth_call)"] = chain.view(manager, SPONSOR_ADDRESS, calldata("sponsorshipOf(address)",
                                                                                        target))
    figures["sponsoredTxsOf (eth_call)"] = chain.view(manager, SPONSOR_ADDRESS, calldata(
        "sponsoredTxsOf(address,address)", target, MANAGER.address))
    return figures


def _counter_chain(senders: list[LocalAccount]) -> tuple[ChainExecutor, MemoryDB, bytes]:
    """A chain with the counter contract, sponsored without bounds a benchmark block reaches, and funded senders."""
    storage: dict[int, int] = {}
    bounds = Bounds(max_gas_per_tx=CALL_GAS, max_txs_per_sender=1_000, window_seconds=3_600,
                    max_gas_per_block=30_000_000)
    store_settings(storage.__setitem__, COUNTER_ADDRESS, b"\x00" * 20, bounds)
    store_balance(storage.__setitem__, COUNTER_ADDRESS, 10**21)
    accounts = [GenesisAccount(COUNTER_ADDRESS, code=COUNTER),
                GenesisAccount(SPONSOR_ADDRESS, balance=10**21, storage=tuple(sorted(storage.items())))]
    executor = ChainExecutor([SponsorContract()])
    db = MemoryDB()
    funded = [GenesisAccount(bytes.fromhex(a.address[2:]), balance=10**18) for a in senders]
    root, writes = executor.genesis_state(db, [*accounts, *funded])
    for key, value in sorted(writes.items()):
        if value is not None:
            db[key] = value
    return executor, db, root


def measure_overhead(calls: int, rounds: int) -> dict[str, float]:
    """Gas and median block execution time of ``calls`` counter calls, priced and sponsored."""
    senders = [Account.from_key(keccak(b"sponsor gas benchmark sender %d" % i)) for i in range(calls)]
    executor, db, root = _counter_chain(senders)
    env = BlockEnv(number=1, timestamp=GENESIS_TIME + 1, coinbase=b"\xc0" * 20, gas_limit=30_000_000,
                   base_fee=GWEI, prev_randao=keccak(b"block 0"), chain_id=CHAIN_ID, recent_hashes=(keccak(b"0"),))
    figures: dict[str, float] = {}
    for kind, price in (("priced", {"maxFeePerGas": 2 * GWEI, "maxPriorityFeePerGas": GWEI}),
                        ("sponsored", {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0})):
        txs = [decode_transaction(bytes(a.sign_transaction({
            "nonce": 0, "to": COUNTER_ADDRESS, "data": b"", "gas": CALL_GAS, "value": 0, "chainId": CHAIN_ID,
            **price}).raw_transaction), CHAIN_ID) for a in senders]
        seconds = []
        for _ in range(rounds):
            started = time.perf_counter()
            result = executor.execute_block(db, root, env, txs, strict=True)
            seconds.append(time.perf_counter() - started)
        assert len(result.receipts) == calls and all(r.status == 1 for r in result.receipts)
        figures[f"{kind}: gas used per call"] = result.receipts[0].gas_used
        figures[f"{kind}: block of {calls} calls, median ms"] = round(1_000 * statistics.median(seconds), 1)
    per_call = (figures[f"sponsored: block of {calls} calls, median ms"]
                - figures[f"priced: block of {calls} calls, median ms"]) / calls
    figures["sponsoring overhead per call, µs"] = round(1_000 * per_call, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as tables (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--calls", type=int, default=200, help="calls per block in the overhead measurement")
    parser.add_argument("--rounds", type=int, default=5, help="blocks executed each way")
    args = parser.parse_args(argv)
    calls, overhead = measure_calls(), measure_overhead(args.calls, args.rounds)
    if args.json:
        print(json.dumps({"calls": calls, "overhead": overhead}, indent=2))
        return 0
    print("ISponsor gas per call (transaction gas used, intrinsic and call data included; views by eth_call)")
    print(render_table(["call", "gas"], [[name, f"{gas:,}"] for name, gas in calls.items()]))
    print()
    print("A counter call, priced and sponsored")
    print(render_table(["figure", "value"], [[name, f"{value:,}"] for name, value in overhead.items()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
