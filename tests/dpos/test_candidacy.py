"""Candidacy rules through signed transactions: declare, update, verify, (de)activate, hand over, withdraw."""
from __future__ import annotations

from eth_account import Account

from consensus.dpos.params import DposParams
from consensus.keys import ValidatorKey
from tests.dpos.harness import CANDIDATE_FIELDS, CMT, address_of, reason_of

DECLARE = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"
UPDATE = "updateCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"
CANDIDATE = "getCandidate(address)"
CANDIDATE_TYPE = (
    "(address,uint256,bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,"
    "uint256,uint256,address,uint256,uint8,string,string,string,string,string)"
)
NEW_KEY = ValidatorKey(seed=b"\x77" * 32).public_key
DESCRIPTION = ["Shop", "https://shop.example", "Tokyo", "ops@shop.example", "we sell things"]
FOUNDATION = b"\xf0" * 20


def candidate(sc, account) -> dict:
    values = sc.call(CANDIDATE, [CANDIDATE_TYPE], [account.address])[0]
    return dict(zip(CANDIDATE_FIELDS, values))


def declare(sc, account, *, key=NEW_KEY, max_amount=100_000 * CMT, commission=1_000, value=10_000 * CMT):
    return sc.send(account, DECLARE, [key, max_amount, commission, *DESCRIPTION], value=value)


def test_declare_bonds_the_self_stake_and_records_the_description(staking_chain) -> None:
    sc = staking_chain(validators=2)
    user = sc.users[0]
    before = sc.chain.state.get_balance(address_of(user))
    receipt = declare(sc, user, value=12_000 * CMT)
    assert receipt.status == 1
    info = candidate(sc, user)
    assert info["pub_key"] == NEW_KEY and info["stake"] == 12_000 * CMT
    assert info["self_stake"] == 10_000 * CMT  # 100,000 CMT x 10%
    assert (info["name"], info["website"], info["profile"]) == ("Shop", "https://shop.example", "we sell things")
    assert info["active"] and not info["verified"] and info["state"] == 0
    assert before - sc.chain.state.get_balance(address_of(user)) >= 12_000 * CMT
    assert sc.call("candidateCount()", ["uint256"])[0] == 3


def test_declare_rejects_short_self_stake_used_keys_bad_commission_and_repeats(staking_chain) -> None:
    sc = staking_chain(validators=2)
    user, other = sc.users[0], sc.users[1]
    failures = {
        "Staking: send between": {"value": 9_999 * CMT},
        "Staking: consensus key already used": {"key": sc.keys[0].public_key},
        "Staking: commission must be between 0 and 5000 bp": {"commission": 5_001},
        "Staking: self-stake": {"max_amount": 9_000 * CMT, "value": 900 * CMT},  # below min_staking_amount
        "Staking: consensus key must be 32 nonzero bytes": {"key": b"\x00" * 32},
    }
    for expected, options in failures.items():
        args = {"key": NEW_KEY, "max_amount": 100_000 * CMT, "commission": 1_000, "value": 10_000 * CMT} | options
        tx = sc.tx(user, DECLARE, [args["key"], args["max_amount"], args["commission"], *DESCRIPTION],
                   value=args["value"])
        assert reason_of(sc, tx).startswith(expected), expected
    assert declare(sc, user).status == 1
    tx = sc.tx(user, DECLARE, [b"\x09" * 32, 100_000 * CMT, 0, *DESCRIPTION], value=10_000 * CMT)
    assert reason_of(sc, tx) == "Staking: this account already has a candidacy"
    tx = sc.tx(other, DECLARE, [NEW_KEY, 100_000 * CMT, 0, *DESCRIPTION], value=10_000 * CMT)
    assert reason_of(sc, tx) == "Staking: consensus key already used by another candidate"


def test_update_swaps_the_key_at_the_next_election_and_description_change_clears_verification(staking_chain) -> None:
    params = DposParams(election_interval=5, foundation_address=FOUNDATION)
    sc = staking_chain(validators=2, params=params)
    owner = sc.owners[0]
    old_key = sc.keys[0].public_key
    assert candidate(sc, owner)["verified"]  # genesis validators are verified
    receipt = sc.send(owner, UPDATE, [NEW_KEY, 2_000_000 * CMT, 500, *DESCRIPTION])
    assert receipt.status == 1
    info = candidate(sc, owner)
    assert info["pending_pub_key"] == NEW_KEY and info["pub_key"] == old_key and not info["verified"]
    updates = []
    while sc.chain.number % 5:
        updates.extend(sc.block().validator_updates)
    by_key = {u.pub_key: u.power for u in updates}
    assert by_key[old_key] == 0 and by_key[NEW_KEY] > 0
    assert candidate(sc, owner)["pub_key"] == NEW_KEY


