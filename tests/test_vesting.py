"""Tests of the genesis vesting lock-ups: the schedule rule, and the native contract on the local network's genesis."""
from __future__ import annotations

import eth_abi
import pytest
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given
from hypothesis import strategies as st

from cybermiles_node.natives import genesis_accounts
from vm.execution import CallMessage
from vm.native.addresses import VESTING_ADDRESS
from vm.native.framework import ERROR_SELECTOR
from vm.native.vesting import COUNT_SLOT, Schedule, VestingContract, genesis_storage

CMT = 10**18
BENEFICIARY = bytes.fromhex("be" * 20)


# -- the schedule rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "vested"),
    [
        (0, 0),
        (99, 0),  # before the start
        (100, 0),  # at the start: nothing before the first full period
        (109, 0),  # one second before the first quarter
        (110, 100),  # each quarter releases 10%
        (119, 100),
        (120, 200),
        (150, 500),
        (199, 900),
        (200, 1_000),  # after the 10th quarter: everything
        (10**12, 1_000),
    ],
)
def test_vested_amount_at_boundaries(timestamp: int, vested: int) -> None:
    schedule = Schedule(BENEFICIARY, total=1_000, start=100, period=10, periods=10)
    assert schedule.vested(timestamp) == vested


def test_uneven_totals_round_down_until_the_last_period_pays_the_rest() -> None:
    schedule = Schedule(BENEFICIARY, total=1_001, start=0, period=1, periods=10)
    assert [schedule.vested(t) for t in (1, 2, 9, 10)] == [100, 200, 900, 1_001]


def test_releasable_subtracts_what_was_released() -> None:
    schedule = Schedule(BENEFICIARY, total=1_000, start=0, period=10, periods=10, released=300)
    assert schedule.releasable(35) == 0
    assert schedule.releasable(40) == 100


@given(
    total=st.integers(0, 10**30),
    start=st.integers(0, 10**10),
    period=st.integers(1, 10**8),
    periods=st.integers(1, 100),
    times=st.lists(st.integers(0, 2 * 10**10), min_size=2, max_size=6),
)
def test_vesting_is_monotone_bounded_and_complete(total: int, start: int, period: int, periods: int, times: list[int]) -> None:
    schedule = Schedule(BENEFICIARY, total, start, period, periods)
    amounts = [schedule.vested(t) for t in sorted(times)]
    assert all(0 <= amount <= total for amount in amounts)
    assert amounts == sorted(amounts)
    assert schedule.vested(start + period * periods) == total
    assert schedule.vested(start + period * periods - 1) < total or total == 0


def test_genesis_storage_holds_count_and_fields() -> None:
    storage = genesis_storage([Schedule(BENEFICIARY, 5, 6, 7, 8), Schedule(b"\x01" * 20, 9, 10, 11, 12)])
    assert storage[COUNT_SLOT] == 2
    assert len(storage) == 1 + 2 * 6
    assert sorted(v for k, v in storage.items() if k != COUNT_SLOT) == sorted(
        [int.from_bytes(BENEFICIARY, "big"), 5, 6, 7, 8, 0, int.from_bytes(b"\x01" * 20, "big"), 9, 10, 11, 12, 0]
    )


# -- the contract on the local network's genesis ---------------------------------------------


def abi_call(signature: str, types: list[str] = (), values: list = ()) -> bytes:
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(list(types), list(values))


class Vesting:
    """The vesting contract of a chain started from the local genesis, driven by transactions and calls."""

    def __init__(self, chain, sign_tx, payer) -> None:
        self.chain, self.sign_tx, self.payer = chain, sign_tx, payer
        self.nonce = 0

    def view(self, signature: str, types: list[str], values: list, returns: list[str], timestamp: int) -> tuple:
        outcome = self.chain.call(
            CallMessage(sender=bytes(20), to=VESTING_ADDRESS, data=abi_call(signature, types, values)), timestamp=timestamp
        )
        assert outcome.success, outcome
        return eth_abi.decode(returns, outcome.output)

    def revert_reason(self, signature: str, types: list[str], values: list, timestamp: int) -> str:
        outcome = self.chain.call(
            CallMessage(sender=bytes(20), to=VESTING_ADDRESS, data=abi_call(signature, types, values)), timestamp=timestamp
        )
        assert not outcome.success and outcome.output[:4] == ERROR_SELECTOR
        return eth_abi.decode(["string"], outcome.output[4:])[0]

    def release(self, schedule_id: int, timestamp: int):
        """Send release(id) from the payer in a block at ``timestamp``; return the receipt."""
        tx = self.sign_tx(self.payer, nonce=self.nonce, to=VESTING_ADDRESS,
                          data=abi_call("release(uint256)", ["uint256"], [schedule_id]), gas=200_000)
        self.nonce += 1
        return self.chain.execute([tx], strict=True, timestamp=timestamp).receipts[0]

    def balance(self, address: bytes) -> int:
        return self.chain.state.get_balance(address)


