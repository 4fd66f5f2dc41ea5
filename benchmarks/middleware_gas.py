"""Gas of typical calls of the middleware's native contracts: IRules, IWorkflow and IWebhooks.

Every call is a transaction of one account (or an ``eth_call`` for the views)
executed on an in-memory chain with the three contracts installed, one
transaction per block; the figure is the receipt's gas used, so it includes the
21,000 intrinsic gas and the call data. No node, network or compiler needed.

* IRules: ``examples/rules/discount.rules`` registered, a customer and an order
  inserted, rules fired, the order updated and fired again, then retracted;
  then ``examples/rules/pension.rules`` (``not``, ``accumulate``, ``pay``):
  registered, funded, two retirees and a period inserted (fact changes of a
  rule set with such conditions run through the network), fired (two
  payments and a report), the period moved on and fired again, part of the
  budget withdrawn.
* IWorkflow: ``examples/bpm/order-escrow.json`` deployed, an instance started
  (every role bound to the caller) and driven created -> paid -> shipped ->
  delivered -> completed.
* IWorkflow depth: ``examples/bpm/purchase-approval.json`` from submission
  to payment (a group, a quorum, a split, a join, a choice, a message), then
  a task starting a sub-process and the sub-process's end resuming it.
* IWebhooks: the chain's first callback request, a later one, one with a
  1 KiB payload.

    python benchmarks/middleware_gas.py
    python benchmarks/middleware_gas.py --json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import eth_abi
from eth.db.backends.memory import MemoryDB
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

from benchmarks.report import render_table
from middleware.bpm.contract import WorkflowContract
from middleware.rules.contract import RulesContract
from middleware.webhooks.contract import WebhooksContract
from vm.execution import BlockEnv, CallMessage, ChainExecutor, GenesisAccount
from vm.native.addresses import RULES_ADDRESS, WEBHOOKS_ADDRESS, WORKFLOW_ADDRESS
from vm.native.framework import NativeContract
from vm.transactions import decode_transaction

REPO = Path(__file__).resolve().parent.parent
DISCOUNT_RULES = REPO / "examples" / "rules" / "discount.rules"
PENSION_RULES = REPO / "examples" / "rules" / "pension.rules"
ORDER_ESCROW = REPO / "examples" / "bpm" / "order-escrow.json"
PURCHASE_APPROVAL = REPO / "examples" / "bpm" / "purchase-approval.json"
CHILD_PROCESS = {"name": "pick", "version": 1, "roles": ["picker"], "start": "picking",
                 "states": {"picking": {"tasks": {"pick": {"role": "picker"}},
                                        "transitions": [{"to": "picked", "on": "pick"}]},
                            "picked": {"end": True}}}
CHAIN_ID = 15
GWEI = 10**9
GENESIS_TIME = 1_700_000_000
TX_GAS = 5_000_000


class MemoryChain:
    """An in-memory chain of ``natives``, executing one transaction per block, one second apart."""

    def __init__(self, natives: Sequence[NativeContract], funded: Sequence[bytes]) -> None:
        """Genesis: ``funded`` accounts hold 1,000,000 CMT each."""
        self.executor = ChainExecutor(natives)
        self.db = MemoryDB()
        accounts = [GenesisAccount(address, balance=10**24) for address in funded]
        self.root, writes = self.executor.genesis_state(self.db, accounts)
        self._apply(writes)
        self.number = 0
        self.nonces: dict[bytes, int] = {}

    def _apply(self, writes: dict[bytes, bytes | None]) -> None:
        for key, value in sorted(writes.items()):
            if value is not None:
                self.db[key] = value

    def env(self) -> BlockEnv:
        """The next block's environment."""
        parent = keccak(b"block %d" % self.number)
        return BlockEnv(number=self.number + 1, timestamp=GENESIS_TIME + self.number, coinbase=b"\xc0" * 20,
                        gas_limit=30_000_000, base_fee=GWEI, prev_randao=parent, chain_id=CHAIN_ID,
                        recent_hashes=(parent,))

    def send(self, account: LocalAccount, to: bytes, data: bytes, value: int = 0) -> int:
        """Execute one call (sending ``value`` wei) in a new block; its gas used (``RuntimeError`` if it failed)."""
        sender = bytes.fromhex(account.address[2:])
        nonce = self.nonces.get(sender, 0)
        raw = account.sign_transaction({"nonce": nonce, "to": to, "data": data, "gas": TX_GAS, "value": value,
                                        "chainId": CHAIN_ID, "maxFeePerGas": 10 * GWEI,
                                        "maxPriorityFeePerGas": GWEI}).raw_transaction
        result = self.executor.execute_block(self.db, self.root, self.env(),
                                             [decode_transaction(bytes(raw), CHAIN_ID)], strict=True)
        self._apply(result.state_writes)
        self.root = result.state_root
        self.number += 1
        self.nonces[sender] = nonce + 1
        receipt = result.receipts[0]
        if receipt.status != 1:
            raise RuntimeError(f"call {data[:4].hex()} of {to.hex()} failed")
        return int(receipt.gas_used)

    def view(self, sender: bytes, to: bytes, data: bytes) -> int:
        """Gas used by an ``eth_call``."""
        outcome = self.executor.call(self.db, self.root, self.env(), CallMessage(sender=sender, to=to, data=data))
        if not outcome.success:
            raise RuntimeError(f"view {data[:4].hex()} of {to.hex()} failed")
        return int(outcome.gas_used)


