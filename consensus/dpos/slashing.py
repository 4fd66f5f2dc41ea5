"""Slashing and jailing: double-sign evidence and downtime.

* Double sign: every candidate named by the block's evidence
  (``ConsensusInfo.misbehaviour``, once per candidate per block; not again
  while it stays jailed, so evidence of several heights arriving in later
  blocks punishes it once) loses
  ``slash_ratio_bp`` of every delegation to it (each cut rounded down, the
  owner's included) and is jailed. Unbondings from it queued at or after
  the earliest height the evidence convicts (stake that left after the
  misbehaviour, to escape it) lose the same share.
* Downtime: an elected validator absent from the previous block's commit
  (``ConsensusInfo.absent``) has its consecutive missed-block count raised;
  signing (``ConsensusInfo.signed``) resets it. At ``max_slash_blocks``
  consecutive misses it is jailed, and slashed as above when
  ``slash_enabled``.

Jailing deactivates the candidate: it leaves the validator set at the end of
the block and is not elected until its owner sends ``activate``. Slashed wei
moves to the reserve (the governance contract's balance): the total supply
does not change. Unbondings queued before the misbehaviour are not slashed.
Finding the unbondings to cut scans the pending queue once per conviction.
"""
from __future__ import annotations

from dataclasses import replace

from consensus.dpos.events import JAILED, SLASHED
from consensus.dpos.params import DposParams
from consensus.dpos.records import Candidate
from consensus.dpos.rewards import settle
from consensus.dpos.store import BONDED, REELECT, StakingStore
from vm.native.addresses import GOVERNANCE_ADDRESS
from vm.native.hooks import ConsensusInfo

BASIS_POINTS = 10_000


def slash(store: StakingStore, candidate: Candidate, ratio_bp: int, double_sign: bool,
          unbonding_since: int | None = None) -> Candidate:
    """Cut ``ratio_bp`` of every delegation to ``candidate`` and send it to the reserve; returns it stored.

    With ``unbonding_since``, unbondings from the candidate queued at or after
    that height are cut by the same share.
    """
    candidate = settle(store, candidate)
    bonded_cut = 0
    for delegation in store.delegations_of_candidate(candidate.candidate_id):
        cut = delegation.amount * ratio_bp // BASIS_POINTS
        if cut:
            store.put_delegation(replace(delegation, amount=delegation.amount - cut, slashed=delegation.slashed + cut))
            bonded_cut += cut
    unbonding_cut = 0
    if unbonding_since is not None:
        for entry in store.pending_unbondings():
            if entry.candidate_id == candidate.candidate_id and entry.height >= unbonding_since:
                cut = entry.amount * ratio_bp // BASIS_POINTS
                if cut:
                    store.cut_unbonding(entry, cut)
                    unbonding_cut += cut
    candidate = replace(candidate, stake=candidate.stake - bonded_cut)
    store.put_candidate(candidate)
    store.add_counter(BONDED, -bonded_cut)
    total = bonded_cut + unbonding_cut
    store.context.transfer(GOVERNANCE_ADDRESS, total)
    store.context.emit(
        SLASHED, indexed=[("address", candidate.owner), ("bytes32", candidate.pub_key)],
        data=[("uint256", total), ("bool", double_sign)],
    )
    return candidate


def jail(store: StakingStore, candidate: Candidate, double_sign: bool) -> Candidate:
    """Deactivate ``candidate`` until its owner re-activates it; the set is re-elected at the block's end."""
    candidate = replace(candidate, active=False, jailed=True, missed_blocks=0)
    store.put_candidate(candidate)
    store.set_counter(REELECT, 1)
    store.context.emit(
        JAILED, indexed=[("address", candidate.owner), ("bytes32", candidate.pub_key)],
        data=[("bool", double_sign)],
    )
    return candidate


def punish_double_signs(store: StakingStore, params: DposParams, info: ConsensusInfo) -> list[Candidate]:
    """Slash and jail every unjailed candidate the block's evidence convicts (once each); returns them."""
    punished: list[Candidate] = []
    earliest: dict[int, int] = {}  # candidate id -> earliest height convicted, in evidence order
    for evidence in info.misbehaviour:
        candidate_id = store.id_of_key(evidence.pub_key)
        if candidate_id is not None:
            earliest[candidate_id] = min(evidence.height, earliest.get(candidate_id, evidence.height))
    for candidate_id, height in earliest.items():
        candidate = store.candidate(candidate_id)
        if candidate.jailed:
            continue
        candidate = slash(store, candidate, params.slash_ratio_bp, double_sign=True, unbonding_since=height)
        punished.append(jail(store, candidate, double_sign=True))
    return punished


def track_downtime(store: StakingStore, params: DposParams, info: ConsensusInfo) -> list[Candidate]:
    """Count consecutive misses of the elected validators; jail (and maybe slash) at the limit."""
    absent = set(info.absent)
    signed = set(info.signed)
    jailed: list[Candidate] = []
    for member in store.elected():
        if member.is_backup or member.pub_key not in absent | signed:
            continue
        candidate = store.find_candidate(member.candidate_id)
        if candidate is None or candidate.jailed:
            continue
        if member.pub_key in signed:
            if candidate.missed_blocks:
                store.put_candidate(replace(candidate, missed_blocks=0))
            continue
        candidate = replace(candidate, missed_blocks=candidate.missed_blocks + 1)
        store.put_candidate(candidate)
        if candidate.missed_blocks >= params.max_slash_blocks:
            if params.slash_enabled:
                candidate = slash(store, candidate, params.slash_ratio_bp, double_sign=False)
            jailed.append(jail(store, candidate, double_sign=False))
    return jailed


def jail_for_missed_proposals(store: StakingStore, params: DposParams, pub_key: bytes) -> bool:
    """Jail the candidate with consensus key ``pub_key`` for missed proposer slots (the randomness beacon's rule).

    Slashed as for downtime when ``slash_enabled``. Returns False when the key is
    no candidate's or the candidate is already jailed.
    """
    candidate_id = store.id_of_key(pub_key)
    candidate = None if candidate_id is None else store.find_candidate(candidate_id)
    if candidate is None or candidate.jailed:
        return False
    if params.slash_enabled:
        candidate = slash(store, candidate, params.slash_ratio_bp, double_sign=False)
    jail(store, candidate, double_sign=False)
    return True
