"""A faster opcode loop under py-evm's own rules: the code stream runs the simple opcodes itself.

py-evm's ``apply_computation`` iterates a frame's code stream and, for every
opcode it yields, calls that opcode's function: a gas-meter call, stack
methods that convert between ``int`` and ``bytes`` and validate each value,
then the logic. For an ERC-20 transfer (about 490 opcodes) that dispatch is two
thirds of the transaction's time.

``FastCodeStream`` keeps py-evm's loop and every rule it applies, and changes
only what the loop sees. While it is iterated, it executes the pure opcodes
itself (PUSH, DUP, SWAP, POP, arithmetic, comparison and bit operations,
MLOAD/MSTORE/MSTORE8, KECCAK256, CALLDATALOAD, JUMP/JUMPI/JUMPDEST, PC, GAS,
MSIZE and the frame's constants): on a plain ``list`` of ints (``IntStack``),
with the gas in a local counter and jumps checked against the code's shared
analysis (``vm.code_analysis``). Every other opcode (storage, calls, creation,
logs, copies, RETURN/REVERT, and anything fork-specific) is yielded to
py-evm's loop with the gas meter and program counter brought up to date, and
runs as py-evm's function for that opcode.

An opcode runs here only where the fork's opcode table maps it to the very
py-evm function these lines reproduce (``_FAST_LOGIC``), charged that table
entry's static gas; under any other table, it is yielded. Errors are py-evm's
classes with py-evm's messages, raised at the same point (gas first, then the
stack). ``tests/test_interpreter.py`` runs this loop and py-evm's side by side
on random programs and real contracts; ``tests/test_state_fixtures.py`` runs it
against the Ethereum consensus tests.

Integer-only stack: py-evm stores PUSH data and memory words as ``bytes`` and
converts on demand; every consumer of ``pop1_bytes`` pads or truncates what it
pops (MSTORE, addresses, TSTORE), so keeping ints and returning their minimal
big-endian bytes gives the same results.

The loop is written out by hand in one function, rather than as a table of
small functions, because a Python call per opcode is most of what it saves.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from weakref import ReferenceType, ref

from eth._utils.numeric import ceil32
from eth.abc import ComputationAPI, MessageAPI, StackAPI, StateAPI, TransactionContextAPI
from eth.exceptions import FullStack, InsufficientStack, InvalidInstruction, InvalidJumpDestination, OutOfGas
from eth.validation import validate_stack_bytes, validate_stack_int
from eth.vm import mnemonics, opcode_values
from eth.vm.logic import arithmetic, comparison, context, duplication, flow, memory, sha3, stack, swap
from eth_hash.auto import keccak

from vm.code_analysis import AnalysedCodeStream

MASK = (1 << 256) - 1
SIGN_BIT = 1 << 255
STACK_LIMIT = 1024
GAS_MEMORY = 3
GAS_MEMORY_QUADRATIC_DENOMINATOR = 512
GAS_SHA3WORD = 6

ComputationT = TypeVar("ComputationT", bound=ComputationAPI)
Checkpoint = Callable[[], None]
CHECK_EVERY = 1024
"""Jumps (and yielded opcodes) between two checkpoints of a guarded call."""


class IntStack(StackAPI):
    """py-evm's ``StackAPI`` over a list of ints only (``bytes`` pushed are converted once)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[int] = []

    def __len__(self) -> int:
        return len(self.values)

    def push_int(self, value: int) -> None:
        """Push an int (a uint256)."""
        if len(self.values) >= STACK_LIMIT:
            raise FullStack("Stack limit reached")
        validate_stack_int(value)
        self.values.append(value)

    def push_bytes(self, value: bytes) -> None:
        """Push at most 32 bytes, as the big-endian int they encode."""
        if len(self.values) >= STACK_LIMIT:
            raise FullStack("Stack limit reached")
        validate_stack_bytes(value)
        self.values.append(int.from_bytes(value, "big"))

    def pop1_int(self) -> int:
        """Pop the top item."""
        try:
            return self.values.pop()
        except IndexError:
            raise InsufficientStack("Wanted 1 stack item, had none") from None

    pop1_any = pop1_int

    def pop1_bytes(self) -> bytes:
        """Pop the top item as its minimal big-endian bytes (zero is one zero byte, as py-evm gives)."""
        value = self.pop1_int()
        return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")

    def pop_ints(self, num_items: int) -> tuple[int, ...]:
        """Pop ``num_items`` items, the top first."""
        values = self.values
        if num_items > len(values):
            raise InsufficientStack(f"Wanted {num_items} stack items, only had {len(values)}")
        popped = tuple(reversed(values[-num_items:]))
        del values[-num_items:]
        return popped

    pop_any = pop_ints

    def pop_bytes(self, num_items: int) -> tuple[bytes, ...]:
        """Pop ``num_items`` items as bytes, the top first."""
        return tuple(v.to_bytes((v.bit_length() + 7) // 8 or 1, "big") for v in self.pop_ints(num_items))

    def swap(self, position: int) -> None:
        """Exchange the top item with the one ``position`` below it."""
        values = self.values
        try:
            values[-1], values[-position - 1] = values[-position - 1], values[-1]
        except IndexError:
            raise InsufficientStack(f"Insufficient stack items for SWAP{position}") from None

    def dup(self, position: int) -> None:
        """Push a copy of the item ``position`` from the top (1 is the top)."""
        values = self.values
        if len(values) >= STACK_LIMIT:
            raise FullStack("Stack limit reached")
        try:
            values.append(values[-position])
        except IndexError:
            raise InsufficientStack(f"Insufficient stack items for DUP{position}") from None


def _signed(value: int) -> int:
    return value - (1 << 256) if value & SIGN_BIT else value


def _sdiv(numerator: int, denominator: int) -> int:
    a, b = _signed(numerator), _signed(denominator)
    if b == 0:
        return 0
    return ((-1 if a * b < 0 else 1) * (abs(a) // abs(b))) & MASK


def _smod(value: int, modulus: int) -> int:
    a, b = _signed(value), _signed(modulus)
    if b == 0:
        return 0
    return (abs(a) % abs(b) * (-1 if a < 0 else 1)) & MASK


def _signextend(bits: int, value: int) -> int:
    if bits > 31:
        return value
    sign_bit = 1 << (bits * 8 + 7)
    return value | ((1 << 256) - sign_bit) if value & sign_bit else value & (sign_bit - 1)


def _sar(shift: int, value: int) -> int:
    signed = _signed(value)
    if shift >= 256:
        return 0 if signed >= 0 else MASK
    return (signed >> shift) & MASK


def _byte(position: int, value: int) -> int:
    return 0 if position >= 32 else (value >> (8 * (31 - position))) & 0xFF


# Two-operand opcodes: f(top, second) -> result.
_BINARY: dict[int, Callable[[int, int], int]] = {
    0x02: lambda a, b: (a * b) & MASK,
    0x04: lambda a, b: a // b if b else 0,
    0x05: _sdiv,
    0x06: lambda a, b: a % b if b else 0,
    0x07: _smod,
    0x0B: _signextend,
    0x12: lambda a, b: 1 if _signed(a) < _signed(b) else 0,
    0x13: lambda a, b: 1 if _signed(a) > _signed(b) else 0,
    0x18: lambda a, b: a ^ b,
    0x1A: _byte,
    0x1D: _sar,
}
# Three-operand opcodes: f(top, second, third) -> result.
_TERNARY: dict[int, Callable[[int, int, int], int]] = {
    0x08: lambda a, b, m: (a + b) % m if m else 0,
    0x09: lambda a, b, m: (a * b) % m if m else 0,
}

# The py-evm function each opcode run here reproduces.
_FAST_LOGIC: dict[int, Callable[..., Any]] = {
    0x01: arithmetic.add, 0x02: arithmetic.mul, 0x03: arithmetic.sub, 0x04: arithmetic.div,
    0x05: arithmetic.sdiv, 0x06: arithmetic.mod, 0x07: arithmetic.smod, 0x08: arithmetic.addmod,
    0x09: arithmetic.mulmod, 0x0B: arithmetic.signextend,
    0x10: comparison.lt, 0x11: comparison.gt, 0x12: comparison.slt, 0x13: comparison.sgt,
    0x14: comparison.eq, 0x15: comparison.iszero, 0x16: comparison.and_op, 0x17: comparison.or_op,
    0x18: comparison.xor, 0x19: comparison.not_op, 0x1A: comparison.byte_op,
    0x1B: arithmetic.shl, 0x1C: arithmetic.shr, 0x1D: arithmetic.sar,
    0x20: sha3.sha3,
    0x30: context.address, 0x32: context.origin, 0x33: context.caller, 0x34: context.callvalue,
    0x35: context.calldataload, 0x36: context.calldatasize, 0x38: context.codesize,
    0x3D: context.returndatasize,
    0x50: stack.pop, 0x51: memory.mload, 0x52: memory.mstore, 0x53: memory.mstore8,
    0x56: flow.jump, 0x57: flow.jumpi, 0x58: flow.program_counter, 0x59: memory.msize,
    0x5A: flow.gas, 0x5B: flow.jumpdest, 0x5F: stack.push0,
    **{0x60 + i: getattr(stack, f"push{i + 1}") for i in range(32)},
    **{0x80 + i: getattr(duplication, f"dup{i + 1}") for i in range(16)},
    **{0x90 + i: getattr(swap, f"swap{i + 1}") for i in range(16)},
}


def fast_gas_table(opcodes: Mapping[int, Any]) -> tuple[int, ...]:
    """Per opcode, the static gas when this loop runs it under ``opcodes`` (the fork's table), else -1."""
    gas = [-1] * 256
    for opcode, logic in _FAST_LOGIC.items():
        entry = opcodes.get(opcode)
        if entry is not None and getattr(entry, "logic_fn", None) is logic:
            gas[opcode] = entry.gas_cost
    return tuple(gas)


_TABLES: dict[int, tuple[Mapping[int, Any], tuple[int, ...]]] = {}  # one per opcode table (per fork)


def _gas_table_of(computation: ComputationAPI) -> tuple[int, ...]:
    opcodes = computation.opcodes
    entry = _TABLES.get(id(opcodes))
    if entry is None or entry[0] is not opcodes:
        entry = (opcodes, fast_gas_table(opcodes))
        _TABLES[id(opcodes)] = entry
    return entry[1]


def _memory_cost(size: int) -> int:
    words = ceil32(size) // 32
    return words * GAS_MEMORY + words * words // GAS_MEMORY_QUADRATIC_DENOMINATOR


def _out_of_gas(needed: int, remaining: int, reason: str) -> OutOfGas:
    return OutOfGas(f"Out of gas: Needed {needed} - Remaining {remaining} - Reason: {reason}")


def _expand_memory(computation: ComputationAPI, start: int, size: int, gas: int) -> int:
    """Grow the frame's memory to cover ``size`` bytes at ``start``, as py-evm does; the gas left after."""
    memory_object = computation._memory
    before = ceil32(len(memory_object))
    after = ceil32(start + size)
    if after <= before:
        return gas
    fee = _memory_cost(after) - _memory_cost(before)
    if fee > gas:
        raise _out_of_gas(fee, gas, f"Expanding memory {before} -> {after}")
    memory_object.extend(start, size)
    return gas - fee


class FastCodeStream(AnalysedCodeStream):
    """A code stream that, iterated by py-evm's opcode loop, executes the simple opcodes itself.

    Bind it to its computation with ``bind`` before the loop iterates it.
    With a ``checkpoint``, it calls it every ``CHECK_EVERY`` jumps or
    yielded opcodes (a frame with neither runs at most its code's length).
    """

    __slots__ = ["_computation", "_checkpoint"]

    def __init__(self, code_bytes: bytes, checkpoint: Checkpoint | None = None) -> None:
        super().__init__(code_bytes)
        self._computation: ReferenceType[ComputationAPI] | None = None
        self._checkpoint = checkpoint

    def bind(self, computation: ComputationAPI) -> None:
        """Run ``computation``'s frame (its stack must be an ``IntStack``) when iterated (held weakly)."""
        self._computation = ref(computation)

    def __iter__(self) -> Iterator[int]:
        computation = self._computation() if self._computation is not None else None
        if computation is None:
            raise RuntimeError("FastCodeStream iterated without a computation")
        gas_of = _gas_table_of(computation)
        code = self._raw_code_bytes
        length = len(code)
        jump_destinations = self.analysis.jump_destinations
        values = computation._stack.values  # type: ignore[attr-defined]
        push = values.append
        pop = values.pop
        meter = computation._gas_meter
        message = computation.msg
        checkpoint = self._checkpoint
        countdown = CHECK_EVERY
        gas = meter.gas_remaining
        pc = self.program_counter
        try:
            while pc < length:
                opcode = code[pc]
                pc += 1
                cost = gas_of[opcode]
                if cost < 0:
                    meter.gas_remaining = gas
                    self.program_counter = pc
                    if checkpoint is not None:
                        countdown -= 1
                        if not countdown:
                            countdown = CHECK_EVERY
                            checkpoint()
                    yield opcode
                    gas = meter.gas_remaining
                    pc = self.program_counter
                    continue
                if cost > gas:
                    raise _out_of_gas(cost, gas, _MNEMONICS[opcode])
                gas -= cost
                if 0x60 <= opcode <= 0x7F:  # PUSH1..PUSH32
                    if len(values) >= STACK_LIMIT:
                        raise FullStack("Stack limit reached")
                    end = pc + opcode - 0x5F
                    data = code[pc:end]
                    if end > length:  # data cut off by the end of the code reads as zero bytes
                        data = data.ljust(end - pc, b"\x00")
                    push(int.from_bytes(data, "big"))
                    pc = end
                elif 0x80 <= opcode <= 0x8F:  # DUP1..DUP16
                    if len(values) >= STACK_LIMIT:
                        raise FullStack("Stack limit reached")
                    push(values[0x7F - opcode])
                elif 0x90 <= opcode <= 0x9F:  # SWAP1..SWAP16
                    below = 0x8E - opcode
                    values[-1], values[below] = values[below], values[-1]
                elif opcode == 0x5B:  # JUMPDEST
                    pass
                elif opcode == 0x56 or opcode == 0x57:  # JUMP, JUMPI
                    destination = pop()
                    if opcode == 0x57 and not pop():
                        continue
                    if destination not in jump_destinations:
                        if destination < length and code[destination] == 0x5B:
                            raise InvalidInstruction("Jump resulted in invalid instruction")
                        raise InvalidJumpDestination("Invalid Jump Destination")
                    pc = destination
                    if checkpoint is not None:
                        countdown -= 1
                        if not countdown:
                            countdown = CHECK_EVERY
                            meter.gas_remaining = gas
                            checkpoint()
                elif opcode == 0x50:  # POP
                    pop()
                elif opcode == 0x01:  # ADD
                    push((pop() + pop()) & MASK)
                elif opcode == 0x03:  # SUB
                    a = pop()
                    push((a - pop()) & MASK)
                elif opcode == 0x16:  # AND
                    push(pop() & pop())
                elif opcode == 0x17:  # OR
                    push(pop() | pop())
                elif opcode == 0x15:  # ISZERO
                    push(0 if pop() else 1)
                elif opcode == 0x14:  # EQ
                    push(1 if pop() == pop() else 0)
                elif opcode == 0x10:  # LT
                    a = pop()
                    push(1 if a < pop() else 0)
                elif opcode == 0x11:  # GT
                    a = pop()
                    push(1 if a > pop() else 0)
                elif opcode == 0x1B:  # SHL
                    shift = pop()
                    value = pop()
                    push((value << shift) & MASK if shift < 256 else 0)
                elif opcode == 0x1C:  # SHR
                    shift = pop()
                    value = pop()
                    push(value >> shift if shift < 256 else 0)
                elif opcode == 0x19:  # NOT
                    push(MASK ^ pop())
                elif opcode == 0x51:  # MLOAD
                    start = pop()
                    gas = _expand_memory(computation, start, 32, gas)
                    push(int.from_bytes(computation._memory._bytes[start:start + 32], "big"))  # type: ignore[attr-defined]
                elif opcode == 0x52:  # MSTORE
                    start = pop()
                    value = pop()
                    gas = _expand_memory(computation, start, 32, gas)
                    computation._memory._bytes[start:start + 32] = value.to_bytes(32, "big")  # type: ignore[attr-defined]
                elif opcode == 0x53:  # MSTORE8
                    start = pop()
                    value = pop()
                    gas = _expand_memory(computation, start, 1, gas)
                    computation._memory._bytes[start] = value & 0xFF  # type: ignore[attr-defined]
                elif opcode == 0x35:  # CALLDATALOAD
                    start = pop()
                    word = message.data_as_bytes[start:start + 32]
                    push(int.from_bytes(word, "big") << (8 * (32 - len(word))))
                elif opcode == 0x20:  # KECCAK256
                    start = pop()
                    size = pop()
                    if size:
                        gas = _expand_memory(computation, start, size, gas)
                    word_fee = GAS_SHA3WORD * (ceil32(size) // 32)
                    if word_fee > gas:
                        raise _out_of_gas(word_fee, gas, "SHA3: word gas cost")
                    gas -= word_fee
                    data = bytes(computation._memory._bytes[start:start + size]) if size else b""  # type: ignore[attr-defined]
                    push(int.from_bytes(keccak(data), "big"))
                elif opcode in _BINARY:
                    push(_BINARY[opcode](pop(), pop()))
                elif opcode in _TERNARY:
                    push(_TERNARY[opcode](pop(), pop(), pop()))
                else:
                    if len(values) >= STACK_LIMIT:  # the rest push one item and pop none
                        raise FullStack("Stack limit reached")
                    if opcode == 0x34:  # CALLVALUE
                        push(message.value)
                    elif opcode == 0x33:  # CALLER
                        push(int.from_bytes(message.sender, "big"))
                    elif opcode == 0x30:  # ADDRESS
                        push(int.from_bytes(message.storage_address, "big"))
                    elif opcode == 0x36:  # CALLDATASIZE
                        push(len(message.data))
                    elif opcode == 0x3D:  # RETURNDATASIZE
                        push(len(computation.return_data))
                    elif opcode == 0x5A:  # GAS
                        push(gas)
                    elif opcode == 0x5F:  # PUSH0
                        push(0)
                    elif opcode == 0x58:  # PC
                        push(pc - 1)
                    elif opcode == 0x59:  # MSIZE
                        push(len(computation._memory._bytes))  # type: ignore[attr-defined]
                    elif opcode == 0x38:  # CODESIZE
                        push(length)
                    elif opcode == 0x32:  # ORIGIN
                        push(int.from_bytes(computation.transaction_context.origin, "big"))
                    else:  # pragma: no cover - every opcode of _FAST_LOGIC has a branch above
                        raise AssertionError(f"no fast branch for opcode {opcode:#x}")
        except GeneratorExit:  # py-evm's loop stopped at a yielded opcode: the meter is already current
            raise
        except IndexError:
            meter.gas_remaining = gas
            raise InsufficientStack(f"Insufficient stack items for {_MNEMONICS[opcode]}") from None
        except BaseException:
            meter.gas_remaining = gas
            self.program_counter = pc
            raise
        meter.gas_remaining = gas
        self.program_counter = pc


def fast_computation_class(base: type[ComputationT]) -> type[ComputationT]:
    """``base`` (a py-evm computation class of any fork) whose frames run on a ``FastCodeStream``."""

    def __init__(self: Any, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI) -> None:
        base.__init__(self, state, message, transaction_context)
        self._stack = IntStack()
        self.code = FastCodeStream(message.code)
        self.code.bind(self)

    return type(f"Fast{base.__name__}", (base,), {
        "__init__": __init__, "__doc__": f"{base.__name__} whose code stream runs the simple opcodes itself."})


_MNEMONICS: dict[int, str] = {
    getattr(opcode_values, name): getattr(mnemonics, name)
    for name in dir(opcode_values) if name.isupper() and hasattr(mnemonics, name)
}
