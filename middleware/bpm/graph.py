"""Checks of a definition's state graph: reachability, end states, endless timer cycles.

Run by ``parse_definition`` after the per-key checks, in a fixed order, so a
definition with several problems always reports the same first one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from middleware.bpm.errors import DefinitionError

if TYPE_CHECKING:
    from middleware.bpm.definition import Definition, Transition


def check_graph(definition: Definition) -> None:
    """Raise ``DefinitionError`` unless every state is reachable, can end, and timers alone never loop."""
    if definition.state(definition.start).end:
        raise DefinitionError("start", "the start state cannot be an end state")
    if not any(state.end for state in definition.states):
        raise DefinitionError("states", "no end state: mark at least one state with \"end\": true")
    reachable = _closure([definition.start], _successors(definition))
    for state in definition.states:
        if state.name not in reachable:
            raise DefinitionError(f"states.{state.name}", f"unreachable from the start state '{definition.start}'")
    can_end = _closure([s.name for s in definition.states if s.end], _predecessors(definition))
    for state in definition.states:
        if state.name not in can_end:
            raise DefinitionError(f"states.{state.name}", "no path from this state to an end state")
    _check_timer_cycles(definition)


def _successors(definition: Definition) -> dict[str, list[str]]:
    return {state.name: [t.target for t in state.transitions] for state in definition.states}


def _predecessors(definition: Definition) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {state.name: [] for state in definition.states}
    for state in definition.states:
        for transition in state.transitions:
            edges[transition.target].append(state.name)
    return edges


def _closure(roots: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(roots)
    pending = list(roots)
    while pending:
        for successor in edges[pending.pop()]:
            if successor not in seen:
                seen.add(successor)
                pending.append(successor)
    return seen


def _check_timer_cycles(definition: Definition) -> None:
    """Refuse cycles made of timer transitions only: they would fire forever without a transaction."""
    timers = {state.name: [t for t in state.transitions if t.after is not None] for state in definition.states}
    finished: set[str] = set()
    for state in definition.states:
        if state.name not in finished:
            _visit(state.name, [], timers, finished)


def _visit(name: str, trail: list[Transition], timers: dict[str, list[Transition]], finished: set[str]) -> None:
    """Depth-first search along timer transitions; ``trail`` is the path of transitions into ``name``."""
    for position, transition in enumerate(trail):
        if transition.source == name:
            cycle = trail[position:]
            route = " -> ".join([t.source for t in cycle] + [name])
            raise DefinitionError(
                cycle[0].path, f"timer transitions alone form the cycle {route}: an instance would move forever"
            )
    if name in finished:
        return
    for transition in timers[name]:
        _visit(transition.target, trail + [transition], timers, finished)
    finished.add(name)
