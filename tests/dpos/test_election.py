"""Election: ranking, ties, the size threshold, backups, updates to consensus, and a set changing by stake."""
from __future__ import annotations

from consensus.dpos.election import elect, validator_updates
from consensus.dpos.params import DposParams
from consensus.dpos.records import Candidate
from consensus.dpos.voting_power import consensus_powers, size_cap
from tests.dpos.harness import CMT, MEMBER
from vm.native.hooks import ValidatorUpdate


def cand(cid: int, stake: int, key: int, **flags) -> Candidate:
    return Candidate(cid, bytes([cid]) * 20, bytes([key]) * 32, 10**30, 0, 0, stake=stake, **flags)


def test_ranking_by_power_then_stake_then_key_and_backups_follow() -> None:
    candidates = [
        cand(0, 500 * CMT, 9),
        cand(1, 700 * CMT + 5, 8),
        cand(2, 700 * CMT + 9, 7),  # same whole CMT as 1, more wei: ranks first
        cand(3, 500 * CMT, 3),  # tie with 0 in every way but the key: smaller key first
        cand(4, 900 * CMT, 1, active=False),
        cand(5, 999 * CMT, 2, jailed=True),
        cand(6, CMT - 1, 4),  # under 1 CMT: no power
    ]
    members = elect(candidates, max_validators=3, backup_validators=2, threshold_bp=10_000)
    assert [(m.candidate_id, m.is_backup) for m in members] == [(2, False), (1, False), (3, False), (0, True)]
    assert [m.power for m in members] == [700, 700, 500, 500]


def test_size_threshold_caps_any_candidate_share() -> None:
    candidates = [cand(0, 8_000 * CMT, 1), cand(1, 1_000 * CMT, 2), cand(2, 1_000 * CMT, 3)]
    members = elect(candidates, max_validators=3, backup_validators=0, threshold_bp=5_000)
    assert [m.power for m in members] == [5_000, 1_000, 1_000]  # cap = 10,000 x 50%
    assert size_cap(10_000, 1_200) == 1_200 and size_cap(3, 1_200) == 1  # never 0
    assert consensus_powers([8_000 * CMT, 1_000 * CMT, 1_000 * CMT], 5_000) == (5_000, 1_000, 1_000)


def test_updates_remove_before_they_add_and_skip_unchanged() -> None:
    a, b, c = cand(0, 100 * CMT, 1), cand(1, 90 * CMT, 2), cand(2, 80 * CMT, 3)
    old = elect([a, b, c], 2, 1, 10_000)
    new = elect([a, cand(1, 70 * CMT, 2), c], 2, 1, 10_000)
    assert validator_updates(old, new) == [
        ValidatorUpdate(b.pub_key, 0, b.owner),
        ValidatorUpdate(c.pub_key, 80, c.owner),
    ]
    assert validator_updates(new, new) == []


def test_a_new_candidate_is_elected_by_stake_and_the_weakest_validator_voted_out(staking_chain) -> None:
    params = DposParams(max_validators=3, backup_validators=1, election_interval=5)
    sc = staking_chain(validators=3, params=params,
                       stakes=[3_000_000 * CMT, 2_000_000 * CMT, 1_000_000 * CMT])
    newcomer, supporter = sc.users[0], sc.users[1]
    declare = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"
    key = b"\x99" * 32
    sc.send(newcomer, declare, [key, 5_000_000 * CMT, 1_000, "New", "", "", "", ""], value=500_000 * CMT)
    sc.send(supporter, "delegate(address)", [newcomer.address], value=2_000_000 * CMT)
    updates = []
    while sc.chain.number % 5:
        updates.extend(sc.block().validator_updates)
    powers = {u.pub_key: u.power for u in updates}
    assert powers[sc.keys[2].public_key] == 0
    assert powers[key] > 0
    validators = sc.call("getValidators()", [f"{MEMBER}[]"])[0]
    backups = sc.call("getBackups()", [f"{MEMBER}[]"])[0]
    assert [v[1] for v in validators] == [sc.keys[0].public_key, key, sc.keys[1].public_key]
    assert [b[1] for b in backups] == [sc.keys[2].public_key]


def test_genesis_powers_equal_what_election_computes(staking_chain) -> None:
    stakes = [3_000_000 * CMT, 2_000_000 * CMT, 1_000_000 * CMT + 7]
    sc = staking_chain(validators=3, stakes=stakes)
    validators = sc.call("getValidators()", [f"{MEMBER}[]"])[0]
    assert tuple(v[2] for v in validators) == consensus_powers(stakes, DposParams().validator_size_threshold_bp)


def test_an_election_without_eligible_candidates_keeps_the_set(staking_chain) -> None:
    sc = staking_chain(validators=1)
    result = sc.block([sc.tx(sc.owners[0], "deactivateCandidacy()")])
    assert result.validator_updates == ()
    assert [v[1] for v in sc.call("getValidators()", [f"{MEMBER}[]"])[0]] == [sc.keys[0].public_key]
