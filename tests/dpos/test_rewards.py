"""Reward splitting: no wei created or lost, groups, voting power, commission, compounding into stake."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.dpos.params import DposParams
from consensus.dpos.records import Delegation
from consensus.dpos.rewards import (
    split_block_reward,
    split_by_weight,
    split_candidate_reward,
)
from consensus.dpos.store import Member
from tests.dpos.harness import CANDIDATE_FIELDS, CMT, MEMBER

CANDIDATE = (
    "(address,uint256,bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,"
    "uint256,uint256,address,uint256,uint8,string,string,string,string,string)"
)
DELEGATIONS = "(address,address,uint256,uint256,uint256,uint256)[]"
amounts = st.integers(min_value=0, max_value=10**30)


@given(amounts, st.lists(st.integers(min_value=1, max_value=10**24), min_size=1, max_size=30))
def test_split_by_weight_conserves_and_is_proportional(amount: int, weights: list[int]) -> None:
    parts = split_by_weight(amount, list(enumerate(weights)))
    assert sum(part for _, part in parts) == amount
    total = sum(weights)
    for (_, part), weight in zip(parts, weights):
        assert part >= amount * weight // total and part <= amount * weight // total + len(weights)


members = st.lists(st.integers(min_value=0, max_value=10**9), max_size=8)


@given(amounts, members, members, st.integers(min_value=0, max_value=100))
def test_block_reward_split_conserves_every_wei(amount: int, signer_powers: list[int], backup_powers: list[int],
                                                ratio: int) -> None:
    signers = [Member(i, b"", b"", p, False) for i, p in enumerate(signer_powers)]
    backups = [Member(100 + i, b"", b"", p, True) for i, p in enumerate(backup_powers)]
    shares = split_block_reward(amount, signers, backups, ratio)
    if not any(signer_powers):
        assert shares == []
        return
    assert sum(share for _, share in shares) == amount
    if any(backup_powers):
        assert sum(share for cid, share in shares if cid < 100) == amount * ratio // 100


@settings(max_examples=200)
@given(amounts, st.lists(st.tuples(st.integers(1, 10**26), st.integers(0, 10_000)), min_size=1, max_size=20))
def test_candidate_reward_split_conserves_and_charges_commission(reward: int, rows: list[tuple[int, int]]) -> None:
    owner = b"\x00" * 20
    delegations = [Delegation(0, owner if i == 0 else i.to_bytes(20, "big"), amount, rate)
                   for i, (amount, rate) in enumerate(rows)]
    stake = sum(d.amount for d in delegations)
    credits = split_candidate_reward(reward, owner, stake, delegations)
    assert sum(amount for _, amount in credits) == reward
    for delegation, (who, credit) in zip(delegations[1:], credits):
        gross = reward * delegation.amount // stake
        assert who == delegation.delegator
        assert credit == gross - gross * delegation.commission_bp // 10_000


def candidate(sc, account) -> dict:
    return dict(zip(CANDIDATE_FIELDS, sc.call("getCandidate(address)", [CANDIDATE], [account.address])[0]))


def test_signers_share_ninety_percent_by_power_and_backups_ten(staking_chain) -> None:
    params = DposParams(max_validators=2, backup_validators=1)
    sc = staking_chain(validators=3, params=params, stakes=[2_000_000 * CMT, 1_000_000 * CMT, 500_000 * CMT])
    validators = sc.call("getValidators()", [f"{MEMBER}[]"])[0]
    sc.block(signed=[validators[0][1]])  # only the first validator signed the previous block
    awards = dict(sc.call("getAwardInfos()", ["(address,uint256)[]"])[0])
    first, _, backup = (o.address.lower() for o in sc.owners)
    assert set(awards) == {first, backup}
    total = awards[first] + awards[backup]
    assert awards[first] == total * 90 // 100


def test_rewards_compound_into_delegations_net_of_commission(staking_chain) -> None:
    sc = staking_chain(validators=1, params=DposParams(election_interval=3))
    owner, user = sc.owners[0], sc.users[0]
    sc.send(owner, "updateCandidacy(bytes32,uint256,uint256,string,string,string,string,string)",
            [b"\x00" * 32, 10_000_000 * CMT, 2_000, "", "", "", "", ""])
    sc.send(user, "delegate(address)", [owner.address], value=1_000_000 * CMT)  # block 2: settles, then bonds
    before = candidate(sc, owner)
    assert before["pending_reward"] > 0
    own, theirs = before["stake"] - 1_000_000 * CMT, 1_000_000 * CMT
    pending = before["pending_reward"]
    sc.block()  # block 3: its award is credited, then the election settles everything pending
    ((_, block_award),) = sc.call("getAwardInfos()", ["(address,uint256)[]"])[0]
    pending += block_award
    rows = {row[1].lower(): row for row in sc.call("getDelegations(address)", [DELEGATIONS], [user.address])[0]}
    gross = pending * theirs // (own + theirs)
    assert rows[user.address.lower()][4] == gross - gross * 2_000 // 10_000
    after = candidate(sc, owner)
    assert after["stake"] == before["stake"] + pending and after["pending_reward"] == 0
