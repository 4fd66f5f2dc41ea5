"""The Rete network: alpha nodes and memories, beta join nodes and memories, updated incrementally.

* An **alpha node** per distinct (fact type, single-fact tests) keeps the ids of
  the facts passing its tests (its alpha memory). Patterns with equal tests
  share one node.
* A **join node** per pattern of a rule joins the partial matches of the
  patterns before it (its parent's memory; the first pattern joins the empty
  match) with its alpha memory, keeping the tuples that pass the pattern's
  beta tests (its beta memory). A fact never fills two patterns of one match.
  Rules whose first patterns are equal (a rule and the rules extending it)
  share those join nodes.
* The last join node of a rule reports complete matches to the agenda.
* A join whose pattern has an equality test ``field == $x.other`` indexes
  both sides by those values (its alpha facts by ``field``, its parent's
  matches by ``$x.other``) and only tries pairs from equal buckets.

Inserting a fact runs it through its type's alpha nodes and right-activates
the join nodes below; each new partial match left-activates the joins below
it. Retracting removes the fact from alpha memories and every partial match
holding it (indexed by fact id), reporting lost matches. An update is a
retract followed by an insert under the same id.

Gas: every alpha test costs :data:`CONDITION_TEST_GAS` plus its expressions,
every join attempt (a pair tried: with an equality index, only pairs of
equal values) :data:`JOIN_ATTEMPT_GAS` plus its expressions, every
complete match :data:`ACTIVATION_GAS`, every fact in or out :data:`FACT_GAS`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from middleware.rules.compiler import CompiledPattern, CompiledRule
from middleware.rules.gas import (
    ACTIVATION_GAS,
    CONDITION_TEST_GAS,
    FACT_GAS,
    JOIN_ATTEMPT_GAS,
    GasMeter,
)
from middleware.rules.templates import Fact
from middleware.rules.values import Value

Token = tuple[int, ...]
MatchListener = Callable[[int, Token], object]


class AlphaNode:
    """Facts of one type passing one set of single-fact tests."""

    def __init__(self, pattern: CompiledPattern) -> None:
        """A node testing like ``pattern``'s alpha tests."""
        self.test = pattern.alpha_test
        self.cost = CONDITION_TEST_GAS + pattern.alpha_cost
        self.memory: dict[int, None] = {}
        self.joins: list[JoinNode] = []


class JoinNode:
    """Partial matches of the first ``position + 1`` patterns of some rules."""

    def __init__(self, parent: JoinNode | None, alpha: AlphaNode, pattern: CompiledPattern) -> None:
        """Join ``parent``'s matches (the empty match when None) with ``alpha``'s facts by ``pattern``'s beta tests."""
        self.parent = parent
        self.alpha = alpha
        self.test = pattern.beta_test
        self.has_tests = bool(pattern.beta)
        self.cost = JOIN_ATTEMPT_GAS + pattern.beta_cost
        self.memory: dict[Token, None] = {}
        self.by_fact: dict[int, dict[Token, None]] = {}
        self.children: list[JoinNode] = []
        self.rules: list[int] = []
        self.equality = pattern.equality
        self.right_index: dict[Value, dict[int, None]] = {}
        self.left_index: dict[Value, dict[Token, None]] = {}


