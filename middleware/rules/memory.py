"""The fact operations of a working memory, shared by the Rete session and the naive evaluator.

Both keep their facts by id in ``_facts`` and differ only in what inserting,
updating and retracting does to their matches (``insert_values``,
``update_values``, ``retract_id``); the by-name operations users call are
defined once here on top of those.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from middleware.rules.actions import EmittedEvent, Payment
from middleware.rules.compiler import RuleSet
from middleware.rules.errors import FactError, PaymentError
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value


class WorkingMemory(ABC):
    """Facts by id, with the user-facing insert / update / retract by fact type and field name."""

    rules: RuleSet
    _facts: dict[int, Fact]
    events: list[EmittedEvent]
    payments: list[Payment]
    budget: int

    def facts(self) -> tuple[Fact, ...]:
        """The facts in working memory, by id."""
        return tuple(sorted(self._facts.values(), key=lambda fact: fact.id))

    def fact(self, fact_id: int) -> Fact:
        """The fact with ``fact_id``; FactError when there is none."""
        fact = self._facts.get(fact_id)
        if fact is None:
            raise FactError(f"no fact with id {fact_id}")
        return fact

    def lookup(self, fact_id: int) -> Fact | None:
        """The fact with ``fact_id``, or None."""
        return self._facts.get(fact_id)

    def insert(self, fact_type: str, fields: Mapping[str, Value]) -> int:
        """Add a fact of ``fact_type`` (fields not given take their defaults); returns its id."""
        template = self.rules.template(fact_type)
        return self.insert_values(template, template.with_fields(template.defaults(), fields))

    def update(self, fact_id: int, fields: Mapping[str, Value]) -> None:
        """Change the named fields of a fact (the others keep their values); re-evaluates its matches."""
        fact = self.fact(fact_id)
        self.update_values(fact_id, fact.template.with_fields(fact.values, fields))

    def retract(self, fact_id: int) -> None:
        """Remove a fact and every activation holding it."""
        self.retract_id(self.fact(fact_id).id)

    def record_event(self, event: EmittedEvent) -> None:
        """Keep an emitted event."""
        self.events.append(event)

    def record_payment(self, payment: Payment) -> None:
        """Take ``payment`` from :attr:`budget` (PaymentError, paying nothing, when it exceeds what is left)."""
        if payment.amount > self.budget:
            raise PaymentError(f'rule "{payment.rule}": pay of {payment.amount} wei to 0x{payment.recipient.hex()} '
                               f"exceeds the budget of {self.budget} wei")
        self.budget -= payment.amount
        self.payments.append(payment)

    @abstractmethod
    def insert_values(self, template: Template, values: tuple[Value, ...]) -> int:
        """Add a fact with all its values in field order; returns its id."""

    @abstractmethod
    def update_values(self, fact_id: int, values: tuple[Value, ...]) -> None:
        """Replace a fact's values (it keeps its id)."""

    @abstractmethod
    def retract_id(self, fact_id: int) -> None:
        """Remove a fact."""
