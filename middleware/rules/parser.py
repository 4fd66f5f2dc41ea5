"""Hand-written recursive-descent parser of rule files.

Grammar (EBNF; expressions as in :mod:`middleware.rules.expressions`)::

    file       = { template | rule } EOF ;
    template   = "template" NAME "{" { NAME ":" TYPE ";" } "}" ;
    rule       = "rule" STRING [ "extends" STRING ] { option } "when" "{" { pattern ";" } "}"
                 "then" "{" { action ";" } "}" ;
    option     = "salience" [ "-" ] INT | "no_loop" | "lock_on_active" | "activation_group" STRING
               | "date_effective" INT | "date_expires" INT | "max_pay" INT ;
    condition  = pattern | ( "not" | "exists" ) fact | BINDING ":" accumulate ;
    pattern    = [ BINDING ":" ] fact ;
    fact       = NAME "(" [ expression { "," expression } ] ")" ;
    accumulate = "accumulate" "(" fact ";" result { "," result } [ ";" expression { "," expression } ] ")" ;
    result     = NAME "=" ( "count" "(" ")" | ( "sum" | "min" | "max" ) "(" expression ")" ) ;
    action     = "update" BINDING "{" assignments "}" | "insert" NAME "{" assignments "}"
               | "retract" BINDING | "emit" NAME "(" [ expression { "," expression } ] ")"
               | "pay" "(" expression "," expression ")" ;
    assignments = [ NAME "=" expression { "," NAME "=" expression } ] ;

Every error names the line and column of the offending token and what was
expected there, e.g. ``line 3, column 14: expected ')' after the constraints
of pattern 'Order', found 'then'``.
"""
from __future__ import annotations

from middleware.rules.errors import RuleSyntaxError
from middleware.rules.expressions import Expression, ExpressionParser
from middleware.rules.lexer import Token, TokenStream, tokenize
from middleware.rules.syntax import (
    AccumulateResult,
    ActionDecl,
    Assignment,
    EmitDecl,
    FieldDecl,
    InsertDecl,
    PatternDecl,
    PayDecl,
    RetractDecl,
    RuleDecl,
    SourceFile,
    TemplateDecl,
    UpdateDecl,
)

#: Salience is a 32-bit signed integer.
SALIENCE_MIN, SALIENCE_MAX = -(2**31), 2**31 - 1
#: Block times (``date_effective``, ``date_expires``) and ``max_pay`` are unsigned 256-bit integers.
UINT_MAX = 2**256 - 1
OPTIONS = ("salience", "no_loop", "lock_on_active", "activation_group", "date_effective", "date_expires", "max_pay")
ACCUMULATE_FUNCTIONS = ("count", "sum", "min", "max")


def parse_rules(source: str) -> SourceFile:
    """Parse a rule file; raises RuleSyntaxError (line, column) or RuleLimitError (too large)."""
    return _Parser(TokenStream(tokenize(source))).file()


