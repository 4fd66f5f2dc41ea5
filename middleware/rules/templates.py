"""Fact templates (typed fact types) and facts."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from middleware.rules.errors import FactError, RuleEvaluationError
from middleware.rules.values import Value, ValueType, checked_value


@dataclass(frozen=True)
class Template:
    """A fact type: a name and typed fields in declaration order."""

    name: str
    fields: tuple[tuple[str, ValueType], ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(name for name, _ in self.fields)

    @property
    def field_types(self) -> tuple[ValueType, ...]:
        """The field types, in order."""
        return tuple(value_type for _, value_type in self.fields)

    def index(self, field: str) -> int:
        """The position of ``field``; FactError if the template has no such field."""
        for position, (name, _) in enumerate(self.fields):
            if name == field:
                return position
        raise FactError(f"{self.name} has no field '{field}'")

    def defaults(self) -> tuple[Value, ...]:
        """The values of a fact given no fields (0, false, "", the zero address)."""
        return tuple(value_type.default for _, value_type in self.fields)

    def checked(self, values: tuple[Value, ...]) -> tuple[Value, ...]:
        """``values`` if one valid value per field, in order; else FactError."""
        if len(values) != len(self.fields):
            raise FactError(f"{self.name} has {len(self.fields)} fields, got {len(values)} values")
        try:
            return tuple(checked_value(value, value_type, f"{self.name}.{name}")
                         for value, (name, value_type) in zip(values, self.fields))
        except RuleEvaluationError as exc:
            raise FactError(str(exc)) from None

    def with_fields(self, values: tuple[Value, ...], fields: Mapping[str, Value]) -> tuple[Value, ...]:
        """``values`` with the named ``fields`` replaced (checked); FactError for an unknown field or bad value."""
        updated = list(values)
        for name in sorted(fields):
            updated[self.index(name)] = fields[name]
        return self.checked(tuple(updated))

    def as_dict(self, values: tuple[Value, ...]) -> dict[str, Value]:
        """The values by field name, in field order."""
        return dict(zip(self.field_names, values))


@dataclass(frozen=True)
class Fact:
    """A fact in working memory: its id (unique in its session, never reused), template and field values."""

    id: int
    template: Template
    values: tuple[Value, ...]

    def __getitem__(self, field: str) -> Value:
        """The value of ``field``."""
        return self.values[self.template.index(field)]

    def as_dict(self) -> dict[str, Value]:
        """The field values by name."""
        return self.template.as_dict(self.values)
