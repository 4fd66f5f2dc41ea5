"""Property test: the Rete engine and the naive evaluator agree on random rule sets and fact operations.

Both run the same generated rule file over the same inserts, updates,
retracts and fire_all calls (at varying block times); the final working
memory, the sequence of firings, the emitted events, the payments and any
error must be equal. Rules use plain, ``not``, ``exists`` and ``accumulate``
conditions, salience, ``no_loop``, ``lock_on_active``, activation groups,
``date_effective``/``date_expires`` and ``pay``.
"""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from middleware.rules.compiler import RuleSet
from middleware.rules.engine import Session
from middleware.rules.errors import RulesError
from middleware.rules.naive import NaiveSession

TEMPLATES = "template A { x: int; y: int; f: bool; }\ntemplate B { x: int; z: int; }\n"
INT_FIELDS = {"A": ("x", "y"), "B": ("x", "z"), "ACC": ("n", "s")}
BUDGET = 40
COMPARE = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
SMALL = st.integers(-2, 5)
TINY = st.integers(0, 2)


@st.composite
def constraint(draw: Any, template: str, earlier: list[tuple[str, str]]) -> str:
    """A bool condition on the pattern's own fields, possibly joined with an earlier binding."""
    field = draw(st.sampled_from(INT_FIELDS[template]))
    kinds = ["alpha", "flag"] if template == "A" else ["alpha"]
    if earlier:
        kinds += ["join", "join_mod", "equal", "equal"]
    kind = draw(st.sampled_from(kinds))
    if kind == "alpha":
        return f"{field} {draw(COMPARE)} {draw(SMALL)}"
    if kind == "flag":
        return draw(st.sampled_from(["f", "not f", "f == true"]))
    binding, other = draw(st.sampled_from(earlier))
    other_field = draw(st.sampled_from(INT_FIELDS[other]))
    if kind == "equal":  # the form the network indexes
        return f"{field} == {binding}.{other_field}" if draw(st.booleans()) else f"{binding}.{other_field} == {field}"
    if kind == "join":
        return f"{field} {draw(COMPARE)} {binding}.{other_field} + {draw(SMALL)}"
    return f"({field} + {draw(SMALL)}) % 3 == {binding}.{other_field} % 3 or {field} / 2 > 2"


@st.composite
def condition(draw: Any, index: int, position: int, bindings: list[tuple[str, str]]) -> str:
    """A plain pattern (binding it), or a not, exists or accumulate condition over A or B."""
    template = draw(st.sampled_from(["A", "B"]))
    constraints = ", ".join(draw(st.lists(constraint(template, bindings), max_size=2)))
    kind = draw(st.sampled_from(["fact", "fact", "fact", "not", "exists", "accumulate"]))
    binding = f"$r{index}p{position}"
    if kind in ("not", "exists"):
        return f"{kind} {template}({constraints});"
    if kind == "accumulate":
        field = draw(st.sampled_from(INT_FIELDS[template]))
        extra = draw(st.sampled_from(["", f", lo = min({field})", f", hi = max({field} * 2)"]))
        tests = draw(st.sampled_from(["", "; n >= 1", f"; s {draw(COMPARE)} {draw(SMALL)}", "; n != s or n == 0"]))
        bindings.append((binding, "ACC"))
        return f"{binding}: accumulate({template}({constraints}); n = count(), s = sum({field}){extra}{tests});"
    bindings.append((binding, template))
    return f"{binding}: {template}({constraints});"


@st.composite
def action(draw: Any, bindings: list[tuple[str, str]]) -> str:
    """One action over the rule's bindings."""
    binding, template = draw(st.sampled_from(bindings))
    field = draw(st.sampled_from(INT_FIELDS[template]))
    kind = draw(st.sampled_from(["update", "update", "insert", "retract", "emit", "flag", "pay"]))
    if kind == "pay":
        return f"pay(0x{draw(TINY) + 1:040x}, {binding}.{field} + {draw(st.integers(1, 4))})"
    if template == "ACC":
        return f"emit E({binding}.{field}, {draw(SMALL)})"
    if kind == "update":
        value = draw(st.sampled_from([f"{binding}.{field} + {draw(SMALL)}", str(draw(SMALL)),
                                      f"{binding}.{field} * 2 - 1"]))
        return f"update {binding} {{ {field} = {value} }}"
    if kind == "flag" and template == "A":
        return f"update {binding} {{ f = not {binding}.f }}"
    if kind == "insert":
        return f"insert B {{ x = {binding}.{field} + 1, z = {draw(SMALL)} }}"
    if kind == "retract":
        return f"retract {binding}"
    return f"emit E({binding}.{field}, {draw(SMALL)})"


