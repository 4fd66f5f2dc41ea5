"""Compiled rule actions and how a firing runs them against a working memory.

The actions of a firing run in order. Expressions in them read the *current*
values of the bound facts: after ``update $o {...}`` a later ``$o.amount``
sees the new value, and reading a fact the firing has already retracted is an
error. An update evaluates all its assignments first, then replaces the fact
(an update naming no fields still re-evaluates every rule over the fact).
Fields an ``insert`` does not assign take their defaults.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from middleware.rules.errors import PaymentError, RuleEvaluationError
from middleware.rules.expressions import Evaluator
from middleware.rules.gas import ACTION_GAS, PAY_GAS, GasMeter
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value, ValueType, checked_value


@dataclass(frozen=True)
class EmittedEvent:
    """An event emitted by a rule action: the rule, the event name and its typed values."""

    rule: str
    name: str
    values: tuple[Value, ...]
    types: tuple[ValueType, ...]


@dataclass(frozen=True)
class Payment:
    """A ``pay`` action's transfer: the rule, the recipient (20 bytes) and the amount in wei."""

    rule: str
    recipient: bytes
    amount: int


class WorkingMemoryOps(Protocol):
    """What actions may do to a working memory (the Rete session and the naive evaluator both provide it)."""

    def lookup(self, fact_id: int) -> Fact | None:
        """The live fact with ``fact_id``, or None once retracted."""

    def insert_values(self, template: Template, values: tuple[Value, ...]) -> int:
        """Add a fact; returns its id."""

    def update_values(self, fact_id: int, values: tuple[Value, ...]) -> None:
        """Replace a fact's values (it keeps its id)."""

    def retract_id(self, fact_id: int) -> None:
        """Remove a fact."""

    def record_event(self, event: EmittedEvent) -> None:
        """Keep an emitted event."""

    def record_payment(self, payment: Payment) -> None:
        """Take ``payment`` from the budget (PaymentError, paying nothing, when it exceeds what is left)."""


class FiringEnvironment:
    """The environment of a firing's expressions: position ``i`` gives the current values of the i-th bound fact.

    Positions of accumulates read ``results``: their values when the firing began.
    """

    def __init__(self, memory: WorkingMemoryOps, fact_ids: tuple[int, ...],
                 results: Mapping[int, tuple[Value, ...]]) -> None:
        """Bind positions to ``fact_ids`` and accumulate positions to ``results``."""
        self._memory = memory
        self.fact_ids = fact_ids
        self.results = results
        self.paid = 0

    def __getitem__(self, position: int) -> tuple[Value, ...]:
        """The values of the fact at ``position``; RuleEvaluationError if it was retracted."""
        if position in self.results:
            return self.results[position]
        fact = self._memory.lookup(self.fact_ids[position])
        if fact is None:
            raise RuleEvaluationError(f"fact {self.fact_ids[position]} was retracted earlier in this firing")
        return fact.values


@dataclass(frozen=True)
class CompiledAssignment:
    """``field = value`` with the field's position and type."""

    index: int
    field: str
    value_type: ValueType
    value: Evaluator
    cost: int


def _assigned(template: Template, base: tuple[Value, ...], assignments: Sequence[CompiledAssignment],
              env: FiringEnvironment) -> tuple[Value, ...]:
    computed = [(a, a.value(env)) for a in assignments]
    values = list(base)
    for assignment, value in computed:
        values[assignment.index] = checked_value(value, assignment.value_type, f"{template.name}.{assignment.field}")
    return tuple(values)


@dataclass(frozen=True)
class UpdateAction:
    """``update $o { ... }``: replace fields of the fact bound at ``position``."""

    position: int
    template: Template
    assignments: tuple[CompiledAssignment, ...]

    @property
    def cost(self) -> int:
        """Gas of the action and its expressions."""
        return ACTION_GAS + sum(a.cost for a in self.assignments)

    def run(self, memory: WorkingMemoryOps, env: FiringEnvironment) -> None:
        """Evaluate the assignments, then update the fact."""
        values = _assigned(self.template, env[self.position], self.assignments, env)
        memory.update_values(env.fact_ids[self.position], values)