class ReteNetwork:
    """The compiled network of a rule set, with its memories."""

    def __init__(self, rules: Sequence[CompiledRule], facts: Callable[[int], Fact], meter: GasMeter,
                 on_match: MatchListener, on_unmatch: MatchListener) -> None:
        """Build the nodes of ``rules``; ``facts`` looks up live facts; matches are reported to the listeners."""
        self._facts = facts
        self.meter = meter
        self._on_match = on_match
        self._on_unmatch = on_unmatch
        self._alpha_by_type: dict[str, list[AlphaNode]] = {}
        self._alpha_by_key: dict[tuple[str, ...], AlphaNode] = {}
        self._joins: list[JoinNode] = []
        self._join_by_key: dict[tuple[tuple[str, ...], ...], JoinNode] = {}
        self._terminals: list[JoinNode] = []
        for rule in rules:
            parent: JoinNode | None = None
            prefix: tuple[tuple[str, ...], ...] = ()
            for pattern in rule.patterns:
                prefix += (pattern.join_key,)
                node = self._join_by_key.get(prefix)
                if node is None:
                    node = JoinNode(parent, self._alpha(pattern), pattern)
                    node.alpha.joins.append(node)
                    if parent is not None:
                        parent.children.append(node)
                    self._joins.append(node)
                    self._join_by_key[prefix] = node
                parent = node
            assert parent is not None  # the compiler refuses rules without patterns
            parent.rules.append(rule.index)
            self._terminals.append(parent)

    def _alpha(self, pattern: CompiledPattern) -> AlphaNode:
        node = self._alpha_by_key.get(pattern.alpha_key)
        if node is None:
            node = AlphaNode(pattern)
            self._alpha_by_key[pattern.alpha_key] = node
            self._alpha_by_type.setdefault(pattern.template.name, []).append(node)
        return node

    @property
    def node_counts(self) -> tuple[int, int]:
        """(alpha nodes, join nodes)."""
        return len(self._alpha_by_key), len(self._joins)

    def matches(self, rule: int) -> tuple[Token, ...]:
        """The complete matches of rule ``rule``, in the order they were made."""
        return tuple(self._terminals[rule].memory)

    # -- changes ------------------------------------------------------------------------------

    def insert(self, fact: Fact) -> None:
        """Run a new (or updated) fact through the network."""
        self.meter.charge(FACT_GAS, "fact in")
        for alpha in self._alpha_by_type.get(fact.template.name, ()):
            self.meter.charge(alpha.cost, "condition test")
            if alpha.test(fact.values):
                alpha.memory[fact.id] = None
                for join in alpha.joins:
                    if join.equality is not None:
                        join.right_index.setdefault(fact.values[join.equality[0]], {})[fact.id] = None
                for join in alpha.joins:
                    self._right_activate(join, fact)

    def retract(self, fact: Fact) -> None:
        """Take a fact out of the network, dropping every partial match that holds it."""
        self.meter.charge(FACT_GAS, "fact out")
        for alpha in self._alpha_by_type.get(fact.template.name, ()):
            if alpha.memory.pop(fact.id, 0) is None:
                for join in alpha.joins:
                    if join.equality is not None:
                        _drop(join.right_index, fact.values[join.equality[0]], fact.id)
        for join in self._joins:
            tokens = join.by_fact.pop(fact.id, None)
            if not tokens:
                continue
            for token in tokens:
                del join.memory[token]
                for other in token:
                    if other != fact.id:
                        join.by_fact[other].pop(token, None)
                for child in join.children:
                    if child.equality is not None:
                        _drop(child.left_index, self._left_key(child, token), token)
                for rule in join.rules:
                    self._on_unmatch(rule, token)

    def _left_key(self, join: JoinNode, token: Token) -> Value:
        """The value a parent match offers to ``join``'s equality index."""
        assert join.equality is not None
        _, position, index = join.equality
        return self._facts(token[position]).values[index]

    def _right_activate(self, join: JoinNode, fact: Fact) -> None:
        parents: Sequence[Token]
        if join.parent is None:
            parents = ((),)
        elif join.equality is not None:
            parents = tuple(join.left_index.get(fact.values[join.equality[0]], ()))
        else:
            parents = tuple(join.parent.memory)
        for token in parents:
            if fact.id in token:
                continue
            self._try_join(join, token, fact)

    def _left_activate(self, join: JoinNode, token: Token) -> None:
        if join.equality is not None:
            candidates = tuple(join.right_index.get(self._left_key(join, token), ()))
        else:
            candidates = tuple(join.alpha.memory)
        for fact_id in candidates:
            if fact_id in token:
                continue
            self._try_join(join, token, self._facts(fact_id))

    def _try_join(self, join: JoinNode, token: Token, fact: Fact) -> None:
        self.meter.charge(join.cost, "join attempt")
        if join.has_tests:
            env = tuple(self._facts(fact_id).values for fact_id in token) + (fact.values,)
            if not join.test(env):
                return
        self._add_token(join, token + (fact.id,))

    def _add_token(self, join: JoinNode, token: Token) -> None:
        join.memory[token] = None
        for fact_id in token:
            join.by_fact.setdefault(fact_id, {})[token] = None
        for rule in join.rules:
            self.meter.charge(ACTIVATION_GAS, "activation")
            self._on_match(rule, token)
        for child in join.children:
            if child.equality is not None:
                child.left_index.setdefault(self._left_key(child, token), {})[token] = None
        for child in join.children:
            self._left_activate(child, token)


def _drop(index: dict[Value, dict[Any, None]], key: Value, item: Any) -> None:
    """Remove ``item`` from bucket ``key`` of an equality index (and the bucket once empty)."""
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(item, None)
        if not bucket:
            del index[key]
