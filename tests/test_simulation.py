"""The consensus simulator: many seeded runs of N validators over faulty networks, with byzantine peers.

Every run is checked by ``tests.sim.harness.check`` (agreement, validity, no
double signing by honest validators, commit verification, progress after the
network is stable); the tests add the outcomes particular to their scenario.
"""
from __future__ import annotations

import pytest

from consensus.evidence import DuplicateVoteEvidence
from consensus.messages import MalformedMessage, Proposal, Vote, decode_message
from consensus.types import PRECOMMIT, PREVOTE
from tests.sim.byzantine import (
    ConflictingProposer,
    Equivocator,
    InvalidProposer,
    SilentProposer,
)
from tests.sim.harness import Scenario, Simulation, run, votes_of
from tests.sim.network import NetworkConditions, Partition

SEEDS = range(50)


def jittery(seed: int) -> NetworkConditions:
    """Delays that reorder messages, and lost messages during the first seconds."""
    return NetworkConditions(min_delay_ms=1, max_delay_ms=150 + seed % 100, drop_rate_percent=5 + seed % 20,
                             lossy_until_ms=3_000)


@pytest.mark.parametrize("seed", SEEDS)
def test_all_honest_over_a_lossy_reordering_network(seed: int) -> None:
    sim = run(Scenario(seed=seed, conditions=jittery(seed)))
    assert sim.invalid_messages == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_one_validator_crashed_for_good(seed: int) -> None:
    run(Scenario(seed=seed, conditions=jittery(seed), crashes={seed % 4: (seed * 7 % 500, None)}))


@pytest.mark.parametrize("seed", SEEDS)
def test_crash_and_restart_never_double_signs(seed: int) -> None:
    sim = run(Scenario(seed=seed, heights=4, conditions=jittery(seed),
                       crashes={seed % 4: (50 + seed * 13 % 700, 1_500 + seed * 17 % 2_000)}))
    restarted = sim.decisions[seed % 4]
    assert len(restarted) >= 4


@pytest.mark.parametrize("seed", SEEDS)
def test_equivocating_validator_is_caught_and_its_evidence_committed(seed: int) -> None:
    byzantine = seed % 4
    sim = run(Scenario(seed=seed, heights=4, conditions=jittery(seed), byzantine={byzantine: Equivocator}))
    culprit = sim.nodes[byzantine].address
    caught = {e.validator_address for finder, e in sim.evidence if finder != byzantine}
    assert caught == {culprit}
    honest = (byzantine + 1) % 4
    committed = {DuplicateVoteEvidence.decode(item).validator_address
                 for decision in sim.decisions[honest].values() for item in decision.block.evidence}
    assert committed == {culprit}


@pytest.mark.parametrize("seed", SEEDS)
def test_conflicting_proposals(seed: int) -> None:
    run(Scenario(seed=seed, conditions=jittery(seed), byzantine={seed % 4: ConflictingProposer}))


@pytest.mark.parametrize("seed", SEEDS[:25])
def test_partition_that_heals(seed: int) -> None:
    groups = (frozenset({0, 1}), frozenset({2, 3})) if seed % 2 else (frozenset({seed % 4}),
                                                                        frozenset(set(range(4)) - {seed % 4}))
    run(Scenario(seed=seed, conditions=NetworkConditions(
        max_delay_ms=60, partitions=(Partition(100 + seed * 31 % 400, 2_500 + seed * 97 % 3_000, groups),))))


@pytest.mark.parametrize("seed", SEEDS[:25])
def test_silent_and_invalid_proposers(seed: int) -> None:
    factory = SilentProposer if seed % 2 else InvalidProposer
    sim = run(Scenario(seed=seed, heights=4, conditions=jittery(seed), byzantine={seed % 4: factory}))
    assert any(d.round > 0 for d in sim.decisions[(seed + 1) % 4].values())


@pytest.mark.parametrize("seed", range(8))
def test_seven_validators_with_two_faults(seed: int) -> None:
    run(Scenario(seed=seed, validators=7, heights=2, conditions=jittery(seed),
                 powers=(10, 20, 10, 30, 10, 15, 10),
                 byzantine={seed % 7: Equivocator if seed % 2 else ConflictingProposer},
                 crashes={(seed + 3) % 7: (100, 2_000 + seed * 100)}))


