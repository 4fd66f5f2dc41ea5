"""Random task, message and timer sequences on the purchase-approval example, run as signed transactions and
end-blocks on a chain, keep the workflow's invariants: the active branches are what a naive replay of the
history gives, events and history agree, a refused call changes nothing, and an ended instance accepts nothing."""
from __future__ import annotations

from collections import Counter
from typing import Any

import eth_abi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from middleware.bpm.check import check_file
from middleware.bpm.contract import WorkflowContract
from middleware.bpm.graph import join_sources
from middleware.bpm.instance import MAX_TOKENS
from tests.middleware.test_bpm_contract import ETHER, Driver, addr, calldata, transitions
from tests.middleware.test_bpm_contract_depth import (
    APPROVAL_MEMBERS,
    APPROVAL_ROLES,
    COMPLETE,
    DAY,
    DELIVER,
    ENTRY,
    EXAMPLE,
    OTHER,
    START,
    STATE,
)
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import WORKFLOW_ADDRESS

DEFINITION = check_file(EXAMPLE)
PAYLOADS = {  # each task or message with the payloads a caller might send (some of them wrong)
    "submit": [eth_abi.encode(["int256"], [500]), eth_abi.encode(["int256"], [0])],
    "approve": [eth_abi.encode(["bool"], [True]), eth_abi.encode(["bool"], [False])],
    "check": [eth_abi.encode(["bool"], [True]), eth_abi.encode(["bool"], [False]), b"\x01"],
    "paid": [eth_abi.encode(["string"], ["ref-1"]), eth_abi.encode(["string"], [""])],
}
REQUESTER, FINANCE, ORACLE, R1, R2, R3 = range(len(APPROVAL_MEMBERS))  # indices of APPROVAL_MEMBERS
CALLS = [  # (name, caller, as a message): mostly the right caller and kind, some wrong ones
    ("submit", REQUESTER, False), ("approve", R1, False), ("approve", R2, False), ("approve", R3, False),
    ("check", FINANCE, False), ("paid", ORACLE, True), ("submit", REQUESTER, False), ("check", FINANCE, False),
    ("paid", ORACLE, True), ("approve", FINANCE, False), ("paid", REQUESTER, True), ("paid", ORACLE, False),
    ("check", FINANCE, True),
]  # (each example starts with the first: the request submitted)
ACTION = st.one_of(
    st.tuples(st.just("call"), st.sampled_from(CALLS), st.sampled_from([0, 0, 0, 1, 2])),
    st.tuples(st.just("wait"), st.sampled_from([DAY // 2, DAY, 3 * DAY, 5 * DAY])),
)


def replayed(history: list[tuple[str, str, str]]) -> Counter[str]:
    """The active branches a naive reading of the history gives: every entry moves one token, a split's entries
    share the token they split, a join's entry takes one token from each incoming state, end states consume."""
    tokens: Counter[str] = Counter()
    previous = ("", "", "")
    for source, target, cause in history:
        if source == target:
            continue  # a reminder or one member's part of a per-participant task
        if cause == "join":
            tokens[source] -= len(join_sources(DEFINITION, source))
        elif source and not (cause == "split" and previous[2] == "split" and previous[0] == source):
            tokens[source] -= 1
        tokens[target] += 1
        previous = (source, target, cause)
    ends = {state.name for state in DEFINITION.states if state.end}
    return Counter({state: n for state, n in tokens.items() if n and state not in ends})


def reason_or_none(driver: Driver, account: Any, data: bytes) -> str | None:
    """The revert reason of ``data`` sent by ``account``, as a call at the next block's time (None: it succeeds)."""
    outcome = driver.chain.call(CallMessage(sender=addr(account), to=WORKFLOW_ADDRESS, data=data),
                                timestamp=driver.now + 1)
    return None if outcome.success else eth_abi.decode(["string"], outcome.output[4:])[0]


class Observer:
    """Reads the instance back after each block and checks the invariants."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.history: list[tuple[str, str, str]] = []

    def read_history(self) -> list[tuple[str, str, str, str, int]]:
        length = self.driver.view("historyLength(uint256)", ["uint256"], 1)
        return [self.driver.view("historyEntry(uint256,uint256)", ENTRY, 1, i) for i in range(length)]

    def check(self, events: list[tuple[int, str, str, str, str]]) -> None:
        entries = self.read_history()
        added = entries[len(self.history):]
        assert [e[:3] for e in entries[:len(self.history)]] == self.history  # history only grows
        assert [(1, *e[:4]) for e in added] == events  # every new entry was announced, in order
        assert all(a[4] <= b[4] <= self.driver.now for a, b in zip(entries, entries[1:]))
        self.history = [e[:3] for e in entries]
        states = self.driver.view("activeStates(uint256)", ["string[]"], 1)
        assert len(states) <= MAX_TOKENS
        assert Counter(states) == replayed(self.history)
        assert self.driver.view("instanceState(uint256)", STATE, 1)[1] == (not states)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(actions=st.lists(ACTION, min_size=1, max_size=14).map(lambda rest: [("call", CALLS[0], 0), *rest]))
def test_random_sequences_keep_the_workflow_invariants(memory_chain, sign_tx, actions: list[Any]) -> None:
    accounts = [GenesisAccount(addr(a), balance=1_000 * ETHER) for a in (*APPROVAL_MEMBERS, OTHER)]
    driver = Driver(memory_chain(accounts, natives=[WorkflowContract()]), sign_tx)
    assert driver.send(OTHER, calldata("deployDefinition(string)", EXAMPLE.read_text())).status == 1
    members = [m.address for m in APPROVAL_MEMBERS]
    assert driver.send(OTHER, calldata(START, 1, APPROVAL_ROLES, members, b"")).status == 1
    observer = Observer(driver)
    observer.check([(1, "", "requested", "start", OTHER.address.lower())])
    for action in actions:
        if action[0] == "wait":
            result = driver.block(at=driver.now + action[1])
            observer.check(transitions(result.block_events))
            continue
        _, (name, who, as_message), variant = action
        payloads = PAYLOADS[name]
        account = APPROVAL_MEMBERS[who]
        data = calldata(DELIVER if as_message else COMPLETE, 1, name, payloads[variant % len(payloads)])
        ended = observer.history and not driver.view("activeStates(uint256)", ["string[]"], 1)
        refusal = reason_or_none(driver, account, data)
        before = driver.storage_root()
        result = driver.block([driver.tx(account, data)])
        receipt = result.receipts[0]
        assert (receipt.status == 1) == (refusal is None)
        if ended:
            assert refusal is not None and refusal.startswith("Workflow: the instance has ended")
        if receipt.status == 0:
            assert receipt.logs == ()
            if not transitions(result.block_events):
                assert driver.storage_root() == before
        observer.check(transitions(receipt.logs) + transitions(result.block_events))

