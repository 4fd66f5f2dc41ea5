"""A py-evm state class whose execution reports to a tracer, built only when tracing.

``traced_state_class(base)`` subclasses a state class (the chain's call
state) and its computation class without changing how anything executes:

* ``apply_message`` / ``apply_create_message`` announce every frame,
  precompiles and native contracts included (py-evm answers those inside
  ``apply_computation`` without an opcode loop, so the frame is their only
  trace);
* the opcode table is wrapped, entry by entry, so that py-evm's own opcode
  loop reports each opcode before and after it runs (undefined opcodes too);
* ``add_log_entry`` reports events, and the state's account and storage
  accessors report what they are about to read or change.

The tracer is the state's ``tracer`` attribute; None turns every hook into a
plain call, so one state can replay untraced transactions and trace others.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.exceptions import Halt, VMError
from eth.vm.forks.prague.state import PragueState
from eth.vm.logic.invalid import InvalidOpcode
from eth_typing import Address, Hash32

from vm.tracing.tracer import Tracer, opcode_name

_CALL_OPCODES = {0xF1: "CALL", 0xF2: "CALLCODE", 0xF4: "DELEGATECALL", 0xFA: "STATICCALL",
                 0xF0: "CREATE", 0xF5: "CREATE2"}


class TracedOpcode:
    """One opcode of the table, reporting to the state's tracer around py-evm's implementation."""

    def __init__(self, opcode: int, implementation: Callable[..., Any] | None) -> None:
        self.opcode = opcode
        mnemonic = None
        if implementation is not None:
            wrapped: Any = getattr(implementation, "__wrapped__", implementation)  # some entries are decorated functions
            mnemonic = getattr(implementation, "mnemonic", None) or wrapped.mnemonic
        self.name = opcode_name(opcode, mnemonic)
        self.mnemonic = mnemonic or "INVALID"  # read by py-evm's debug logging
        self._implementation = implementation or InvalidOpcode(opcode)

    def __call__(self, computation: ComputationAPI) -> None:
        state: TracedState = computation.state  # type: ignore[assignment]
        tracer = state.tracer
        if tracer is None:
            self._implementation(computation=computation)
            return
        depth = computation.msg.depth
        if not tracer.wants_steps:
            if self.opcode in _CALL_OPCODES:
                state.current_opcodes[depth] = self.opcode
            self._implementation(computation=computation)
            return
        counter = computation.code.program_counter
        # Past the end of the code the stream yields STOP without moving the counter (geth: STOP at len(code)).
        implicit_stop = counter == state.frame_counters.get(depth, 0)
        if implicit_stop and counter == 0:  # no code at all: geth records no step
            self._implementation(computation=computation)
            return
        gas = computation.get_gas_remaining()
        state.current_opcodes[depth] = self.opcode
        tracer.step(computation, counter if implicit_stop else counter - 1, self.opcode, self.name, gas)
        try:
            self._implementation(computation=computation)
        except Halt:
            tracer.step_done(computation, gas, None)
            raise
        except VMError as exc:
            tracer.step_done(computation, gas, exc)
            raise
        state.frame_counters[depth] = computation.code.program_counter
        tracer.step_done(computation, gas, None)


def _call_type(state: TracedState, message: MessageAPI, parent: ComputationAPI | None) -> str:
    if parent is None:
        return "CREATE" if message.is_create else "CALL"
    return _CALL_OPCODES.get(state.current_opcodes.get(parent.msg.depth, 0xF1), "CALL")


class TracedState(PragueState):
    """Marker base of traced states: ``tracer`` receives the events, None traces nothing."""

    tracer: Tracer | None = None
    current_opcodes: dict[int, int]  # per depth: the opcode running there (a callee's call type)
    frame_counters: dict[int, int]  # per depth: the program counter after that frame's last opcode

    @contextmanager
    def untraced(self) -> Iterator[None]:
        """Read the state without reporting the reads (a tracer looking at values)."""
        tracer, self.tracer = self.tracer, None
        try:
            yield
        finally:
            self.tracer = tracer


def traced_state_class(base: type[PragueState]) -> type[TracedState]:
    """A subclass of ``base`` whose computations and accessors report to the instance's ``tracer``."""
    computation_base: Any = base.computation_class
    opcodes = {opcode: TracedOpcode(opcode, computation_base.opcodes.get(opcode)) for opcode in range(256)}

    class TracedComputation(computation_base):  # type: ignore[misc]
        """``base``'s computation, announcing frames and events."""

        @classmethod
        def apply_message(cls, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI,
                          parent_computation: ComputationAPI | None = None) -> ComputationAPI:
            tracer = state.tracer  # type: ignore[attr-defined]
            if tracer is None or message.is_create:  # creations are announced by apply_create_message
                computation: ComputationAPI = super().apply_message(state, message, transaction_context, parent_computation)
                return computation
            call_type = _call_type(state, message, parent_computation)  # type: ignore[arg-type]
            tracer.enter(call_type, message, parent_computation)
            state.frame_counters[message.depth] = 0  # type: ignore[attr-defined]
            computation = super().apply_message(state, message, transaction_context, parent_computation)
            tracer.exit(message, computation)
            return computation

        @classmethod
        def apply_create_message(cls, state: StateAPI, message: MessageAPI,
                                 transaction_context: TransactionContextAPI,
                                 parent_computation: ComputationAPI | None = None) -> ComputationAPI:
            tracer = state.tracer  # type: ignore[attr-defined]
            if tracer is None:
                computation: ComputationAPI = super().apply_create_message(state, message, transaction_context, parent_computation)
                return computation
            call_type = _call_type(state, message, parent_computation)  # type: ignore[arg-type]
            tracer.enter(call_type, message, parent_computation)
            state.frame_counters[message.depth] = 0  # type: ignore[attr-defined]
            computation = super().apply_create_message(state, message, transaction_context, parent_computation)
            tracer.exit(message, computation)
            return computation

        def add_log_entry(self, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
            tracer = self.state.tracer
            if tracer is not None:
                tracer.log(account, topics, data)
            super().add_log_entry(account, topics, data)

    TracedComputation.opcodes = opcodes
    TracedComputation.__name__ = f"Traced{computation_base.__name__}"

    class Traced(base, TracedState):  # type: ignore[misc, valid-type]
        """``base`` reporting account and storage accesses to its tracer."""

        computation_class = TracedComputation

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.current_opcodes = {}
            self.frame_counters = {}

        def _account(self, address: bytes) -> None:
            if self.tracer is not None:
                self.tracer.account(self, address)

        def get_balance(self, address: Address) -> int:
            self._account(address)
            return super().get_balance(address)

        def set_balance(self, address: Address, balance: int) -> None:
            self._account(address)
            super().set_balance(address, balance)

        def get_nonce(self, address: Address) -> int:
            self._account(address)
            return super().get_nonce(address)

        def set_nonce(self, address: Address, nonce: int) -> None:
            self._account(address)
            super().set_nonce(address, nonce)

        def get_code(self, address: Address) -> bytes:
            self._account(address)
            return super().get_code(address)

        def set_code(self, address: Address, code: bytes) -> None:
            self._account(address)
            super().set_code(address, code)

        def get_code_hash(self, address: Address) -> Hash32:
            self._account(address)
            return super().get_code_hash(address)

        def delete_account(self, address: Address) -> None:
            self._account(address)
            super().delete_account(address)

        def touch_account(self, address: Address) -> None:
            self._account(address)
            super().touch_account(address)

        def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
            if self.tracer is not None:
                self.tracer.storage(self, address, slot)
            return super().get_storage(address, slot, from_journal)

        def set_storage(self, address: Address, slot: int, value: int) -> None:
            if self.tracer is not None:
                self.tracer.storage(self, address, slot)
            super().set_storage(address, slot, value)

    Traced.__name__ = f"Traced{base.__name__}"
    return Traced