def test_unequal_powers_follow_proposer_priorities() -> None:
    sim = run(Scenario(seed=1, validators=4, heights=12, powers=(40, 10, 10, 10)))
    proposers = [d.block.header.proposer_address for _, d in sorted(sim.decisions[0].items())]
    heavy = sim.nodes[0].address
    assert 5 <= proposers.count(heavy) <= 7


@pytest.mark.parametrize("seed", range(6))
def test_validator_set_changes_between_heights(seed: int) -> None:
    """Node 4 follows as a non-validator, joins at height 3 while node 0 leaves; node 2 doubles its power."""
    sim = run(Scenario(seed=seed, validators=5, heights=5, powers=(10, 10, 10, 10, 0),
                       set_changes={3: (0, 10, 20, 10, 10)}, conditions=jittery(seed)))
    for height, decision in sim.decisions[1].items():
        signers = {s.validator_address for s in decision.commit.signatures}
        assert signers <= {v.address for v in sim.validators_at(height).validators}
        assert decision.block.header.next_validators_hash == sim.validators_at(height + 1).hash
    assert min(m.height for m in sim.signed[4]) == 3
    assert max(m.height for m in sim.signed[0]) == 2
    assert len(sim.decisions[0]) >= 5 and len(sim.decisions[4]) >= 5


def _decode(message: object) -> Proposal | Vote | None:
    if not isinstance(message, bytes):
        return None
    try:
        return decode_message(message, 1 << 20)
    except MalformedMessage:
        return None


def test_locked_validators_refuse_a_new_value_and_the_valid_value_is_reproposed() -> None:
    """The paper's locking scenario at height 1 with validators A (round-0 proposer), B, C and D (round-1
    proposer): D misses the proposal and C's prevote of round 0, so D prevotes and precommits nil while A, B and
    C see +2/3 prevotes, lock and precommit the block; C's precommits of round 0 are lost both ways, so round 0
    ends without a decision (C follows into round 1 on f+1 votes of that round).
    D proposes a new block in round 1: the locked validators must prevote nil. The next proposer re-proposes the
    locked (valid) block with POL round 0, and it is decided."""
    probe = Simulation(Scenario(seed=0))
    priorities = probe.priorities(1)
    address_to_index = {node.address: node.index for node in probe.nodes}
    a = address_to_index[priorities.incremented(0).proposer]
    d = address_to_index[priorities.incremented(1).proposer]
    b, c = [i for i in range(4) if i not in (a, d)]

    def keep(sender: int, receiver: int, message: object, now_ms: int) -> bool:
        decoded = _decode(message)
        if decoded is None or (decoded.height, decoded.round) != (1, 0):
            return True
        if isinstance(decoded, Proposal):
            return receiver != d
        if decoded.type == PREVOTE:
            return not (sender == c and receiver == d)
        return c not in (sender, receiver)

    sim = run(Scenario(seed=0, heights=1, conditions=NetworkConditions(keep=keep)))
    decision = sim.decisions[a][1]
    round0_proposal = next(m for m in sim.signed[a] if isinstance(m, Proposal) and m.round == 0)
    assert [v.block_hash for v in votes_of(sim, d, PRECOMMIT, 1, 0)] == [b""]
    for locked in (a, b, c):
        assert [v.block_hash for v in votes_of(sim, locked, PRECOMMIT, 1, 0)] == [round0_proposal.block_hash]
    round1_proposal = next(m for m in sim.signed[d] if isinstance(m, Proposal) and m.round == 1)
    assert round1_proposal.block_hash != round0_proposal.block_hash
    for locked in (a, b, c):
        assert [v.block_hash for v in votes_of(sim, locked, PREVOTE, 1, 1)] == [b""]
    reproposal = next(m for node in range(4) for m in sim.signed[node] if isinstance(m, Proposal) and m.round == 2)
    assert (reproposal.pol_round, reproposal.block_hash) == (0, round0_proposal.block_hash)
    assert decision.block.hash == round0_proposal.block_hash and decision.round == 2


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(1_000, 1_300))
def test_soak_long_runs(seed: int) -> None:
    factories = (Equivocator, ConflictingProposer, SilentProposer, InvalidProposer)
    run(Scenario(seed=seed, validators=7, heights=20, conditions=jittery(seed),
                 byzantine={seed % 7: factories[seed % 4], (seed + 1) % 7: factories[(seed + 1) % 4]},
                 crashes={}, max_time_ms=600_000, progress_bound_ms=300_000))
