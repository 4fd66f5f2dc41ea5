"""The rule language: expressions (the API the workflow engine reuses), parse errors with positions, type errors."""
from __future__ import annotations

import re

import pytest

from middleware.rules.compiler import RuleSet
from middleware.rules.errors import (
    GasExhausted,
    RuleEvaluationError,
    RuleLimitError,
    RuleSyntaxError,
    RuleTypeError,
)
from middleware.rules.expressions import parse_expression
from middleware.rules.gas import EXPRESSION_NODE_GAS, GasMeter

HEADER = "template Order { id: int; amount: int; paid: bool; note: string; buyer: address; }\n"


def evaluate(text: str, **variables: object) -> object:
    """The value of ``text`` with ``variables`` and a generous meter."""
    return parse_expression(text).evaluate(variables, GasMeter(10_000))


# -- expressions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", 3), ("-7 / 2", -3), ("7 / -2", -3), ("-7 / -2", 3),
        ("7 % 3", 1), ("-7 % 3", -1), ("7 % -3", 1),
        ("1 + 2 * 3 - 4", 3), ("(1 + 2) * 3", 9), ("- (2 - 5)", 3),
        ("2 < 3 and not (3 <= 2) or false", True), ("1 == 1 && !(2 != 2) || false", True),
        ('"abc" == "abc"', True), ("0x" + "ab" * 20 + " != 0x" + "00" * 20, True),
        ("0x10 + 1", 17),
    ],
)
def test_expressions_compute_with_integer_semantics(text: str, expected: object) -> None:
    assert evaluate(text) == expected


def test_plain_names_are_variables_and_names_lists_them_sorted() -> None:
    expression = parse_expression("amount > 100 and approved or $o.amount == amount")
    assert expression.names() == ("$o.amount", "amount", "approved")
    assert expression.evaluate({"amount": 150, "approved": True, "$o.amount": 1}, GasMeter(1_000)) is True
    assert expression.evaluate({"amount": 150, "approved": False, "$o.amount": 150}, GasMeter(1_000)) is True
    assert expression.evaluate({"amount": 50, "approved": True, "$o.amount": 1}, GasMeter(1_000)) is False


@pytest.mark.parametrize(
    ("text", "variables", "message"),
    [
        ("1 / x", {"x": 0}, "division by zero"),
        ("1 % x", {"x": 0}, "modulo by zero"),
        ("x * x", {"x": 2**200}, "integer overflow"),
        ("x + 1", {}, "unknown variable 'x'"),
        ("x + 1", {"x": True}, "operator '+' needs int, got bool"),
        ("x == 1", {"x": "1"}, "cannot compare string with int"),
        ("x and true", {"x": 1}, "operator 'and' needs bool, got int"),
    ],
)
def test_evaluation_errors_are_precise(text: str, variables: dict, message: str) -> None:
    with pytest.raises(RuleEvaluationError, match=re.escape(message)):
        parse_expression(text).evaluate(variables, GasMeter(1_000))


def test_expression_gas_is_charged_per_node_before_evaluating() -> None:
    expression = parse_expression("a + b * 2 > 10")  # 7 nodes
    meter = GasMeter(1_000)
    assert expression.evaluate({"a": 1, "b": 5}, meter) is True
    assert meter.used == 7 * EXPRESSION_NODE_GAS
    tight = GasMeter(7 * EXPRESSION_NODE_GAS - 1)
    with pytest.raises(GasExhausted):
        expression.evaluate({"a": 1, "b": 5}, tight)
    assert tight.used == 0


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("amount >", 1, 9, "expected a value, found end of input"),
        ("(amount > 1", 1, 12, "expected ')' to close '(' of line 1, column 1, found end of input"),
        ("a < b < c", 1, 7, "comparisons do not chain; use 'and' between them, found '<'"),
        ("a b", 1, 3, "expected an operator or the end of the expression, found 'b'"),
        ('note == "open', 1, 9, "unterminated string literal"),
        ("a # b", 1, 3, "unexpected character '#'"),
        ("$o.", 1, 4, "expected a name after '$o.', found end of input"),
        ("12abc", 1, 3, "unexpected character 'a' in number"),
        ("\n\n  x ==\n", 4, 1, "expected a value, found end of input"),
        ("1" + "0" * 80, 1, 1, "integer literal outside the int256 range"),
    ],
)
def test_expression_syntax_errors_name_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_expression(text)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)
    assert str(caught.value) == f"line {line}, column {column}: {message}"


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(RuleSyntaxError, match="nested deeper than 64 levels"):
        parse_expression("(" * 200 + "1" + ")" * 200)
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse_expression("not " * 100 + "true")


