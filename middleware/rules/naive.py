"""A naive evaluator with the engine's semantics, as a reference for testing the Rete network.

Before and after every firing it evaluates every rule over every combination
of facts from scratch (no memories). It keeps a version number per fact,
bumped by each update, so "the same match made again" is a match with the
same rule, fact ids *and* versions; a match that fired or was suppressed
(``no_loop``, ``lock_on_active``) is remembered as consumed under that key.
This restates the agenda rules of :mod:`middleware.rules.agenda` without
sharing their code, which is the point of the comparison.
"""
from __future__ import annotations

from collections.abc import Iterator

from middleware.rules.actions import EmittedEvent, run_actions
from middleware.rules.compiler import CompiledRule, RuleSet
from middleware.rules.engine import Firing
from middleware.rules.gas import unmetered
from middleware.rules.memory import WorkingMemory
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value

_Match = tuple[int, tuple[int, ...], tuple[int, ...]]  # rule index, fact ids, fact versions


class NaiveSession(WorkingMemory):
    """The engine's session API (insert, update, retract, fire_all, facts, events, fired), evaluated naively."""

    def __init__(self, rules: RuleSet) -> None:
        """An empty working memory for ``rules``."""
        self.rules = rules
        self.meter = unmetered()
        self._facts: dict[int, Fact] = {}
        self._versions: dict[int, int] = {}
        self._next_id = 1
        self._consumed: set[_Match] = set()
        self.events: list[EmittedEvent] = []
        self.fired: list[Firing] = []

    def insert_values(self, template: Template, values: tuple[Value, ...]) -> int:
        """Add a fact with all values; returns its id."""
        fact_id = self._next_id
        self._facts[fact_id] = Fact(fact_id, template, template.checked(values))
        self._versions[fact_id] = 0
        self._next_id += 1
        return fact_id

    def update_values(self, fact_id: int, values: tuple[Value, ...]) -> None:
        """Replace a fact's values, making it a new version."""
        old = self.fact(fact_id)
        self._facts[fact_id] = Fact(fact_id, old.template, old.template.checked(values))
        self._versions[fact_id] += 1

    def retract_id(self, fact_id: int) -> None:
        """Remove a fact."""
        self.fact(fact_id)
        del self._facts[fact_id]

    def _tuples(self, rule: CompiledRule) -> Iterator[tuple[int, ...]]:
        def extend(position: int, chosen: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
            if position == len(rule.patterns):
                yield chosen
                return
            pattern = rule.patterns[position]
            for fact in self.facts():
                if fact.template.name != pattern.template.name or fact.id in chosen:
                    continue
                if not pattern.alpha_test(fact.values):
                    continue
                env = tuple(self._facts[i].values for i in chosen) + (fact.values,)
                if pattern.beta_test(env):
                    yield from extend(position + 1, chosen + (fact.id,))

        return extend(0, ())

    def _matches(self) -> set[_Match]:
        return {
            (rule.index, ids, tuple(self._versions[i] for i in ids))
            for rule in self.rules.rules
            for ids in self._tuples(rule)
        }

    def fire_all(self, max_activations: int = 1_000) -> int:
        """Fire until nothing waits or ``max_activations`` fired; returns how many fired."""
        locked: set[int] = set()
        fired = 0
        while fired < max_activations:
            before = self._matches()
            waiting = [match for match in before if match not in self._consumed]
            if not waiting:
                break
            best = min(waiting, key=lambda m: (-self.rules.rules[m[0]].salience, m[0], m[1]))
            rule = self.rules.rules[best[0]]
            self._consumed.add(best)
            self.fired.append(Firing(rule.name, best[1]))
            fired += 1
            if rule.lock_on_active:
                locked.add(rule.index)
            run_actions(rule.actions, self, best[1], self.meter)
            for match in self._matches() - before:
                same = match[0] == best[0] and match[1] == best[1]
                if (same and rule.no_loop) or match[0] in locked:
                    self._consumed.add(match)
        return fired
