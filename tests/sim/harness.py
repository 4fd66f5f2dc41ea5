"""Running a scenario and checking the properties every run must have.

``run(scenario)`` builds the validators (fixed Ed25519 seeds, equal or given
powers), runs the simulated network until every honest node has decided the
target number of heights or the time limit passes, and returns the record.
``check(result)`` asserts, for that run:

* agreement: no two honest nodes decided different blocks at a height;
* validity: every decided block was proposed in a signed proposal and is a
  valid block on the deciding node's chain;
* no double signing by honest validators (across crashes and restarts), and
  no evidence against them;
* commit verification: the first commit decided at each height and every
  decided block's ``last_commit`` (the commit its proposer decided the parent
  with) pass ``consensus.commit.verify_commit`` (Ed25519 checks are costly, so
  each distinct commit once), and every commit is for the decided block;
* progress: every honest node decided the target heights before
  ``stable_ms + progress_bound_ms`` (after the network healed and restarts).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_hash.auto import keccak

from consensus.evidence import DuplicateVoteEvidence
from consensus.keys import ValidatorKey
from consensus.messages import Message, Proposal, Vote
from consensus.proposer import ProposerPriorities
from consensus.tendermint import TimeoutConfig
from consensus.types import Block, Commit
from consensus.validators import Validator, ValidatorSet
from tests.sim.network import Clock, Network, NetworkConditions
from tests.sim.node import CachedSigningKey, SimNode, caching_verify, verify_commit_once

CHAIN_ID = 7001
SIM_TIMEOUTS = TimeoutConfig(propose_ms=400, propose_delta_ms=100, prevote_ms=200, prevote_delta_ms=100,
                             precommit_ms=200, precommit_delta_ms=100)

_KEYS: dict[int, ValidatorKey] = {}


def validator_key(index: int) -> ValidatorKey:
    """The fixed key of simulated validator ``index``."""
    if index not in _KEYS:
        _KEYS[index] = CachedSigningKey(keccak(b"sim validator %d" % index))
    return _KEYS[index]


NodeFactory = Callable[[int, ValidatorKey, "Simulation"], SimNode]


@dataclass
class Scenario:
    """What to simulate."""

    seed: int
    validators: int = 4
    heights: int = 3
    powers: tuple[int, ...] = ()
    """Voting power of each node at height 1 (0: not a validator); 10 each by default."""
    set_changes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """height -> the powers of each node from that height on (validator-set changes)."""
    conditions: NetworkConditions = field(default_factory=NetworkConditions)
    crashes: dict[int, tuple[int, int | None]] = field(default_factory=dict)
    """node -> (crash time, restart time or None for never)."""
    byzantine: dict[int, NodeFactory] = field(default_factory=dict)
    timeouts: TimeoutConfig = SIM_TIMEOUTS
    timeout_commit_ms: int = 50
    progress_bound_ms: int = 20_000
    max_time_ms: int = 120_000


@dataclass(frozen=True)
class Decision:
    """One node's decision at one height."""

    block: Block
    commit: Commit
    round: int
    time_ms: int
    via: str


