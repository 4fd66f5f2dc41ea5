"""The tracer interface: what a traced execution reports, and a fan-out to several tracers.

A traced state (``vm.tracing.hooks``) calls these methods while py-evm runs:
``enter``/``exit`` around every message call or creation (precompiles and
native contracts included), ``step``/``step_done`` around every opcode,
``log`` for every event, ``account``/``storage`` before any read or change
of an account or a storage slot (native contracts and block hooks included),
``finish`` once the transaction's effects are in the state.
Every method does nothing by default; a tracer overrides what it needs.
"""
from __future__ import annotations

from collections.abc import Sequence

from eth.abc import ComputationAPI, MessageAPI, StateAPI

# Opcode names as geth spells them where py-evm's mnemonic differs.
_GETH_NAMES = {"SHA3": "KECCAK256"}


def opcode_name(opcode: int, mnemonic: str | None) -> str:
    """The geth name of ``opcode`` (``mnemonic`` is py-evm's, None when the opcode is undefined)."""
    if mnemonic is None:
        return "INVALID" if opcode == 0xFE else f"opcode {opcode:#x} not defined"
    return _GETH_NAMES.get(mnemonic, mnemonic)


class Tracer:
    """Receives the events of a traced execution; every hook is a no-op unless overridden."""

    wants_steps = False  # whether ``step``/``step_done`` matter (opcode reports cost interpreter time)

    def enter(self, call_type: str, message: MessageAPI, parent: ComputationAPI | None) -> None:
        """A message call or creation of ``call_type`` (``CALL``, ``CREATE2``, ...) starts."""

    def exit(self, message: MessageAPI, computation: ComputationAPI) -> None:
        """The frame of ``message`` ended with ``computation`` (its output, gas and error)."""

    def step(self, computation: ComputationAPI, pc: int, opcode: int, name: str, gas: int) -> None:
        """Opcode ``name`` at ``pc`` is about to run with ``gas`` left."""

    def step_done(self, computation: ComputationAPI, gas_before: int, error: Exception | None) -> None:
        """The opcode announced by the last ``step`` of ``computation`` finished (``error``: what it raised)."""

    def log(self, address: bytes, topics: Sequence[int], data: bytes) -> None:
        """An event was emitted in the innermost frame."""

    def account(self, state: StateAPI, address: bytes) -> None:
        """``address``'s balance, nonce or code is about to be read or changed."""

    def storage(self, state: StateAPI, address: bytes, slot: int) -> None:
        """Storage ``slot`` of ``address`` is about to be read or changed."""

    def finish(self, state: StateAPI) -> None:
        """The transaction or call ended; ``state`` holds its effects (before the next one runs)."""


class FanOut(Tracer):
    """Forwards every event to several tracers, in order."""

    def __init__(self, tracers: Sequence[Tracer]) -> None:
        self.tracers = tuple(tracers)
        self.wants_steps = any(tracer.wants_steps for tracer in self.tracers)

    def enter(self, call_type: str, message: MessageAPI, parent: ComputationAPI | None) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.enter(call_type, message, parent)

    def exit(self, message: MessageAPI, computation: ComputationAPI) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.exit(message, computation)

    def step(self, computation: ComputationAPI, pc: int, opcode: int, name: str, gas: int) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.step(computation, pc, opcode, name, gas)

    def step_done(self, computation: ComputationAPI, gas_before: int, error: Exception | None) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.step_done(computation, gas_before, error)

    def log(self, address: bytes, topics: Sequence[int], data: bytes) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.log(address, topics, data)

    def account(self, state: StateAPI, address: bytes) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.account(state, address)

    def storage(self, state: StateAPI, address: bytes, slot: int) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.storage(state, address, slot)

    def finish(self, state: StateAPI) -> None:
        """Forwarded."""
        for tracer in self.tracers:
            tracer.finish(state)
