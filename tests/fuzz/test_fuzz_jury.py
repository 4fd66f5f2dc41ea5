"""Fuzzing the juror registry: arbitrary calls, and random sequences of juror and case operations.

Contracts: a call of ``0x…0C15`` with any call data, value and sender ends as a call outcome
(success, or a revert whose reason says what was wrong), never another exception. Any
sequence of stakes, unstakes, withdrawals, cases opened, drawn, voted (right and wrong
commitments, wrong seats, early and late) and finalized, over any advance of block time,
keeps the contract's balance equal to what it owes (the jurors' active and unbonding
stakes and the fees of undecided cases), keeps the draw weights equal to the active
stakes, and leaves no event behind a refused transaction.
"""
from __future__ import annotations

import functools
import os

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given, settings
from hypothesis import strategies as st

from middleware.jury.contract import UNBONDING_SECONDS, JuryContract, commitment_of
from middleware.jury.jurors import JurorBook
from middleware.jury.sumtree import SumTree
from middleware.randomness.contract import RandomnessContract
from tests.conftest import MemoryChain, _sign_tx
from tests.dpos.harness import address_of, revert_reason
from tests.fuzz.conftest import FUZZ, FUZZ_LONG
from vm.execution import CallMessage, ChainExecutor, GenesisAccount
from vm.native.addresses import JURY_ADDRESS

ETHER = 10**18
T0 = 1_700_000_010
ACTORS = [Account.from_key(keccak(b"jury fuzz actor %d" % i)) for i in range(6)]
SELECTORS = [spec.selector for spec in JuryContract.methods()]
PREFIXES = ("Jury: ", "Randomness: ")


def _calldata(signature: str, *values: object) -> bytes:
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, list(values))


def _new_chain() -> MemoryChain:
    natives = [RandomnessContract(lambda ctx, key: False), JuryContract()]
    return MemoryChain(ChainExecutor(natives), [GenesisAccount(address_of(a), balance=100 * ETHER) for a in ACTORS])


class Driver:
    """Sends one actor's call per block and keeps what the contract must owe."""

    def __init__(self) -> None:
        self.chain = _new_chain()
        self.time = T0
        self.nonces = [0] * len(ACTORS)
        self.open_fees: dict[int, int] = {}
        self.cases = 0
        self.votes: dict[tuple[int, int], bool] = {}

    def send(self, actor: int, signature: str, *values: object, value: int = 0):
        tx = _sign_tx(ACTORS[actor], nonce=self.nonces[actor], to=JURY_ADDRESS, data=_calldata(signature, *values),
                      value=value, gas=3_000_000, maxFeePerGas=10**9, maxPriorityFeePerGas=0)
        self.nonces[actor] += 1
        receipt = self.chain.execute([tx], strict=True, timestamp=self.time, base_fee=10**9).receipts[0]
        assert receipt.status == 1 or not receipt.logs
        return receipt

    def view(self, returns: list[str], signature: str, *values: object) -> tuple:
        outcome = self.chain.call(CallMessage(sender=address_of(ACTORS[0]), to=JURY_ADDRESS,
                                              data=_calldata(signature, *values)), timestamp=self.time)
        assert outcome.success, revert_reason(outcome.output)
        return tuple(eth_abi.decode(returns, outcome.output))

    def check(self) -> None:
        slots = StateSlots(self.chain.state)
        tree = SumTree(slots)
        jurors = [JurorBook(slots, tree).get(address_of(a)) for a in ACTORS]
        owed = sum(j.active + j.unbonding for j in jurors) + sum(self.open_fees.values())
        assert self.chain.state.get_balance(JURY_ADDRESS) == owed
        assert tree.total() == sum(j.active for j in jurors)
        assert all(j.leaf is None or tree.weight(j.leaf) == j.active for j in jurors)


class StateSlots:
    """The jury contract's storage read straight from a state (no call, no gas)."""

    def __init__(self, state: object) -> None:
        self.state = state

    def load(self, slot: int) -> int:
        return int(self.state.get_storage(JURY_ADDRESS, slot))

    def store(self, slot: int, value: int) -> None:
        raise AssertionError("the check only reads")


def _salt(case_id: int, index: int) -> bytes:
    return keccak(b"fuzz salt %d %d" % (case_id, index))


def _seat_of(driver: Driver, case_id: int, index: int) -> int | None:
    """The actor in seat ``index`` of a drawn case, if any."""
    jurors = driver.view(["address[]"], "jurors(uint256)", case_id)[0] if 1 <= case_id <= driver.cases else []
    if index >= len(jurors):
        return None
    return next(k for k, a in enumerate(ACTORS) if a.address.lower() == jurors[index].lower())


