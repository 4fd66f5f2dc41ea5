"""What tracing a huge transaction costs, and how the bounds stop it.

Builds a block holding one transaction that spins ``JUMPDEST PUSH1 0 JUMP``
until its gas (30,000,000 by default) runs out, then replays it:

* untraced (the replay's own cost);
* under the call tracer (one frame: the cost of the opcode hooks alone);
* under the struct logger with its default bounds, which stops it with
  ``TraceLimitExceeded`` at 64 MiB of captured entries;
* under a 5 s deadline checkpoint, as the RPC runs traces.

Prints seconds, steps and the process's peak memory growth; never passes or fails.

    python -m benchmarks.tracing [--gas N] [--json]
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from typing import Any

from eth.db.backends.memory import MemoryDB
from eth_account import Account

from vm.errors import TraceLimitExceeded
from vm.execution import BlockEnv, ChainExecutor, GenesisAccount
from vm.interruptible import CallInterrupted
from vm.tracing.calls import CallTracer
from vm.tracing.replay import replay_block
from vm.tracing.structlog import StructLogger
from vm.tracing.tracer import Tracer
from vm.transactions import decode_transaction

CHAIN_ID = 15
LOOP = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP
LOOP_ADDRESS = b"\x10" * 20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gas", type=int, default=30_000_000)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    sender = Account.from_key(b"\x01" * 32)
    executor = ChainExecutor(())
    db = MemoryDB()
    root, writes = executor.genesis_state(db, [GenesisAccount(bytes.fromhex(sender.address[2:]), balance=10**24),
                                              GenesisAccount(LOOP_ADDRESS, code=LOOP)])
    for key, value in writes.items():
        if value is not None:
            db[key] = value
    env = BlockEnv(1, 1_700_000_000, b"\xc0" * 20, options.gas + 1_000_000, 1, b"\x00" * 32, CHAIN_ID, ())
    raw = sender.sign_transaction({"nonce": 0, "gas": options.gas, "maxFeePerGas": 10, "maxPriorityFeePerGas": 1,
                                   "to": "0x" + LOOP_ADDRESS.hex(), "value": 0, "data": b"", "chainId": CHAIN_ID})
    txs = [decode_transaction(bytes(raw.raw_transaction), CHAIN_ID)]
    figures: dict[str, Any] = {"gas": options.gas}

    def run(name: str, make: Callable[[], Tracer | None], checkpoint: Callable[[], None] = lambda: None) -> None:
        tracer = make()
        before = _peak_mib()
        started = time.perf_counter()
        outcome = "finished"
        try:
            replay_block(executor, db, root, env, txs, lambda index: tracer, checkpoint)
        except TraceLimitExceeded as exc:
            outcome = str(exc)
        except CallInterrupted as exc:
            outcome = str(exc)
        figures[name] = {"seconds": round(time.perf_counter() - started, 2), "outcome": outcome,
                         "steps": len(tracer.logs) if isinstance(tracer, StructLogger) else None,
                         "peak_growth_mib": round(_peak_mib() - before, 1)}

    deadline_at: list[float] = []

    def deadline() -> None:
        if not deadline_at:
            deadline_at.append(time.monotonic() + 5.0)
        if time.monotonic() > deadline_at[0]:
            raise CallInterrupted("execution aborted (timeout = 5s)")

    run("untraced", lambda: None)
    run("call tracer", CallTracer)
    run("struct logger, 5 s deadline", StructLogger, deadline)
    run("struct logger, default bounds", StructLogger)
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"one transaction looping for {options.gas:,} gas")
    for name, result in figures.items():
        if isinstance(result, dict):
            steps = f", {result['steps']:,} steps" if result["steps"] is not None else ""
            print(f"  {name:32} {result['seconds']:6.2f} s{steps}, peak +{result['peak_growth_mib']} MiB: "
                  f"{result['outcome']}")


if __name__ == "__main__":
    main()