class Simulation:
    """The simulated process: clock, network, nodes and the record of what they did."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.chain_id = CHAIN_ID
        self.timeouts = scenario.timeouts
        self.timeout_commit_ms = scenario.timeout_commit_ms
        self.gossip_interval_ms = 300
        self.app_delay_ms = 2
        self.clock = Clock()
        self.rng = random.Random(scenario.seed)
        self.network = Network(self.clock, self.rng, scenario.conditions)
        self.verifier = caching_verify
        keys = [validator_key(i) for i in range(scenario.validators)]
        self._keys = keys
        self._sets = {1: self._set_of(scenario.powers or (10,) * scenario.validators)}
        self._sets.update({height: self._set_of(powers) for height, powers in scenario.set_changes.items()})
        self._priorities = [ProposerPriorities.initial(self._sets[1])]
        self.indices = list(range(scenario.validators))
        self.nodes: list[SimNode] = []
        for index, key in enumerate(keys):
            factory = scenario.byzantine.get(index, SimNode)
            self.nodes.append(factory(index, key, self))
            self.network.deliver[index] = self.nodes[index].receive
        self.decisions: dict[int, dict[int, Decision]] = {i: {} for i in self.indices}
        self.signed: dict[int, list[Message]] = {i: [] for i in self.indices}
        self.proposed: set[bytes] = set()
        self.evidence: list[tuple[int, DuplicateVoteEvidence]] = []
        self.violations: list[str] = []
        self.refused_signatures = 0
        self.invalid_messages = 0

    def _set_of(self, powers: tuple[int, ...]) -> ValidatorSet:
        return ValidatorSet.of([Validator(k.public_key, p, b"\x00" * 20) for k, p in zip(self._keys, powers) if p])

    def validators_at(self, height: int) -> ValidatorSet:
        """The validator set of ``height``."""
        return self._sets[max(h for h in self._sets if h <= max(height, 1))]

    @property
    def honest(self) -> list[int]:
        """Indices of the honest validators (crashed ones included)."""
        return [i for i in self.indices if i not in self.scenario.byzantine]

    @property
    def live_honest(self) -> list[int]:
        """Honest validators that are not down for good."""
        return [i for i in self.honest if self.scenario.crashes.get(i, (0, 0))[1] is not None]

    @property
    def stable_ms(self) -> int:
        """When the network has healed and every restart has happened."""
        times = [p.heal_ms for p in self.scenario.conditions.partitions]
        times += [restart for _, restart in self.scenario.crashes.values() if restart is not None]
        times.append(self.scenario.conditions.lossy_until_ms)
        return max(times, default=0)

    def priorities(self, height: int) -> ProposerPriorities:
        """Proposer priorities of ``height``."""
        while len(self._priorities) < height:
            self._priorities.append(self._priorities[-1].next_height(self.validators_at(len(self._priorities) + 1)))
        return self._priorities[height - 1]

    @staticmethod
    def timestamp_ms(height: int, round_: int, step: int) -> int:
        """The logical clock simulated validators stamp messages with (consensus never reads it).

        It depends on the position in the protocol only, so runs of different seeds that reach the same
        decisions sign the same bytes, and the process-wide signature caches keep hundreds of seeds fast.
        """
        return height * 1_000_000 + round_ * 10 + step

    def record_signed(self, index: int, message: Message) -> None:
        """Remember a signature made by node ``index``."""
        self.signed[index].append(message)
        if isinstance(message, Proposal):
            self.proposed.add(message.block_hash)

    def record_decision(self, index: int, block: Block, commit: Commit, round_: int, via: str) -> None:
        """Remember a decision of node ``index``."""
        self.decisions[index][block.number] = Decision(block, commit, round_, self.clock.now_ms, via)

    def record_evidence(self, index: int, evidence: DuplicateVoteEvidence) -> None:
        """Remember evidence found by node ``index``."""
        self.evidence.append((index, evidence))

    def done(self) -> bool:
        """Whether every live honest node decided the target heights."""
        target = self.scenario.heights
        return all(len(self.decisions[i]) >= target for i in self.live_honest)

    def run(self) -> Simulation:
        """Run the scenario to completion or its time limit."""
        for node in self.nodes:
            node.boot()
        for index, (crash_ms, restart_ms) in sorted(self.scenario.crashes.items()):
            self.clock.schedule(crash_ms, self.nodes[index].crash)
            if restart_ms is not None:
                self.clock.schedule(restart_ms, self.nodes[index].boot)
        self.clock.run_until(self.scenario.max_time_ms, self.done)
        return self


def run(scenario: Scenario) -> Simulation:
    """Simulate ``scenario`` and check every property; returns the finished simulation."""
    sim = Simulation(scenario).run()
    check(sim)
    return sim


def check(sim: Simulation) -> None:
    """Assert agreement, validity, no double signing, commit verification and progress."""
    seed = sim.scenario.seed
    assert not sim.violations, f"seed {seed}: {sim.violations}"
    honest = sim.honest
    decided_at: dict[int, bytes] = {}
    verified_heights: set[int] = set()
    for index in honest:
        for height, decision in sorted(sim.decisions[index].items()):
            block = decision.block
            first = decided_at.setdefault(height, block.hash)
            assert first == block.hash, f"seed {seed}: agreement violated at height {height}"
            assert block.hash in sim.proposed, f"seed {seed}: height {height} decided an unproposed block"
            checks = [(block.last_commit, height - 1, block.header.parent_hash)]
            if height not in verified_heights:
                verified_heights.add(height)
                checks.append((decision.commit, height, block.hash))
            for commit, commit_height, block_hash in checks:
                if commit_height >= 1:
                    verify_commit_once(commit, sim.validators_at(commit_height), sim.chain_id, commit_height,
                                       block_hash)
            assert (decision.commit.height, decision.commit.block_hash) == (height, block.hash), \
                f"seed {seed}: node {index} holds a commit of another block at height {height}"
    honest_addresses = {sim.nodes[i].address for i in honest}
    for index in honest:
        seen: dict[tuple[int, int, int], bytes] = {}
        for message in sim.signed[index]:
            kind = 0 if isinstance(message, Proposal) else message.type
            value = message.block_hash
            key = (message.height, message.round, kind)
            assert seen.setdefault(key, value) == value, f"seed {seed}: honest node {index} double-signed at {key}"
    for finder, evidence in sim.evidence:
        assert finder in sim.scenario.byzantine or evidence.validator_address not in honest_addresses, \
            f"seed {seed}: evidence against honest validator 0x{evidence.validator_address.hex()}"
    deadline = sim.stable_ms + sim.scenario.progress_bound_ms
    for index in sim.live_honest:
        decisions = sim.decisions[index]
        assert len(decisions) >= sim.scenario.heights, \
            f"seed {seed}: node {index} decided only {len(decisions)} of {sim.scenario.heights} heights"
        last = max(d.time_ms for h, d in decisions.items() if h <= sim.scenario.heights)
        assert last <= deadline, f"seed {seed}: node {index} reached the target at {last} ms, after {deadline} ms"


def votes_of(sim: Simulation, index: int, vote_type: int, height: int, round_: int) -> list[Vote]:
    """The votes of ``vote_type`` node ``index`` signed at (height, round)."""
    return [m for m in sim.signed[index]
            if isinstance(m, Vote) and (m.type, m.height, m.round) == (vote_type, height, round_)]
