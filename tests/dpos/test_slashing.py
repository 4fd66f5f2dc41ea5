"""Slashing and jailing: double-sign evidence, downtime, re-activation by transaction."""
from __future__ import annotations

from consensus.dpos.params import DposParams
from tests.dpos.harness import CANDIDATE_FIELDS, CMT, MEMBER, reason_of
from vm.native.hooks import Misbehaviour

CANDIDATE = (
    "(address,uint256,bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,"
    "uint256,uint256,address,uint256,uint8,string,string,string,string,string)"
)
DELEGATIONS = "(address,address,uint256,uint256,uint256,uint256)[]"


def candidate(sc, account) -> dict:
    return dict(zip(CANDIDATE_FIELDS, sc.call("getCandidate(address)", [CANDIDATE], [account.address])[0]))


def keys_of(sc) -> list[bytes]:
    return [v[1] for v in sc.call("getValidators()", [f"{MEMBER}[]"])[0]]


def test_double_sign_slashes_offender_and_delegators_and_jails(staking_chain) -> None:
    sc = staking_chain(validators=3, params=DposParams(slash_ratio_bp=500))
    offender, delegator = sc.owners[1], sc.users[0]
    sc.send(delegator, "delegate(address)", [offender.address], value=100_000 * CMT)
    before = candidate(sc, offender)
    stake = before["stake"] + before["pending_reward"]  # the pending reward is settled before the cut
    rows = sc.call("getCandidateDelegations(address)", [DELEGATIONS], [offender.address])[0]
    reserve = sc.supply()["reserve"]
    key = sc.keys[1].public_key
    evidence = (Misbehaviour(key, sc.chain.number), Misbehaviour(key, sc.chain.number))  # twice: punished once
    result = sc.block(misbehaviour=evidence)
    after = candidate(sc, offender)
    assert after["jailed"] and not after["active"]
    slashed = {row[1].lower(): row[5] for row in
               sc.call("getCandidateDelegations(address)", [DELEGATIONS], [offender.address])[0]}
    cut = sc.supply()["reserve"] - reserve
    assert cut == sum(slashed.values())
    assert stake * 500 // 10_000 - len(rows) <= cut <= stake * 500 // 10_000  # each delegation's cut rounds down
    assert after["stake"] == stake - cut
    assert slashed[delegator.address.lower()] >= 100_000 * CMT * 500 // 10_000
    assert [(u.pub_key, u.power) for u in result.validator_updates if u.power == 0] == [(key, 0)]
    assert key not in keys_of(sc)
    sc.block(misbehaviour=(Misbehaviour(key, sc.chain.number - 3),))  # older evidence arriving later
    assert sc.supply()["reserve"] - reserve == cut


def test_downtime_jails_at_max_slash_blocks_without_slashing_unless_enabled(staking_chain) -> None:
    for enabled in (False, True):
        sc = staking_chain(validators=3, params=DposParams(max_slash_blocks=3, slash_enabled=enabled))
        lazy, key = sc.owners[2], sc.keys[2].public_key
        others = [k.public_key for k in sc.keys[:2]]
        reserve = sc.supply()["reserve"]
        sc.block(signed=others, absent=[key])
        sc.block(signed=others + [key])  # signing resets the count
        sc.block(signed=others, absent=[key])
        sc.block(signed=others, absent=[key])
        absent = sc.call("getAbsentValidators()", ["(address,bytes32,uint256)[]"])[0]
        assert [(row[1], row[2]) for row in absent] == [(key, 2)]
        result = sc.block(signed=others, absent=[key])
        assert candidate(sc, lazy)["jailed"]
        assert {u.pub_key: u.power for u in result.validator_updates}[key] == 0
        assert (sc.supply()["reserve"] > reserve) == enabled


def test_jailed_candidate_reactivates_by_transaction_and_returns_at_the_next_election(staking_chain) -> None:
    sc = staking_chain(validators=3, params=DposParams(max_slash_blocks=1, election_interval=10))
    lazy, key = sc.owners[2], sc.keys[2].public_key
    others = [k.public_key for k in sc.keys[:2]]
    sc.block(signed=others, absent=[key])
    assert candidate(sc, lazy)["jailed"]
    tx = sc.tx(sc.users[0], "delegate(address)", [lazy.address], value=1_000 * CMT)
    assert reason_of(sc, tx) == "Staking: candidate is not active"
    assert sc.send(lazy, "activateCandidacy()").status == 1
    assert not candidate(sc, lazy)["jailed"] and candidate(sc, lazy)["active"]
    while sc.chain.number % 10:
        sc.block()
    assert key in keys_of(sc)


def test_a_double_sign_also_cuts_stake_that_started_unbonding_after_it(staking_chain) -> None:
    sc = staking_chain(validators=3, params=DposParams(slash_ratio_bp=1_000))
    offender, early, late = sc.owners[1], sc.users[0], sc.users[1]
    for user in (early, late):
        sc.send(user, "delegate(address)", [offender.address], value=50_000 * CMT)
    sc.send(early, "withdraw(address,uint256)", [offender.address, 20_000 * CMT])  # before the misbehaviour
    infraction = sc.chain.number + 1
    sc.block()  # the double sign happens at this height
    sc.send(late, "withdraw(address,uint256)", [offender.address, 30_000 * CMT])  # trying to run from it
    unbonding_before = sc.supply()["unbonding"]
    reserve_before = sc.supply()["reserve"]

    sc.block(misbehaviour=(Misbehaviour(sc.keys[1].public_key, infraction),))

    def unbonding_of(user) -> list[int]:
        return [row[2] for row in sc.call("getUnbondings(address)", ["(uint256,address,uint256,uint256)[]"],
                                          [user.address])[0]]

    assert unbonding_of(early) == [20_000 * CMT]  # queued before the double sign: untouched
    assert unbonding_of(late) == [27_000 * CMT]  # 10% of what left after it
    assert sc.supply()["unbonding"] == unbonding_before - 3_000 * CMT
    assert sc.supply()["reserve"] - reserve_before >= 3_000 * CMT  # the bonded cut goes there too
