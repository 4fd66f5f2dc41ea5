"""Hand-written recursive-descent parser of rule files.

Grammar (EBNF; expressions as in :mod:`middleware.rules.expressions`)::

    file       = { template | rule } EOF ;
    template   = "template" NAME "{" { NAME ":" TYPE ";" } "}" ;
    rule       = "rule" STRING [ "extends" STRING ] { option } "when" "{" { pattern ";" } "}"
                 "then" "{" { action ";" } "}" ;
    option     = "salience" [ "-" ] INT | "no_loop" | "lock_on_active" ;
    pattern    = [ BINDING ":" ] NAME "(" [ expression { "," expression } ] ")" ;
    action     = "update" BINDING "{" assignments "}" | "insert" NAME "{" assignments "}"
               | "retract" BINDING | "emit" NAME "(" [ expression { "," expression } ] ")" ;
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
    ActionDecl,
    Assignment,
    EmitDecl,
    FieldDecl,
    InsertDecl,
    PatternDecl,
    RetractDecl,
    RuleDecl,
    SourceFile,
    TemplateDecl,
    UpdateDecl,
)

#: Salience is a 32-bit signed integer.
SALIENCE_MIN, SALIENCE_MAX = -(2**31), 2**31 - 1


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
        salience, no_loop, lock_on_active, seen = 0, False, False, set()
        while not self.stream.at_keyword("when"):
            option = self.stream.current
            if option.kind != "ident" or option.text not in ("salience", "no_loop", "lock_on_active"):
                raise self.stream.error(
                    f"expected 'when' or an option (salience, no_loop, lock_on_active) in rule \"{name}\"")
            if option.text in seen:
                raise self.stream.error(f"option '{option.text}' given twice in rule \"{name}\"", option)
            seen.add(option.text)
            self.stream.advance()
            if option.text == "salience":
                salience = self.salience(option)
            elif option.text == "no_loop":
                no_loop = True
            else:
                lock_on_active = True
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
        return RuleDecl(start.line, start.column, name, parent, salience, no_loop, lock_on_active,
                        tuple(patterns), tuple(actions))

    def salience(self, option: Token) -> int:
        negative = self.stream.accept("op", "-") is not None
        token = self.stream.expect("int", None, "after 'salience'")
        value = int(token.text, 0) * (-1 if negative else 1)
        if not SALIENCE_MIN <= value <= SALIENCE_MAX:
            raise RuleSyntaxError("salience outside the 32-bit signed range", token.line, token.column)
        return value

    def pattern(self) -> PatternDecl:
        first = self.stream.current
        binding = None
        if first.kind == "var":
            binding = self.stream.advance().text
            self.stream.expect("op", ":", f"after binding '{binding}'")
        elif first.kind != "ident":
            raise self.stream.error("expected a pattern ($binding: Template(...)) or '}'")
        template = self.stream.expect("ident", None, f"as the fact type after '{binding}:'")
        self.stream.expect("op", "(", f"after fact type '{template.text}'")
        constraints = self.arguments(f"after the constraints of pattern '{template.text}'")
        return PatternDecl(first.line, first.column, binding, template.text, constraints)

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
        raise self.stream.error("expected an action (update, insert, retract, emit) or '}'")
