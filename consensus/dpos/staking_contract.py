"""The staking native contract (``IStaking.sol``) and its block hooks.

Transactions: declare / update / withdraw a candidacy, verify it
(foundation), activate / deactivate it, hand it to a new owner in two steps,
delegate (payable), withdraw into the unbonding queue, set a delegator's
commission rate. Views answer every query of the ``cmt_`` RPC namespace.

Block hooks (system context, in this order):

* ``begin_block``: double-sign evidence is slashed and jailed, downtime of
  the previous block's validators counted (``slashing.py``);
* ``end_block``: the block's burned base fee is counted; the fees collected
  (the block's coinbase is this contract) and the award minted for the
  elapsed block time (``inflation.py``) are split between the signers of the
  previous block and the backups (``rewards.py``); matured unbondings are
  paid (``unbonding.py``); at every ``election_interval``-th block, or when a
  member of the set was jailed, deactivated, handed over or withdrew, the set
  is re-elected (``election.py``) and the changes returned to consensus.

The contract's balance always equals bonded + unbonding + undistributed
rewards (``supply.holdings``); anything above that at the end of a block is
that block's fees.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from consensus.dpos import candidacy, delegation
from consensus.dpos.election import elect, validator_updates
from consensus.dpos.errors import DposError, InvalidAmount
from consensus.dpos.events import (
    BLOCK_AWARD,
    CANDIDATE_ACTIVATED,
    CANDIDATE_DECLARED,
    CANDIDATE_UPDATED,
    CANDIDATE_VERIFIED,
    CANDIDATE_WITHDRAWN,
    COMMISSION_RATE_SET,
    DELEGATED,
    ELECTED,
    OWNERSHIP_TRANSFER_STARTED,
    OWNERSHIP_TRANSFERRED,
    WITHDRAWN,
)
from consensus.dpos.inflation import award
from consensus.dpos.params import DposParams, load_params
from consensus.dpos.records import Candidate, Delegation, Description
from consensus.dpos.rewards import credit_candidate, settle, split_block_reward
from consensus.dpos.slashing import punish_double_signs, track_downtime
from consensus.dpos.store import (
    BURNED,
    GENESIS_SUPPLY,
    GENESIS_TIME,
    LAST_AWARD_TIME,
    MINTED,
    NEXT_CANDIDATE_ID,
    POOL,
    REELECT,
    UNBONDING,
    Member,
    StakingStore,
)
from consensus.dpos.supply import holdings, supply, total_supply
from consensus.dpos.unbonding import pay_matured
from vm.native.addresses import STAKING_ADDRESS
from vm.native.framework import CallContext, NativeContract, method
from vm.native.hooks import ConsensusInfo, ValidatorUpdate

BASIS_POINTS = 10_000
MAX_PAGE = 100  # candidates per getCandidates call
STATE_CANDIDATE, STATE_VALIDATOR, STATE_BACKUP = 0, 1, 2
DESCRIPTION_TYPES = "string,string,string,string,string"
CANDIDATE_TUPLE = (
    "(address,uint256,bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,"
    "uint256,uint256,address,uint256,uint8,string,string,string,string,string)"
)
MEMBER_TUPLE = "(address,bytes32,uint256)"
DELEGATION_TUPLE = "(address,address,uint256,uint256,uint256,uint256)"
UNBONDING_TUPLE = "(uint256,address,uint256,uint256)"
AWARD_TUPLE = "(address,uint256)"
ABSENT_TUPLE = "(address,bytes32,uint256)"
SUPPLY_TUPLE = "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)"


@dataclass(frozen=True)
class GenesisStake:
    """A genesis validator: a verified, active candidate whose self-stake is bonded at genesis.

    ``max_amount`` defaults to what makes ``stake`` exactly the self-stake
    (``stake x 10_000 // self_staking_ratio_bp``; ``stake`` when the ratio is
    0). The genesis allocation must give the staking contract's address a
    balance of at least the sum of the stakes.
    """

    owner: bytes
    pub_key: bytes
    stake: int
    commission_bp: int = 0
    max_amount: int | None = None
    description: Description = field(default_factory=Description)


def _address(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


class StakingContract(NativeContract):
    """Staking, election, rewards and slashing of delegated proof of stake (interface: ``IStaking.sol``)."""

    address = STAKING_ADDRESS
    name = "Staking"

    def __init__(self, genesis_validators: Sequence[GenesisStake] = (), *, genesis_supply: int,
                 genesis_time: int) -> None:
        """Genesis validators, the genesis total supply (wei) and genesis time (inflation starts there)."""
        self.genesis_validators = tuple(genesis_validators)
        self.genesis_supply = genesis_supply
        self.genesis_time = genesis_time

    # -- hooks ---------------------------------------------------------------------

    def init_chain(self, context: CallContext) -> None:
        """Store the supply counters and bond the genesis validators; they are the first elected set.

        Parameters are read from governance storage, so governance must be
        installed before staking for genesis parameters to apply.
        """
        store = StakingStore(context)
        params = load_params(context)
        store.set_counter(GENESIS_SUPPLY, self.genesis_supply)
        store.set_counter(GENESIS_TIME, self.genesis_time)
        store.set_counter(LAST_AWARD_TIME, self.genesis_time)
        total = sum(stake.stake for stake in self.genesis_validators)
        if context.balance(self.address) < total:
            raise DposError(f"Staking: genesis gives the staking contract less than the {total} wei of "
                            "genesis stakes")
        for index, stake in enumerate(self.genesis_validators):
            if store.id_of_owner(stake.owner) is not None or store.id_of_key(stake.pub_key) is not None:
                raise DposError(f"Staking: genesis validator {index} repeats an owner or a consensus key")
            max_amount = stake.max_amount
            if max_amount is None:
                ratio = params.self_staking_ratio_bp
                max_amount = stake.stake * BASIS_POINTS // ratio if ratio else stake.stake
            candidate = Candidate(
                candidate_id=index, owner=stake.owner, pub_key=stake.pub_key, max_amount=max_amount,
                commission_bp=stake.commission_bp,
                self_stake=min(stake.stake, candidacy.self_stake_of(params, max_amount)),
                description=stake.description, verified=True,
            )
            store.put_candidate(candidate)
            store.set_owner_index(stake.owner, index)
            store.set_key_index(stake.pub_key, index)
            delegation.bond(store, candidate, stake.owner, stake.stake)
        store.set_counter(NEXT_CANDIDATE_ID, len(self.genesis_validators))
        store.put_elected(elect(store.candidates(), params.max_validators, params.backup_validators,
                                params.validator_size_threshold_bp))

    def begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        """Slash and jail double-signers; count and punish downtime."""
        store = StakingStore(context)
        params = load_params(context)
        punish_double_signs(store, params, info)
        track_downtime(store, params, info)

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        """Award the block, pay matured unbondings, and re-elect when due."""
        store = StakingStore(context)
        params = load_params(context)
        self._award(store, context, params, info)
        pay_matured(store, context.timestamp)
        if context.block_number % params.election_interval == 0 or store.counter(REELECT):
            return self._elect(store, context, params)
        return ()

    def _award(self, store: StakingStore, context: CallContext, params: DposParams, info: ConsensusInfo) -> None:
        store.add_counter(BURNED, context.burned_fees)
        fees = context.balance(self.address) - holdings(store)
        if fees < 0:
            raise DposError("Staking: balance below what it must hold (bonded, unbonding, rewards)")
        now = context.timestamp
        last = store.counter(LAST_AWARD_TIME)
        minted = award(total_supply(store), last, now, store.counter(GENESIS_TIME), params)
        if now > last:
            store.set_counter(LAST_AWARD_TIME, now)
        if minted:
            context.mint(self.address, minted)
            store.add_counter(MINTED, minted)
        amount = store.counter(POOL) + minted + fees
        signed = set(info.signed)
        members = [m for m in store.elected() if self._rewardable(store, m)]
        signers = [m for m in members if not m.is_backup and m.pub_key in signed]
        backups = [m for m in members if m.is_backup]
        shares = split_block_reward(amount, signers, backups, params.validators_block_award_ratio)
        for candidate_id, share in shares:
            credit_candidate(store, candidate_id, share)
        store.set_counter(POOL, 0 if shares else amount)
        if shares:
            store.put_last_awards(shares)
        context.emit(BLOCK_AWARD, indexed=[], data=[
            ("uint256", minted), ("uint256", fees), ("uint256", context.burned_fees),
            ("uint256", amount if shares else 0),
        ])

    @staticmethod
    def _rewardable(store: StakingStore, member: Member) -> bool:
        candidate = store.find_candidate(member.candidate_id)
        return candidate is not None and not candidate.jailed

    def _elect(self, store: StakingStore, context: CallContext, params: DposParams) -> list[ValidatorUpdate]:
        old = store.elected()
        for candidate in store.candidates():
            candidate = settle(store, candidate)
            if candidate.pending_pub_key:
                store.set_key_index(candidate.pub_key, None)
                store.put_candidate(replace(candidate, pub_key=candidate.pending_pub_key, pending_pub_key=b""))
        new = elect(store.candidates(), params.max_validators, params.backup_validators,
                    params.validator_size_threshold_bp)
        if not any(not m.is_backup for m in new):
            new = old  # consensus cannot run without validators: the set in force stays
        store.put_elected(new)
        store.set_counter(REELECT, 0)
        validators = [m for m in new if not m.is_backup]
        context.emit(ELECTED, indexed=[], data=[
            ("uint256", len(validators)), ("uint256", len(new) - len(validators)),
            ("uint256", sum(m.power for m in validators)),
        ])
        return validator_updates(old, new)

    # -- candidacy -----------------------------------------------------------------

    @method(f"declareCandidacy(bytes32,uint256,uint256,{DESCRIPTION_TYPES})", returns=["uint256"], gas=50_000,
            payable=True)
    def declare_candidacy(self, ctx: CallContext, pub_key: bytes, max_amount: int, commission_bp: int,
                          *description: str) -> int:
        """Become a candidate; ``msg.value`` (at least the self-stake) is bonded; returns the candidacy id."""
        store = StakingStore(ctx)
        candidate = candidacy.declare(store, load_params(ctx), ctx.sender, pub_key, max_amount, commission_bp,
                                      Description(*description), ctx.value, ctx.block_number)
        ctx.emit(CANDIDATE_DECLARED, indexed=[("address", ctx.sender), ("bytes32", pub_key)], data=[
            ("uint256", max_amount), ("uint256", commission_bp), ("uint256", candidate.self_stake),
        ])
        return candidate.candidate_id

    @method(f"updateCandidacy(bytes32,uint256,uint256,{DESCRIPTION_TYPES})", returns=["uint256"], gas=20_000,
            payable=True)
    def update_candidacy(self, ctx: CallContext, pub_key: bytes, max_amount: int, commission_bp: int,
                         *description: str) -> int:
        """Change key (zero: keep), max amount, commission, description; ``msg.value`` adds; returns the stake."""
        candidate = candidacy.update(StakingStore(ctx), load_params(ctx), ctx.sender, pub_key, max_amount,
                                     commission_bp, Description(*description), ctx.value)
        ctx.emit(CANDIDATE_UPDATED, indexed=[("address", ctx.sender)], data=[
            ("bytes32", candidate.pending_pub_key or candidate.pub_key), ("uint256", max_amount),
            ("uint256", commission_bp),
        ])
        return candidate.stake

    @method("withdrawCandidacy()", returns=["uint256"], gas=50_000)
    def withdraw_candidacy(self, ctx: CallContext) -> int:
        """Unbond every delegation of the sender's candidacy and remove it; returns the wei unbonded."""
        store = StakingStore(ctx)
        unbonding = store.counter(UNBONDING)
        candidacy.withdraw_candidacy(store, load_params(ctx), ctx.sender, ctx.timestamp)
        ctx.emit(CANDIDATE_WITHDRAWN, indexed=[("address", ctx.sender)], data=[])
        return store.counter(UNBONDING) - unbonding

    @method("verifyCandidacy(address,bool)", returns=["bool"], gas=5_000)
    def verify_candidacy(self, ctx: CallContext, owner: str, verified: bool) -> bool:
        """Mark a candidacy verified or not (foundation address only)."""
        candidacy.verify(StakingStore(ctx), load_params(ctx), ctx.sender, _address(owner), verified)
        ctx.emit(CANDIDATE_VERIFIED, indexed=[("address", owner)], data=[("bool", verified)])
        return verified

    @method("activateCandidacy()", returns=["bool"], gas=5_000)
    def activate_candidacy(self, ctx: CallContext) -> bool:
        """Re-activate the sender's candidacy (also after a jail)."""
        candidacy.set_active(StakingStore(ctx), ctx.sender, True)
        ctx.emit(CANDIDATE_ACTIVATED, indexed=[("address", ctx.sender)], data=[("bool", True)])
        return True

    @method("deactivateCandidacy()", returns=["bool"], gas=5_000)
    def deactivate_candidacy(self, ctx: CallContext) -> bool:
        """Stop the sender's candidacy from being elected."""
        candidacy.set_active(StakingStore(ctx), ctx.sender, False)
        ctx.emit(CANDIDATE_ACTIVATED, indexed=[("address", ctx.sender)], data=[("bool", False)])
        return False

    @method("transferCandidacy(address)", returns=["bool"], gas=5_000)
    def transfer_candidacy(self, ctx: CallContext, new_owner: str) -> bool:
        """Name the account that may take over the sender's candidacy."""
        candidacy.start_transfer(StakingStore(ctx), ctx.sender, _address(new_owner))
        ctx.emit(OWNERSHIP_TRANSFER_STARTED, indexed=[("address", ctx.sender), ("address", new_owner)], data=[])
        return True

    @method("acceptCandidacy(address)", returns=["uint256"], gas=20_000)
    def accept_candidacy(self, ctx: CallContext, previous_owner: str) -> int:
        """Take over the candidacy ``previous_owner`` named the sender for; returns the candidacy id."""
        candidate = candidacy.accept_transfer(StakingStore(ctx), ctx.sender, _address(previous_owner))
        ctx.emit(OWNERSHIP_TRANSFERRED, indexed=[("address", previous_owner), ("address", ctx.sender)], data=[])
        return candidate.candidate_id

    # -- delegation ------------------------------------------------------------------

    @method("delegate(address)", returns=["uint256"], gas=20_000, payable=True)
    def delegate(self, ctx: CallContext, candidate: str) -> int:
        """Bond ``msg.value`` to the candidate owned by ``candidate``; returns the delegation's amount."""
        bonded = delegation.delegate(StakingStore(ctx), load_params(ctx), ctx.sender, _address(candidate),
                                     ctx.value)
        ctx.emit(DELEGATED, indexed=[("address", ctx.sender), ("address", candidate)], data=[("uint256", ctx.value)])
        return bonded.amount

    @method("withdraw(address,uint256)", returns=["uint256"], gas=20_000)
    def withdraw(self, ctx: CallContext, candidate: str, amount: int) -> int:
        """Start unbonding ``amount`` wei from ``candidate``; returns the unbonding's sequence number."""
        entry = delegation.withdraw(StakingStore(ctx), load_params(ctx), ctx.sender, _address(candidate), amount,
                                    ctx.timestamp)
        ctx.emit(WITHDRAWN, indexed=[("address", ctx.sender), ("address", candidate)], data=[
            ("uint256", amount), ("uint256", entry.seq), ("uint256", entry.mature_time),
        ])
        return entry.seq

    @method("setCommissionRate(address,uint256)", returns=["bool"], gas=5_000)
    def set_commission_rate(self, ctx: CallContext, delegator: str, commission_bp: int) -> bool:
        """Set the commission the sender's candidacy takes from ``delegator`` (at most its own rate)."""
        delegation.set_commission(StakingStore(ctx), load_params(ctx), ctx.sender, _address(delegator),
                                  commission_bp)
        ctx.emit(COMMISSION_RATE_SET, indexed=[("address", ctx.sender), ("address", delegator)],
                 data=[("uint256", commission_bp)])
        return True

    # -- queries ---------------------------------------------------------------------

    @method("getValidators()", returns=[MEMBER_TUPLE + "[]"], gas=1_000, view=True)
    def get_validators(self, ctx: CallContext) -> list[tuple[object, ...]]:
        """The validators in force, in rank order: owner, consensus key, voting power."""
        return [(_hex(m.owner), m.pub_key, m.power) for m in StakingStore(ctx).elected() if not m.is_backup]

    @method("getBackups()", returns=[MEMBER_TUPLE + "[]"], gas=1_000, view=True)
    def get_backups(self, ctx: CallContext) -> list[tuple[object, ...]]:
        """The backup validators in force, in rank order."""
        return [(_hex(m.owner), m.pub_key, m.power) for m in StakingStore(ctx).elected() if m.is_backup]

    @method("getCandidate(address)", returns=[CANDIDATE_TUPLE], gas=1_000, view=True)
    def get_candidate(self, ctx: CallContext, owner: str) -> tuple[object, ...]:
        """Everything about the candidacy of ``owner``."""
        store = StakingStore(ctx)
        return self._candidate_info(store, store.candidate_of_owner(_address(owner)), store.elected())

    @method("candidateCount()", returns=["uint256"], gas=1_000, view=True)
    def candidate_count(self, ctx: CallContext) -> int:
        """Number of registered candidates."""
        return len(StakingStore(ctx).candidate_ids())

    @method("getCandidates(uint256,uint256)", returns=[CANDIDATE_TUPLE + "[]"], gas=1_000, view=True)
    def get_candidates(self, ctx: CallContext, offset: int, limit: int) -> list[tuple[object, ...]]:
        """Candidates ordered by id, ``limit`` (at most 100) from position ``offset``."""
        if limit > MAX_PAGE:
            raise InvalidAmount(f"Staking: at most {MAX_PAGE} candidates per call")
        store = StakingStore(ctx)
        ids = sorted(store.candidate_ids())[offset : offset + limit]
        elected = store.elected()
        return [self._candidate_info(store, store.candidate(cid), elected) for cid in ids]

    @method("getDelegations(address)", returns=[DELEGATION_TUPLE + "[]"], gas=1_000, view=True)
    def get_delegations(self, ctx: CallContext, delegator: str) -> list[tuple[object, ...]]:
        """A delegator's delegations: candidate owner, delegator, amount, commission, rewarded, slashed."""
        store = StakingStore(ctx)
        return [self._delegation_info(store, d) for d in store.delegations_of_delegator(_address(delegator))]

    @method("getCandidateDelegations(address)", returns=[DELEGATION_TUPLE + "[]"], gas=1_000, view=True)
    def get_candidate_delegations(self, ctx: CallContext, owner: str) -> list[tuple[object, ...]]:
        """The delegations to the candidacy of ``owner``, by delegator address."""
        store = StakingStore(ctx)
        candidate = store.candidate_of_owner(_address(owner))
        return [self._delegation_info(store, d) for d in store.delegations_of_candidate(candidate.candidate_id)]

    @method("getUnbondings(address)", returns=[UNBONDING_TUPLE + "[]"], gas=1_000, view=True)
    def get_unbondings(self, ctx: CallContext, delegator: str) -> list[tuple[object, ...]]:
        """A delegator's pending unbondings: sequence number, candidate owner, amount, maturity time."""
        store = StakingStore(ctx)
        entries = [store.unbonding(seq) for seq in sorted(store.unbondings_of(_address(delegator)))]
        return [(e.seq, _hex(self._owner_of(store, e.candidate_id)), e.amount, e.mature_time)
                for e in entries if e is not None]

    @method("getAwardInfos()", returns=[AWARD_TUPLE + "[]"], gas=1_000, view=True)
    def get_award_infos(self, ctx: CallContext) -> list[tuple[object, ...]]:
        """What each candidate was credited by the latest block that paid awards."""
        store = StakingStore(ctx)
        return [(_hex(self._owner_of(store, cid)), amount) for cid, amount in store.last_awards()]

    @method("getAbsentValidators()", returns=[ABSENT_TUPLE + "[]"], gas=1_000, view=True)
    def get_absent_validators(self, ctx: CallContext) -> list[tuple[object, ...]]:
        """Validators with consecutive missed blocks: owner, consensus key, count."""
        store = StakingStore(ctx)
        rows: list[tuple[object, ...]] = []
        for member in store.elected():
            candidate = store.find_candidate(member.candidate_id)
            if candidate is not None and candidate.missed_blocks:
                rows.append((_hex(candidate.owner), member.pub_key, candidate.missed_blocks))
        return rows

    @method("getSupply()", returns=[SUPPLY_TUPLE], gas=1_000, view=True)
    def get_supply(self, ctx: CallContext) -> tuple[object, ...]:
        """Total, minted, burned, bonded, unbonding, rewards, locked, reserve, circulating (wei)."""
        s = supply(ctx)
        return (s.total, s.minted, s.burned, s.bonded, s.unbonding, s.rewards, s.locked, s.reserve, s.circulating)

    @staticmethod
    def _owner_of(store: StakingStore, candidate_id: int) -> bytes:
        candidate = store.find_candidate(candidate_id)
        return candidate.owner if candidate is not None else b"\x00" * 20

    def _delegation_info(self, store: StakingStore, d: Delegation) -> tuple[object, ...]:
        return (_hex(self._owner_of(store, d.candidate_id)), _hex(d.delegator), d.amount, d.commission_bp,
                d.rewarded, d.slashed)

    @staticmethod
    def _candidate_info(store: StakingStore, c: Candidate, elected: list[Member]) -> tuple[object, ...]:
        member = next((m for m in elected if m.candidate_id == c.candidate_id), None)
        state = STATE_CANDIDATE if member is None else STATE_BACKUP if member.is_backup else STATE_VALIDATOR
        d = c.description
        return (
            _hex(c.owner), c.candidate_id, c.pub_key, c.pending_pub_key.rjust(32, b"\x00"), c.max_amount,
            c.commission_bp, c.self_stake, c.stake, c.pending_reward, member.power if member else 0,
            c.verified, c.active, c.jailed, c.missed_blocks, len(store.delegators_of(c.candidate_id)),
            _hex(c.pending_owner.rjust(20, b"\x00")), c.declared_at, state,
            d.name, d.website, d.location, d.email, d.profile,
        )
