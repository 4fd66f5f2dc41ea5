"""Delegation rules, per-delegator commission, and unbondings paid exactly after their period."""
from __future__ import annotations

from consensus.dpos.params import DposParams
from consensus.dpos.store import StakingStore
from tests.dpos.harness import CMT, address_of, reason_of
from vm.native.addresses import STAKING_ADDRESS
from vm.native.framework import CallContext

DELEGATIONS = "(address,address,uint256,uint256,uint256,uint256)[]"
UNBONDINGS = "(uint256,address,uint256,uint256)[]"
PERIOD = 1_000
DECLARE = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"


def delegations(sc, account) -> list[tuple]:
    return list(sc.call("getDelegations(address)", [DELEGATIONS], [account.address])[0])


def test_delegate_bonds_the_value_at_the_candidates_commission(staking_chain) -> None:
    sc = staking_chain(validators=2)
    owner, user = sc.owners[0], sc.users[0]
    bonded = sc.supply()["bonded"]
    assert sc.send(user, "delegate(address)", [owner.address], value=5_000 * CMT).status == 1
    (row,) = delegations(sc, user)
    assert row[0].lower() == owner.address.lower() and row[2] == 5_000 * CMT and row[3] == 0
    assert sc.supply()["bonded"] >= bonded + 5_000 * CMT


def test_delegate_rules(staking_chain) -> None:
    sc = staking_chain(validators=2, stakes=[1_000_000 * CMT, 1_000_000 * CMT])
    owner, user = sc.owners[0], sc.users[0]
    tx = sc.tx(user, "delegate(address)", [owner.address], value=999 * CMT)
    assert reason_of(sc, tx) == f"Staking: delegation below the minimum of {1_000 * CMT} wei"
    tx = sc.tx(user, "delegate(address)", [user.address], value=1_000 * CMT)
    assert reason_of(sc, tx) == f"Staking: {user.address.lower()} is not a candidate"
    # a genesis validator's max amount is 10x its stake (its stake is its 10% self-stake)
    tx = sc.tx(user, "delegate(address)", [owner.address], value=9_000_000 * CMT)
    assert reason_of(sc, tx).startswith("Staking: candidate accepts at most")
    sc.send(owner, "deactivateCandidacy()")
    tx = sc.tx(user, "delegate(address)", [owner.address], value=1_000 * CMT)
    assert reason_of(sc, tx) == "Staking: candidate is not active"


def test_unbonding_is_paid_exactly_after_its_period(staking_chain) -> None:
    sc = staking_chain(validators=1, params=DposParams(unbonding_period=PERIOD))
    owner, user = sc.owners[0], sc.users[0]
    sc.send(user, "delegate(address)", [owner.address], value=10_000 * CMT)
    receipt = sc.send(user, "withdraw(address,uint256)", [owner.address, 4_000 * CMT])
    assert receipt.status == 1
    withdrawn_at = sc.time
    (entry,) = sc.call("getUnbondings(address)", [UNBONDINGS], [user.address])[0]
    assert entry[2] == 4_000 * CMT and entry[3] == withdrawn_at + PERIOD
    balance = sc.chain.state.get_balance(address_of(user))
    sc.block(dt=PERIOD - 11)  # one second before maturity
    sc.block(dt=10)
    assert sc.time == withdrawn_at + PERIOD - 1
    assert sc.chain.state.get_balance(address_of(user)) == balance
    sc.block(dt=1)  # exactly at maturity
    assert sc.chain.state.get_balance(address_of(user)) == balance + 4_000 * CMT
    assert sc.call("getUnbondings(address)", [UNBONDINGS], [user.address])[0] == ()
    assert sc.supply()["unbonding"] == 0


def test_withdraw_rules_and_the_owners_self_stake(staking_chain) -> None:
    sc = staking_chain(validators=1, params=DposParams(unbonding_period=PERIOD))
    owner, user = sc.owners[0], sc.users[0]
    tx = sc.tx(user, "withdraw(address,uint256)", [owner.address, CMT])
    assert reason_of(sc, tx) == "Staking: no delegation to this candidate"
    owner = sc.users[1]  # a new candidate on a single-validator chain earns no rewards: its stake stays exact
    sc.send(owner, DECLARE, [b"\x66" * 32, 100_000 * CMT, 0, "", "", "", "", ""], value=50_000 * CMT)
    tx = sc.tx(owner, "withdraw(address,uint256)", [owner.address, 40_001 * CMT])
    assert reason_of(sc, tx) == f"Staking: the owner cannot withdraw below its self-stake of {10_000 * CMT} wei"
    assert sc.send(owner, "withdraw(address,uint256)", [owner.address, 40_000 * CMT]).status == 1
    sc.send(user, "delegate(address)", [owner.address], value=2_000 * CMT)
    (row,) = delegations(sc, user)
    tx = sc.tx(user, "withdraw(address,uint256)", [owner.address, row[2] + 1])
    assert reason_of(sc, tx) == f"Staking: amount must be between 1 and {row[2]} wei"


def test_queue_keeps_order_when_the_period_shrinks(staking_chain) -> None:
    sc = staking_chain(validators=1)
    state = sc.chain.executor.open_state(sc.chain.db, sc.chain.root, sc.chain.env())
    store = StakingStore(CallContext.for_system(state, STAKING_ADDRESS, lambda *event: None))
    first = store.enqueue_unbonding(b"\x01" * 20, 0, 5, mature_time=1_000)
    second = store.enqueue_unbonding(b"\x02" * 20, 0, 7, mature_time=500)  # the period was shortened
    assert (first.seq, second.seq) == (0, 1) and second.mature_time == 1_000
    assert store.pop_matured(999) is None
    assert store.pop_matured(1_000) == first and store.pop_matured(1_000) == second


def test_commission_is_set_per_delegator_and_bounded_by_the_candidates_rate(staking_chain) -> None:
    sc = staking_chain(validators=1)
    owner, user = sc.owners[0], sc.users[0]
    candidate = sc.users[1]
    sc.send(candidate, DECLARE, [b"\x55" * 32, 100_000 * CMT, 2_000, "", "", "", "", ""], value=10_000 * CMT)
    sc.send(user, "delegate(address)", [candidate.address], value=5_000 * CMT)
    assert delegations(sc, user)[0][3] == 2_000
    tx = sc.tx(candidate, "setCommissionRate(address,uint256)", [user.address, 2_001])
    assert reason_of(sc, tx) == "Staking: commission must be between 0 and 2000 bp"
    tx = sc.tx(owner, "setCommissionRate(address,uint256)", [user.address, 100])
    assert reason_of(sc, tx) == "Staking: no delegation from this delegator"
    assert sc.send(candidate, "setCommissionRate(address,uint256)", [user.address, 100]).status == 1
    assert delegations(sc, user)[0][3] == 100
