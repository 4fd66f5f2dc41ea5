"""The agenda: activations waiting to fire, in a deterministic order, with no_loop and lock_on_active.

An *activation* is a rule with a tuple of fact ids (one per pattern) that
currently matches. Order: higher salience first, then the rule declared
earlier, then the smaller tuple of fact ids (compared as tuples, in pattern
order). The order is total, so which activation fires next never depends on
how the network found the matches.

Refraction: an activation that fired (or was suppressed) is gone; the same
rule and tuple activate again only when the match is made again, i.e. after
one of its facts is updated (or retracted and the match re-formed with a new
fact). Suppression, while an activation of rule R on tuple T fires:

* ``no_loop``: a match of R on the same tuple T made by R's own actions is
  not placed on the agenda (matches of R on other tuples are);
* ``lock_on_active``: once R has fired in a ``fire_all`` call, no match of R
  made later in that call is placed on the agenda (activations already waiting
  still fire).

A suppressed match is treated as already fired: it activates again only when
made again after the call.

Activation groups: when an activation of a rule with ``activation_group G``
fires, every other waiting activation of the rules of G is cancelled (treated
as fired). Block time: only activations of rules in effect at the call's
``now`` (``date_effective <= now < date_expires``) fire; the others wait.
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence

from middleware.rules.compiler import CompiledRule

Activation = tuple[int, tuple[int, ...]]  # (rule index, fact ids)


class Agenda:
    """Pending activations, ordered by (-salience, rule index, fact ids)."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        """An empty agenda for ``rules``."""
        self._rules = rules
        self._pending: dict[Activation, None] = {}
        self._heap: list[tuple[int, int, tuple[int, ...]]] = []
        self._firing: Activation | None = None
        self._locked: dict[int, None] = {}

    def __contains__(self, activation: Activation) -> bool:
        """Whether ``activation`` is pending."""
        return activation in self._pending

    def add(self, rule: int, fact_ids: tuple[int, ...]) -> bool:
        """A match was made: place it on the agenda unless suppressed; returns whether it was placed."""
        compiled = self._rules[rule]
        if compiled.no_loop and self._firing == (rule, fact_ids):
            return False
        if compiled.lock_on_active and rule in self._locked:
            return False
        self._pending[(rule, fact_ids)] = None
        heapq.heappush(self._heap, (-compiled.salience, rule, fact_ids))
        if len(self._heap) > 4 * len(self._pending) + 256:  # drop entries of lost matches
            self._heap = [(-self._rules[r].salience, r, ids) for r, ids in self._pending]
            heapq.heapify(self._heap)
        return True

    def remove(self, rule: int, fact_ids: tuple[int, ...]) -> None:
        """A match was lost: drop its activation if pending."""
        self._pending.pop((rule, fact_ids), None)

    def discard(self, activations: Sequence[Activation]) -> None:
        """Drop ``activations`` (restoring a session whose matches had fired)."""
        for activation in activations:
            self._pending.pop(activation, None)

    def pop(self, now: int | None = None) -> Activation | None:
        """Take the first pending activation of a rule in effect at ``now`` off the agenda (None when none)."""
        waiting: list[tuple[int, int, tuple[int, ...]]] = []
        found: Activation | None = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            _, rule, fact_ids = entry
            if (rule, fact_ids) not in self._pending:
                continue
            if not self._rules[rule].in_effect(now):
                waiting.append(entry)
                continue
            del self._pending[(rule, fact_ids)]
            found = rule, fact_ids
            break
        for entry in waiting:
            heapq.heappush(self._heap, entry)
        return found

    def pending(self) -> tuple[Activation, ...]:
        """The pending activations in firing order."""
        return tuple(sorted(self._pending, key=lambda a: (-self._rules[a[0]].salience, a[0], a[1])))

    def begin_firing(self, activation: Activation) -> None:
        """``activation`` is about to run its actions (locks its rule if lock_on_active)."""
        self._firing = activation
        rule = self._rules[activation[0]]
        if rule.lock_on_active:
            self._locked[activation[0]] = None
        if rule.activation_group is not None:
            group = rule.activation_group
            for other in [a for a in self._pending if self._rules[a[0]].activation_group == group]:
                del self._pending[other]

    def end_firing(self) -> None:
        """The current firing's actions are done."""
        self._firing = None

    def end_call(self) -> None:
        """A ``fire_all`` call ended: lift the locks."""
        self._firing = None
        self._locked.clear()
