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
    """``$binding: Template(constraint, ...)``: one condition of a rule."""

    binding: str | None
    template: str
    constraints: tuple[Expression, ...]


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


ActionDecl = UpdateDecl | InsertDecl | RetractDecl | EmitDecl


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


@dataclass(frozen=True)
class SourceFile:
    """A whole rule file: templates and rules in declaration order."""

    templates: tuple[TemplateDecl, ...]
    rules: tuple[RuleDecl, ...]
