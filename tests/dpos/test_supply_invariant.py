"""The supply invariant over random sequences of staking operations, fees, evidence and time jumps.

At every block: the sum of all balances (walking the state trie) equals
genesis + minted - burned, and the staking contract holds exactly bonded +
unbonding + rewards (checked by the harness after each block).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.dpos.params import DposParams
from tests.dpos.harness import CMT, address_of, make_staking_chain
from vm.native.hooks import Misbehaviour

DECLARE = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"
PARAMS = DposParams(election_interval=3, unbonding_period=50, max_slash_blocks=2, slash_enabled=True,
                    max_validators=3, backup_validators=1, slash_ratio_bp=1_000)

operation = st.one_of(
    st.tuples(st.just("delegate"), st.integers(0, 3), st.integers(0, 4), st.integers(1, 50_000)),
    st.tuples(st.just("withdraw"), st.integers(0, 3), st.integers(0, 4), st.integers(1, 60_000)),
    st.tuples(st.just("declare"), st.integers(0, 3), st.integers(0, 4), st.integers(10_000, 40_000)),
    st.tuples(st.just("quit"), st.integers(0, 3), st.integers(0, 4), st.just(0)),
    st.tuples(st.just("pay"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 1_000)),
    st.tuples(st.just("absent"), st.integers(0, 2), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("double_sign"), st.integers(0, 2), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("jump"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 400)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=14))
def test_supply_invariant_holds_at_every_block(sign_tx, ops: list[tuple[str, int, int, int]]) -> None:
    sc = make_staking_chain(sign_tx, validators=3, users=4, params=PARAMS)
    sc.check_supply()
    owners = sc.owners + sc.users  # candidate owners by index 0..4 (users may declare)
    for kind, who, target, amount in ops:
        user, candidate = sc.users[who], owners[target]
        signed = [k.public_key for k in sc.keys]
        if kind == "delegate":
            sc.block([sc.tx(user, "delegate(address)", [candidate.address], value=amount * CMT)])
        elif kind == "withdraw":
            sc.block([sc.tx(user, "withdraw(address,uint256)", [candidate.address, amount * CMT])])
        elif kind == "declare":
            key = bytes([0xA0 + who]) * 32
            sc.block([sc.tx(user, DECLARE, [key, amount * 10 * CMT, 500, "", "", "", "", ""], value=amount * CMT)])
        elif kind == "quit":
            sc.block([sc.tx(user, "withdrawCandidacy()")])
        elif kind == "pay":
            sc.block([sc.sign_tx(user, nonce=sc.chain.state.get_nonce(address_of(user)),
                                 to=address_of(sc.users[target]), value=amount * CMT)])
        elif kind == "absent":
            key = sc.keys[who].public_key
            sc.block(signed=[k for k in signed if k != key], absent=[key])
        elif kind == "double_sign":
            sc.block(misbehaviour=[Misbehaviour(sc.keys[who].public_key, sc.chain.number)])
        else:
            sc.block(dt=amount)
    assert sc.checked_blocks == len(ops) + 1