@pytest.fixture
def vesting(memory_chain, genesis, dev_keys, sign_tx) -> Vesting:
    chain = memory_chain(genesis_accounts(genesis), natives=[VestingContract()])
    return Vesting(chain, sign_tx, dev_keys[3])


def test_genesis_locks_both_allocations_in_the_contract(vesting, genesis) -> None:
    assert [v.amount for v in genesis.vesting] == [100_000_000 * CMT, 100_000_000 * CMT]
    assert vesting.balance(VESTING_ADDRESS) == 200_000_000 * CMT
    assert vesting.view("scheduleCount()", [], [], ["uint256"], genesis.genesis_time) == (2,)
    for schedule_id, schedule in enumerate(genesis.vesting):
        fields = vesting.view(
            "getSchedule(uint256)", ["uint256"], [schedule_id],
            ["address", "uint256", "uint256", "uint256", "uint256", "uint256"], genesis.genesis_time,
        )
        assert (bytes.fromhex(fields[0][2:]), *fields[1:]) == (
            schedule.beneficiary, schedule.amount, schedule.start_time, schedule.period_seconds, schedule.periods, 0
        )
    assert vesting.revert_reason("getSchedule(uint256)", ["uint256"], [2], genesis.genesis_time) == "Vesting: unknown schedule"


def test_vested_and_locked_amounts_by_quarter(vesting, genesis) -> None:
    team = genesis.vesting[0]
    quarter = team.period_seconds
    for k in range(12):
        t = team.start_time + k * quarter
        expected = team.amount * min(k, 10) // 10
        just_before = team.amount * min(max(k - 1, 0), 10) // 10
        assert vesting.view("vestedAmount(uint256)", ["uint256"], [0], ["uint256"], t - 1) == (just_before,)
        assert vesting.view("vestedAmount(uint256)", ["uint256"], [0], ["uint256"], t) == (expected,)
        assert vesting.view("releasableAmount(uint256)", ["uint256"], [0], ["uint256"], t) == (expected,)
        assert vesting.view("lockedOf(address)", ["address"], [team.beneficiary], ["uint256"], t) == (team.amount - expected,)
    assert vesting.view("lockedOf(address)", ["address"], [bytes.fromhex("99" * 20)], ["uint256"], team.start_time) == (0,)


def test_release_pays_the_beneficiary_exactly_what_is_due(vesting, genesis) -> None:
    team = genesis.vesting[0]
    first_quarter = team.start_time + team.period_seconds
    assert vesting.revert_reason("release(uint256)", ["uint256"], [0], first_quarter - 1) == "Vesting: nothing to release"
    before = vesting.balance(team.beneficiary)
    receipt = vesting.release(0, first_quarter)
    assert receipt.status == 1
    assert vesting.balance(team.beneficiary) - before == team.amount // 10
    (event,) = receipt.logs
    assert event.topics == (keccak(b"Released(uint256,address,uint256)"), bytes(32), team.beneficiary.rjust(32, b"\x00"))
    assert eth_abi.decode(["uint256"], event.data) == (team.amount // 10,)

    # a second release in the same quarter has nothing to pay
    assert vesting.revert_reason("release(uint256)", ["uint256"], [0], first_quarter + 100) == "Vesting: nothing to release"
    second = vesting.release(0, first_quarter + 100)
    assert second.status == 0 and second.logs == ()
    assert vesting.balance(team.beneficiary) - before == team.amount // 10


def test_supply_is_conserved_through_releases(vesting, genesis) -> None:
    team, fivemiles = genesis.vesting
    start, quarter = team.start_time, team.period_seconds
    beneficiaries = (team.beneficiary, fivemiles.beneficiary)
    initial = {address: vesting.balance(address) for address in beneficiaries}

    def unreleased() -> int:
        return sum(
            vesting.view("getSchedule(uint256)", ["uint256"], [i], ["address"] + ["uint256"] * 5, start)[1]
            - vesting.view("getSchedule(uint256)", ["uint256"], [i], ["address"] + ["uint256"] * 5, start)[5]
            for i in range(2)
        )

    assert vesting.release(0, start + quarter).status == 1
    assert vesting.release(1, start + 4 * quarter).status == 1  # three quarters skipped: paid at once
    assert vesting.balance(fivemiles.beneficiary) - initial[fivemiles.beneficiary] == fivemiles.amount * 4 // 10
    assert vesting.balance(VESTING_ADDRESS) == unreleased() == 200_000_000 * CMT - 5 * 10_000_000 * CMT

    assert vesting.release(0, start + 4 * quarter).status == 1
    locked = sum(vesting.view("lockedOf(address)", ["address"], [b], ["uint256"], start + 4 * quarter)[0] for b in beneficiaries)
    assert vesting.balance(VESTING_ADDRESS) == unreleased() == locked  # everything vested has been paid

    for schedule_id in range(2):
        assert vesting.release(schedule_id, start + 25 * quarter).status == 1
    assert vesting.balance(VESTING_ADDRESS) == 0
    for schedule, address in zip((team, fivemiles), beneficiaries):
        assert vesting.balance(address) - initial[address] == schedule.amount
    assert vesting.release(0, start + 30 * quarter).status == 0
