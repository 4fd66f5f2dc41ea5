"""Checks of a definition's state graph: reachability, end states, endless automatic cycles, deadlocking joins.

A join waits for a token from every state with an edge into it (its
*sources*). It can deadlock when a choice somewhere (a state with tasks,
messages or timers leading to different states, or an exclusive gateway)
sends a token towards some of the join's sources on one option and towards
other sources on another: the sources that option skips never deliver.
Formally, for each choice state and each pair of its options, the sets of
sources each option can deliver (walking forward without passing through the
join; an option that is the join itself delivers the choice state) must be
equal unless one of them is empty (an option that leaves the join's region
altogether, such as a rejection before the split). The first offending join
is reported with the choice and the two options.

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
    _check_gateway_cycles(definition)
    _check_joins(definition)


def _successors(definition: Definition) -> dict[str, list[str]]:
    return {state.name: list(state.successors()) for state in definition.states}


def _predecessors(definition: Definition) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {state.name: [] for state in definition.states}
    for state in definition.states:
        for target in state.successors():
            edges[target].append(state.name)
    return edges


def _check_gateway_cycles(definition: Definition) -> None:
    """Refuse cycles through gateways and one-shot timers only: a token would circle without a transaction."""
    moves = {
        state.name: [t for t in state.successors() if not state.call]
        if state.parallel or state.join or state.choose
        else [t.target for t in state.transitions if t.after is not None and not t.repeating]
        for state in definition.states
    }
    done: set[str] = set()
    for state in definition.states:
        trail: list[str] = []
        _walk(state.name, trail, moves, done)


def _walk(name: str, trail: list[str], moves: dict[str, list[str]], done: set[str]) -> None:
    if name in trail:
        cycle = trail[trail.index(name):] + [name]
        raise DefinitionError(
            f"states.{cycle[0]}", f"gateways and timers alone form the cycle {' -> '.join(cycle)}: "
                                  "a token would move forever"
        )
    if name in done:
        return
    trail.append(name)
    for target in moves[name]:
        _walk(target, trail, moves, done)
    trail.pop()
    done.add(name)


def join_sources(definition: Definition, join: str) -> tuple[str, ...]:
    """The states with an edge into ``join``, in document order: a token must come from each."""
    return tuple(s.name for s in definition.states if join in s.successors())


def _check_joins(definition: Definition) -> None:
    successors = _successors(definition)
    for join in (s.name for s in definition.states if s.join):
        sources = join_sources(definition, join)
        if len(sources) < 2:
            raise DefinitionError(f"states.{join}", f"a join needs at least two incoming branches, it has "
                                                    f"{len(sources)}")
        without_join = {name: [t for t in targets if t != join] for name, targets in successors.items()}
        for state in definition.states:
            if state.parallel:
                continue
            options = list(dict.fromkeys(state.successors()))
            delivered = [
                {state.name} if option == join else set(sources) & _closure([option], without_join)
                for option in options
            ]
            for first in range(len(options)):
                for second in range(first + 1, len(options)):
                    one, other = delivered[first], delivered[second]
                    if one and other and one != other:
                        raise DefinitionError(
                            f"states.{join}",
                            f"this join can deadlock: it waits for {', '.join(repr(s) for s in sources)}, but "
                            f"'{state.name}' either goes to '{options[first]}' (reaching "
                            f"{', '.join(sorted(repr(s) for s in one))}) or to '{options[second]}' (reaching "
                            f"{', '.join(sorted(repr(s) for s in other))})",
                        )


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
    timers = {state.name: [t for t in state.transitions if t.after is not None and not t.repeating]
              for state in definition.states}
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
