"""Built-in networks; ``local`` is a development chain every wallet tool can use at once.

The local network funds the 20 accounts that Hardhat and Anvil derive from the
mnemonic ``test test test test test test test test test test test junk``
(path ``m/44'/60'/0'/0/i``), so the keys those tools print work here too. It
follows the white paper's distribution: the 700M CMT initial offering is shared
equally by the 20 dev accounts (35M CMT each); the team & partners lock-up goes
to dev account 1 and the 5miles lock-up to dev account 2, so releases can be
tried; dev account 0 is the foundation and, by default, the validator's owner.
The first validator bonds ``LOCAL_VALIDATOR_STAKE`` as its owner's self-stake;
every genesis validator's stake is carved out of its owner's allocation (so
dev account 0 holds 34,000,000 CMT and the genesis supply stays
1,000,000,000 CMT). Multicall3 and the CREATE2 deployer are predeployed
(``genesis.predeploys``).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from eth_account import Account

from genesis.distribution import CMT, carve_stakes, white_paper_distribution
from genesis.document import (
    ChainParams,
    DposGenesis,
    GenesisDocument,
    Validator,
    checksum_address,
)
from genesis.predeploys import PREDEPLOYS
from genesis.validation import validate_genesis

MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 20
DEV_DERIVATION_PATH = "m/44'/60'/0'/0/{index}"
LOCAL_CHAIN_ID = 15
LOCAL_CHAIN_NAME = "cybermiles-local"
LOCAL_VALIDATOR_NAME = "validator-0"
DEFAULT_VALIDATOR_POWER = 10
LOCAL_VALIDATOR_STAKE = 1_000_000 * CMT
#: Block gas of the local chains (development chain, local testnets): 4,761 plain transfers a block, so a
#: burst of 10,000 transfers is committed in the two or three blocks after it arrives (30M would take seven).
LOCAL_GAS_LIMIT = 100_000_000


@dataclass(frozen=True)
class DevAccount:
    """A well-known development account: 20-byte address and 32-byte secp256k1 private key."""

    address: bytes
    private_key: bytes

    @property
    def checksum_address(self) -> str:
        """The address in EIP-55 mixed case, as wallets show it."""
        return checksum_address(self.address)


@functools.cache
def dev_accounts() -> tuple[DevAccount, ...]:
    """The 20 accounts of ``MNEMONIC``, in derivation order (derived once, then cached)."""
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for index in range(DEV_ACCOUNT_COUNT):
        derived = Account.from_mnemonic(MNEMONIC, account_path=DEV_DERIVATION_PATH.format(index=index))
        accounts.append(DevAccount(address=bytes.fromhex(derived.address[2:]), private_key=bytes(derived.key)))
    return tuple(accounts)


def local_genesis(
    validator_pub_key: bytes,
    *,
    genesis_time: int,
    chain_id: int = LOCAL_CHAIN_ID,
    validator_owner: bytes | None = None,
    extra_validators: Sequence[Validator] = (),
    validator_stake: int = LOCAL_VALIDATOR_STAKE,
    dpos: DposGenesis | None = None,
    consensus_powers: Callable[[Sequence[int]], Sequence[int]] | None = None,
) -> GenesisDocument:
    """The validated genesis of a local development chain.

    ``validator_pub_key`` is the 32-byte ed25519 consensus key of the first
    validator (named ``validator-0``, power 10, owned by ``validator_owner``,
    dev account 0 by default, bonding ``validator_stake`` wei); ``extra_validators``
    follow it with their own stakes, for local multi-validator testnets. Each
    stake comes out of its owner's allocation, so owners must be dev accounts
    (``DistributionError`` otherwise). ``genesis_time`` is unix seconds
    and starts both vesting lock-ups; ``dpos`` carries parameter overrides.
    ``consensus_powers``, given the validators' stakes in order, returns their
    consensus powers (the node passes staking's formula, which genesis does
    not know); without it every validator keeps the power it was given.
    """
    accounts = dev_accounts()
    first = Validator(
        name=LOCAL_VALIDATOR_NAME,
        pub_key=validator_pub_key,
        power=DEFAULT_VALIDATOR_POWER,
        owner=accounts[0].address if validator_owner is None else validator_owner,
        stake=validator_stake,
    )
    validators: tuple[Validator, ...] = (first, *extra_validators)
    if consensus_powers is not None:
        powers = consensus_powers([v.stake for v in validators])
        validators = tuple(replace(v, power=power) for v, power in zip(validators, powers, strict=True))
    distribution = white_paper_distribution(
        offering=[(account.address, 1) for account in accounts],
        team_beneficiary=accounts[1].address,
        fivemiles_beneficiary=accounts[2].address,
        genesis_time=genesis_time,
    )
    doc = GenesisDocument(
        chain_id=chain_id,
        chain_name=LOCAL_CHAIN_NAME,
        genesis_time=genesis_time,
        validators=validators,
        alloc=(*carve_stakes(distribution.alloc, validators), *PREDEPLOYS),
        vesting=distribution.vesting,
        foundation=accounts[0].address,
        params=ChainParams(gas_limit=LOCAL_GAS_LIMIT, foundation_reserve=distribution.foundation_reserve),
        dpos=DposGenesis() if dpos is None else dpos,
    )
    return validate_genesis(doc, source="local network")


NETWORKS: Mapping[str, Callable[..., GenesisDocument]] = MappingProxyType({"local": local_genesis})
