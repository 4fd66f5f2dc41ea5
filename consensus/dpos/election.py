"""Election of validators and backups, validator updates for consensus, and the voters of governance.

At every block whose number is a multiple of ``election_interval`` (and at
the end of any block in which a member of the elected set was jailed,
deactivated or withdrew), the active, unjailed candidates with at least
1 CMT of raw power are ranked by

    (raw power descending, stake in wei descending, consensus key ascending)

so ties are broken deterministically. The first ``max_validators`` are the
validators, the next ``backup_validators`` the backups; voting powers follow
``voting_power``. A candidate's pending consensus key (from an update of its
candidacy) is swapped in at the election. An election that finds no
eligible candidate keeps the set in force (consensus cannot run without
validators).

Consensus learns of changes through ``ValidatorUpdate``s: first every former
validator key that is no longer a validator (power 0) in former rank order,
then every validator whose key is new or whose power changed, in rank order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consensus.dpos.records import Candidate
from consensus.dpos.store import Member, StakingStore
from consensus.dpos.voting_power import size_cap, whole_cmt
from vm.native.addresses import STAKING_ADDRESS
from vm.native.framework import CallContext
from vm.native.hooks import ValidatorUpdate


@dataclass(frozen=True)
class Voter:
    """A member of the elected set as governance sees it."""

    owner: bytes
    pub_key: bytes
    voting_power: int
    is_backup: bool


def consensus_key(candidate: Candidate) -> bytes:
    """The key a candidate will validate with after the next election."""
    return candidate.pending_pub_key or candidate.pub_key


def eligible(candidate: Candidate) -> bool:
    """Whether a candidate takes part in elections."""
    return candidate.active and not candidate.jailed and whole_cmt(candidate.stake) >= 1


def rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The eligible candidates, best first (ties: larger stake, then smaller consensus key)."""
    chosen = [c for c in candidates if eligible(c)]
    return sorted(chosen, key=lambda c: (-whole_cmt(c.stake), -c.stake, consensus_key(c)))


def elect(candidates: Sequence[Candidate], max_validators: int, backup_validators: int,
          threshold_bp: int) -> list[Member]:
    """The elected set (validators then backups, in rank order) with their voting powers."""
    ranked = rank(candidates)
    validators = ranked[:max_validators]
    backups = ranked[max_validators : max_validators + backup_validators]
    cap = size_cap(sum(whole_cmt(c.stake) for c in validators), threshold_bp)
    return [
        Member(c.candidate_id, c.owner, consensus_key(c), min(whole_cmt(c.stake), cap),
               is_backup=index >= len(validators))
        for index, c in enumerate(validators + backups)
    ]


def validator_updates(old: Sequence[Member], new: Sequence[Member]) -> list[ValidatorUpdate]:
    """The consensus changes from ``old`` to ``new`` (backups are not part of consensus)."""
    old_powers = {m.pub_key: m.power for m in old if not m.is_backup}
    new_validators = [m for m in new if not m.is_backup]
    new_keys = {m.pub_key for m in new_validators}
    updates = [
        ValidatorUpdate(m.pub_key, 0, m.owner)
        for m in old if not m.is_backup and m.pub_key not in new_keys
    ]
    updates.extend(
        ValidatorUpdate(m.pub_key, m.power, m.owner)
        for m in new_validators if old_powers.get(m.pub_key) != m.power
    )
    return updates


def voters(context: CallContext) -> tuple[Voter, ...]:
    """The validators and backups in force, validators first, in rank order (any native contract may ask)."""
    store = StakingStore(context.for_contract(STAKING_ADDRESS))
    return tuple(Voter(m.owner, m.pub_key, m.power, m.is_backup) for m in store.elected())
