"""Block execution: a deterministic function from (state, block environment, transactions) to results.

The chain runs py-evm's **Prague** rules (the newest fork py-evm ships) without
a beacon chain: no EIP-4788 beacon-roots contract, no EIP-2935 history
contract, no EIP-7685 requests, blob (EIP-4844) and set-code (EIP-7702)
transactions rejected at decoding. The native contracts are installed as
precompiles at their fixed addresses.

Execution keeps one py-evm state object per block, locks changes between
transactions instead of hashing the trie, and computes the state root once at
the end of the block. Its writes are captured in memory (``OverlayDB``) and
returned, so storage can commit them with the rest of the block atomically.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, cast

from eth._utils.address import generate_contract_address
from eth.abc import DatabaseAPI, SignedTransactionAPI, StateAPI, UnsignedTransactionAPI
from eth.exceptions import Revert
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PRAGUE_PRECOMPILES, PragueComputation
from eth.vm.forks.prague.state import PragueState, PragueTransactionExecutor
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import ValidationError
from trie import HexaryTrie

from vm.account_db import FastAccountDB
from vm.errors import BlockExecutionError
from vm.interpreter import fast_computation_class
from vm.interruptible import Checkpoint, InterruptibleCodeStream, checkpoints
from vm.native.addresses import SPONSOR_ADDRESS
from vm.native.framework import CallContext, NativeContract, precompiles_of
from vm.native.hooks import ConsensusInfo, ValidatorUpdate
from vm.overrides import NO_OVERRIDES, CallOverrides, apply_state_overrides
from vm.receipts import Log, Receipt
from vm.sponsorship.block import BlockSponsorship
from vm.statedb import overlay_atomic_db
from vm.transactions import TransactionBuilder, tx_type
from vm.transfers import TransferLedger
from vm.trie_root import BLANK_ROOT_HASH, ordered_trie_root

NATIVE_MARKER_CODE = b"\xfe"  # INVALID: the code of a native contract's account (never executed)


@dataclass(frozen=True)
class BlockEnv:
    """Everything about the block that execution may read (time comes from here, never a clock)."""

    number: int
    timestamp: int
    coinbase: bytes
    gas_limit: int
    base_fee: int
    prev_randao: bytes
    chain_id: int
    recent_hashes: tuple[bytes, ...]  # parent first, at most 256
    max_tx_gas: int | None = None  # per-transaction gas cap (None: only the block gas limit)
    consensus: ConsensusInfo = field(default_factory=ConsensusInfo)  # what the block's hooks learn of consensus


@dataclass(frozen=True)
class GenesisAccount:
    """An account as it exists at genesis."""

    address: bytes
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: tuple[tuple[int, int], ...] = ()


@dataclass
class ExecutionResult:
    """The outcome of executing a block's transactions."""

    state_root: bytes
    receipts: tuple[Receipt, ...]
    transactions: tuple[bytes, ...]
    gas_used: int
    logs_bloom: int
    transactions_root: bytes
    receipts_root: bytes
    state_writes: dict[bytes, bytes | None]
    rejected: tuple[tuple[bytes, str], ...] = ()
    block_events: tuple[Log, ...] = ()  # events of the begin/end-block hooks (no transaction)
    validator_updates: tuple[ValidatorUpdate, ...] = ()


@dataclass(frozen=True)
class CallMessage:
    """An unsigned message for ``eth_call`` / ``eth_estimateGas``."""

    sender: bytes
    to: bytes | None
    data: bytes = b""
    value: int = 0
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = ()
    nonce: int | None = None


@dataclass(frozen=True)
class CallOutcome:
    """The result of running a ``CallMessage``."""

    success: bool
    output: bytes
    gas_used: int
    error: str | None = field(default=None)
    logs: tuple[Log, ...] = ()  # the logs of a successful call


