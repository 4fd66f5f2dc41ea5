"""Transition guards: expressions of the rules language over an instance's data.

A guard is parsed once, when its definition is loaded, by the rules engine's
expression parser (``middleware.rules``), and evaluated with the instance's
data fields plus two integers of block time: ``now`` (the current block's
timestamp) and ``entered_at`` (when the instance entered its current state).
Guards are type-checked when the definition is loaded (they must be
conditions over declared fields). Evaluation is gas-metered by the rules
engine's ``GasMeter``; a guard that fails while evaluating (division by
zero, overflow, out of gas) raises ``GuardError``
(a task completion then changes nothing; a timer whose guard fails is passed
over like one whose guard is false, as no transaction is there to refuse).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from middleware.bpm.errors import DefinitionError, GuardError
from middleware.rules.errors import (
    PositionedError,
    RulesError,
    RuleSyntaxError,
    RuleTypeError,
)
from middleware.rules.expressions import Expression, parse_expression
from middleware.rules.gas import GasMeter
from middleware.rules.values import Value, ValueType

NOW = "now"
ENTERED_AT = "entered_at"
TIME_VARIABLES = (NOW, ENTERED_AT)
MAX_GUARD_CHARS = 1024
GUARD_GAS_LIMIT = 100_000  # rules-engine gas one guard evaluation may use


@dataclass(frozen=True)
class Guard:
    """A parsed guard expression and its source text."""

    text: str
    expression: Expression

    def holds(self, variables: Mapping[str, Value], meter: GasMeter) -> bool:
        """Evaluate the guard (statically a bool); raise ``GuardError`` if evaluation fails or runs out of gas."""
        try:
            return self.expression.evaluate(variables, meter) is True
        except RulesError as exc:
            raise GuardError(f"guard '{self.text}': {exc}") from exc


def compile_guard(text: str, fields: Mapping[str, ValueType], path: str) -> Guard:
    """Parse and type-check guard ``text`` over data ``fields`` (plus the time variables).

    Raises ``DefinitionError`` at ``path`` for a syntax error (with its
    column), a name that is not a data field, a type error, or a result that
    is not a boolean.
    """
    if len(text) > MAX_GUARD_CHARS:
        raise DefinitionError(path, f"guard of {len(text)} characters, limit {MAX_GUARD_CHARS}")
    variables = {**fields, **{name: ValueType.INT for name in TIME_VARIABLES}}
    try:
        expression = parse_expression(text)
        for name in expression.names():
            if name not in variables:
                raise DefinitionError(path, f"unknown field '{name}'")
        result = expression.infer(lambda reference: variables[reference.key])
    except (RuleSyntaxError, RuleTypeError) as exc:
        raise DefinitionError(path, _positioned(exc)) from None
    if result is not ValueType.BOOL:
        raise DefinitionError(path, f"a guard must be a condition (bool), this one is {result.value}")
    return Guard(text, expression)


def _positioned(error: PositionedError) -> str:
    """The error with its column (and line, for a guard written over several lines)."""
    if error.line == 1:
        return f"column {error.column}: {error.message}"
    return str(error)
