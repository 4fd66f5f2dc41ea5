"""The chain's native contracts and genesis state, built from a genesis document.

The order of installation is the order of the block hooks: governance comes
before staking (staking reads the parameters governance stores at genesis),
and both before the middleware. Genesis validators become staking's first
candidates, their stakes held by the staking contract; their consensus powers
must be what staking's election computes from those stakes, which
``check_genesis`` verifies before a node starts.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from eth.abc import StateAPI
from eth.db.account import AccountDB

from consensus.dpos.errors import DposError
from consensus.dpos.governance_contract import GovernanceContract
from consensus.dpos.params import DposParams, load_params, params_from_mapping
from consensus.dpos.slashing import jail_for_missed_proposals
from consensus.dpos.staking_contract import GenesisStake, StakingContract
from consensus.dpos.store import StakingStore
from consensus.dpos.voting_power import consensus_powers
from genesis.document import GenesisDocument
from genesis.errors import GenesisValidationError
from genesis.networks import local_genesis
from middleware.bpm.contract import WorkflowContract
from middleware.jury.contract import JuryContract
from middleware.oracle.contract import OracleContract
from middleware.randomness.contract import RandomnessContract
from middleware.rules.contract import RulesContract
from middleware.webhooks.contract import WebhooksContract
from vm.execution import GenesisAccount
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS, VESTING_ADDRESS
from vm.native.framework import SYSTEM_SENDER, CallContext, NativeContract
from vm.native.vesting import Schedule, VestingContract, genesis_storage
from vm.sponsorship.contract import SponsorContract


def dpos_params(genesis: GenesisDocument) -> DposParams:
    """The genesis chain parameters: defaults, the foundation address, then the document's overrides."""
    raw: dict[str, Any] = {"foundation_address": "0x" + genesis.foundation.hex(), **genesis.dpos.overrides()}
    try:
        return params_from_mapping(raw)
    except DposError as exc:
        raise GenesisValidationError("genesis", "dpos.params", str(exc)) from None


def staking_powers(stakes: Sequence[int], params: DposParams | None = None) -> tuple[int, ...]:
    """The consensus powers staking's election gives validators with ``stakes`` (wei)."""
    threshold = (params or DposParams()).validator_size_threshold_bp
    return consensus_powers(stakes, threshold)


def check_genesis(genesis: GenesisDocument) -> DposParams:
    """Check what only the node can: parameters and validator powers against stakes; returns the parameters."""
    params = dpos_params(genesis)
    expected = staking_powers([v.stake for v in genesis.validators], params)
    for index, (validator, power) in enumerate(zip(genesis.validators, expected, strict=True)):
        if validator.power != power:
            raise GenesisValidationError(
                "genesis", f"validators[{index}].power",
                f"{validator.power} does not match its stake of {validator.stake} wei (staking gives it power {power})",
            )
    return params


def native_contracts(genesis: GenesisDocument) -> list[NativeContract]:
    """The native contracts of the chain, in hook order."""
    params = dpos_params(genesis)
    stakes = [GenesisStake(owner=v.owner, pub_key=v.pub_key, stake=v.stake) for v in genesis.validators]
    return [
        VestingContract(),
        GovernanceContract(params),
        StakingContract(stakes, genesis_supply=genesis.total_supply(), genesis_time=genesis.genesis_time),
        RulesContract(),
        WorkflowContract(),
        WebhooksContract(),
        OracleContract(elected_validator_owners),
        JuryContract(),
        RandomnessContract(penalise_missed_proposals),
        SponsorContract(),
    ]


def governed_params(accounts: AccountDB) -> DposParams:
    """The chain parameters in force in ``accounts`` (a block's state), read without executing anything."""
    context = CallContext(cast(StateAPI, accounts), GOVERNANCE_ADDRESS, sender=SYSTEM_SENDER, value=0,
                          is_static=True, consume_gas=None, add_log=_no_events)
    return load_params(context)


def _no_events(address: bytes, topics: tuple[int, ...], data: bytes) -> None:
    """A read never emits events."""


def elected_validator_owners(context: CallContext) -> list[bytes]:
    """The owner accounts of the elected validators (backups excluded), in rank order: an oracle set's members."""
    return [m.owner for m in StakingStore(context.for_contract(STAKING_ADDRESS)).elected() if not m.is_backup]


def penalise_missed_proposals(context: CallContext, pub_key: bytes) -> bool:
    """The randomness beacon's penalty for missed proposer slots: jail (and slash as for downtime) the validator."""
    store = StakingStore(context.for_contract(STAKING_ADDRESS))
    return jail_for_missed_proposals(store, load_params(context), pub_key)


def genesis_accounts(genesis: GenesisDocument) -> list[GenesisAccount]:
    """The genesis accounts: allocations, locked vesting CMT, the foundation reserve, bonded stakes."""
    accounts = [
        GenesisAccount(address=a.address, balance=a.balance, code=a.code, storage=a.storage)
        for a in genesis.alloc
    ]
    schedules = [
        Schedule(s.beneficiary, s.amount, s.start_time, s.period_seconds, s.periods) for s in genesis.vesting
    ]
    accounts.append(
        GenesisAccount(
            address=VESTING_ADDRESS,
            balance=sum(s.total for s in schedules),
            storage=tuple(sorted(genesis_storage(schedules).items())),
        )
    )
    accounts.append(GenesisAccount(address=GOVERNANCE_ADDRESS, balance=genesis.params.foundation_reserve))
    accounts.append(GenesisAccount(address=STAKING_ADDRESS, balance=genesis.total_staked()))
    return accounts


def local_chain_genesis(validator_pub_key: bytes, **kwargs: Any) -> GenesisDocument:
    """The local network's genesis with consensus powers derived from the validators' stakes."""
    return local_genesis(validator_pub_key, consensus_powers=staking_powers, **kwargs)