@dataclass(frozen=True)
class InsertAction:
    """``insert Template { ... }``: add a fact."""

    template: Template
    assignments: tuple[CompiledAssignment, ...]

    @property
    def cost(self) -> int:
        """Gas of the action and its expressions."""
        return ACTION_GAS + sum(a.cost for a in self.assignments)

    def run(self, memory: WorkingMemoryOps, env: FiringEnvironment) -> None:
        """Evaluate the assignments, then insert the fact."""
        memory.insert_values(self.template, _assigned(self.template, self.template.defaults(), self.assignments, env))


@dataclass(frozen=True)
class RetractAction:
    """``retract $o``: remove the fact bound at ``position``."""

    position: int

    @property
    def cost(self) -> int:
        """Gas of the action."""
        return ACTION_GAS

    def run(self, memory: WorkingMemoryOps, env: FiringEnvironment) -> None:
        """Remove the fact (an error if this firing already retracted it)."""
        env[self.position]
        memory.retract_id(env.fact_ids[self.position])


@dataclass(frozen=True)
class EmitAction:
    """``emit Name(...)``: record an event with the values of the arguments."""

    rule: str
    name: str
    arguments: tuple[Evaluator, ...]
    types: tuple[ValueType, ...]
    arguments_cost: int

    @property
    def cost(self) -> int:
        """Gas of the action and its expressions (not the log the chain writes for it)."""
        return ACTION_GAS + self.arguments_cost

    def run(self, memory: WorkingMemoryOps, env: FiringEnvironment) -> None:
        """Evaluate the arguments and record the event."""
        values = tuple(argument(env) for argument in self.arguments)
        memory.record_event(EmittedEvent(self.rule, self.name, values, self.types))


@dataclass(frozen=True)
class PayAction:
    """``pay(recipient, amount)``: move ``amount`` wei of the rule set's budget to ``recipient``."""

    rule: str
    recipient: Evaluator
    amount: Evaluator
    arguments_cost: int

    @property
    def cost(self) -> int:
        """Gas of the action and its expressions."""
        return ACTION_GAS + PAY_GAS + self.arguments_cost

    def run(self, memory: WorkingMemoryOps, env: FiringEnvironment, max_pay: int) -> None:
        """Evaluate recipient and amount, check the firing's limit, and pay from the budget."""
        recipient, amount = self.recipient(env), self.amount(env)
        assert isinstance(recipient, bytes) and isinstance(amount, int) and not isinstance(amount, bool)
        if amount <= 0:
            raise PaymentError(f'rule "{self.rule}": pay of {amount} wei (the amount must be positive)')
        if env.paid + amount > max_pay:
            raise PaymentError(f'rule "{self.rule}": pay of {amount} wei to 0x{recipient.hex()} exceeds the '
                               f"firing's limit (max_pay {max_pay}, {env.paid} paid before)")
        memory.record_payment(Payment(self.rule, recipient, amount))
        env.paid += amount


Action = UpdateAction | InsertAction | RetractAction | EmitAction | PayAction


def run_actions(actions: Sequence[Action], memory: WorkingMemoryOps, fact_ids: tuple[int, ...],
                meter: GasMeter, results: Mapping[int, tuple[Value, ...]], max_pay: int) -> None:
    """Run a firing's actions in order, charging each before it runs (``max_pay``: this firing's pay limit)."""
    env = FiringEnvironment(memory, fact_ids, results)
    for action in actions:
        meter.charge(action.cost, "rule action")
        if isinstance(action, PayAction):
            action.run(memory, env, max_pay)
            continue
        meter.charge(action.cost, "rule action")
        action.run(memory, env)
