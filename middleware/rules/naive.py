"""A naive evaluator with the engine's semantics, as a reference for testing the Rete network.

After every change of the working memory (an insert, a retract, and each
half of an update, which is a retract followed by an insert) it evaluates
every rule over every combination of facts from scratch (no memories). A
match is identified by its rule, its fact ids and, for each ``accumulate``,
the ids of the facts it folded; a match that fired or was suppressed
(``no_loop``, ``lock_on_active``, a cancelled ``activation_group``) is
remembered as consumed until it stops holding. This restates the agenda rules
of :mod:`middleware.rules.agenda` without sharing their code, which is the
point of the comparison.
"""
from __future__ import annotations

from collections.abc import Iterator

from middleware.rules.actions import EmittedEvent, Payment, run_actions
from middleware.rules.compiler import CompiledRule, RuleSet
from middleware.rules.engine import Firing
from middleware.rules.gas import unmetered
from middleware.rules.memory import WorkingMemory
from middleware.rules.rete import fold
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value

_Match = tuple[int, tuple[int, ...], tuple[frozenset[int], ...]]  # rule index, fact ids, accumulated fact ids
_Results = dict[int, tuple[Value, ...]]
_Env = tuple[tuple[Value, ...], ...]


class NaiveSession(WorkingMemory):
    """The engine's session API (insert, update, retract, fire_all, facts, events, fired), evaluated naively."""

    def __init__(self, rules: RuleSet, budget: int = 0) -> None:
        """An empty working memory for ``rules``, with ``budget`` wei for ``pay``."""
        self.rules = rules
        self.meter = unmetered()
        self.budget = budget
        self.payments: list[Payment] = []
        self._facts: dict[int, Fact] = {}
        self._next_id = 1
        self._consumed: set[_Match] = set()
        self._current: dict[_Match, _Results] = {}
        self._made: set[_Match] | None = None
        self.events: list[EmittedEvent] = []
        self.fired: list[Firing] = []
        self._refresh()

    def insert_values(self, template: Template, values: tuple[Value, ...]) -> int:
        """Add a fact with all values; returns its id."""
        fact_id = self._next_id
        self._facts[fact_id] = Fact(fact_id, template, template.checked(values))
        self._next_id += 1
        self._refresh()
        return fact_id

    def update_values(self, fact_id: int, values: tuple[Value, ...]) -> None:
        """Replace a fact's values: the fact leaves, then comes back with the new values."""
        old = self.fact(fact_id)
        new = Fact(fact_id, old.template, old.template.checked(values))
        del self._facts[fact_id]
        self._refresh()
        self._facts[fact_id] = new
        self._refresh()

    def retract_id(self, fact_id: int) -> None:
        """Remove a fact."""
        self.fact(fact_id)
        del self._facts[fact_id]
        self._refresh()

    def _refresh(self) -> None:
        """Recompute every match; forget consumed matches that ended; note matches made during a firing."""
        current = self._matches()
        self._consumed &= set(current)
        if self._made is not None:
            self._made |= set(current) - set(self._current)
        self._current = current

    def _tuples(self, rule: CompiledRule) -> Iterator[tuple[tuple[int, ...], tuple[frozenset[int], ...], _Results]]:
        def candidates(position: int, chosen: tuple[int, ...], env: _Env) -> list[Fact]:
            pattern = rule.patterns[position]
            return [fact for fact in self.facts()
                    if fact.template.name == pattern.template.name and fact.id not in chosen
                    and pattern.alpha_test(fact.values) and pattern.beta_test(env + (fact.values,))]

        def extend(position: int, chosen: tuple[int, ...], env: _Env, folded: tuple[frozenset[int], ...],
                   results: _Results) -> Iterator[tuple[tuple[int, ...], tuple[frozenset[int], ...], _Results]]:
            if position == len(rule.patterns):
                yield chosen, folded, results
                return
            pattern = rule.patterns[position]
            found = candidates(position, chosen, env)
            if pattern.kind == "fact":
                for fact in found:
                    yield from extend(position + 1, chosen + (fact.id,), env + (fact.values,), folded, results)
            elif pattern.kind == "not" and not found or pattern.kind == "exists" and found:
                yield from extend(position + 1, chosen + (0,), env + ((),), folded, results)
            elif pattern.kind == "accumulate":
                values = fold(pattern, [env + (fact.values,) for fact in found])
                if values is not None and pattern.result_test(env + (values,)):
                    yield from extend(position + 1, chosen + (0,), env + (values,),
                                      folded + (frozenset(fact.id for fact in found),), {**results, position: values})

        return extend(0, (), (), (), {})

    def _matches(self) -> dict[_Match, _Results]:
        return {(rule.index, ids, folded): results
                for rule in self.rules.rules
                for ids, folded, results in self._tuples(rule)}

    def fire_all(self, max_activations: int = 1_000, now: int | None = None) -> int:
        """Fire until nothing in effect at ``now`` waits or ``max_activations`` fired; returns how many fired."""
        locked: set[int] = set()
        fired = 0
        while fired < max_activations:
            waiting = [match for match in self._current
                       if match not in self._consumed and self.rules.rules[match[0]].in_effect(now)]
            if not waiting:
                break
            best = min(waiting, key=lambda m: (-self.rules.rules[m[0]].salience, m[0], m[1]))
            rule = self.rules.rules[best[0]]
            self._consumed.add(best)
            if rule.activation_group is not None:
                self._consumed |= {match for match in self._current
                                   if self.rules.rules[match[0]].activation_group == rule.activation_group}
            self.fired.append(Firing(rule.name, best[1]))
            fired += 1
            if rule.lock_on_active:
                locked.add(rule.index)
            self._made = set()
            try:
                run_actions(rule.actions, self, best[1], self.meter, self._current[best], rule.max_pay)
            finally:
                made, self._made = self._made, None
            for match in made & set(self._current):
                same = match[0] == best[0] and match[1] == best[1]
                if (same and rule.no_loop) or match[0] in locked:
                    self._consumed.add(match)
        return fired
