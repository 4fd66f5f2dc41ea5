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
from typing import Any

import eth_abi
from eth.db.backends.memory import MemoryDB
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from middleware.rules.compiler import RuleSet
from middleware.rules.contract import RulesContract
from middleware.rules.engine import Session
from vm.execution import BlockEnv, CallMessage, ChainExecutor, GenesisAccount
from vm.native.addresses import RULES_ADDRESS
from vm.transactions import decode_transaction

DISCOUNT_RULES = Path(__file__).resolve().parent.parent / "examples" / "rules" / "discount.rules"
CHAIN_ID = 15
GWEI = 10**9
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


class Chain:
    """An in-memory chain with the rules contract, executing one transaction per block."""

    def __init__(self, funded: list[bytes]) -> None:
        self.executor = ChainExecutor([RulesContract()])
        self.db = MemoryDB()
        accounts = [GenesisAccount(address, balance=10**24) for address in funded]
        self.root, writes = self.executor.genesis_state(self.db, accounts)
        self._apply(writes)
        self.number = 0

    def _apply(self, writes: dict[bytes, bytes | None]) -> None:
        for key, value in sorted(writes.items()):
            if value is not None:
                self.db[key] = value

    def env(self) -> BlockEnv:
        """The next block's environment."""
        parent = keccak(b"block %d" % self.number)
        return BlockEnv(number=self.number + 1, timestamp=1_700_000_000 + self.number, coinbase=b"\xc0" * 20,
                        gas_limit=30_000_000, base_fee=GWEI, prev_randao=parent, chain_id=CHAIN_ID,
                        recent_hashes=(parent,))

    def send(self, account: Any, nonce: int, data: bytes) -> int:
        """Execute one call of the rules contract; its gas used (raises if it failed)."""
        raw = account.sign_transaction({"nonce": nonce, "to": RULES_ADDRESS, "data": data, "gas": 5_000_000,
                                        "value": 0, "chainId": CHAIN_ID, "maxFeePerGas": 10 * GWEI,
                                        "maxPriorityFeePerGas": GWEI}).raw_transaction
        result = self.executor.execute_block(self.db, self.root, self.env(), [decode_transaction(bytes(raw), CHAIN_ID)],
                                             strict=True)
        self._apply(result.state_writes)
        self.root = result.state_root
        self.number += 1
        receipt = result.receipts[0]
        if receipt.status != 1:
            raise RuntimeError(f"call failed: {data[:4].hex()}")
        return int(receipt.gas_used)

    def view(self, sender: bytes, data: bytes) -> int:
        """Gas used by an ``eth_call`` of the rules contract."""
        outcome = self.executor.call(self.db, self.root, self.env(), CallMessage(sender=sender, to=RULES_ADDRESS,
                                                                                  data=data))
        if not outcome.success:
            raise RuntimeError(f"view failed: {data[:4].hex()}")
        return int(outcome.gas_used)


def calldata(signature: str, types: list[str], values: list[Any]) -> bytes:
    """ABI call data."""
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, values)


def run_chain() -> dict[str, int]:
    """Gas of each typical IRules call on the discount example."""
    account = Account.from_key(keccak(b"rules benchmark"))
    sender = bytes.fromhex(account.address[2:])
    chain = Chain([sender])
    order = eth_abi.encode(["int256", "address", "int256", "int256"], [1, sender, 5_000, 0])
    customer = eth_abi.encode(["address", "string"], [sender, "gold"])
    steps = [
        ("registerRuleSet (discount.rules)", calldata("registerRuleSet(string)", ["string"],
                                                      [DISCOUNT_RULES.read_text()])),
        ("insertFact Customer", calldata("insertFact(uint256,string,bytes)", ["uint256", "string", "bytes"],
                                         [0, "Customer", customer])),
        ("insertFact Order", calldata("insertFact(uint256,string,bytes)", ["uint256", "string", "bytes"],
                                      [0, "Order", order])),
        ("fireAllRules (2 firings)", calldata("fireAllRules(uint256)", ["uint256"], [0])),
        ("updateFact Order", calldata("updateFact(uint256,uint256,bytes)", ["uint256", "uint256", "bytes"],
                                      [0, 2, order])),
        ("fireAllRules (2 firings, again)", calldata("fireAllRules(uint256)", ["uint256"], [0])),
        ("retractFact Order", calldata("retractFact(uint256,uint256)", ["uint256", "uint256"], [0, 2])),
    ]
    figures = {name: chain.send(account, nonce, data) for nonce, (name, data) in enumerate(steps)}
    figures["getFact (eth_call)"] = chain.view(sender, calldata("getFact(uint256,uint256)", ["uint256", "uint256"],
                                                                [0, 1]))
    figures["pendingActivations (eth_call)"] = chain.view(sender, calldata("pendingActivations(uint256)",
                                                                           ["uint256"], [0]))
    return figures


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