@st.composite
def rule_file(draw: Any) -> str:
    """Templates A and B and one to four rules, some extending earlier ones."""
    rules: list[str] = []
    patterns_of: list[list[tuple[str, str]]] = []
    for index in range(draw(st.integers(1, 4))):
        parent = draw(st.sampled_from([None, *range(index)])) if index else None
        inherited = list(patterns_of[parent]) if parent is not None else []
        own_count = draw(st.sampled_from([1, 2, 2] if not inherited else [0, 1]))
        bindings = list(inherited)
        conditions = [draw(condition(index, position, bindings)) for position in range(own_count)]
        if not bindings:  # actions need a binding
            bindings.append((f"$r{index}b", "A"))
            conditions.append(f"$r{index}b: A();")
        patterns_of.append(bindings)
        options = f"salience {draw(st.integers(-1, 2))}"
        options += " no_loop" if draw(st.booleans()) else ""
        options += " lock_on_active" if draw(st.booleans()) else ""
        options += draw(st.sampled_from(["", "", ' activation_group "g"', ' activation_group "h"']))
        options += draw(st.sampled_from(["", "", " date_effective 3", " date_expires 5",
                                         " date_effective 2 date_expires 6"]))
        options += f" max_pay {draw(st.integers(1, 12))}"
        actions = draw(st.lists(action(bindings), max_size=3))
        extends = f' extends "r{parent}"' if parent is not None else ""
        rules.append(f'rule "r{index}"{extends} {options} when {{ {" ".join(conditions)} }} '
                     f'then {{ {" ".join(a + ";" for a in actions)} }}')
    return TEMPLATES + "\n".join(rules)


INSERT = st.tuples(st.just("insert"), st.sampled_from(["A", "B"]), TINY, SMALL, st.booleans())
OPERATION = st.one_of(
    INSERT,
    INSERT,
    st.tuples(st.just("update"), st.integers(1, 8), SMALL),
    st.tuples(st.just("retract"), st.integers(1, 8)),
    st.tuples(st.just("fire"), st.integers(1, 12), st.sampled_from([None, 0, 2, 4, 6, 8])),
)


def run(session: Any, operations: list[tuple]) -> tuple:
    """Apply ``operations``; returns the observable outcome (facts, firings, events, error)."""
    error = None
    try:
        for operation in operations:
            if operation[0] == "insert":
                _, template, first, second, flag = operation
                fields = {"x": first, "y": second, "f": flag} if template == "A" else {"x": first, "z": second}
                session.insert(template, fields)
            elif operation[0] == "update":
                existing = [fact.id for fact in session.facts()]
                if existing:
                    session.update(existing[operation[1] % len(existing)], {"x": operation[2]})
            elif operation[0] == "retract":
                existing = [fact.id for fact in session.facts()]
                if existing:
                    session.retract(existing[operation[1] % len(existing)])
            else:
                session.fire_all(max_activations=operation[1], now=operation[2] if len(operation) > 2 else None)
        session.fire_all(max_activations=25, now=4)
    except RulesError as exc:
        error = str(exc)
    facts = [(fact.id, fact.template.name, fact.values) for fact in session.facts()]
    return facts, list(session.fired), list(session.events), list(session.payments), session.budget, error


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=rule_file(), operations=st.lists(OPERATION, min_size=2, max_size=16))
def test_rete_agrees_with_the_naive_evaluator(source: str, operations: list[tuple]) -> None:
    rules = RuleSet.parse(source)
    assert run(Session(rules, budget=BUDGET), operations) == run(NaiveSession(rules, budget=BUDGET), operations)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.tuples(st.sampled_from(["A", "B"]), TINY), min_size=1, max_size=12),
       updates=st.lists(st.tuples(st.integers(1, 12), TINY), max_size=6))
def test_equality_indexed_joins_agree_with_the_naive_evaluator(values: list[tuple[str, int]],
                                                               updates: list[tuple[int, int]]) -> None:
    rules = RuleSet.parse(TEMPLATES + """
rule "same x" when { $a: A(); $b: B(x == $a.x); } then { emit Pair($a.x, $b.z); }
rule "same x and y" extends "same x" when { $c: A($b.z == y, x == $b.x); } then { emit Triple($c.x); }
""")
    operations: list[tuple] = [("insert", template, x, x, True) for template, x in values]
    operations += [("update", fact, x) for fact, x in updates]
    assert run(Session(rules), operations) == run(NaiveSession(rules), operations)
