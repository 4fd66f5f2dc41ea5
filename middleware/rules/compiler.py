"""Checking and compiling a parsed rule file into a :class:`RuleSet`.

Names and types are resolved here: every template and field must be declared,
every constraint must be a bool expression, every binding must be bound by an
earlier pattern of the rule (or of a rule it extends), and each assignment
must give its field a value of the field's type. Rule inheritance is
flattened: ``rule "child" extends "parent"`` matches the parent's patterns
followed by its own, and runs only its own actions.

Each constraint of a pattern is classified: one that reads only the pattern's
own fields is an *alpha* test (checked once per fact); one that reads earlier
bindings is a *beta* test (checked at the join with earlier facts). The first
beta test of the form ``field == $x.other`` also becomes the join's *equality
index*: the join then only tries pairs whose two values are equal.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from middleware.rules.actions import (
    Action,
    CompiledAssignment,
    EmitAction,
    InsertAction,
    PayAction,
    RetractAction,
    UpdateAction,
)
from middleware.rules.errors import FactError, RuleLimitError, RuleTypeError
from middleware.rules.expressions import Binary, Evaluator, Expression, Reference
from middleware.rules.parser import parse_rules
from middleware.rules.syntax import (
    AccumulateResult,
    ActionDecl,
    Assignment,
    InsertDecl,
    PatternDecl,
    PayDecl,
    RetractDecl,
    RuleDecl,
    SourceFile,
    TemplateDecl,
    UpdateDecl,
)
from middleware.rules.templates import Template
from middleware.rules.values import TYPE_NAMES, Value, ValueType

MAX_TEMPLATES = 64
MAX_FIELDS = 32
MAX_RULES = 128
MAX_PATTERNS = 8  # per rule, inherited ones included
MAX_ACTIONS = 32
MAX_EMIT_ARGUMENTS = 16


@dataclass(frozen=True)
class Accumulation:
    """``name = function(argument)`` of an accumulate, the argument compiled over (earlier facts..., fact)."""

    name: str
    function: str
    argument: Evaluator | None
    cost: int
    text: str


@dataclass(frozen=True)
class CompiledPattern:
    """One condition of a rule: facts of ``template`` passing the alpha tests, joined by the beta tests.

    ``kind`` is ``fact``, ``not``, ``exists`` or ``accumulate``; the last three
    fill their place in a match with fact id 0. An accumulate folds
    ``results`` over its matching facts and passes when ``result_test`` holds
    over (earlier facts..., results); its binding reads the results as fields.
    """

    position: int
    binding: str | None
    template: Template
    alpha: tuple[Expression, ...]
    beta: tuple[Expression, ...]
    alpha_test: Callable[[tuple[Value, ...]], bool]
    beta_test: Callable[[tuple[tuple[Value, ...], ...]], bool]
    equality: tuple[int, int, int] | None
    """From the first beta test ``field == $x.other``: (field index, position of $x, other's index)."""
    kind: str = "fact"
    results: tuple[Accumulation, ...] = ()
    tests: tuple[Expression, ...] = ()
    result_test: Callable[[tuple[tuple[Value, ...], ...]], bool] = lambda env: True

    @property
    def bound_template(self) -> Template:
        """What the binding reads: the fact's template, or an accumulate's results (all int)."""
        if self.kind == "accumulate":
            return Template(f"accumulate {self.binding}", tuple((r.name, ValueType.INT) for r in self.results))
        return self.template

    @property
    def alpha_key(self) -> tuple[str, ...]:
        """Identifies equal alpha tests (patterns with equal keys share one alpha node)."""
        return (self.template.name, *sorted(str(e) for e in self.alpha))

    @property
    def join_key(self) -> tuple[str, ...]:
        """Identifies this pattern in a chain of joins (rules with equal prefixes share join nodes)."""
        return (self.kind, self.binding or "", *self.alpha_key, "|", *(str(e) for e in self.beta), "|",
                *(r.text for r in self.results), "|", *(str(e) for e in self.tests))

    @property
    def accumulate_cost(self) -> int:
        """Gas of the results' argument expressions, per fact folded."""
        return sum(r.cost for r in self.results)

    @property
    def tests_cost(self) -> int:
        """Gas of an accumulate's tests over its results."""
        return sum(e.cost for e in self.tests)

    @property
    def alpha_cost(self) -> int:
        """Gas of the alpha tests' expressions."""
        return sum(e.cost for e in self.alpha)

    @property
    def beta_cost(self) -> int:
        """Gas of the beta tests' expressions."""
        return sum(e.cost for e in self.beta)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready for the network: flattened patterns, options and compiled actions."""

    index: int
    name: str
    salience: int
    no_loop: bool
    lock_on_active: bool
    patterns: tuple[CompiledPattern, ...]
    actions: tuple[Action, ...]
    activation_group: str | None = None
    effective: int | None = None
    expires: int | None = None
    max_pay: int = 0

    def in_effect(self, now: int | None) -> bool:
        """Whether the rule may fire at block time ``now`` (None: no clock, only rules without dates)."""
        if self.effective is None and self.expires is None:
            return True
        if now is None:
            return False
        return (self.effective is None or now >= self.effective) and (self.expires is None or now < self.expires)


@dataclass(frozen=True)
class RuleSet:
    """A checked, compiled rule file: templates by name and rules in declaration order."""

    source: str
    templates: Mapping[str, Template]
    rules: tuple[CompiledRule, ...]
    events: Mapping[str, tuple[ValueType, ...]]

    @classmethod
    def parse(cls, source: str) -> RuleSet:
        """Parse and compile ``source``; raises RuleSyntaxError, RuleTypeError or RuleLimitError."""
        return compile_rules(parse_rules(source), source)

    @property
    def tracks_conditions(self) -> bool:
        """Whether a rule has a not, exists or accumulate condition (a match may end without its facts changing)."""
        return any(p.kind != "fact" for rule in self.rules for p in rule.patterns)

    def template(self, name: str) -> Template:
        """The template called ``name`` (FactError when undeclared)."""
        try:
            return self.templates[name]
        except KeyError:
            raise FactError(f"unknown fact type '{name}'") from None


def compile_rules(tree: SourceFile, source: str) -> RuleSet:
    """Check names and types of ``tree`` and compile it."""
    if len(tree.templates) > MAX_TEMPLATES:
        raise RuleLimitError(f"more than {MAX_TEMPLATES} templates")
    if len(tree.rules) > MAX_RULES:
        raise RuleLimitError(f"more than {MAX_RULES} rules")
    templates: dict[str, Template] = {}
    for decl in tree.templates:
        if decl.name in templates:
            raise RuleTypeError(f"template '{decl.name}' is declared twice", decl.line, decl.column)
        templates[decl.name] = _template(decl)
    compiler = _RuleCompiler(templates)
    rules = tuple(compiler.rule(index, decl) for index, decl in enumerate(tree.rules))
    return RuleSet(source, templates, rules, dict(compiler.events))


def _template(decl: TemplateDecl) -> Template:
    if not decl.fields:
        raise RuleTypeError(f"template '{decl.name}' has no fields", decl.line, decl.column)
    if len(decl.fields) > MAX_FIELDS:
        raise RuleLimitError(f"template '{decl.name}' has more than {MAX_FIELDS} fields")
    fields: list[tuple[str, ValueType]] = []
    for field in decl.fields:
        if field.name in (name for name, _ in fields):
            raise RuleTypeError(f"field '{field.name}' is declared twice in template '{decl.name}'",
                                field.line, field.column)
        if field.type_name not in TYPE_NAMES:
            raise RuleTypeError(f"unknown type '{field.type_name}' of field '{field.name}' "
                                f"(expected int, bool, string or address)", field.line, field.column)
        fields.append((field.name, TYPE_NAMES[field.type_name]))
    return Template(decl.name, tuple(fields))


class _RuleCompiler:
    def __init__(self, templates: dict[str, Template]) -> None:
        self.templates = templates
        self.declared: dict[str, tuple[RuleDecl, tuple[PatternDecl, ...]]] = {}
        self.events: dict[str, tuple[ValueType, ...]] = {}

    def rule(self, index: int, decl: RuleDecl) -> CompiledRule:
        if decl.name in self.declared:
            raise RuleTypeError(f'rule "{decl.name}" is declared twice', decl.line, decl.column)
        inherited: tuple[PatternDecl, ...] = ()
        if decl.parent is not None:
            if decl.parent not in self.declared:
                raise RuleTypeError(f'rule "{decl.name}" extends "{decl.parent}", which is not declared before it',
                                    decl.line, decl.column)
            inherited = self.declared[decl.parent][1]
        patterns = inherited + decl.patterns
        if not patterns:
            raise RuleTypeError(f'rule "{decl.name}" has no conditions', decl.line, decl.column)
        if len(patterns) > MAX_PATTERNS:
            raise RuleLimitError(f'rule "{decl.name}" has more than {MAX_PATTERNS} patterns (inherited included)')
        if len(decl.actions) > MAX_ACTIONS:
            raise RuleLimitError(f'rule "{decl.name}" has more than {MAX_ACTIONS} actions')
        compiled: list[CompiledPattern] = []
        for position, pattern in enumerate(patterns):
            compiled.append(self.pattern(position, pattern, compiled))
        scope = {p.binding: p for p in compiled if p.binding is not None}
        actions = tuple(self.action(decl.name, action, scope) for action in decl.actions)
        pays = [action for action in decl.actions if isinstance(action, PayDecl)]
        if pays and decl.max_pay == 0:
            raise RuleTypeError(f'rule "{decl.name}" pays, so it must declare max_pay (the most one firing pays, '
                                f'in wei)', pays[0].line, pays[0].column)
        self.declared[decl.name] = (decl, patterns)
        return CompiledRule(index, decl.name, decl.salience, decl.no_loop, decl.lock_on_active, tuple(compiled),
                            actions, decl.activation_group, decl.effective, decl.expires, decl.max_pay)

    def _template_of(self, name: str, line: int, column: int) -> Template:
        if name not in self.templates:
            raise RuleTypeError(f"unknown fact type '{name}'", line, column)
        return self.templates[name]

    def pattern(self, position: int, decl: PatternDecl, earlier: list[CompiledPattern]) -> CompiledPattern:
        template = self._template_of(decl.template, decl.line, decl.column)
        scope = {p.binding: p for p in earlier if p.binding is not None}
        if decl.binding is not None and decl.binding in scope:
            raise RuleTypeError(f"binding '{decl.binding}' is already bound in this rule", decl.line, decl.column)
        if decl.kind in ("not", "exists") and decl.binding is not None:
            raise RuleTypeError(f"a '{decl.kind}' condition binds nothing", decl.line, decl.column)

        def resolve(ref: Reference) -> tuple[int, int, ValueType]:
            if ref.binding is None:
                owner, where = template, position
            elif ref.binding == decl.binding:
                raise RuleTypeError(f"'{ref.key}': a pattern names its own fields without a binding "
                                    f"(write '{ref.field}')", ref.line, ref.column)
            elif ref.binding in scope:
                owner, where = scope[ref.binding].bound_template, scope[ref.binding].position
            else:
                raise RuleTypeError(f"unknown binding '{ref.binding}'", ref.line, ref.column)
            if ref.field not in owner.field_names:
                raise RuleTypeError(f"{owner.name} has no field '{ref.field}'", ref.line, ref.column)
            index = owner.index(ref.field)
            return where, index, owner.field_types[index]

        alpha: list[Expression] = []
        beta: list[Expression] = []
        for constraint in decl.constraints:
            value_type = constraint.infer(lambda ref: resolve(ref)[2])
            if value_type is not ValueType.BOOL:
                raise RuleTypeError(f"a condition must be bool, this one is {value_type.value}",
                                    constraint.line, constraint.column)
            (beta if any(ref.binding is not None for ref in constraint.references()) else alpha).append(constraint)

        def read_own(ref: Reference) -> Evaluator:
            index = resolve(ref)[1]
            return lambda values: values[index]  # type: ignore[index, no-any-return]

        def read_joined(ref: Reference) -> Evaluator:
            where, index, _ = resolve(ref)
            return lambda env: env[where][index]  # type: ignore[index, no-any-return]

        equality = None
        for constraint in beta if decl.kind == "fact" else ():
            if isinstance(constraint, Binary) and constraint.operator == "==":
                sides = (constraint.left, constraint.right)
                own = [side for side in sides if isinstance(side, Reference) and side.binding is None]
                other = [side for side in sides if isinstance(side, Reference) and side.binding is not None]
                if own and other and scope[other[0].binding or ""].kind == "fact":
                    equality = (resolve(own[0])[1], *resolve(other[0])[:2])
                    break
        results = tuple(self.accumulation(item, resolve, read_joined) for item in decl.results)
        names = [item.name for item in decl.results]
        for item in decl.results:
            if names.count(item.name) > 1:
                raise RuleTypeError(f"result '{item.name}' is named twice", item.line, item.column)

        def resolve_result(ref: Reference) -> tuple[int, int, ValueType]:
            if ref.binding is None:
                if ref.field not in names:
                    raise RuleTypeError(f"accumulate '{decl.binding}' has no result '{ref.field}'", ref.line,
                                        ref.column)
                return position, names.index(ref.field), ValueType.INT
            return resolve(ref)

        def read_result(ref: Reference) -> Evaluator:
            where, index, _ = resolve_result(ref)
            return lambda env: env[where][index]  # type: ignore[index, no-any-return]

        for test in decl.tests:
            if test.infer(lambda ref: resolve_result(ref)[2]) is not ValueType.BOOL:
                raise RuleTypeError("a test of an accumulate must be bool", test.line, test.column)
        return CompiledPattern(position, decl.binding, template, tuple(alpha), tuple(beta),
                               _conjunction([e.compile(read_own, checked=False) for e in alpha]),
                               _conjunction([e.compile(read_joined, checked=False) for e in beta]),
                               equality, decl.kind, results, decl.tests,
                               _conjunction([e.compile(read_result, checked=False) for e in decl.tests]))

    @staticmethod
    def accumulation(item: AccumulateResult, resolve: Callable[[Reference], tuple[int, int, ValueType]],
                     read: Callable[[Reference], Evaluator]) -> Accumulation:
        """A result of an accumulate; its argument must be int."""
        if item.argument is None:
            return Accumulation(item.name, item.function, None, 0, f"{item.name}={item.function}()")
        if item.argument.infer(lambda ref: resolve(ref)[2]) is not ValueType.INT:
            raise RuleTypeError(f"the argument of {item.function} must be int", item.argument.line,
                                item.argument.column)
        return Accumulation(item.name, item.function, item.argument.compile(read, checked=False), item.argument.cost,
                            f"{item.name}={item.function}({item.argument})")

    def action(self, rule: str, decl: ActionDecl, scope: dict[str, CompiledPattern]) -> Action:
        def bound(binding: str, line: int, column: int) -> CompiledPattern:
            if binding not in scope:
                raise RuleTypeError(f"unknown binding '{binding}'", line, column)
            return scope[binding]

        def bound_fact(binding: str, line: int, column: int) -> CompiledPattern:
            pattern = bound(binding, line, column)
            if pattern.kind != "fact":
                raise RuleTypeError(f"'{binding}' is the result of an accumulate, not a fact", line, column)
            return pattern

        def resolve(ref: Reference) -> tuple[int, int, ValueType]:
            if ref.binding is None:
                raise RuleTypeError(f"unknown name '{ref.field}': actions read fields through a binding "
                                    f"($name.{ref.field})", ref.line, ref.column)
            owner = bound(ref.binding, ref.line, ref.column).bound_template
            if ref.field not in owner.field_names:
                raise RuleTypeError(f"{owner.name} has no field '{ref.field}'", ref.line, ref.column)
            index = owner.index(ref.field)
            return scope[ref.binding].position, index, owner.field_types[index]

        def read(ref: Reference) -> Evaluator:
            where, index, _ = resolve(ref)
            return lambda env: env[where][index]  # type: ignore[index, no-any-return]

        def assignments(template: Template, items: tuple[Assignment, ...]) -> tuple[CompiledAssignment, ...]:
            seen: set[str] = set()
            compiled = []
            for item in items:
                if item.field not in template.field_names:
                    raise RuleTypeError(f"{template.name} has no field '{item.field}'", item.line, item.column)
                if item.field in seen:
                    raise RuleTypeError(f"field '{item.field}' is assigned twice", item.line, item.column)
                seen.add(item.field)
                index = template.index(item.field)
                expected = template.field_types[index]
                actual = item.value.infer(lambda ref: resolve(ref)[2])
                if actual is not expected:
                    raise RuleTypeError(f"field '{item.field}' of {template.name} is {expected.value}, "
                                        f"the value is {actual.value}", item.value.line, item.value.column)
                compiled.append(CompiledAssignment(index, item.field, expected, item.value.compile(read, checked=False),
                                                   item.value.cost))
            return tuple(compiled)

        if isinstance(decl, UpdateDecl):
            pattern = bound_fact(decl.binding, decl.line, decl.column)
            return UpdateAction(pattern.position, pattern.template, assignments(pattern.template, decl.assignments))
        if isinstance(decl, InsertDecl):
            template = self._template_of(decl.template, decl.line, decl.column)
            return InsertAction(template, assignments(template, decl.assignments))
        if isinstance(decl, RetractDecl):
            return RetractAction(bound_fact(decl.binding, decl.line, decl.column).position)
        if isinstance(decl, PayDecl):
            for value, expected, what in ((decl.recipient, ValueType.ADDRESS, "recipient"),
                                          (decl.amount, ValueType.INT, "amount")):
                actual = value.infer(lambda ref: resolve(ref)[2])
                if actual is not expected:
                    raise RuleTypeError(f"the {what} of 'pay' must be {expected.value}, this one is {actual.value}",
                                        value.line, value.column)
            return PayAction(rule, decl.recipient.compile(read, checked=False), decl.amount.compile(read, checked=False),
                             decl.recipient.cost + decl.amount.cost)
        if len(decl.arguments) > MAX_EMIT_ARGUMENTS:
            raise RuleLimitError(f"event '{decl.name}' has more than {MAX_EMIT_ARGUMENTS} arguments")
        types = tuple(argument.infer(lambda ref: resolve(ref)[2]) for argument in decl.arguments)
        if self.events.setdefault(decl.name, types) != types:
            shown = ", ".join(t.value for t in self.events[decl.name])
            raise RuleTypeError(f"event '{decl.name}' was emitted before with types ({shown})",
                                decl.line, decl.column)
        return EmitAction(rule, decl.name, tuple(argument.compile(read, checked=False) for argument in decl.arguments), types,
                          sum(argument.cost for argument in decl.arguments))


def _conjunction(tests: list[Evaluator]) -> Callable[[object], bool]:
    if not tests:
        return lambda env: True
    if len(tests) == 1:
        only = tests[0]
        return lambda env: bool(only(env))
    return lambda env: all(test(env) for test in tests)
