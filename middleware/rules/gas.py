"""Gas metering of the rules engine, and its schedule.

Every unit of work the engine does is charged to a :class:`GasMeter` before it
is done, so a bounded meter stops a rule set at a predictable point. On-chain
the meter also forwards each charge to the EVM call (``sink``), so the caller
pays in ordinary gas.
"""
from __future__ import annotations

from collections.abc import Callable

from middleware.rules.errors import GasExhausted

#: Every node of an expression each time the expression is evaluated (no discount for short-circuits).
EXPRESSION_NODE_GAS = 3
#: One alpha test: a fact checked against the single-fact constraints of a pattern.
CONDITION_TEST_GAS = 20
#: One beta join attempt: a partial match checked against one more fact.
JOIN_ATTEMPT_GAS = 30
#: One complete match reaching a rule (an activation placed on, or suppressed from, the agenda).
ACTIVATION_GAS = 200
#: One rule firing taken from the agenda.
FIRING_GAS = 500
#: One action of a firing (update, insert, retract, emit), plus its expressions.
ACTION_GAS = 100
#: One fact entering or leaving the network (insert, retract; an update is both).
FACT_GAS = 100
#: Compiling a rule set, per byte of source.
COMPILE_BYTE_GAS = 8
#: A ``pay`` action, on top of ACTION_GAS (on-chain, the value transfer and its log).
PAY_GAS = 9_000
#: Folding one fact into an accumulate's results (plus the results' argument expressions).
ACCUMULATE_FACT_GAS = 10
#: Per 32-byte word of the string and address values of a fact entering the network.
WORD_GAS = 3


class GasMeter:
    """Counts gas used and raises :class:`GasExhausted` before the total would pass ``limit``."""

    def __init__(self, limit: int, sink: Callable[[int, str], None] | None = None) -> None:
        """``limit`` bounds the total; ``sink`` (optional) is told of every charge, e.g. an EVM call's gas."""
        if limit < 0:
            raise ValueError("gas limit must not be negative")
        self.limit = limit
        self.used = 0
        self._sink = sink

    def charge(self, amount: int, what: str) -> None:
        """Use ``amount`` gas for ``what``; raises :class:`GasExhausted` (using nothing) if it does not fit."""
        needed = self.used + amount
        if needed > self.limit:
            raise GasExhausted(self.limit, needed, what)
        if self._sink is not None:
            self._sink(amount, what)
        self.used = needed


def unmetered() -> GasMeter:
    """A meter that never runs out in practice (off-chain use without a bound)."""
    return GasMeter(2**256)
