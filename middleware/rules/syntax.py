"""The syntax tree of a rule file, as the parser produces it (before names and types are checked)."""
from __future__ import annotations

from dataclasses import dataclass

from middleware.rules.expressions import Expression


@dataclass(frozen=True)
class Node:
    """A syntax element with the position of its first token."""

    line: int
    column: int


@dataclass(frozen=True)
class FieldDecl(Node):
    """``name: type;`` in a template."""

    name: str
    type_name: str


@dataclass(frozen=True)
class TemplateDecl(Node):
    """``template Name { fields }``: a fact type."""

    name: str
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True)
class PatternDecl(Node):
    """``$binding: Template(constraint, ...)``: one condition of a rule.

    ``kind`` is ``fact`` (a plain pattern), ``not`` (no such fact), ``exists``
    (at least one such fact) or ``accumulate`` (``results`` folded over the
    matching facts, tested by ``tests``).
    """

    binding: str | None
    template: str
    constraints: tuple[Expression, ...]
    kind: str = "fact"
    results: tuple[AccumulateResult, ...] = ()
    tests: tuple[Expression, ...] = ()


@dataclass(frozen=True)
class AccumulateResult(Node):
    """``name = function(argument)`` in an accumulate: count(), sum(e), min(e) or max(e)."""

    name: str
    function: str
    argument: Expression | None


@dataclass(frozen=True)
class Assignment(Node):
    """``field = expression`` in an update or insert."""

    field: str
    value: Expression


@dataclass(frozen=True)
class UpdateDecl(Node):
    """``update $o { field = value, ... }``."""

    binding: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class InsertDecl(Node):
    """``insert Template { field = value, ... }``."""

    template: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class RetractDecl(Node):
    """``retract $o``."""

    binding: str


@dataclass(frozen=True)
class EmitDecl(Node):
    """``emit Name(value, ...)``."""

    name: str
    arguments: tuple[Expression, ...]


@dataclass(frozen=True)
class PayDecl(Node):
    """``pay(recipient, amount)``: move CMT from the rule set's budget."""

    recipient: Expression
    amount: Expression


ActionDecl = UpdateDecl | InsertDecl | RetractDecl | EmitDecl | PayDecl


@dataclass(frozen=True)
class RuleDecl(Node):
    """``rule "name" [extends "parent"] options when { patterns } then { actions }``."""

    name: str
    parent: str | None
    salience: int
    no_loop: bool
    lock_on_active: bool
    patterns: tuple[PatternDecl, ...]
    actions: tuple[ActionDecl, ...]
    activation_group: str | None = None
    effective: int | None = None
    expires: int | None = None
    max_pay: int = 0


@dataclass(frozen=True)
class SourceFile:
    """A whole rule file: templates and rules in declaration order."""

    templates: tuple[TemplateDecl, ...]
    rules: tuple[RuleDecl, ...]
