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
* A **condition node** per ``not``, ``exists`` or ``accumulate`` condition
  keeps, for each partial match of its parent, the ids of the facts that pass
  the condition's tests with it (its support). It holds the match extended
  with fact id 0 while the support is empty (``not``) or not empty
  (``exists``); an ``accumulate`` folds its results over the support and
  holds the extended match while its tests pass, making it again on every
  change of the support (a fact joining or leaving it; an update is both).
  Inserts, updates and retracts change the support incrementally.
* The last node of a rule reports complete matches to the agenda.
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
    ACCUMULATE_FACT_GAS,
    ACTIVATION_GAS,
    CONDITION_TEST_GAS,
    FACT_GAS,
    JOIN_ATTEMPT_GAS,
    GasMeter,
)
from middleware.rules.templates import Fact
from middleware.rules.values import Value, checked_int

Token = tuple[int, ...]
MatchListener = Callable[[int, Token], object]


class AlphaNode:
    """Facts of one type passing one set of single-fact tests."""

    def __init__(self, pattern: CompiledPattern) -> None:
        """A node testing like ``pattern``'s alpha tests."""
        self.test = pattern.alpha_test
        self.cost = CONDITION_TEST_GAS + pattern.alpha_cost
        self.memory: dict[int, None] = {}
        self.joins: list[BetaNode] = []


class BetaNode:
    """Partial matches of the first ``position + 1`` conditions of some rules."""

    def __init__(self, parent: BetaNode | None, alpha: AlphaNode, pattern: CompiledPattern) -> None:
        """Extend ``parent``'s matches (the empty match when None) by ``pattern`` over ``alpha``'s facts."""
        self.parent = parent
        self.alpha = alpha
        self.pattern = pattern
        self.test = pattern.beta_test
        self.has_tests = bool(pattern.beta)
        self.cost = JOIN_ATTEMPT_GAS + pattern.beta_cost
        self.memory: dict[Token, None] = {}
        self.by_fact: dict[int, dict[Token, None]] = {}
        self.by_prefix: dict[Token, dict[Token, None]] = {}
        self.children: list[BetaNode] = []
        self.rules: list[int] = []
        self.lineage: tuple[BetaNode, ...] = (parent.lineage if parent is not None else ()) + (self,)
        self.equality: tuple[int, int, int] | None = None


class JoinNode(BetaNode):
    """A plain pattern: parent matches joined with the alpha memory's facts."""

    def __init__(self, parent: BetaNode | None, alpha: AlphaNode, pattern: CompiledPattern) -> None:
        """A join by ``pattern``'s beta tests, indexed by its equality test if it has one."""
        super().__init__(parent, alpha, pattern)
        self.equality = pattern.equality
        self.right_index: dict[Value, dict[int, None]] = {}
        self.left_index: dict[Value, dict[Token, None]] = {}


