"""Expressions of the rule language: syntax tree, parser, static types and a metered evaluator.

Grammar (EBNF; lowest precedence first)::

    expression = conjunction { ("or" | "||") conjunction } ;
    conjunction = negation { ("and" | "&&") negation } ;
    negation   = ("not" | "!") negation | comparison ;
    comparison = sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum ] ;
    sum        = product { ("+" | "-") product } ;
    product    = unary { ("*" | "/" | "%") unary } ;
    unary      = "-" unary | primary ;
    primary    = INT | STRING | ADDRESS | "true" | "false" | NAME | BINDING "." NAME | "(" expression ")" ;

A plain ``NAME`` is a variable (in a rule pattern: a field of the pattern's
fact); ``$o.amount`` is field ``amount`` of the fact bound to ``$o``. Both are
*references*, keyed ``"amount"`` and ``"$o.amount"`` in a variables mapping.

Integer arithmetic is exact within the int256 range (overflow is an error).
``/`` rounds toward zero and ``%`` takes the sign of the dividend, as in
Solidity: ``a == (a / b) * b + a % b``; dividing by zero is an error.
``and``/``or`` short-circuit. ``==`` and ``!=`` compare two values of the same
type; ``<``, ``<=``, ``>``, ``>=`` compare integers.

Gas: an evaluation costs :data:`~middleware.rules.gas.EXPRESSION_NODE_GAS` per
node of the tree, charged in full before evaluating (short-circuits give no
refund), so the cost is known from the text alone.
"""
from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from middleware.rules.errors import RuleEvaluationError, RuleSyntaxError, RuleTypeError
from middleware.rules.gas import EXPRESSION_NODE_GAS, GasMeter
from middleware.rules.lexer import Token, TokenStream, tokenize
from middleware.rules.values import (
    INT_MAX,
    Value,
    ValueType,
    checked_int,
    render,
    type_of,
)

#: Deepest nesting of an expression (parentheses, operators).
MAX_DEPTH = 64
#: Most nodes in one expression.
MAX_NODES = 512

#: A compiled expression: a function of an environment (variables, or a tuple of facts).
Evaluator = Callable[[object], Value]
#: How a compiled expression reads a reference from its environment.
ReferenceReader = Callable[["Reference"], Evaluator]

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/", "%")
_LOGICAL_ALIASES = {"||": "or", "&&": "and", "!": "not"}


def divide(a: int, b: int) -> int:
    """``a / b`` rounded toward zero; dividing by zero is an error."""
    if b == 0:
        raise RuleEvaluationError("division by zero")
    quotient = abs(a) // abs(b)
    return checked_int(-quotient if (a < 0) != (b < 0) else quotient)


def remainder(a: int, b: int) -> int:
    """``a % b`` with the sign of ``a`` (so ``a == (a / b) * b + a % b``); by zero is an error."""
    if b == 0:
        raise RuleEvaluationError("modulo by zero")
    return a - b * divide(a, b)