def test_update_may_not_leave_the_owner_below_its_new_self_stake(staking_chain) -> None:
    sc = staking_chain(validators=1)
    owner = sc.owners[0]
    # 1,000,000 CMT bonded; max 20,000,000 CMT needs 2,000,000 CMT of self-stake
    tx = sc.tx(owner, UPDATE, [b"\x00" * 32, 20_000_000 * CMT, 0, *DESCRIPTION])
    assert reason_of(sc, tx).startswith("Staking: the owner's stake")
    before = candidate(sc, owner)
    assert sc.send(owner, UPDATE, [b"\x00" * 32, 20_000_000 * CMT, 0, *DESCRIPTION],
                   value=1_000_000 * CMT).status == 1
    after = candidate(sc, owner)
    (award,) = sc.call("getAwardInfos()", ["(address,uint256)[]"])[0]
    assert after["self_stake"] == 2_000_000 * CMT
    assert after["stake"] + after["pending_reward"] == (
        before["stake"] + before["pending_reward"] + 1_000_000 * CMT + award[1]
    )


def test_only_the_foundation_verifies(staking_chain) -> None:
    foundation = Account.from_key(bytes([0x90]) * 32)
    sc = staking_chain(validators=1, params=DposParams(foundation_address=address_of(foundation)))
    user = sc.users[0]
    declare(sc, user)
    tx = sc.tx(user, "verifyCandidacy(address,bool)", [user.address, True])
    assert reason_of(sc, tx) == "Staking: only the foundation verifies candidacies"
    fund = sc.sign_tx(sc.users[1], nonce=0, to=address_of(foundation), value=CMT)
    sc.block([fund])
    assert sc.send(foundation, "verifyCandidacy(address,bool)", [user.address, True]).status == 1
    assert candidate(sc, user)["verified"]


def test_deactivate_leaves_the_set_at_the_block_end_and_activate_returns_at_the_next_election(staking_chain) -> None:
    sc = staking_chain(validators=3, params=DposParams(election_interval=10))
    owner = sc.owners[1]
    result = sc.block([sc.tx(owner, "deactivateCandidacy()")])
    powers = {u.pub_key: u.power for u in result.validator_updates}
    assert powers[sc.keys[1].public_key] == 0  # the others' powers change too: the size cap follows the total
    assert all(powers[k.public_key] > 0 for k in (sc.keys[0], sc.keys[2]))
    assert not candidate(sc, owner)["active"]
    tx = sc.tx(owner, "deactivateCandidacy()")
    assert reason_of(sc, tx) == "Staking: candidacy is already inactive"
    assert sc.send(owner, "activateCandidacy()").status == 1
    updates = []
    while sc.chain.number % 10:
        updates.extend(sc.block().validator_updates)
    assert {u.pub_key: u.power for u in updates}[sc.keys[1].public_key] > 0
    assert sc.chain.number == 10


def test_ownership_moves_in_two_steps_with_the_self_stake(staking_chain) -> None:
    sc = staking_chain(validators=1)
    owner, heir, stranger = sc.owners[0], sc.users[0], sc.users[1]
    assert sc.send(owner, "transferCandidacy(address)", [heir.address]).status == 1
    tx = sc.tx(stranger, "acceptCandidacy(address)", [owner.address])
    assert reason_of(sc, tx) == "Staking: this account was not named the candidacy's new owner"
    assert sc.send(heir, "acceptCandidacy(address)", [owner.address]).status == 1
    info = candidate(sc, heir)
    assert info["owner"].lower() == heir.address.lower() and info["pending_owner"] == "0x" + "00" * 20
    delegations = sc.call("getDelegations(address)", ["(address,address,uint256,uint256,uint256,uint256)[]"],
                          [heir.address])[0]
    assert [d[2] for d in delegations] == [info["stake"]]
    assert sc.call("getDelegations(address)", ["(address,address,uint256,uint256,uint256,uint256)[]"],
                   [owner.address])[0] == ()
    validators = sc.call("getValidators()", ["(address,bytes32,uint256)[]"])[0]
    assert validators[0][0].lower() == heir.address.lower()


def test_withdraw_candidacy_unbonds_every_delegation(staking_chain) -> None:
    sc = staking_chain(validators=2, params=DposParams(unbonding_period=100))
    user, delegator = sc.users[0], sc.users[1]
    declare(sc, user)
    assert sc.send(delegator, "delegate(address)", [user.address], value=5_000 * CMT).status == 1
    assert sc.send(user, "withdrawCandidacy()").status == 1
    assert sc.call("candidateCount()", ["uint256"])[0] == 2
    pending = sc.call("getUnbondings(address)", ["(uint256,address,uint256,uint256)[]"], [delegator.address])[0]
    assert [p[2] for p in pending] == [5_000 * CMT]
    assert sc.supply()["unbonding"] >= 15_000 * CMT
    assert not sc.call_raw(CANDIDATE, [user.address], ["address"]).success