class ConditionNode(BetaNode):
    """A ``not``, ``exists`` or ``accumulate`` condition: parent matches with their supporting facts."""

    def __init__(self, parent: BetaNode | None, alpha: AlphaNode, pattern: CompiledPattern) -> None:
        """A condition of ``pattern.kind``."""
        super().__init__(parent, alpha, pattern)
        self.kind = pattern.kind
        self.support: dict[Token, dict[int, None]] = {}
        self.supported_by: dict[int, dict[Token, None]] = {}
        self.results: dict[Token, tuple[Value, ...]] = {}

    def forget(self, token: Token) -> None:
        """Drop the support of a parent match that is gone."""
        for fact_id in self.support.pop(token, {}):
            _drop(self.supported_by, fact_id, token)
        self.results.pop(token, None)


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
        self._joins: list[BetaNode] = []
        self._join_by_key: dict[tuple[tuple[str, ...], ...], BetaNode] = {}
        self._terminals: list[BetaNode] = []
        for rule in rules:
            parent: BetaNode | None = None
            prefix: tuple[tuple[str, ...], ...] = ()
            for pattern in rule.patterns:
                prefix += (pattern.join_key,)
                node = self._join_by_key.get(prefix)
                if node is None:
                    kind = JoinNode if pattern.kind == "fact" else ConditionNode
                    node = kind(parent, self._alpha(pattern), pattern)
                    node.alpha.joins.append(node)
                    if parent is not None:
                        parent.children.append(node)
                    self._joins.append(node)
                    self._join_by_key[prefix] = node
                parent = node
            assert parent is not None  # the compiler refuses rules without patterns
            parent.rules.append(rule.index)
            self._terminals.append(parent)

    def start(self) -> None:
        """Match the empty working memory: conditions that come first (``not X()``) hold before any fact."""
        for node in self._joins:
            if node.parent is None and isinstance(node, ConditionNode):
                self._left_activate(node, ())

    def _alpha(self, pattern: CompiledPattern) -> AlphaNode:
        node = self._alpha_by_key.get(pattern.alpha_key)
        if node is None:
            node = AlphaNode(pattern)
            self._alpha_by_key[pattern.alpha_key] = node
            self._alpha_by_type.setdefault(pattern.template.name, []).append(node)
        return node

    @property
    def node_counts(self) -> tuple[int, int]:
        """(alpha nodes, join and condition nodes)."""
        return len(self._alpha_by_key), len(self._joins)

    def matches(self, rule: int) -> tuple[Token, ...]:
        """The complete matches of rule ``rule``, in the order they were made."""
        return tuple(self._terminals[rule].memory)

    def results(self, rule: int, token: Token) -> dict[int, tuple[Value, ...]]:
        """The accumulate results of a complete match of ``rule``, by position."""
        return {position: node.results[token[:position]]
                for position, node in enumerate(self._terminals[rule].lineage)
                if isinstance(node, ConditionNode) and node.kind == "accumulate"}

    # -- changes ------------------------------------------------------------------------------

    def insert(self, fact: Fact) -> None:
        """Run a new (or updated) fact through the network."""
        self.meter.charge(FACT_GAS, "fact in")
        for alpha in self._alpha_by_type.get(fact.template.name, ()):
            self.meter.charge(alpha.cost, "condition test")
            if alpha.test(fact.values):
                alpha.memory[fact.id] = None
                for join in alpha.joins:
                    if isinstance(join, JoinNode) and join.equality is not None:
                        join.right_index.setdefault(fact.values[join.equality[0]], {})[fact.id] = None
                for join in alpha.joins:
                    if isinstance(join, JoinNode):
                        self._right_activate(join, fact)
                    else:
                        self._support(join, fact)

    def retract(self, fact: Fact) -> None:
        """Take a fact out of the network, dropping every partial match that holds it or rests on it."""
        self.meter.charge(FACT_GAS, "fact out")
        for alpha in self._alpha_by_type.get(fact.template.name, ()):
            if alpha.memory.pop(fact.id, 0) is None:
                for join in alpha.joins:
                    if isinstance(join, JoinNode) and join.equality is not None:
                        _drop(join.right_index, fact.values[join.equality[0]], fact.id)
        for join in self._joins:
            for token in tuple(join.by_fact.get(fact.id, ())):
                if token in join.memory:
                    self._remove_token(join, token)
            if isinstance(join, ConditionNode):
                for parent in tuple(join.supported_by.pop(fact.id, ())):
                    join.support[parent].pop(fact.id, None)
                    self._condition_changed(join, parent)

    def _remove_token(self, node: BetaNode, token: Token) -> None:
        """Drop a partial match and everything built on it."""
        del node.memory[token]
        for fact_id in token:
            if fact_id:
                _drop(node.by_fact, fact_id, token)
        _drop(node.by_prefix, token[:-1], token)
        for child in node.children:
            if isinstance(child, JoinNode) and child.equality is not None:
                _drop(child.left_index, self._left_key(child, token), token)
        for rule in node.rules:
            self._on_unmatch(rule, token)
        for child in node.children:
            if isinstance(child, ConditionNode):
                child.forget(token)
            for built in tuple(child.by_prefix.get(token, ())):
                self._remove_token(child, built)

    def _left_key(self, join: JoinNode, token: Token) -> Value:
        """The value a parent match offers to ``join``'s equality index."""
        assert join.equality is not None
        _, position, index = join.equality
        return self._facts(token[position]).values[index]

    def _env(self, node: BetaNode, token: Token) -> tuple[tuple[Value, ...], ...]:
        """The values at each position of ``token`` (a match of ``node``'s parent): facts, or accumulate results."""
        return tuple(self._facts(fact_id).values if fact_id else
                     getattr(node.lineage[position], "results", {}).get(token[:position], ())
                     for position, fact_id in enumerate(token))

    def _parents(self, node: BetaNode) -> tuple[Token, ...]:
        return ((),) if node.parent is None else tuple(node.parent.memory)

    def _right_activate(self, join: JoinNode, fact: Fact) -> None:
        parents: Sequence[Token]
        if join.equality is not None:
            parents = tuple(join.left_index.get(fact.values[join.equality[0]], ()))
        else:
            parents = self._parents(join)
        for token in parents:
            if fact.id in token:
                continue
            self._try_join(join, token, fact)

    def _left_activate(self, join: BetaNode, token: Token) -> None:
        if isinstance(join, ConditionNode):
            join.support[token] = {}
            for fact_id in tuple(join.alpha.memory):
                if fact_id not in token and self._passes(join, token, self._facts(fact_id)):
                    join.support[token][fact_id] = None
                    join.supported_by.setdefault(fact_id, {})[token] = None
            self._condition_changed(join, token)
            return
        assert isinstance(join, JoinNode)
        if join.equality is not None:
            candidates = tuple(join.right_index.get(self._left_key(join, token), ()))
        else:
            candidates = tuple(join.alpha.memory)
        for fact_id in candidates:
            if fact_id in token:
                continue
            self._try_join(join, token, self._facts(fact_id))

    def _passes(self, join: BetaNode, token: Token, fact: Fact) -> bool:
        """Whether ``fact`` extends ``token`` by ``join``'s beta tests (one join attempt)."""
        self.meter.charge(join.cost, "join attempt")
        return not join.has_tests or join.test(self._env(join, token) + (fact.values,))

    def _try_join(self, join: JoinNode, token: Token, fact: Fact) -> None:
        if self._passes(join, token, fact):
            self._add_token(join, token + (fact.id,))

    def _support(self, node: ConditionNode, fact: Fact) -> None:
        """A fact entered ``node``'s alpha memory: add it to the support of the parent matches it passes with."""
        for token in self._parents(node):
            if fact.id not in token and self._passes(node, token, fact):
                node.support[token][fact.id] = None
                node.supported_by.setdefault(fact.id, {})[token] = None
                self._condition_changed(node, token)

    def _condition_changed(self, node: ConditionNode, token: Token) -> None:
        """The support of parent match ``token`` changed: make, keep or drop the extended match."""
        extended = token + (0,)
        held = extended in node.memory
        if node.kind == "accumulate":
            if held:
                self._remove_token(node, extended)
            values = self._accumulate(node, token)
            if values is not None:
                node.results[token] = values
                self.meter.charge(node.pattern.tests_cost, "accumulate test")
                if node.pattern.result_test(self._env(node, token) + (values,)):
                    self._add_token(node, extended)
                    return
            node.results.pop(token, None)
            return
        wanted = bool(node.support[token]) == (node.kind == "exists")
        if wanted and not held:
            self._add_token(node, extended)
        elif held and not wanted:
            self._remove_token(node, extended)

    def _accumulate(self, node: ConditionNode, token: Token) -> tuple[Value, ...] | None:
        """The results over the support of ``token`` (None when a min or max has no fact to fold)."""
        supporters = sorted(node.support[token])
        pattern = node.pattern
        self.meter.charge((ACCUMULATE_FACT_GAS + pattern.accumulate_cost) * len(supporters), "accumulate")
        env = self._env(node, token)
        return fold(pattern, [env + (self._facts(fact_id).values,) for fact_id in supporters])

    def _add_token(self, join: BetaNode, token: Token) -> None:
        join.memory[token] = None
        for fact_id in token:
            if fact_id:
                join.by_fact.setdefault(fact_id, {})[token] = None
        join.by_prefix.setdefault(token[:-1], {})[token] = None
        for rule in join.rules:
            self.meter.charge(ACTIVATION_GAS, "activation")
            self._on_match(rule, token)
        for child in join.children:
            if isinstance(child, JoinNode) and child.equality is not None:
                child.left_index.setdefault(self._left_key(child, token), {})[token] = None
        for child in join.children:
            self._left_activate(child, token)


def fold(pattern: CompiledPattern, envs: Sequence[tuple[tuple[Value, ...], ...]]) -> tuple[Value, ...] | None:
    """An accumulate's results over the environments (earlier values..., fact) of its facts, in fact-id order.

    ``count`` and ``sum`` of no facts are 0; a ``min`` or ``max`` of no facts
    makes the accumulate fail (None). Sums outside int256 are an error.
    """
    values: list[Value] = []
    for result in pattern.results:
        if result.argument is None:
            values.append(len(envs))
            continue
        items = [int(result.argument(env)) for env in envs]  # type: ignore[arg-type]
        if result.function == "sum":
            values.append(checked_int(sum(items)))
        elif not items:
            return None
        else:
            values.append(min(items) if result.function == "min" else max(items))
    return tuple(values)


def _drop(index: dict[Any, dict[Any, None]], key: Any, item: Any) -> None:
    """Remove ``item`` from bucket ``key`` of an index (and the bucket once empty)."""
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(item, None)
        if not bucket:
            del index[key]
