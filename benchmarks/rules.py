"""Rules-engine figures: rule firings per second off-chain, and gas per typical on-chain IRules call.

Off-chain: a rule set of ``--rules`` rules (default 20: single-pattern rules
over an Order's amount, some joining the Order with its Customer) over
``--facts`` facts (default 1,000 orders and 50 customers). Every rule is
``lock_on_active``, so each fires once per matching fact and the updates it
makes run through the network without re-firing it. Timed: building the
memories (inserts) and ``fire_all``.

On-chain: ``examples/rules/discount.rules`` through the ``IRules`` native
contract on an in-memory chain; the gas used by each transaction (and by
``eth_call`` for the views) is printed.

    python benchmarks/rules.py
    python benchmarks/rules.py --facts 2000 --rules 20 --json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from eth_hash.auto import keccak

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.middleware_gas import MemoryChain, rules_gas
from middleware.rules.compiler import RuleSet
from middleware.rules.contract import RulesContract
from middleware.rules.engine import Session

CUSTOMERS = 50


@dataclass(frozen=True)
class EngineFigures:
    """Off-chain throughput."""

    facts: int
    rules: int
    compile_ms: float
    insert_s: float
    fire_s: float
    firings: int
    firings_per_s: float
    engine_gas: int


def benchmark_rules(rule_count: int) -> str:
    """``rule_count`` rules: most test an order's amount; every fourth joins the order with a gold customer."""
    lines = ["template Customer { id: int; tier: string; }",
             "template Order { id: int; customer: int; amount: int; score: int; }"]
    for index in range(rule_count):
        if index % 4 == 3:
            lines.append(
                f'rule "r{index}" salience {index % 5} lock_on_active when {{ $c: Customer(tier == "gold"); '
                f"$o: Order(customer == $c.id, amount % 20 >= {index}); }} "
                f"then {{ update $o {{ score = $o.score + {index} }}; }}")
        else:
            lines.append(
                f'rule "r{index}" salience {index % 5} lock_on_active when {{ $o: Order(amount % 20 >= {index}); }} '
                f"then {{ update $o {{ score = $o.score + {index} }}; }}")
    return "\n".join(lines)


def run_engine(fact_count: int, rule_count: int) -> EngineFigures:
    """Insert ``fact_count`` orders (and the customers), fire all rules; time both."""
    source = benchmark_rules(rule_count)
    started = time.perf_counter()
    rules = RuleSet.parse(source)
    compiled = time.perf_counter()
    session = Session(rules)
    for customer in range(CUSTOMERS):
        session.insert("Customer", {"id": customer, "tier": "gold" if customer % 2 == 0 else "silver"})
    for order in range(fact_count):
        session.insert("Order", {"id": order, "customer": order % CUSTOMERS, "amount": (order * 7919) % 1000})
    inserted = time.perf_counter()
    firings = session.fire_all(max_activations=1_000_000)
    fired = time.perf_counter()
    return EngineFigures(fact_count, rule_count, (compiled - started) * 1000, inserted - compiled, fired - inserted,
                         firings, firings / (fired - inserted), session.meter.used)


def run_chain() -> dict[str, int]:
    """Gas of each typical IRules call on the discount example."""
    account = Account.from_key(keccak(b"rules benchmark"))
    return rules_gas(MemoryChain([RulesContract()], [bytes.fromhex(account.address[2:])]), account)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=1_000, help="orders in working memory (default 1000)")
    parser.add_argument("--rules", type=int, default=20, help="rules in the rule set (default 20, at most 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not 1 <= args.rules <= 20:
        parser.error("--rules must be between 1 and 20 (the rules test amount % 20)")
    if args.facts < 1:
        parser.error("--facts must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the figures."""
    args = parse_args(argv)
    engine = run_engine(args.facts, args.rules)
    gas = run_chain()
    if args.json:
        print(json.dumps({"cpu_count": os.cpu_count(), "engine": asdict(engine), "gas": gas}, indent=2))
        return 0
    print(f"Rete engine: {engine.facts} orders + {CUSTOMERS} customers x {engine.rules} rules "
          f"({os.cpu_count()} cores)")
    print(f"  compile             {engine.compile_ms:10.1f} ms")
    print(f"  insert (memories)   {engine.insert_s:10.3f} s")
    print(f"  fire_all            {engine.fire_s:10.3f} s   {engine.firings} firings")
    print(f"  firings/s           {engine.firings_per_s:10.0f}")
    print(f"  engine gas          {engine.engine_gas:10d}")
    print()
    print("On-chain gas per call (IRules, examples/rules/discount.rules):")
    for name, used in gas.items():
        print(f"  {name:34s} {used:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