operations = st.lists(st.tuples(
    st.sampled_from(["stake", "unstake", "withdraw", "open", "draw", "commit", "reveal", "finalize", "cancel",
                     "wait", *["progress"] * 8]),
    st.integers(0, len(ACTORS) - 1),                 # actor
    st.sampled_from([0, ETHER // 2, ETHER, 3 * ETHER, ETHER + 1]),  # an amount
    st.integers(0, 4),                               # juror count, or which case (0: none, else a recent one)
    st.integers(0, 4),                               # seat index
    st.booleans(),                                   # vote, or a right/wrong commitment
    st.sampled_from([1, 7, 40, UNBONDING_SECONDS]),  # seconds of block time passing
), min_size=1, max_size=40)


def _run(plan) -> None:
    driver = Driver()
    for actor in range(len(ACTORS) - 1):  # most actors start as jurors, so cases can be drawn
        driver.send(actor, "stake()", value=(actor + 1) * ETHER)
    for kind, actor, amount, number, index, flag, advance in plan:
        case_id = 0 if number == 0 else max(driver.cases - (number - 1) % 2, 0)  # mostly the latest case
        if kind == "stake":
            driver.send(actor, "stake()", value=amount)
        elif kind == "unstake":
            driver.send(actor, "requestUnstake(uint256)", amount)
        elif kind == "withdraw":
            driver.send(actor, "withdraw()")
        elif kind == "open":
            receipt = driver.send(actor, "openCase(uint32,uint256,uint64,uint64)", number, ETHER, advance % 50 + 1,
                                  advance % 50 + 1, value=amount)
            if receipt.status == 1:
                driver.cases += 1
                driver.open_fees[driver.cases] = amount
        elif kind == "draw":
            driver.send(actor, "draw(uint256)", case_id)
        elif kind in ("commit", "reveal"):
            seat = _seat_of(driver, case_id, index)
            sender = seat if seat is not None and actor != 0 else actor  # actor 0: whoever it is
            signature = "commitVote(uint256,uint32,bytes32)" if kind == "commit" else \
                "revealVote(uint256,uint32,bool,bytes32)"
            sealed = commitment_of(case_id, address_of(ACTORS[sender]), flag, _salt(case_id, index))
            args = (sealed,) if kind == "commit" else (flag, _salt(case_id, index))
            driver.send(sender, signature, case_id, index, *args)
        elif kind == "finalize":
            if driver.send(actor, "finalize(uint256)", case_id).status == 1:
                driver.open_fees.pop(case_id)
        elif kind == "cancel":
            if driver.send(actor, "cancelCase(uint256)", case_id).status == 1:
                driver.open_fees.pop(case_id)
        elif kind == "progress":
            _progress(driver, actor, index, flag, advance)
        else:
            driver.time += advance
            driver.chain.execute([], timestamp=driver.time)
        driver.check()


def _progress(driver: Driver, actor: int, index: int, flag: bool, advance: int) -> None:
    """The next step of the latest case: draw it, a juror's commit or reveal, time passing, or finalize."""
    if driver.cases == 0 or driver.cases not in driver.open_fees:
        driver.send(actor, "openCase(uint32,uint256,uint64,uint64)", index % 3 + 1, ETHER, 60, 60, value=ETHER)
        driver.cases += 1
        driver.open_fees[driver.cases] = ETHER
        return
    case_id = driver.cases
    _, _, _, _, commit_ends, reveal_ends = driver.view(["address", "uint8", "uint32", "uint32", "uint64", "uint64"],
                                                       "caseInfo(uint256)", case_id)
    index %= driver.view(["uint32", "uint256", "uint256", "uint64", "uint64", "uint64"], "caseTerms(uint256)",
                         case_id)[0]
    seat = _seat_of(driver, case_id, index)
    if commit_ends == 0:
        driver.send(actor, "draw(uint256)", case_id)
    elif seat is not None and driver.time <= commit_ends and (case_id, index) not in driver.votes:
        driver.votes[(case_id, index)] = flag
        sealed = commitment_of(case_id, address_of(ACTORS[seat]), flag, _salt(case_id, index))
        driver.send(seat, "commitVote(uint256,uint32,bytes32)", case_id, index, sealed)
    elif seat is not None and commit_ends < driver.time <= reveal_ends and (case_id, index) in driver.votes:
        driver.send(seat, "revealVote(uint256,uint32,bool,bytes32)", case_id, index, driver.votes[(case_id, index)],
                    _salt(case_id, index))
    elif driver.time > reveal_ends:
        assert driver.send(actor, "finalize(uint256)", case_id).status == 1
        driver.open_fees.pop(case_id)
    else:  # time passes: to the end of the commit window, or a little
        jump = flag and driver.time <= commit_ends
        driver.time = commit_ends + 1 if jump else driver.time + min(advance, 20)
        driver.chain.execute([], timestamp=driver.time)


@settings(FUZZ, max_examples=15)
@given(plan=operations)
def test_fuzz_jury_sequences(plan) -> None:
    _run(plan)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG, max_examples=int(os.environ.get("CMNODE_FUZZ_EXAMPLES", "2000")))
@given(plan=operations)
def test_fuzz_jury_sequences_long(plan) -> None:
    _run(plan)


@functools.cache
def _prepared() -> Driver:
    """Five staked jurors and a case of three drawn, in its commit window (calls on it change nothing)."""
    driver = Driver()
    for k in range(5):
        driver.send(k, "stake()", value=(k + 1) * ETHER)
    driver.send(5, "openCase(uint32,uint256,uint64,uint64)", 3, ETHER, 60, 60, value=ETHER)
    driver.chain.execute([], timestamp=driver.time)
    assert driver.send(5, "draw(uint256)", 1).status == 1
    return driver


calls = st.tuples(
    st.one_of(st.binary(max_size=200), st.builds(lambda s, rest: s + rest, st.sampled_from(SELECTORS),
                                                  st.binary(max_size=200))),
    st.sampled_from([0, 1, ETHER]),
    st.integers(0, len(ACTORS) - 1),
)


def _call(data: bytes, value: int, actor: int) -> None:
    driver = _prepared()
    outcome = driver.chain.call(CallMessage(sender=address_of(ACTORS[actor]), to=JURY_ADDRESS, data=data, value=value,
                                            gas=2_000_000), timestamp=driver.time)
    assert outcome.success or revert_reason(outcome.output).startswith(PREFIXES) or outcome.error


@settings(FUZZ, max_examples=150)
@given(call=calls)
def test_fuzz_jury_calls(call) -> None:
    _call(*call)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(call=calls)
def test_fuzz_jury_calls_long(call) -> None:
    _call(*call)