# -- rule files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "column", "message"),
    [
        ('rule "r" when {\n  $o: Order(amount > 10 then { }', 3, 25,
         "expected ',' or ')' after the constraints of pattern 'Order', found 'then'"),
        ('rule "r" when { $o: Order(); } { }', 2, 32, "expected 'then' after the conditions of rule \"r\", found '{'"),
        ('rule "r" when { $o: Order() } then { }', 2, 29, "expected ';' after pattern, found '}'"),
        ('rule r when { } then { }', 2, 6, "expected a string as the rule name after 'rule', found 'r'"),
        ('rule "r" salience high when { } then { }', 2, 19, "expected an integer after 'salience', found 'high'"),
        ('rule "r" no_loop no_loop when { } then { }', 2, 18, "option 'no_loop' given twice in rule \"r\", found 'no_loop'"),
        ('rule "r" when { $o: Order(); } then { delete $o; }', 2, 39,
         "expected an action (update, insert, retract, emit, pay) or '}', found 'delete'"),
        ('rule "r" when { $o: Order(); } then { update $o { amount 1 }; }', 2, 58,
         "expected '=' after field name 'amount', found '1'"),
        ("templat Order { }", 2, 1, "expected 'template' or 'rule', found 'templat'"),
    ],
)
def test_rule_syntax_errors_name_line_and_column(body: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        RuleSet.parse(HEADER + body)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)


@pytest.mark.parametrize(
    ("body", "line", "column", "message"),
    [
        ('rule "r" when { $o: Ordr(); } then { }', 2, 17, "unknown fact type 'Ordr'"),
        ('rule "r" when { $o: Order(amont > 1); } then { }', 2, 27, "Order has no field 'amont'"),
        ('rule "r" when { $o: Order(amount); } then { }', 2, 27, "a condition must be bool, this one is int"),
        ('rule "r" when { $o: Order(amount > paid); } then { }', 2, 27,
         "operator '>' needs int operands, right operand is bool"),
        ('rule "r" when { $o: Order(note == 1); } then { }', 2, 27, "cannot compare string with int"),
        ('rule "r" when { $o: Order(amount > $p.amount); } then { }', 2, 36, "unknown binding '$p'"),
        ('rule "r" when { $o: Order($o.paid); } then { }', 2, 27,
         "'$o.paid': a pattern names its own fields without a binding (write 'paid')"),
        ('rule "r" when { $o: Order(); $o: Order(); } then { }', 2, 30, "binding '$o' is already bound in this rule"),
        ('rule "r" when { $o: Order(); } then { update $o { paid = 1 }; }', 2, 58,
         "field 'paid' of Order is bool, the value is int"),
        ('rule "r" when { $o: Order(); } then { update $o { amount = amount + 1 }; }', 2, 60,
         "unknown name 'amount': actions read fields through a binding ($name.amount)"),
        ('rule "r" when { $o: Order(); } then { retract $p; }', 2, 39, "unknown binding '$p'"),
        ('rule "r" when { $o: Order(); } then { emit E(1); emit E(true); }', 2, 50,
         "event 'E' was emitted before with types (int)"),
        ('rule "r" extends "q" when { $o: Order(); } then { }', 2, 1,
         'rule "r" extends "q", which is not declared before it'),
        ('rule "r" when { } then { }', 2, 1, 'rule "r" has no conditions'),
        ('rule "r" when { $o: Order(); } then { }\nrule "r" when { $o: Order(); } then { }', 3, 1,
         'rule "r" is declared twice'),
        ("template Order { x: int; }", 2, 1, "template 'Order' is declared twice"),
        ("template T { x: float; }", 2, 14, "unknown type 'float' of field 'x' (expected int, bool, string or address)"),
    ],
)
def test_rule_type_errors_name_line_and_column(body: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleTypeError) as caught:
        RuleSet.parse(HEADER + body)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)


def test_limits_are_enforced() -> None:
    patterns = " ".join(f"$p{i}: Order();" for i in range(9))
    with pytest.raises(RuleLimitError, match="more than 8 patterns"):
        RuleSet.parse(HEADER + f'rule "r" when {{ {patterns} }} then {{ }}')
    with pytest.raises(RuleLimitError, match="exceeds the limit"):
        RuleSet.parse(HEADER + "//" + "x" * 70_000)


def test_inheritance_flattens_conditions_and_keeps_own_actions() -> None:
    rules = RuleSet.parse(HEADER + """
rule "paid" when { $o: Order(paid); } then { emit Paid($o.id); }
rule "big paid" extends "paid" salience 3 when { $p: Order(amount > $o.amount); } then { emit Big($p.id); }
""")
    _, child = rules.rules
    assert [p.binding for p in child.patterns] == ["$o", "$p"]
    assert [str(e) for e in child.patterns[0].alpha] == ["paid"]
    assert [str(e) for e in child.patterns[1].beta] == ["(amount > $o.amount)"]
    assert (child.salience, len(child.actions), child.actions[0].name) == (3, 1, "Big")
    assert rules.events == {"Paid": (rules.templates["Order"].field_types[0],),
                            "Big": (rules.templates["Order"].field_types[0],)}
