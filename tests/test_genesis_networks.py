"""The white paper's CMT distribution and the built-in local network with its dev accounts."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from consensus.dpos.voting_power import consensus_powers
from genesis import (
    CMT,
    GENESIS_SUPPLY,
    MNEMONIC,
    NETWORKS,
    SUPPLY_CAP,
    Allocation,
    DistributionError,
    DposGenesis,
    GenesisValidationError,
    Validator,
    dev_accounts,
    load_genesis,
    local_genesis,
    parse_genesis,
    save_genesis,
    white_paper_distribution,
)
from genesis.distribution import carve_stakes, split_offering
from genesis.document import checksum_address
from genesis.predeploys import PREDEPLOYS

KEY1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
KEY2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
GENESIS_TIME = 1_700_000_000
A, B, C = (bytes([i]) * 20 for i in (1, 2, 3))


# ---------------------------------------------------------------- white paper distribution


def test_constants_match_the_white_paper() -> None:
    assert CMT == 10**18
    assert GENESIS_SUPPLY == 1_000_000_000 * 10**18
    assert SUPPLY_CAP == 10_000_000_000 * 10**18


def test_white_paper_parts_are_exact() -> None:
    alloc, vesting, reserve = white_paper_distribution([(A, 1), (B, 1)], B, C, GENESIS_TIME)
    assert [a.balance for a in alloc] == [350_000_000 * CMT, 350_000_000 * CMT]
    assert sum(a.balance for a in alloc) == 700_000_000 * CMT
    team, fivemiles = vesting
    assert (team.name, team.beneficiary, team.amount) == ("team_and_partners", B, 100_000_000 * CMT)
    assert (fivemiles.name, fivemiles.beneficiary, fivemiles.amount) == ("5miles", C, 100_000_000 * CMT)
    assert reserve == 100_000_000 * CMT
    assert sum(a.balance for a in alloc) + team.amount + fivemiles.amount + reserve == GENESIS_SUPPLY


def test_lockups_release_ten_percent_per_quarter_over_two_and_a_half_years() -> None:
    _, vesting, _ = white_paper_distribution([(A, 1)], B, C, GENESIS_TIME)
    for schedule in vesting:
        assert schedule.start_time == GENESIS_TIME
        assert schedule.periods == 10
        assert schedule.period_seconds == 90 * 24 * 3600
        assert schedule.periods * schedule.period_seconds == 900 * 24 * 3600  # ~2.5 years
        assert schedule.amount // schedule.periods == 10_000_000 * CMT


def test_uneven_offering_split_is_exact_and_proportional() -> None:
    alloc = split_offering([(A, 1), (B, 1), (C, 1)])
    balances = [a.balance for a in alloc]
    assert sum(balances) == 700_000_000 * CMT
    assert max(balances) - min(balances) == 1
    assert balances[0] == 700_000_000 * CMT // 3 + 1  # the leftover wei goes to the earliest entry

    weighted = split_offering([(A, 5), (B, 2)], total=700)
    assert [a.balance for a in weighted] == [500, 200]
    assert [a.address for a in weighted] == [A, B]


def test_largest_remainder_gets_the_leftover() -> None:
    # 10 * 1/7 = 1.43 and 10 * 6/7 = 8.57: the second has the larger remainder
    assert [a.balance for a in split_offering([(A, 1), (B, 6)], total=10)] == [1, 9]


@pytest.mark.parametrize(
    "offering, message",
    [
        ([], "the initial offering needs at least one recipient"),
        ([(A, 1), (A, 2)], f"offering[1]: duplicate address 0x{A.hex()}"),
        ([(A, 0)], "offering[0]: weight must be a positive integer"),
        ([(A, -1)], "offering[0]: weight must be a positive integer"),
        ([(b"\x01" * 19, 1)], "offering[0]: address must be 20 bytes"),
    ],
)
def test_bad_offering_is_rejected(offering: list[tuple[bytes, int]], message: str) -> None:
    with pytest.raises(DistributionError) as excinfo:
        white_paper_distribution(offering, B, C, GENESIS_TIME)
    assert str(excinfo.value) == message


def test_bad_beneficiary_is_rejected() -> None:
    with pytest.raises(DistributionError) as excinfo:
        white_paper_distribution([(A, 1)], B, b"", GENESIS_TIME)
    assert str(excinfo.value) == "fivemiles_beneficiary: address must be 20 bytes"


# ---------------------------------------------------------------- dev accounts


def test_dev_accounts_are_the_hardhat_accounts() -> None:
    accounts = dev_accounts()
    assert len(accounts) == 20
    assert [a.checksum_address for a in accounts[:3]] == [
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ]
    assert accounts[19].checksum_address == "0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199"
    assert accounts[0].private_key.hex() == "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    assert MNEMONIC == "test test test test test test test test test test test junk"


def test_dev_private_keys_control_their_addresses() -> None:
    for account in dev_accounts():
        assert Account.from_key(account.private_key).address == account.checksum_address
    assert len({a.address for a in dev_accounts()}) == 20


def test_checksum_address_agrees_with_eth_utils() -> None:
    for _ in range(200):
        raw = os.urandom(20)
        assert checksum_address(raw) == to_checksum_address(raw)


# ---------------------------------------------------------------- local network


def test_local_genesis_funds_every_dev_account_from_the_offering() -> None:
    doc = local_genesis(KEY1, genesis_time=GENESIS_TIME)
    accounts = dev_accounts()
    assert doc.chain_id == 15
    assert doc.genesis_time == GENESIS_TIME
    funded, predeployed = doc.alloc[:len(accounts)], doc.alloc[len(accounts):]
    assert [a.address for a in funded] == [a.address for a in accounts]
    assert predeployed == PREDEPLOYS
    # the validator's 1,000,000 CMT self-stake comes out of its owner's (dev account 0's) share
    assert funded[0].balance == 34_000_000 * CMT
    assert all(a.balance == 35_000_000 * CMT for a in funded[1:])
    assert doc.foundation == accounts[0].address
    assert doc.params.foundation_reserve == 100_000_000 * CMT
    assert [(v.name, v.beneficiary) for v in doc.vesting] == [
        ("team_and_partners", accounts[1].address),
        ("5miles", accounts[2].address),
    ]
    assert doc.total_supply() == GENESIS_SUPPLY
    assert doc.validators == (
        Validator(name="validator-0", pub_key=KEY1, power=10, owner=accounts[0].address, stake=1_000_000 * CMT),
    )
    assert doc.total_staked() == 1_000_000 * CMT
    assert doc.consensus.timeout_commit_ms == 1000


def test_local_genesis_options() -> None:
    extra = Validator(name="validator-1", pub_key=KEY2, power=7, owner=dev_accounts()[5].address)
    owner = dev_accounts()[3].address
    doc = local_genesis(KEY1, genesis_time=GENESIS_TIME, chain_id=4242, validator_owner=owner, extra_validators=[extra])
    assert doc.chain_id == 4242
    assert doc.validators[0].owner == owner
    assert doc.validators[1] == extra


def test_each_genesis_stake_comes_out_of_its_owners_allocation() -> None:
    accounts = dev_accounts()
    extra = Validator(name="validator-1", pub_key=KEY2, power=7, owner=accounts[5].address, stake=2_500_000 * CMT)
    doc = local_genesis(KEY1, genesis_time=GENESIS_TIME, validator_stake=3 * CMT, extra_validators=[extra],
                        dpos=DposGenesis(params=(("max_validators", 4),)))
    balances = {a.address: a.balance for a in doc.alloc}
    assert balances[accounts[0].address] == 35_000_000 * CMT - 3 * CMT
    assert balances[accounts[5].address] == 32_500_000 * CMT
    assert balances[accounts[6].address] == 35_000_000 * CMT
    assert doc.total_staked() == 2_500_003 * CMT
    assert doc.total_supply() == GENESIS_SUPPLY
    assert doc.dpos.overrides() == {"max_validators": 4}


def test_consensus_powers_follow_the_stakes_when_the_formula_is_given() -> None:
    accounts = dev_accounts()
    extra = Validator(name="validator-1", pub_key=KEY2, power=1, owner=accounts[1].address, stake=4 * CMT)
    doc = local_genesis(KEY1, genesis_time=GENESIS_TIME, validator_stake=6 * CMT, extra_validators=[extra],
                        consensus_powers=lambda stakes: consensus_powers(stakes, 5_000))
    # whole CMT, each capped at 50% of the validators' total (10 CMT)
    assert [v.power for v in doc.validators] == [5, 4]


def test_a_stake_needs_an_owner_with_enough_allocation() -> None:
    stranger = Validator(name="validator-1", pub_key=KEY2, power=1, owner=b"\x42" * 20, stake=CMT)
    with pytest.raises(DistributionError, match=r"validators\[1\]: owner 0x4242.* has no allocation to stake from"):
        local_genesis(KEY1, genesis_time=GENESIS_TIME, extra_validators=[stranger])
    with pytest.raises(DistributionError, match=r"validators\[0\]: stake 35000000000000000000000001 wei exceeds its owner's allocation"):
        local_genesis(KEY1, genesis_time=GENESIS_TIME, validator_stake=35_000_000 * CMT + 1)


def test_carve_stakes_skips_validators_without_stake() -> None:
    alloc = (Allocation(A, 10), Allocation(B, 20))
    validators = (Validator("v0", KEY1, 1, A, stake=4), Validator("v1", KEY2, 1, C))
    assert carve_stakes(alloc, validators) == (Allocation(A, 6), Allocation(B, 20))


def test_local_genesis_rejects_a_repeated_validator_key() -> None:
    extra = Validator(name="validator-1", pub_key=KEY1, power=1, owner=dev_accounts()[0].address)
    with pytest.raises(GenesisValidationError) as excinfo:
        local_genesis(KEY1, genesis_time=GENESIS_TIME, extra_validators=[extra])
    assert str(excinfo.value) == "local network: validators[1].pub_key: duplicate validator key (also validators[0])"


def test_local_genesis_rejects_a_bad_validator_key() -> None:
    with pytest.raises(GenesisValidationError) as excinfo:
        local_genesis(KEY1[:16], genesis_time=GENESIS_TIME)
    assert str(excinfo.value) == "local network: validators[0].pub_key: must be 32 bytes, got 16"


def test_local_genesis_is_deterministic_and_survives_a_file(tmp_path: Path) -> None:
    doc = local_genesis(KEY1, genesis_time=GENESIS_TIME)
    assert local_genesis(KEY1, genesis_time=GENESIS_TIME).hash() == doc.hash()
    assert local_genesis(KEY1, genesis_time=GENESIS_TIME + 1).hash() != doc.hash()
    path = tmp_path / "genesis.json"
    save_genesis(doc, path)
    assert load_genesis(path) == doc
    assert parse_genesis(json.loads(path.read_text())).hash() == doc.hash()
    assert doc.hash().hex() == "0ce4739237534a1a85782001a26b2dfd5898de5255538087e0c1ea922540b651"
    assert doc.params.gas_limit == 100_000_000


def test_network_registry() -> None:
    assert set(NETWORKS) == {"local"}
    assert NETWORKS["local"](KEY1, genesis_time=GENESIS_TIME) == local_genesis(KEY1, genesis_time=GENESIS_TIME)
    with pytest.raises(TypeError):
        NETWORKS["other"] = local_genesis  # type: ignore[index]