_INT_OPERATIONS: dict[str, Callable[[int, int], Value]] = {
    "+": lambda a, b: checked_int(a + b),
    "-": lambda a, b: checked_int(a - b),
    "*": lambda a, b: checked_int(a * b),
    "/": divide,
    "%": remainder,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _require(value: Value, expected: ValueType, operator: str) -> Value:
    if type_of(value) is not expected:
        raise RuleEvaluationError(f"operator '{operator}' needs {expected.value}, got {type_of(value).value}")
    return value


def _equal(a: Value, b: Value) -> bool:
    if type_of(a) is not type_of(b):
        raise RuleEvaluationError(f"cannot compare {type_of(a).value} with {type_of(b).value}")
    return a == b


@dataclass(frozen=True)
class Expression(ABC):
    """A node of an expression tree, with the position of its first token."""

    line: int
    column: int

    @abstractmethod
    def children(self) -> tuple[Expression, ...]:
        """The direct sub-expressions."""

    @abstractmethod
    def infer(self, type_of_reference: Callable[[Reference], ValueType]) -> ValueType:
        """The static type of this expression; raises RuleTypeError (with position) where types do not fit."""

    @abstractmethod
    def compile(self, read: ReferenceReader, *, checked: bool = True) -> Evaluator:
        """A function computing this expression in an environment, references read by ``read``.

        With ``checked`` False the operand types are taken as given (the
        expression passed :meth:`infer`), skipping the run-time type checks;
        overflow and division by zero are always checked.
        """

    @functools.cached_property
    def size(self) -> int:
        """Number of nodes in the tree."""
        return 1 + sum(child.size for child in self.children())

    @property
    def cost(self) -> int:
        """Gas charged for one evaluation."""
        return self.size * EXPRESSION_NODE_GAS

    def references(self) -> tuple[Reference, ...]:
        """Every reference in the tree, left to right (with repeats)."""
        if isinstance(self, Reference):
            return (self,)
        return tuple(ref for child in self.children() for ref in child.references())

    def names(self) -> tuple[str, ...]:
        """The variables referenced (keys like ``amount`` or ``$o.amount``), sorted, without repeats."""
        return tuple(sorted({ref.key for ref in self.references()}))

    @functools.cached_property
    def _on_mapping(self) -> Evaluator:
        return self.compile(_mapping_reader)

    def evaluate(self, variables: Mapping[str, Value], meter: GasMeter) -> Value:
        """The value of this expression with ``variables``; charges :attr:`cost` to ``meter`` first.

        Raises RuleEvaluationError for a missing variable, a value of the wrong
        type, division by zero or overflow; GasExhausted when ``meter`` is spent.
        """
        meter.charge(self.cost, "expression")
        return self._on_mapping(variables)


def _mapping_reader(reference: Reference) -> Evaluator:
    key = reference.key

    def read(variables: object) -> Value:
        try:
            value = variables[key]  # type: ignore[index]
        except KeyError:
            raise RuleEvaluationError(f"unknown variable '{key}'") from None
        type_of(value)  # rejects values the language does not have
        return value  # type: ignore[no-any-return]

    return read


@dataclass(frozen=True)
class Literal(Expression):
    """A constant."""

    value: Value

    def children(self) -> tuple[Expression, ...]:
        """None."""
        return ()

    def infer(self, type_of_reference: Callable[[Reference], ValueType]) -> ValueType:
        """The constant's type."""
        return type_of(self.value)

    def compile(self, read: ReferenceReader, *, checked: bool = True) -> Evaluator:
        """Returns the constant."""
        value = self.value
        return lambda env: value

    def __str__(self) -> str:
        return render(self.value)


@dataclass(frozen=True)
class Reference(Expression):
    """A variable (``binding`` None) or a field of a bound fact (``$o.amount``)."""

    binding: str | None
    field: str

    @property
    def key(self) -> str:
        """The name in a variables mapping: ``field`` or ``binding.field``."""
        return self.field if self.binding is None else f"{self.binding}.{self.field}"

    def children(self) -> tuple[Expression, ...]:
        """None."""
        return ()

    def infer(self, type_of_reference: Callable[[Reference], ValueType]) -> ValueType:
        """Whatever the context declares for this reference."""
        return type_of_reference(self)

    def compile(self, read: ReferenceReader, *, checked: bool = True) -> Evaluator:
        """The context's reader for this reference."""
        return read(self)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Unary(Expression):
    """``-x`` or ``not x``."""

    operator: str
    operand: Expression

    def children(self) -> tuple[Expression, ...]:
        """The operand."""
        return (self.operand,)

    def infer(self, type_of_reference: Callable[[Reference], ValueType]) -> ValueType:
        """int for ``-``, bool for ``not``."""
        expected = ValueType.INT if self.operator == "-" else ValueType.BOOL
        actual = self.operand.infer(type_of_reference)
        if actual is not expected:
            raise RuleTypeError(f"operator '{self.operator}' needs {expected.value}, got {actual.value}",
                                self.line, self.column)
        return expected

    def compile(self, read: ReferenceReader, *, checked: bool = True) -> Evaluator:
        """Negation or logical not."""
        operand = self.operand.compile(read, checked=checked)
        if not checked:
            if self.operator == "-":
                return lambda env: checked_int(-operand(env))  # type: ignore[operator]
            return lambda env: not operand(env)
        if self.operator == "-":
            return lambda env: checked_int(-_require(operand(env), ValueType.INT, "-"))  # type: ignore[operator]
        return lambda env: not _require(operand(env), ValueType.BOOL, "not")

    def __str__(self) -> str:
        return f"({self.operator} {self.operand})" if self.operator == "not" else f"(-{self.operand})"


@dataclass(frozen=True)
class Binary(Expression):
    """Arithmetic, comparison or logical operator with two operands."""

    operator: str
    left: Expression
    right: Expression

    def children(self) -> tuple[Expression, ...]:
        """Left then right operand."""
        return (self.left, self.right)

    def infer(self, type_of_reference: Callable[[Reference], ValueType]) -> ValueType:
        """The result type; operand types must fit the operator."""
        left = self.left.infer(type_of_reference)
        right = self.right.infer(type_of_reference)
        if self.operator in ("==", "!="):
            if left is not right:
                raise RuleTypeError(f"cannot compare {left.value} with {right.value}", self.line, self.column)
            return ValueType.BOOL
        expected = ValueType.BOOL if self.operator in ("and", "or") else ValueType.INT
        for side, actual in (("left", left), ("right", right)):
            if actual is not expected:
                raise RuleTypeError(
                    f"operator '{self.operator}' needs {expected.value} operands, {side} operand is {actual.value}",
                    self.line, self.column,
                )
        return ValueType.INT if self.operator in ARITHMETIC else ValueType.BOOL

    def compile(self, read: ReferenceReader, *, checked: bool = True) -> Evaluator:
        """The operator applied to the compiled operands (``and``/``or`` short-circuit)."""
        left = self.left.compile(read, checked=checked)
        right = self.right.compile(read, checked=checked)
        operator = self.operator
        if not checked:
            return _unchecked_binary(operator, left, right)
        if operator == "and":
            return lambda env: bool(_require(left(env), ValueType.BOOL, "and")) and bool(
                _require(right(env), ValueType.BOOL, "and"))
        if operator == "or":
            return lambda env: bool(_require(left(env), ValueType.BOOL, "or")) or bool(
                _require(right(env), ValueType.BOOL, "or"))
        if operator == "==":
            return lambda env: _equal(left(env), right(env))
        if operator == "!=":
            return lambda env: not _equal(left(env), right(env))
        operation = _INT_OPERATIONS[operator]
        return lambda env: operation(_require(left(env), ValueType.INT, operator),  # type: ignore[arg-type]
                                     _require(right(env), ValueType.INT, operator))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"({self.left} {self.operator} {self.right})"


def _unchecked_binary(operator: str, left: Evaluator, right: Evaluator) -> Evaluator:
    """A binary operator on operands whose types were checked statically."""
    if operator == "and":
        return lambda env: bool(left(env)) and bool(right(env))
    if operator == "or":
        return lambda env: bool(left(env)) or bool(right(env))
    if operator == "==":
        return lambda env: left(env) == right(env)
    if operator == "!=":
        return lambda env: left(env) != right(env)
    if operator in ("<", "<=", ">", ">="):
        compare = _INT_OPERATIONS[operator]
        return lambda env: compare(left(env), right(env))  # type: ignore[arg-type]
    operation = _INT_OPERATIONS[operator]
    return lambda env: operation(left(env), right(env))  # type: ignore[arg-type]


class ExpressionParser:
    """Recursive-descent parser of the expression grammar over a :class:`TokenStream`."""

    def __init__(self, stream: TokenStream) -> None:
        """Parse from the current position of ``stream``."""
        self.stream = stream
        self._depth = 0
        self._nodes = 0

    def parse(self) -> Expression:
        """One expression (stops at the first token that cannot continue it)."""
        self._nodes = 0
        return self._or()

    def _node(self, token: Token) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise RuleSyntaxError(f"expression has more than {MAX_NODES} nodes", token.line, token.column)

    def _binary_level(self, operators: tuple[str, ...], operand: Callable[[], Expression],
                      *, chain: bool = True) -> Expression:
        left = operand()
        while True:
            token = self.stream.current
            operator = _LOGICAL_ALIASES.get(token.text, token.text) if token.kind in ("op", "ident") else None
            if operator not in operators or (token.kind == "ident" and token.text not in operators):
                return left
            self.stream.advance()
            self._node(token)
            left = Binary(left.line, left.column, operator, left, operand())
            if not chain:
                following = self.stream.current
                if following.kind == "op" and following.text in operators:
                    raise self.stream.error("comparisons do not chain; use 'and' between them")
                return left

    def _or(self) -> Expression:
        return self._binary_level(("or",), self._and)

    def _and(self) -> Expression:
        return self._binary_level(("and",), self._not)

    def _not(self) -> Expression:
        token = self.stream.current
        if (token.kind == "ident" and token.text == "not") or (token.kind == "op" and token.text == "!"):
            self.stream.advance()
            self._node(token)
            return Unary(token.line, token.column, "not", self._nested(self._not))
        return self._binary_level(COMPARISONS, self._sum, chain=False)

    def _sum(self) -> Expression:
        return self._binary_level(("+", "-"), self._product)

    def _product(self) -> Expression:
        return self._binary_level(("*", "/", "%"), self._unary)

    def _unary(self) -> Expression:
        token = self.stream.current
        if token.kind == "op" and token.text == "-":
            self.stream.advance()
            self._node(token)
            operand = self._nested(self._unary)
            if isinstance(operand, Literal) and type_of(operand.value) is ValueType.INT:
                return Literal(token.line, token.column, -operand.value)  # type: ignore[operator]
            return Unary(token.line, token.column, "-", operand)
        return self._primary()

    def _nested(self, parse: Callable[[], Expression]) -> Expression:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            token = self.stream.current
            raise RuleSyntaxError(f"expression nested deeper than {MAX_DEPTH} levels", token.line, token.column)
        try:
            return parse()
        finally:
            self._depth -= 1

    def _primary(self) -> Expression:
        stream = self.stream
        token = stream.current
        self._node(token)
        if token.kind == "int":
            stream.advance()
            value = int(token.text, 16) if token.text[:2].lower() == "0x" else int(token.text)
            if value > INT_MAX:
                raise RuleSyntaxError("integer literal outside the int256 range", token.line, token.column)
            return Literal(token.line, token.column, value)
        if token.kind == "string":
            stream.advance()
            return Literal(token.line, token.column, token.text)
        if token.kind == "address":
            stream.advance()
            return Literal(token.line, token.column, bytes.fromhex(token.text[2:]))
        if token.kind == "ident":
            if token.text in ("true", "false"):
                stream.advance()
                return Literal(token.line, token.column, token.text == "true")
            if token.text in ("and", "or", "not"):
                raise stream.error("expected a value")
            stream.advance()
            return Reference(token.line, token.column, None, token.text)
        if token.kind == "var":
            stream.advance()
            stream.expect("op", ".", f"and a field name after '{token.text}'")
            field = stream.expect("ident", None, f"after '{token.text}.'")
            return Reference(token.line, token.column, token.text, field.text)
        if token.kind == "op" and token.text == "(":
            stream.advance()
            inner = self._nested(self._or)
            stream.expect("op", ")", f"to close '(' of line {token.line}, column {token.column}")
            return inner
        raise stream.error("expected a value")


def parse_expression(text: str) -> Expression:
    """Parse one expression, e.g. ``amount > 100 and approved``; raises RuleSyntaxError with line and column."""
    stream = TokenStream(tokenize(text))
    expression = ExpressionParser(stream).parse()
    if not stream.at("eof"):
        raise stream.error("expected an operator or the end of the expression")
    return expression

