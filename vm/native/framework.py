"""The native-contract framework: ABI dispatch, gas metering, storage, events.

A native contract is a Python class whose public methods are declared with
``@method("transfer(address,uint256)", returns="bool", gas=...)``. The
framework installs each contract as a precompile of the chain's computation
class, so a transaction, an ``eth_call`` or another contract reaches it with an
ordinary message call: the 4-byte selector picks the method, arguments are
ABI-decoded, the result is ABI-encoded, and an error becomes an EVM revert
carrying ``Error(string)`` so wallets show the reason.

Gas: every call pays the method's base cost, plus a schedule modelled on the
EVM's own for what the method touches (``SLOAD_GAS`` per storage read,
``SSTORE_SET_GAS``/``SSTORE_RESET_GAS`` per write, the ``LOG`` costs per
event). Running out of gas fails the call like any out-of-gas in the EVM.

Storage lives in the contract's own account storage, so it is part of the
state root, journaled and reverted with the call that made it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import eth_abi
from eth.abc import ComputationAPI, StateAPI
from eth.exceptions import Revert
from eth_hash.auto import keccak
from eth_typing import Address
from eth_utils import function_signature_to_4byte_selector

from vm.errors import NativeContractError
from vm.native.hooks import ConsensusInfo, ValidatorUpdate

SLOAD_GAS = 2_100
SSTORE_SET_GAS = 20_000
SSTORE_RESET_GAS = 5_000
LOG_GAS = 375
LOG_TOPIC_GAS = 375
LOG_DATA_GAS = 8
ERROR_SELECTOR = function_signature_to_4byte_selector("Error(string)")
SYSTEM_SENDER = b"\x00" * 20
MAX_BLOB_BYTES = 64 * 1024  # one stored value (rule set, process definition, record)


def _split_types(signature: str) -> list[str]:
    """The argument types of a canonical signature ``name(t1,t2,...)``."""
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    if not inner:
        return []
    types, depth, current = [], 0, ""
    for char in inner:
        if char == "," and depth == 0:
            types.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    types.append(current)
    return types


@dataclass(frozen=True)
class MethodSpec:
    """The ABI and cost of one native method."""

    signature: str
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    gas: int
    payable: bool
    mutates: bool
    function: Callable[..., Any]

    @property
    def selector(self) -> bytes:
        """The 4-byte ABI selector."""
        return function_signature_to_4byte_selector(self.signature)


def method(
    signature: str, *, returns: Sequence[str] = (), gas: int, payable: bool = False, view: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a native contract method by its canonical ABI signature."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        function.__native_method__ = MethodSpec(  # type: ignore[attr-defined]
            signature=signature,
            input_types=tuple(_split_types(signature)),
            output_types=tuple(returns),
            gas=gas,
            payable=payable,
            mutates=not view,
            function=function,
        )
        return function

    return decorate


class CallContext:
    """What native code sees: sender, value, block, metered storage, balances and events.

    A context is either a *call* (a transaction, ``eth_call`` or another
    contract reached this native contract: gas is charged to the call and
    events become the transaction's logs) or a *system* context (the block's
    begin/end hooks: nothing is metered, the sender is the zero address and
    events become the block's events).
    """

    def __init__(
        self,
        state: StateAPI,
        address: bytes,
        *,
        sender: bytes,
        value: int,
        is_static: bool,
        consume_gas: Callable[[int, str], None] | None,
        add_log: Callable[[Address, tuple[int, ...], bytes], None],
        block_gas_used: int = 0,
    ) -> None:
        self.state = state
        self.block_gas_used = block_gas_used  # end-block hooks: gas used by the block's transactions
        self.address = address
        self.sender = sender
        self.value = value
        self.is_static = is_static
        self._consume_gas = consume_gas
        self._add_log = add_log

    @classmethod
    def for_call(cls, computation: ComputationAPI, address: bytes) -> CallContext:
        """The context of a message call into the native contract at ``address``."""
        return cls(
            computation.state,
            address,
            sender=computation.msg.sender,
            value=computation.msg.value,
            is_static=computation.msg.is_static,
            consume_gas=computation.consume_gas,
            add_log=computation.add_log_entry,
        )

    @classmethod
    def for_system(
        cls,
        state: StateAPI,
        address: bytes,
        add_log: Callable[[Address, tuple[int, ...], bytes], None],
        block_gas_used: int = 0,
    ) -> CallContext:
        """An unmetered context for the block hooks of the native contract at ``address``."""
        return cls(
            state, address, sender=SYSTEM_SENDER, value=0, is_static=False, consume_gas=None, add_log=add_log,
            block_gas_used=block_gas_used,
        )

    @property
    def base_fee(self) -> int:
        """The block's base fee per gas."""
        return self.state.execution_context.base_fee_per_gas or 0

    @property
    def burned_fees(self) -> int:
        """Wei burned by the block's transactions so far (base fee x gas used; end-block hooks)."""
        return self.base_fee * self.block_gas_used

    def for_contract(self, address: bytes) -> CallContext:
        """The same call, seen from the storage of another native contract (native code only).

        Native contracts are part of the node, so one may read and write
        another's storage (staking reading governance parameters, governance
        paying from the reserve) with the same metering and event sink.
        """
        return CallContext(
            self.state, address, sender=self.sender, value=0, is_static=self.is_static,
            consume_gas=self._consume_gas, add_log=self._add_log, block_gas_used=self.block_gas_used,
        )

    @property
    def is_system(self) -> bool:
        """Whether this is a block hook's context (unmetered, may mint)."""
        return self._consume_gas is None

    @property
    def timestamp(self) -> int:
        """The block's timestamp (block time: the only clock native code may read)."""
        return self.state.timestamp

    @property
    def block_number(self) -> int:
        """The block's number."""
        return self.state.block_number

    def charge(self, gas: int, reason: str) -> None:
        """Consume gas from the call (raises out-of-gas like the EVM); free in a system context."""
        if self._consume_gas is not None:
            self._consume_gas(gas, reason)

    def load(self, slot: int) -> int:
        """Read a storage slot of this contract."""
        self.charge(SLOAD_GAS, "native SLOAD")
        return self.state.get_storage(Address(self.address), slot)

    def store(self, slot: int, value: int) -> None:
        """Write a storage slot of this contract."""
        self._require_writable()
        current = self.state.get_storage(Address(self.address), slot)
        self.charge(SSTORE_SET_GAS if current == 0 and value != 0 else SSTORE_RESET_GAS, "native SSTORE")
        self.state.set_storage(Address(self.address), slot, value)

    def load_bytes(self, key: bytes) -> bytes | None:
        """Read the byte string stored under ``key`` (None when absent); metered per 32-byte word."""
        base = blob_slot(key)
        header = self.load(base)
        if header == 0:
            return None
        length = header - 1
        words = [self.load(base + 1 + i) for i in range((length + 31) // 32)]
        return b"".join(w.to_bytes(32, "big") for w in words)[:length]

    def store_bytes(self, key: bytes, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing (and clearing the rest of) any previous value."""
        if len(data) > MAX_BLOB_BYTES:
            raise NativeContractError(f"stored value too large: {len(data)} bytes, limit {MAX_BLOB_BYTES}")
        base = blob_slot(key)
        old_words = self._blob_words(base)
        self.store(base, len(data) + 1)
        padded = data + b"\x00" * (-len(data) % 32)
        new_words = len(padded) // 32
        for i in range(new_words):
            self.store(base + 1 + i, int.from_bytes(padded[32 * i : 32 * i + 32], "big"))
        for i in range(new_words, old_words):
            self.store(base + 1 + i, 0)

    def delete_bytes(self, key: bytes) -> None:
        """Remove the byte string stored under ``key`` (no-op when absent)."""
        base = blob_slot(key)
        for i in range(self._blob_words(base)):
            self.store(base + 1 + i, 0)
        self.store(base, 0)

    def _blob_words(self, base: int) -> int:
        header = self.load(base)
        return 0 if header == 0 else (header - 1 + 31) // 32

    def balance(self, address: bytes) -> int:
        """The balance of an account."""
        self.charge(SLOAD_GAS, "native BALANCE")
        return self.state.get_balance(Address(address))

    def transfer(self, to: bytes, amount: int) -> None:
        """Move ``amount`` wei from this contract's balance to ``to``."""
        self._require_writable()
        if amount < 0:
            raise NativeContractError("negative transfer")
        if self.state.get_balance(Address(self.address)) < amount:
            raise NativeContractError("native contract balance too low")
        self.state.delta_balance(Address(self.address), -amount)
        self.state.delta_balance(Address(to), amount)

    def mint(self, to: bytes, amount: int) -> None:
        """Create ``amount`` wei in ``to`` (block hooks only: the block reward)."""
        if not self.is_system:
            raise NativeContractError("minting outside a block hook")
        if amount < 0:
            raise NativeContractError("negative mint")
        self.state.delta_balance(Address(to), amount)

    def emit(self, signature: str, indexed: Sequence[tuple[str, Any]], data: Sequence[tuple[str, Any]]) -> None:
        """Emit an event ``signature`` with indexed topics and ABI-encoded data."""
        self._require_writable()
        topics = [int.from_bytes(keccak(signature.encode()), "big")]
        for abi_type, value in indexed:
            topics.append(int.from_bytes(eth_abi.encode([abi_type], [value]), "big"))
        payload = eth_abi.encode([t for t, _ in data], [v for _, v in data])
        self.charge(LOG_GAS + LOG_TOPIC_GAS * len(topics) + LOG_DATA_GAS * len(payload), "native LOG")
        self._add_log(Address(self.address), tuple(topics), payload)

    def attempt(self, action: Callable[[], None]) -> str | None:
        """Run ``action`` all or nothing: on ``NativeContractError`` undo its state changes and events.

        Returns None when it succeeded, else the error's message. For block
        hooks, where a failure must not fail the block: one timer or payout that
        cannot proceed is skipped, identically on every node.
        """
        snapshot = self.state.snapshot()
        add_log, buffered = self._add_log, []
        self._add_log = lambda address, topics, data: buffered.append((address, topics, data))
        try:
            action()
        except NativeContractError as exc:
            self.state.revert(snapshot)
            return str(exc)
        finally:
            self._add_log = add_log
        self.state.commit(snapshot)
        for log in buffered:
            add_log(*log)
        return None

    def _require_writable(self) -> None:
        if self.is_static:
            raise NativeContractError("write protection: state change in a static call")


class NativeContract:
    """Base class of native contracts: subclasses declare methods with ``@method``."""

    address: ClassVar[bytes]
    name: ClassVar[str]
    _methods: ClassVar[dict[bytes, MethodSpec]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        methods: dict[bytes, MethodSpec] = {}
        for attribute in vars(cls).values():
            spec = getattr(attribute, "__native_method__", None)
            if spec is not None:
                if spec.selector in methods:
                    raise TypeError(f"{cls.__name__}: duplicate selector for {spec.signature}")
                methods[spec.selector] = spec
        cls._methods = methods

    def init_chain(self, context: CallContext) -> None:
        """Writes the contract's genesis storage, in a system context (default: nothing)."""

    def begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        """Runs before the block's transactions, in a system context (default: nothing)."""

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        """Runs after the block's transactions, in a system context; may change the validator set."""
        return ()

    @classmethod
    def methods(cls) -> tuple[MethodSpec, ...]:
        """The declared methods, ordered by signature."""
        return tuple(sorted(cls._methods.values(), key=lambda spec: spec.signature))

    def __call__(self, computation: ComputationAPI) -> ComputationAPI:
        """Run one message call against this contract (the precompile entry point)."""
        data = computation.msg.data_as_bytes
        try:
            spec = self._methods.get(data[:4]) if len(data) >= 4 else None
            if spec is None:
                raise NativeContractError(f"{self.name}: unknown method")
            if computation.msg.storage_address != self.address:
                raise NativeContractError(f"{self.name}: delegatecall is not supported")
            computation.consume_gas(spec.gas, f"{self.name}.{spec.signature}")
            if computation.msg.value and not spec.payable:
                raise NativeContractError(f"{self.name}: method is not payable")
            context = CallContext.for_call(computation, self.address)
            if spec.mutates and context.is_static:
                raise NativeContractError("write protection: state change in a static call")
            try:
                args = eth_abi.decode(list(spec.input_types), data[4:])
            except Exception as exc:  # eth_abi raises several unrelated types
                raise NativeContractError(f"{self.name}: malformed arguments") from exc
            result = spec.function(self, context, *args)
            if spec.output_types:
                values = result if len(spec.output_types) > 1 else (result,)
                computation.output = eth_abi.encode(list(spec.output_types), list(values))
        except NativeContractError as exc:
            computation.output = ERROR_SELECTOR + eth_abi.encode(["string"], [str(exc)])
            raise Revert(computation.output) from exc
        return computation


def precompiles_of(contracts: Sequence[NativeContract]) -> dict[bytes, Callable[[ComputationAPI], ComputationAPI]]:
    """The precompile table entries installing ``contracts`` at their addresses."""
    table: dict[bytes, Callable[[ComputationAPI], ComputationAPI]] = {}
    for contract in contracts:
        if contract.address in table:
            raise TypeError(f"two native contracts at {contract.address.hex()}")
        table[contract.address] = contract
    return table


def mapping_slot(base_slot: int, key: bytes | int) -> int:
    """The storage slot of ``mapping[key]`` at ``base_slot`` (Solidity's layout)."""
    key_bytes = key.rjust(32, b"\x00") if isinstance(key, bytes) else key.to_bytes(32, "big")
    return int.from_bytes(keccak(key_bytes + base_slot.to_bytes(32, "big")), "big")


def blob_slot(key: bytes) -> int:
    """The first storage slot of the byte string stored under ``key`` (its length + 1; words follow)."""
    return int.from_bytes(keccak(b"cmt.blob" + key), "big") >> 8  # room for the words that follow