class ChainExecutor:
    """Executes blocks and calls under this chain's rules and native contracts."""

    def __init__(self, natives: Sequence[NativeContract] = ()) -> None:
        self.natives = tuple(natives)
        precompiles = {**PRAGUE_PRECOMPILES, **precompiles_of(natives)}
        self.precompile_addresses = frozenset(precompiles)
        self.sponsors_gas = SPONSOR_ADDRESS in precompiles  # zero-price transactions to sponsored contracts
        self.state_class = _state_class("CyberMiles", fast_computation_class(PragueComputation), precompiles)
        self._call_state_class = _state_class("CyberMilesCall", _InterruptibleComputation, precompiles)

    # -- state -----------------------------------------------------------------

    def open_state(self, db: Any, state_root: bytes, env: BlockEnv) -> StateAPI:
        """A py-evm state at ``state_root`` over an atomic database, in block ``env``."""
        return self.state_class(db, _execution_context(env), Hash32(state_root))

    def genesis_state(self, base: DatabaseAPI, accounts: Iterable[GenesisAccount]) -> tuple[bytes, dict[bytes, bytes | None]]:
        """Build the genesis state; returns its root and the writes that store it.

        Every native contract's account starts with nonce 1 (as a created
        contract does), so it is never an empty account whose storage
        EIP-161 would sweep away at the end of a transaction, and with the
        one-byte code ``0xfe`` so that callers see a contract there. Then each native
        contract writes its own genesis storage (``init_chain``); events it
        emits there are dropped (genesis has no block to carry them).
        """
        atomic, overlay = overlay_atomic_db(base)
        env = BlockEnv(0, 0, b"\x00" * 20, 0, 0, b"\x00" * 32, 0, ())
        state = self.open_state(atomic, BLANK_ROOT_HASH, env)
        for account in accounts:
            address = Address(account.address)
            state.set_balance(address, account.balance)
            state.set_nonce(address, account.nonce)
            if account.code:
                state.set_code(address, account.code)
            for slot, value in account.storage:
                state.set_storage(address, slot, value)
        genesis_events: list[tuple[bytes, tuple[int, ...], bytes]] = []
        for native in self.natives:
            # A native contract's account must never be empty, or EIP-161 would sweep its storage.
            native_address = Address(native.address)
            if state.get_nonce(native_address) == 0:
                state.set_nonce(native_address, 1)
            # Code that never runs (the precompile answers first) but makes the account a
            # contract to callers: Solidity checks EXTCODESIZE before calls without return data.
            if not state.get_code(native_address):
                state.set_code(native_address, NATIVE_MARKER_CODE)
            native.init_chain(CallContext.for_system(state, native.address, lambda *event: genesis_events.append(event)))
        state.persist()
        _release_trie_cache()
        return state.state_root, overlay.writes

    # -- blocks ----------------------------------------------------------------

    def execute_block(
        self,
        base: DatabaseAPI,
        parent_state_root: bytes,
        env: BlockEnv,
        transactions: Sequence[SignedTransactionAPI],
        *,
        strict: bool,
    ) -> ExecutionResult:
        """Execute ``transactions`` (decoded, senders cached) on top of ``parent_state_root``.

        ``strict`` is for verifying a proposed block: any transaction that
        cannot be included raises ``BlockExecutionError``. Without it (building
        a proposal) such transactions are left out and listed in ``rejected``.
        """
        atomic, overlay = overlay_atomic_db(base)
        state = self.open_state(atomic, parent_state_root, env)
        block_events: list[Log] = []

        def add_block_event(address: bytes, topics: tuple[int, ...], data: bytes) -> None:
            block_events.append(Log(address=address, topics=tuple(t.to_bytes(32, "big") for t in topics), data=data))

        for native in self.natives:
            native.begin_block(CallContext.for_system(state, native.address, add_block_event), env.consensus)
        receipts: list[Receipt] = []
        included: list[bytes] = []
        rejected: list[tuple[bytes, str]] = []
        cumulative_gas = 0
        ledger = TransferLedger(state, self.precompile_addresses)
        sponsorships = BlockSponsorship(state) if self.sponsors_gas else None
        for tx in transactions:
            sponsorship = sponsorships.sponsorship_of(tx) if sponsorships is not None else None
            problem = sponsorships.problem(tx, sponsorship) if sponsorship is not None else None  # type: ignore[union-attr]
            if problem is None:
                problem = _inclusion_problem(tx, env, cumulative_gas, ledger, sponsored=sponsorship is not None)
            if problem is not None:
                if strict:
                    raise BlockExecutionError(f"transaction {tx.hash.hex()}: {problem}")
                rejected.append((tx.hash, problem))
                continue
            if sponsorship is not None:
                ledger.flush()
                outcome, paid = sponsorships.apply(  # type: ignore[union-attr]
                    tx, sponsorship, lambda priced: _apply_with_evm(state, priced), lambda outcome: outcome[0])
                gas_used, status, logs, created = outcome[0], outcome[1], (*outcome[2], paid), outcome[3]
            elif ledger.is_plain_transfer(tx):
                gas_used, status, logs, created = ledger.apply(tx), 1, (), None
            else:
                ledger.flush()
                gas_used, status, logs, created = _apply_with_evm(state, tx)
            cumulative_gas += gas_used
            receipts.append(
                Receipt(
                    tx_hash=tx.hash,
                    tx_index=len(receipts),
                    tx_type=tx_type(tx),
                    sender=tx.sender,
                    to=tx.to or None,
                    contract_address=created,
                    status=status,
                    gas_used=gas_used,
                    cumulative_gas_used=cumulative_gas,
                    effective_gas_price=state.get_gas_price(tx),
                    logs=logs,
                )
            )
            included.append(tx.encode())
        ledger.flush()
        state.lock_changes()
        updates: list[ValidatorUpdate] = []
        for native in self.natives:
            context = CallContext.for_system(state, native.address, add_block_event, block_gas_used=cumulative_gas)
            updates.extend(native.end_block(context, env.consensus))
        state.persist()
        _release_trie_cache()
        tx_root = ordered_trie_root(included)
        receipts_root = ordered_trie_root([r.consensus_encoding() for r in receipts])
        bloom = 0
        for receipt in receipts:
            bloom |= receipt.bloom
        return ExecutionResult(
            state_root=state.state_root,
            receipts=tuple(receipts),
            transactions=tuple(included),
            gas_used=cumulative_gas,
            logs_bloom=bloom,
            transactions_root=tx_root,
            receipts_root=receipts_root,
            state_writes=overlay.writes,
            rejected=tuple(rejected),
            block_events=tuple(block_events),
            validator_updates=tuple(updates),
        )

    # -- calls -----------------------------------------------------------------

    def call_state(self, base: DatabaseAPI, state_root: bytes, env: BlockEnv,
                   overrides: CallOverrides = NO_OVERRIDES, state_class: type[PragueState] | None = None) -> StateAPI:
        """A throw-away state for calls at ``state_root`` in block ``env``, with ``overrides`` applied.

        Its writes go to an overlay that is dropped with it. ``state_class``
        (a subclass of ``call_state_class``) may observe the calls it runs.
        """
        atomic, _ = overlay_atomic_db(base)
        state = self.open_call_state(atomic, state_root, env, state_class)
        apply_state_overrides(state, overrides.state)
        return state

    def open_call_state(self, db: Any, state_root: bytes, env: BlockEnv,
                        state_class: type[PragueState] | None = None) -> StateAPI:
        """A call state at ``state_root`` over an atomic database, in block ``env`` (writes go to ``db``)."""
        return (state_class or self.call_state_class)(db, _execution_context(env), Hash32(state_root))

    @property
    def call_state_class(self) -> type[PragueState]:
        """The state class of calls: its code streams honour the thread's checkpoint."""
        return self._call_state_class

    def call(self, base: DatabaseAPI, state_root: bytes, env: BlockEnv, message: CallMessage,
             checkpoint: Checkpoint | None = None, overrides: CallOverrides = NO_OVERRIDES) -> CallOutcome:
        """Run ``message`` against the state at ``state_root`` without keeping any change.

        ``overrides`` change the state and the block first (``vm.overrides``).
        As geth's ``eth_call``, the message's nonce is not checked: the call
        runs with the sender's current nonce. With a ``checkpoint``, the opcode
        loops of the call invoke it regularly; it may raise ``CallInterrupted``
        to abandon the call (see ``vm.interruptible``).
        """
        env = call_env(env, message, overrides)
        return run_call(self.call_state(base, state_root, env, overrides), env, message, checkpoint)

    def estimate_gas(self, base: DatabaseAPI, state_root: bytes, env: BlockEnv, message: CallMessage, cap: int,
                     checkpoint: Checkpoint | None = None, overrides: CallOverrides = NO_OVERRIDES) -> CallOutcome:
        """The smallest gas limit for which ``message`` succeeds (binary search, as geth does).

        ``checkpoint`` guards every attempt and ``overrides`` apply to each, as in ``call``.
        """
        def attempt(gas: int) -> CallOutcome:
            return self.call(base, state_root, env, _with_gas(message, gas), checkpoint, overrides)

        high = min(message.gas or cap, cap)
        outcome = attempt(high)
        if not outcome.success:
            return outcome
        if not message.data and attempt(outcome.gas_used).success:
            # No call data (a plain transfer): what it used is enough, so exactly 21,000 as geth answers.
            return CallOutcome(True, outcome.output, outcome.gas_used)
        low = outcome.gas_used - 1
        # Most calls need little more than what they used: try a tight bound first.
        optimistic = min(high, (outcome.gas_used + 2_300) * 64 // 63)
        if optimistic < high and attempt(optimistic).success:
            high = optimistic
        while high - low > 1 and (high - low) * 100 > high:  # stop within 1%, as geth does
            middle = (low + high) // 2
            if attempt(middle).success:
                high = middle
            else:
                low = middle
        return CallOutcome(True, outcome.output, high)


def call_env(env: BlockEnv, message: CallMessage, overrides: CallOverrides = NO_OVERRIDES,
             *, validate: bool = False) -> BlockEnv:
    """The block a call runs in: ``env`` with the block overrides, and no base fee for an unpriced call.

    Without ``validate``, a message with no gas price, or a gas price of 0 (a
    call a sponsor pays for), runs with a zero base fee (geth's ``eth_call``
    charges it nothing), even one given as a block override; a priced message
    sees the block's (or the overriding) base fee.
    """
    if overrides.block is not None:
        changes: dict[str, Any] = overrides.block.env_changes()  # each checked against its field when parsed
        env = replace(env, **changes)
    priced = any(p for p in (message.gas_price, message.max_fee_per_gas))
    if not validate and not priced:
        env = replace(env, base_fee=0)
    return env


def run_call(state: StateAPI, env: BlockEnv, message: CallMessage, checkpoint: Checkpoint | None = None,
             *, validate: bool = False) -> CallOutcome:
    """Run ``message`` on ``state`` (a ``ChainExecutor.call_state``) in block ``env``; the state keeps its changes.

    Without ``validate`` the message's nonce is ignored (the sender's current
    nonce is used); with it, a given nonce must be the sender's next one, as
    for a transaction.
    """
    tx = _spoof(message, state, env, validate)
    problem = _gas_and_size_problem(tx)
    if problem is not None:
        return CallOutcome(False, b"", 0, problem)
    try:
        with checkpoints(checkpoint) if checkpoint is not None else nullcontext():
            computation = state.apply_transaction(tx)
    except ValidationError as exc:
        return CallOutcome(False, b"", 0, _geth_wording(str(exc)))
    gas_used = PragueVM.finalize_gas_used(tx, computation)
    logs = _logs_of(computation)
    if computation.is_error:
        if isinstance(computation.error, Revert):
            return CallOutcome(False, computation.output, gas_used, "execution reverted")
        return CallOutcome(False, b"", gas_used, str(computation.error) or type(computation.error).__name__)
    return CallOutcome(True, computation.output, gas_used, logs=logs)


def _release_trie_cache() -> None:
    """Drop the trie library's class-wide node cache once a state is persisted.

    ``HexaryTrie`` memoises node encodings per trie instance in one class-level
    LRU cache, which keeps finished tries, and through them whole block overlays
    and the database handle, alive long after the block. New tries never hit
    entries of old ones, so clearing it after each persisted state loses nothing.
    """
    HexaryTrie._cached_create_node_to_db_mapping.cache_clear()


class _InterruptibleComputation(PragueComputation):
    """The computation of calls: analysed code streams that honour the thread's checkpoint."""

    def __init__(self, state: StateAPI, message: Any, transaction_context: Any) -> None:
        super().__init__(state, message, transaction_context)
        self.code = InterruptibleCodeStream(message.code)


def _state_class(name: str, computation: type[PragueComputation], precompiles: dict[Any, Any]) -> type[PragueState]:
    """A Prague state class without system contracts whose computations are ``computation`` with ``precompiles``."""
    computation_class = type(f"{name}Computation", (computation,), {"_precompiles": precompiles})
    return type(
        f"{name}State",
        (PragueState,),
        {"computation_class": computation_class, "account_db_class": FastAccountDB,
         "set_system_contracts": _no_system_contracts},
    )


def _execution_context(env: BlockEnv) -> ExecutionContext:
    """py-evm's execution context of block ``env``."""
    return ExecutionContext(
        coinbase=Address(env.coinbase),
        timestamp=env.timestamp,
        block_number=BlockNumber(env.number),
        difficulty=0,
        mix_hash=Hash32(env.prev_randao),
        gas_limit=env.gas_limit,
        prev_hashes=cast(tuple[Hash32, ...], env.recent_hashes),
        chain_id=env.chain_id,
        base_fee_per_gas=env.base_fee,
        excess_blob_gas=0,
    )


def _apply_with_evm(state: StateAPI, tx: SignedTransactionAPI) -> tuple[int, int, tuple[Log, ...], bytes | None]:
    """Run ``tx`` through py-evm: its gas used, status, logs and created contract address."""
    state.lock_changes()
    nonce = state.get_nonce(tx.sender)
    computation = state.apply_transaction(tx)
    logs = _logs_of(computation)
    created = generate_contract_address(tx.sender, nonce) if not tx.to else None
    return PragueVM.finalize_gas_used(tx, computation), 0 if computation.is_error else 1, logs, created


def _logs_of(computation: Any) -> tuple[Log, ...]:
    """The logs a finished computation emitted, in order."""
    return tuple(
        Log(address=address, topics=tuple(t.to_bytes(32, "big") for t in topics), data=data)
        for address, topics, data in computation.get_log_entries()
    )


def _no_system_contracts(self: Any) -> None:
    """This chain has no beacon chain: no beacon-roots or history system contracts."""


def _inclusion_problem(tx: SignedTransactionAPI, env: BlockEnv, cumulative_gas: int, state: TransferLedger,
                       *, sponsored: bool = False) -> str | None:
    """Why ``tx`` cannot be included at this point of the block, or None (``state``: pending transfers included).

    A ``sponsored`` transaction's fee comes from its sponsor's deposit, so its zero fee cap is not held
    against the base fee (``vm.sponsorship`` checks the deposit).
    """
    if env.max_tx_gas is not None and tx.gas > env.max_tx_gas:
        return f"transaction gas limit too high (cap: {env.max_tx_gas}, tx: {tx.gas})"
    if cumulative_gas + tx.gas > env.gas_limit:
        return "gas limit reached"
    if tx.max_fee_per_gas < env.base_fee and not sponsored:
        return f"max fee per gas less than block base fee: maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {env.base_fee}"
    sender = tx.sender
    expected_nonce = state.get_nonce(sender)
    if tx.nonce != expected_nonce:
        return f"nonce too {'low' if tx.nonce < expected_nonce else 'high'}: next nonce {expected_nonce}, tx nonce {tx.nonce}"
    if state.get_balance(sender) < tx.gas * tx.max_fee_per_gas + tx.value:
        return "insufficient funds for gas * price + value"
    problem = _gas_and_size_problem(tx)
    if problem is not None:
        return problem
    code = state.get_code(sender)
    if code and not code.startswith(b"\xef\x01\x00"):
        return "sender not an eoa"
    return None


def _gas_and_size_problem(tx: SignedTransactionAPI) -> str | None:
    """Stateless limits py-evm does not check before executing (it would raise or overcharge instead)."""
    if tx.gas < tx.intrinsic_gas:
        return "intrinsic gas too low"
    if not tx.to and len(tx.data) > MAX_INITCODE_SIZE:
        return f"max initcode size exceeded: code size {len(tx.data)}, limit {MAX_INITCODE_SIZE}"
    floor = PragueTransactionExecutor.calc_data_floor_gas(tx, 0, 0)  # EIP-7623 calldata floor
    if tx.gas < floor:
        return f"insufficient gas for floor data gas cost: gas {tx.gas}, minimum needed {floor}"
    return None


def _spoof(message: CallMessage, state: StateAPI, env: BlockEnv, validate: bool) -> SignedTransactionAPI:
    """``message`` as a transaction from its sender, unsigned (py-evm's spoof stands in for a signed one)."""
    sender = Address(message.sender)
    nonce = message.nonce if validate and message.nonce is not None else state.get_nonce(sender)
    to = Address(message.to or b"")
    access_list = cast(tuple[tuple[Address, tuple[int, ...]], ...], message.access_list)
    unsigned: UnsignedTransactionAPI
    gas = message.gas if message.gas is not None else env.gas_limit
    if message.max_fee_per_gas is not None or message.max_priority_fee_per_gas is not None:
        max_fee = message.max_fee_per_gas if message.max_fee_per_gas is not None else env.base_fee + (message.max_priority_fee_per_gas or 0)
        tip = message.max_priority_fee_per_gas if message.max_priority_fee_per_gas is not None else 0
        unsigned = TransactionBuilder.new_unsigned_dynamic_fee_transaction(
            chain_id=env.chain_id, nonce=nonce, max_priority_fee_per_gas=min(tip, max_fee),
            max_fee_per_gas=max_fee, gas=gas, to=to, value=message.value,
            data=message.data, access_list=access_list,
        )
    else:
        unsigned = TransactionBuilder.new_unsigned_access_list_transaction(
            chain_id=env.chain_id, nonce=nonce, gas_price=message.gas_price or 0, gas=gas,
            to=to, value=message.value, data=message.data, access_list=access_list,
        )
    return cast(SignedTransactionAPI, SpoofTransaction(unsigned, from_=sender))


def _with_gas(message: CallMessage, gas: int) -> CallMessage:
    return CallMessage(
        sender=message.sender, to=message.to, data=message.data, value=message.value, gas=gas,
        gas_price=message.gas_price, max_fee_per_gas=message.max_fee_per_gas,
        max_priority_fee_per_gas=message.max_priority_fee_per_gas,
        access_list=message.access_list, nonce=message.nonce,
    )


def _geth_wording(message: str) -> str:
    lowered = message.lower()
    if "balance" in lowered:
        return "insufficient funds for gas * price + value"
    if "intrinsic" in lowered:
        return "intrinsic gas too low"
    if "nonce" in lowered:
        numbers = re.findall(r"\d+", message)
        if len(numbers) == 2 and "expected" in lowered:  # py-evm: "Expected <next>, but got <nonce>"
            expected, got = int(numbers[0]), int(numbers[1])
            return f"nonce too {'low' if got < expected else 'high'}: next nonce {expected}, tx nonce {got}"
        return "nonce too low" if "low" in lowered else message
    return message
