"""Exceptions of the rules engine; :class:`RulesError` is the root."""
from __future__ import annotations


class RulesError(Exception):
    """Root of every error raised by ``middleware.rules``."""


class PositionedError(RulesError):
    """An error tied to a place in a source text (1-based line and column)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        """Keep the bare ``message`` and its position; ``str()`` shows both."""
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


class RuleSyntaxError(PositionedError):
    """The source is not well formed: an unexpected token, character or end of input."""


class RuleTypeError(PositionedError):
    """A well-formed source that does not type-check, or names something undeclared."""


class RuleEvaluationError(RulesError):
    """Evaluation failed at run time: division by zero, overflow, a value of the wrong type, a missing variable."""


class PaymentError(RuleEvaluationError):
    """A ``pay`` action asked for more than the budget holds or the firing's limit allows, or a non-positive amount."""


class FactError(RulesError):
    """A working-memory operation names an unknown fact, fact type or field, or gives a value of the wrong type."""


class RuleLimitError(RulesError):
    """A bound was exceeded: source size, rules, patterns, facts, nesting depth."""


class GasExhausted(RulesError):
    """The gas meter's bound was reached; the operation that needed it did not happen."""

    def __init__(self, limit: int, needed: int, what: str) -> None:
        """``needed`` is the total the meter would have reached when charging for ``what``."""
        self.limit = limit
        self.needed = needed
        self.what = what
        super().__init__(f"out of gas: {what} needs {needed} gas in total, limit {limit}")


class SourceFileError(RulesError):
    """A rule file cannot be read: missing, unreadable, too large or not UTF-8."""


class RecordError(RulesError):
    """Stored bytes of the rules contract that are not a record of the expected shape (a corrupted state)."""
