"""Sessions: a working memory of facts run through a rule set's Rete network, and ``fire_all``.

>>> rules = RuleSet.parse(source)                       # doctest: +SKIP
>>> session = Session(rules, GasMeter(10_000_000))      # doctest: +SKIP
>>> order = session.insert("Order", {"amount": 250})    # doctest: +SKIP
>>> session.fire_all(max_activations=100)               # doctest: +SKIP

Fact ids start at 1 and are never reused (a ``not``, ``exists`` or
``accumulate`` condition fills its place in a match with 0). ``fire_all`` takes the first
activation off the agenda (see :mod:`middleware.rules.agenda` for the order
and for ``no_loop``/``lock_on_active``), runs its actions (each change goes
through the network at once, adding and removing activations), and repeats
until the agenda is empty or ``max_activations`` rules have fired; activations
left waiting fire in the next call.

A session's lasting state is its facts, the next fact id and the complete
matches that are *not* waiting (they fired or were suppressed):
:meth:`Session.state` and :meth:`Session.restore` rebuild an equal session
from it (the memories are recomputed by inserting the facts in id order).
"""
from __future__ import annotations

from dataclasses import dataclass

from middleware.rules.actions import EmittedEvent, Payment, run_actions
from middleware.rules.agenda import Activation, Agenda
from middleware.rules.compiler import RuleSet
from middleware.rules.errors import FactError, RuleLimitError
from middleware.rules.gas import FIRING_GAS, WORD_GAS, GasMeter, unmetered
from middleware.rules.memory import WorkingMemory
from middleware.rules.rete import ReteNetwork
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value, words

#: Most facts a working memory holds.
MAX_FACTS = 10_000
#: Default and largest ``max_activations`` of one ``fire_all`` call.
DEFAULT_MAX_ACTIVATIONS = 1_000
MAX_ACTIVATIONS = 1_000_000


@dataclass(frozen=True)
class Firing:
    """One rule firing: the rule's name and the ids of its matched facts, in pattern order."""

    rule: str
    facts: tuple[int, ...]


@dataclass(frozen=True)
class SessionState:
    """What a session needs to be rebuilt: facts (id order), the next id, and matches not waiting to fire."""

    facts: tuple[Fact, ...]
    next_id: int
    consumed: tuple[Activation, ...]


class Session(WorkingMemory):
    """A working memory bound to a rule set, with its Rete network and agenda."""

    def __init__(self, rules: RuleSet, meter: GasMeter | None = None, budget: int = 0) -> None:
        """An empty working memory; all work is charged to ``meter`` (unbounded when None).

        ``budget`` is the wei that ``pay`` actions may move (:attr:`payments`, :attr:`budget` what is left).
        """
        if budget < 0:
            raise ValueError("budget must not be negative")
        self.rules = rules
        self.budget = budget
        self.payments: list[Payment] = []
        self.meter = meter if meter is not None else unmetered()
        self._facts: dict[int, Fact] = {}
        self._next_id = 1
        self._agenda = Agenda(rules.rules)
        self._network = ReteNetwork(rules.rules, self._facts.__getitem__, self.meter,
                                    self._agenda.add, self._agenda.remove)
        self.events: list[EmittedEvent] = []
        self.fired: list[Firing] = []
        self._network.start()

    @classmethod
    def restore(cls, rules: RuleSet, state: SessionState, meter: GasMeter | None = None,
                budget: int = 0) -> Session:
        """The session ``state`` describes (its memories rebuilt, its waiting activations recomputed)."""
        session = cls(rules, meter, budget)
        for fact in state.facts:
            if fact.id >= state.next_id or fact.template != rules.templates.get(fact.template.name):
                raise FactError(f"fact {fact.id} does not belong to this rule set or state")
            session._add(fact)
        session._next_id = state.next_id
        session._agenda.discard(state.consumed)
        return session

    def state(self) -> SessionState:
        """The lasting state of this session (see :meth:`restore`)."""
        consumed = tuple(
            (rule.index, token)
            for rule in self.rules.rules
            for token in self._network.matches(rule.index)
            if (rule.index, token) not in self._agenda
        )
        return SessionState(self.facts(), self._next_id, consumed)

    @property
    def network_size(self) -> tuple[int, int]:
        """(alpha nodes, join nodes) of the Rete network."""
        return self._network.node_counts

    # -- working memory ------------------------------------------------------------------------

    def insert_values(self, template: Template, values: tuple[Value, ...]) -> int:
        """Add a fact with all its values in field order; returns its id."""
        fact = Fact(self._next_id, template, template.checked(values))
        self._add(fact)
        self._next_id += 1
        return fact.id

    def update_values(self, fact_id: int, values: tuple[Value, ...]) -> None:
        """Replace all values of a fact."""
        old = self.fact(fact_id)
        new = Fact(fact_id, old.template, old.template.checked(values))
        self._network.retract(old)
        del self._facts[fact_id]
        self._add(new)

    def retract_id(self, fact_id: int) -> None:
        """Remove the fact with ``fact_id``."""
        fact = self.fact(fact_id)
        self._network.retract(fact)
        del self._facts[fact_id]

    def _add(self, fact: Fact) -> None:
        if len(self._facts) >= MAX_FACTS:
            raise RuleLimitError(f"working memory is full ({MAX_FACTS} facts)")
        self.meter.charge(WORD_GAS * sum(words(value) for value in fact.values), "fact values")
        self._facts[fact.id] = fact
        self._network.insert(fact)

    # -- firing --------------------------------------------------------------------------------

    def pending(self) -> tuple[Firing, ...]:
        """The activations waiting to fire, in firing order."""
        return tuple(Firing(self.rules.rules[rule].name, ids) for rule, ids in self._agenda.pending())

    def fire_all(self, max_activations: int = DEFAULT_MAX_ACTIVATIONS, now: int | None = None) -> int:
        """Fire activations until none is left or ``max_activations`` fired; returns how many fired.

        ``now`` is the block time: rules with ``date_effective``/``date_expires`` fire only when it lies in
        their window (never when it is None); their other activations wait.
        """
        if not 0 <= max_activations <= MAX_ACTIVATIONS:
            raise RuleLimitError(f"max_activations must be between 0 and {MAX_ACTIVATIONS}")
        fired = 0
        try:
            while fired < max_activations:
                activation = self._agenda.pop(now)
                if activation is None:
                    break
                self.meter.charge(FIRING_GAS, "rule firing")
                rule = self.rules.rules[activation[0]]
                self.fired.append(Firing(rule.name, activation[1]))
                fired += 1
                self._agenda.begin_firing(activation)
                results = self._network.results(activation[0], activation[1])
                run_actions(rule.actions, self, activation[1], self.meter, results, rule.max_pay)
                self._agenda.end_firing()
        finally:
            self._agenda.end_call()
        return fired