class _Parser:
    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.expressions = ExpressionParser(stream)

    def file(self) -> SourceFile:
        templates: list[TemplateDecl] = []
        rules: list[RuleDecl] = []
        while not self.stream.at("eof"):
            if self.stream.at_keyword("template"):
                templates.append(self.template())
            elif self.stream.at_keyword("rule"):
                rules.append(self.rule())
            else:
                raise self.stream.error("expected 'template' or 'rule'")
        return SourceFile(tuple(templates), tuple(rules))

    def template(self) -> TemplateDecl:
        start = self.stream.advance()
        name = self.stream.expect("ident", None, "as the template name after 'template'")
        self.stream.expect("op", "{", f"to open the fields of template '{name.text}'")
        fields: list[FieldDecl] = []
        while not self.stream.accept("op", "}"):
            if not self.stream.at("ident"):
                raise self.stream.error(f"expected a field name or '}}' in template '{name.text}'")
            field = self.stream.advance()
            self.stream.expect("op", ":", f"after field name '{field.text}'")
            type_token = self.stream.expect("ident", None, f"as the type of field '{field.text}'")
            self.stream.expect("op", ";", f"after the type of field '{field.text}'")
            fields.append(FieldDecl(field.line, field.column, field.text, type_token.text))
        return TemplateDecl(start.line, start.column, name.text, tuple(fields))

    def rule(self) -> RuleDecl:
        start = self.stream.advance()
        name = self.stream.expect("string", None, "as the rule name after 'rule'").text
        parent = None
        if self.stream.accept("ident", "extends"):
            parent = self.stream.expect("string", None, "as the parent rule name after 'extends'").text
        options: dict[str, object] = {}
        while not self.stream.at_keyword("when"):
            option = self.stream.current
            if option.kind != "ident" or option.text not in OPTIONS:
                raise self.stream.error(f"expected 'when' or an option ({', '.join(OPTIONS)}) in rule \"{name}\"")
            if option.text in options:
                raise self.stream.error(f"option '{option.text}' given twice in rule \"{name}\"", option)
            self.stream.advance()
            options[option.text] = self.option_value(option)
        self.stream.advance()
        self.stream.expect("op", "{", f"after 'when' in rule \"{name}\"")
        patterns: list[PatternDecl] = []
        while not self.stream.accept("op", "}"):
            patterns.append(self.pattern())
            self.stream.expect("op", ";", "after pattern")
        self.stream.expect("ident", "then", f"after the conditions of rule \"{name}\"")
        self.stream.expect("op", "{", f"after 'then' in rule \"{name}\"")
        actions: list[ActionDecl] = []
        while not self.stream.accept("op", "}"):
            actions.append(self.action())
            self.stream.expect("op", ";", "after action")
        effective, expires = options.get("date_effective"), options.get("date_expires")
        if isinstance(effective, int) and isinstance(expires, int) and expires <= effective:
            raise RuleSyntaxError(f"rule \"{name}\" expires (date_expires {expires}) before it is effective "
                                  f"(date_effective {effective})", start.line, start.column)
        group = options.get("activation_group")
        return RuleDecl(start.line, start.column, name, parent, int(options.get("salience", 0)),  # type: ignore[call-overload]
                        "no_loop" in options, "lock_on_active" in options, tuple(patterns), tuple(actions),
                        group if isinstance(group, str) else None,
                        effective if isinstance(effective, int) else None,
                        expires if isinstance(expires, int) else None,
                        int(options.get("max_pay", 0)))  # type: ignore[call-overload]

    def option_value(self, option: Token) -> int | str | bool:
        """The value following an option keyword (True for the flags)."""
        if option.text in ("no_loop", "lock_on_active"):
            return True
        if option.text == "activation_group":
            return self.stream.expect("string", None, "as the group name after 'activation_group'").text
        negative = option.text == "salience" and self.stream.accept("op", "-") is not None
        token = self.stream.expect("int", None, f"after '{option.text}'")
        value = int(token.text, 0) * (-1 if negative else 1)
        if option.text == "salience" and not SALIENCE_MIN <= value <= SALIENCE_MAX:
            raise RuleSyntaxError("salience outside the 32-bit signed range", token.line, token.column)
        if value > UINT_MAX:
            raise RuleSyntaxError(f"{option.text} outside the uint256 range", token.line, token.column)
        return value

    def pattern(self) -> PatternDecl:
        first = self.stream.current
        binding = None
        if first.kind == "var":
            binding = self.stream.advance().text
            self.stream.expect("op", ":", f"after binding '{binding}'")
            if self.stream.accept("ident", "accumulate"):
                return self.accumulate(first, binding)
            word = self.stream.current
            if word.kind == "ident" and word.text in ("not", "exists") and self.stream.peek().kind == "ident":
                raise self.stream.error(f"a '{word.text}' condition binds nothing: remove '{binding}:'", word)
        elif first.kind != "ident":
            raise self.stream.error("expected a pattern ($binding: Template(...)) or '}'")
        elif first.text in ("not", "exists") and self.stream.peek().kind == "var":
            raise self.stream.error(f"a '{first.text}' condition binds nothing: remove the binding",
                                    self.stream.peek())
        elif first.text in ("not", "exists") and self.stream.peek().kind == "ident":
            self.stream.advance()
            fact = self.fact(f"after '{first.text}'")
            return PatternDecl(first.line, first.column, None, fact.template, fact.constraints, first.text)
        elif first.text == "accumulate":
            raise self.stream.error("expected a binding before 'accumulate' ($name: accumulate(...))")
        return self.fact(f"after '{binding}:'", first, binding)

    def fact(self, context: str, first: Token | None = None, binding: str | None = None) -> PatternDecl:
        """``Template(constraint, ...)`` (the binding, if any, already read)."""
        first = first or self.stream.current
        template = self.stream.expect("ident", None, f"as the fact type {context}")
        self.stream.expect("op", "(", f"after fact type '{template.text}'")
        constraints = self.arguments(f"after the constraints of pattern '{template.text}'")
        return PatternDecl(first.line, first.column, binding, template.text, constraints)

    def accumulate(self, first: Token, binding: str) -> PatternDecl:
        """``accumulate(Template(...); name = function(e), ...; test, ...)`` after ``$binding:``."""
        self.stream.expect("op", "(", "after 'accumulate'")
        fact = self.fact("as the first part of 'accumulate'")
        self.stream.expect("op", ";", f"after the pattern of accumulate '{binding}'")
        results: list[AccumulateResult] = []
        while True:
            name = self.stream.expect("ident", None, f"as a result name of accumulate '{binding}'")
            self.stream.expect("op", "=", f"after result name '{name.text}'")
            function = self.stream.current
            if function.kind != "ident" or function.text not in ACCUMULATE_FUNCTIONS:
                raise self.stream.error(f"expected count, sum, min or max for result '{name.text}'")
            self.stream.advance()
            self.stream.expect("op", "(", f"after '{function.text}'")
            argument = None
            if function.text != "count":
                argument = self.expressions.parse()
            self.stream.expect("op", ")", f"to close '{function.text}('")
            results.append(AccumulateResult(name.line, name.column, name.text, function.text, argument))
            if not self.stream.accept("op", ","):
                break
        tests: tuple[Expression, ...] = ()
        if self.stream.accept("op", ";"):
            tests = self.arguments(f"after the tests of accumulate '{binding}'")
        else:
            self.stream.expect("op", ")", f"or ';' after the results of accumulate '{binding}'")
        return PatternDecl(first.line, first.column, binding, fact.template, fact.constraints, "accumulate",
                           tuple(results), tests)

    def arguments(self, context: str) -> tuple[Expression, ...]:
        """Comma-separated expressions up to and including ``)`` (the ``(`` is already read)."""
        items: list[Expression] = []
        if self.stream.accept("op", ")"):
            return ()
        while True:
            items.append(self.expressions.parse())
            if self.stream.accept("op", ")"):
                return tuple(items)
            if not self.stream.accept("op", ","):
                raise self.stream.error(f"expected ',' or ')' {context}")

    def assignments(self, context: str) -> tuple[Assignment, ...]:
        self.stream.expect("op", "{", context)
        items: list[Assignment] = []
        if self.stream.accept("op", "}"):
            return ()
        while True:
            field = self.stream.expect("ident", None, "as a field name in an assignment")
            self.stream.expect("op", "=", f"after field name '{field.text}'")
            items.append(Assignment(field.line, field.column, field.text, self.expressions.parse()))
            if self.stream.accept("op", "}"):
                return tuple(items)
            if not self.stream.accept("op", ","):
                raise self.stream.error("expected ',' or '}' after an assignment")

    def action(self) -> ActionDecl:
        token = self.stream.current
        keyword = token.text if token.kind == "ident" else None
        if keyword == "update":
            self.stream.advance()
            binding = self.stream.expect("var", None, "after 'update'").text
            return UpdateDecl(token.line, token.column, binding, self.assignments(f"after 'update {binding}'"))
        if keyword == "insert":
            self.stream.advance()
            template = self.stream.expect("ident", None, "as the fact type after 'insert'").text
            return InsertDecl(token.line, token.column, template, self.assignments(f"after 'insert {template}'"))
        if keyword == "retract":
            self.stream.advance()
            return RetractDecl(token.line, token.column, self.stream.expect("var", None, "after 'retract'").text)
        if keyword == "emit":
            self.stream.advance()
            name = self.stream.expect("ident", None, "as the event name after 'emit'").text
            self.stream.expect("op", "(", f"after event name '{name}'")
            return EmitDecl(token.line, token.column, name, self.arguments(f"after the arguments of event '{name}'"))
        if keyword == "pay":
            self.stream.advance()
            self.stream.expect("op", "(", "after 'pay'")
            recipient = self.expressions.parse()
            self.stream.expect("op", ",", "after the recipient of 'pay'")
            amount = self.expressions.parse()
            self.stream.expect("op", ")", "after the amount of 'pay'")
            return PayDecl(token.line, token.column, recipient, amount)
        raise self.stream.error("expected an action (update, insert, retract, emit, pay) or '}'")