def calldata(signature: str, *values: Any) -> bytes:
    """ABI call data of ``signature`` with ``values``."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))


def rules_gas(chain: MemoryChain, account: LocalAccount) -> dict[str, int]:
    """Gas of each typical IRules call on the discount example (the chain's first rule set)."""
    sender = bytes.fromhex(account.address[2:])
    order = eth_abi.encode(["int256", "address", "int256", "int256"], [1, sender, 5_000, 0])
    customer = eth_abi.encode(["address", "string"], [sender, "gold"])
    steps = [
        ("registerRuleSet (discount.rules)", calldata("registerRuleSet(string)", DISCOUNT_RULES.read_text())),
        ("insertFact Customer", calldata("insertFact(uint256,string,bytes)", 0, "Customer", customer)),
        ("insertFact Order", calldata("insertFact(uint256,string,bytes)", 0, "Order", order)),
        ("fireAllRules (2 firings)", calldata("fireAllRules(uint256)", 0)),
        ("updateFact Order", calldata("updateFact(uint256,uint256,bytes)", 0, 2, order)),
        ("fireAllRules (2 firings, again)", calldata("fireAllRules(uint256)", 0)),
        ("retractFact Order", calldata("retractFact(uint256,uint256)", 0, 2)),
    ]
    figures = {name: chain.send(account, RULES_ADDRESS, data) for name, data in steps}
    figures["getFact (eth_call)"] = chain.view(sender, RULES_ADDRESS, calldata("getFact(uint256,uint256)", 0, 1))
    figures["pendingActivations (eth_call)"] = chain.view(sender, RULES_ADDRESS,
                                                          calldata("pendingActivations(uint256)", 0))
    return figures


def pension_gas(chain: MemoryChain, account: LocalAccount) -> dict[str, int]:
    """Gas of the IRules calls of the pension example (rule set 1): conditions, payments, the budget."""
    sender = bytes.fromhex(account.address[2:])
    members = [eth_abi.encode(["address", "int256", "int256"], [bytes([n]) * 20, 70, 0]) for n in (0xA1, 0xB2)]
    period = [eth_abi.encode(["int256", "int256"], [n, 10**15]) for n in (1, 2)]
    figures = {"registerRuleSet (pension.rules)": chain.send(account, RULES_ADDRESS, calldata(
        "registerRuleSet(string)", PENSION_RULES.read_text()))}
    figures["fundRuleSet"] = chain.send(account, RULES_ADDRESS, calldata("fundRuleSet(uint256)", 1), value=10**16)
    steps = [
        ("insertFact Member (through the network)", calldata("insertFact(uint256,string,bytes)", 1, "Member",
                                                             members[0])),
        ("insertFact Member (second)", calldata("insertFact(uint256,string,bytes)", 1, "Member", members[1])),
        ("insertFact Period", calldata("insertFact(uint256,string,bytes)", 1, "Period", period[0])),
        ("fireAllRules (2 pays, 1 accumulate report)", calldata("fireAllRules(uint256)", 1)),
        ("updateFact Period (next period)", calldata("updateFact(uint256,uint256,bytes)", 1, 3, period[1])),
        ("fireAllRules (2 pays, report, next period)", calldata("fireAllRules(uint256)", 1)),
        ("withdrawBudget", calldata("withdrawBudget(uint256,uint256)", 1, 10**15)),
    ]
    figures.update({name: chain.send(account, RULES_ADDRESS, data) for name, data in steps})
    figures["ruleSetBudget (eth_call)"] = chain.view(sender, RULES_ADDRESS, calldata("ruleSetBudget(uint256)", 1))
    return figures


def workflow_gas(chain: MemoryChain, account: LocalAccount) -> dict[str, int]:
    """Gas of each typical IWorkflow call: the order-escrow process from deployment to completion."""
    sender = bytes.fromhex(account.address[2:])
    roles = ["buyer", "seller", "arbiter", "escrow"]
    steps = [
        ("deployDefinition (order-escrow)", calldata("deployDefinition(string)", ORDER_ESCROW.read_text())),
        ("startInstance (4 roles)", calldata("startInstance(uint256,string[],address[],bytes)",
                                             1, roles, [account.address] * len(roles), b"")),
        ("completeTask pay (int, guard)", calldata("completeTask(uint256,string,bytes)", 1, "pay",
                                                   eth_abi.encode(["int256"], [3 * 10**18]))),
        ("completeTask ship (string, timer)", calldata("completeTask(uint256,string,bytes)", 1, "ship",
                                                       eth_abi.encode(["string"], ["TRK-0001"]))),
        ("completeTask confirm_delivery", calldata("completeTask(uint256,string,bytes)", 1, "confirm_delivery", b"")),
        ("completeTask accept (end state)", calldata("completeTask(uint256,string,bytes)", 1, "accept", b"")),
    ]
    figures = {name: chain.send(account, WORKFLOW_ADDRESS, data) for name, data in steps}
    figures["instanceState (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS, calldata("instanceState(uint256)", 1))
    figures["historyEntry (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS,
                                                    calldata("historyEntry(uint256,uint256)", 1, 2))
    figures["getString (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS,
                                                 calldata("getString(uint256,string)", 1, "tracking"))
    return figures


def workflow_depth_gas(chain: MemoryChain, account: LocalAccount, first_definition: int) -> dict[str, int]:
    """Gas of groups, per-participant tasks, gateways, messages and sub-processes.

    ``examples/bpm/purchase-approval.json`` from submission to payment (two
    reviewers of three approve), then a process whose task starts a
    sub-process and the sub-process's end resuming it. Definition ids start
    at ``first_definition``.
    """
    sender = bytes.fromhex(account.address[2:])
    reviewers = [Account.from_key(keccak(b"reviewer %d" % n)) for n in range(2)]
    for reviewer in reviewers:
        chain.send(account, bytes.fromhex(reviewer.address[2:]), b"", value=10**18)
    approval, child, caller = first_definition, first_definition + 1, first_definition + 2
    instance = 2  # the order-escrow instance is the first
    start = "startInstance(uint256,string[],address[],bytes)"
    task, message = "completeTask(uint256,string,bytes)", "deliverMessage(uint256,string,bytes)"
    members = [account.address] * 4 + [r.address for r in reviewers]  # 3 roles, then the group of 3
    figures = {"deployDefinition (purchase-approval)": chain.send(
        account, WORKFLOW_ADDRESS, calldata("deployDefinition(string)", PURCHASE_APPROVAL.read_text()))}
    steps = [
        (account, "startInstance (3 roles, a group of 3)", calldata(
            start, approval, ["requester", "finance", "oracle"] + ["reviewers"] * 3, members, b"")),
        (account, "completeTask submit (parallel split)", calldata(task, instance, "submit",
                                                                   eth_abi.encode(["int256"], [900]))),
        (reviewers[0], "completeTask approve (one of the quorum)", calldata(task, instance, "approve",
                                                                            eth_abi.encode(["bool"], [True]))),
        (reviewers[1], "completeTask approve (quorum reached)", calldata(task, instance, "approve",
                                                                         eth_abi.encode(["bool"], [True]))),
        (account, "completeTask check (join, choice)", calldata(task, instance, "check",
                                                                eth_abi.encode(["bool"], [True]))),
        (account, "deliverMessage paid (end)", calldata(message, instance, "paid",
                                                        eth_abi.encode(["string"], ["SEPA-1"]))),
    ]
    figures.update({name: chain.send(signer, WORKFLOW_ADDRESS, data) for signer, name, data in steps})
    figures["activeStates (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS, calldata("activeStates(uint256)", 2))
    figures["groupMembers (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS,
                                                    calldata("groupMembers(uint256,string)", 2, "reviewers"))
    parent = {"name": "order", "version": 1, "roles": ["clerk"], "start": "open",
              "states": {"open": {"tasks": {"release": {"role": "clerk"}},
                                  "transitions": [{"to": "picking", "on": "release"}]},
                         "picking": {"call": {"definition": child, "roles": {"picker": "clerk"}, "to": "done"}},
                         "done": {"end": True}}}
    chain.send(account, WORKFLOW_ADDRESS, calldata("deployDefinition(string)", json.dumps(CHILD_PROCESS)))
    steps = [
        ("deployDefinition (a call, checked)", calldata("deployDefinition(string)", json.dumps(parent))),
        ("startInstance (1 role)", calldata(start, caller, ["clerk"], [account.address], b"")),
        ("completeTask release (starts a sub-process)", calldata(task, instance + 1, "release", b"")),
        ("completeTask pick (sub-process ends, parent resumed)", calldata(task, instance + 2, "pick", b"")),
    ]
    figures.update({name: chain.send(account, WORKFLOW_ADDRESS, data) for name, data in steps})
    figures["parentInstance (eth_call)"] = chain.view(sender, WORKFLOW_ADDRESS,
                                                      calldata("parentInstance(uint256)", instance + 2))
    return figures


def webhooks_gas(chain: MemoryChain, account: LocalAccount) -> dict[str, int]:
    """Gas of IWebhooks callback requests: the chain's first, a later one, one with a 1 KiB payload."""
    sender = bytes.fromhex(account.address[2:])
    payload = eth_abi.encode(["uint256", "string"], [1, "TRACK-1"])
    steps = [
        (f"requestCallback (first, {len(payload)} B payload)",
         calldata("requestCallback(string,bytes)", "carrier.delivery", payload)),
        (f"requestCallback ({len(payload)} B payload)",
         calldata("requestCallback(string,bytes)", "carrier.delivery", payload)),
        ("requestCallback (1,024 B payload)", calldata("requestCallback(string,bytes)", "carrier.delivery",
                                                        bytes(range(256)) * 4)),
    ]
    figures = {name: chain.send(account, WEBHOOKS_ADDRESS, data) for name, data in steps}
    figures["requestCount (eth_call)"] = chain.view(sender, WEBHOOKS_ADDRESS, calldata("requestCount()"))
    return figures


def measure() -> dict[str, dict[str, int]]:
    """Gas per call, by interface, on one chain with the three contracts installed."""
    account = Account.from_key(keccak(b"middleware gas benchmark"))
    chain = MemoryChain([RulesContract(), WorkflowContract(), WebhooksContract()],
                        [bytes.fromhex(account.address[2:])])
    return {"IRules": {**rules_gas(chain, account), **pension_gas(chain, account)},
            "IWorkflow": {**workflow_gas(chain, account), **workflow_depth_gas(chain, account, first_definition=2)},
            "IWebhooks": webhooks_gas(chain, account)}


def gas_command(argv: list[str] | None, description: str, title: str, measure: Callable[[], dict[str, int]]) -> int:
    """A one-interface gas benchmark's command line: measure, then print a table (or one JSON object)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    figures = measure()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(title)
    print(render_table(["call", "gas"], [[name, f"{gas:,}"] for name, gas in figures.items()]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    figures = measure()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    rows = [[f"{interface} {name}", f"{gas:,}"] for interface, calls in figures.items() for name, gas in calls.items()]
    print("Gas per call (transaction gas used, intrinsic and call data included; views by eth_call)")
    print(render_table(["call", "gas"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
