"""Block hooks of native contracts, system contexts and byte-string storage."""
from __future__ import annotations

from collections.abc import Sequence

import eth_abi
import pytest
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from tests.conftest import ETHER
from vm.errors import NativeContractError
from vm.execution import CallMessage, GenesisAccount
from vm.native.framework import CallContext, NativeContract, blob_slot, method
from vm.native.hooks import ConsensusInfo, Misbehaviour, ValidatorUpdate

HOOKED = bytes.fromhex("00000000000000000000000000000000000c0fff")
USER = Account.from_key(b"\x21" * 32)
REWARD = 5 * ETHER


class Hooked(NativeContract):
    """Mints a reward to the proposer's key-derived account, records blobs, proposes updates."""

    address = HOOKED
    name = "Hooked"

    def begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        if info.proposer:
            context.mint(info.proposer[:20], REWARD)
            context.emit("Rewarded(bytes32,uint256)", [("bytes32", info.proposer)], [("uint256", REWARD)])
        context.store(1, len(info.absent))

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        return tuple(ValidatorUpdate(m.pub_key, 0, b"\x00" * 20) for m in info.misbehaviour)

    @method("put(bytes32,bytes)", gas=100)
    def put(self, context: CallContext, key: bytes, data: bytes) -> None:
        context.store_bytes(key, data)

    @method("get(bytes32)", returns=["bytes"], gas=100, view=True)
    def get(self, context: CallContext, key: bytes) -> bytes:
        value = context.load_bytes(key)
        if value is None:
            raise NativeContractError("Hooked: no such key")
        return value

    @method("drop(bytes32)", gas=100)
    def drop(self, context: CallContext, key: bytes) -> None:
        context.delete_bytes(key)

    @method("mint()", gas=100)
    def mint_from_call(self, context: CallContext) -> None:
        context.mint(context.sender, ETHER)


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


@pytest.fixture
def chain(memory_chain):
    user = bytes.fromhex(USER.address[2:])
    return memory_chain([GenesisAccount(user, balance=100 * ETHER)], natives=[Hooked()])


def transact(chain, sign_tx, data: bytes, gas: int = 2_000_000):
    user = bytes.fromhex(USER.address[2:])
    tx = sign_tx(USER, nonce=chain.state.get_nonce(user), to=HOOKED, data=data, gas=gas)
    return chain.execute([tx], strict=True).receipts[0]


def read(chain, key: bytes) -> tuple[bool, bytes]:
    outcome = chain.call(CallMessage(sender=b"\x01" * 20, to=HOOKED, data=selector("get(bytes32)") + key))
    return outcome.success, outcome.output


def test_begin_block_mints_and_records_a_block_event(chain) -> None:
    proposer = b"\x42" * 32
    result = chain.execute([], consensus=ConsensusInfo(proposer=proposer, absent=(b"\x01" * 32, b"\x02" * 32)))
    assert chain.state.get_balance(proposer[:20]) == REWARD
    assert chain.state.get_storage(HOOKED, 1) == 2
    assert [event.address for event in result.block_events] == [HOOKED]
    assert result.block_events[0].topics[1] == proposer
    assert result.receipts == ()


def test_end_block_returns_validator_updates(chain) -> None:
    offender = b"\x07" * 32
    result = chain.execute([], consensus=ConsensusInfo(misbehaviour=(Misbehaviour(offender, 3),)))
    assert result.validator_updates == (ValidatorUpdate(offender, 0, b"\x00" * 20),)
    assert chain.execute([]).validator_updates == ()


def test_hooks_make_execution_depend_on_consensus_info(chain, memory_chain) -> None:
    other = memory_chain([GenesisAccount(bytes.fromhex(USER.address[2:]), balance=100 * ETHER)], natives=[Hooked()])
    a = chain.execute([], consensus=ConsensusInfo(proposer=b"\x42" * 32))
    b = other.execute([], consensus=ConsensusInfo(proposer=b"\x43" * 32))
    assert a.state_root != b.state_root


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 100, 1000])
def test_byte_strings_round_trip_and_shrink(chain, sign_tx, size: int) -> None:
    key = b"k".ljust(32, b"\x00")
    long_value = bytes(range(256)) * 8
    assert transact(chain, sign_tx, selector("put(bytes32,bytes)") + eth_abi.encode(["bytes32", "bytes"], [key, long_value])).status == 1
    value = bytes((i * 7) % 256 for i in range(size))
    assert transact(chain, sign_tx, selector("put(bytes32,bytes)") + eth_abi.encode(["bytes32", "bytes"], [key, value])).status == 1
    ok, output = read(chain, key)
    assert ok and eth_abi.decode(["bytes"], output)[0] == value
    # the words of the longer previous value are cleared, not left behind in state
    nonzero = [slot for slot in range(2048) if chain.state.get_storage(HOOKED, blob_slot(key) + 1 + slot)]
    assert max(nonzero, default=-1) < (size + 31) // 32


def test_deleted_byte_string_is_absent_and_clears_storage(chain, sign_tx) -> None:
    key = b"x".ljust(32, b"\x00")
    transact(chain, sign_tx, selector("put(bytes32,bytes)") + eth_abi.encode(["bytes32", "bytes"], [key, b"hello" * 20]))
    transact(chain, sign_tx, selector("drop(bytes32)") + key)
    ok, _ = read(chain, key)
    assert not ok
    assert all(chain.state.get_storage(HOOKED, blob_slot(key) + i) == 0 for i in range(5))


def test_oversized_byte_string_reverts(chain, sign_tx) -> None:
    key = b"big".ljust(32, b"\x00")
    receipt = transact(chain, sign_tx, selector("put(bytes32,bytes)") + eth_abi.encode(["bytes32", "bytes"], [key, b"\x01" * (64 * 1024 + 1)]), gas=25_000_000)
    assert receipt.status == 0


def test_a_transaction_cannot_mint(chain, sign_tx) -> None:
    user = bytes.fromhex(USER.address[2:])
    before = chain.state.get_balance(user)
    receipt = transact(chain, sign_tx, selector("mint()"))
    assert receipt.status == 0
    assert chain.state.get_balance(user) < before


class FeeWatcher(NativeContract):
    """Records, at end-block, what the block's transactions burned."""

    address = HOOKED
    name = "FeeWatcher"

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        context.store(7, context.burned_fees)
        return ()


def test_end_block_sees_the_fees_burned_by_the_block(memory_chain, sign_tx) -> None:
    user = bytes.fromhex(USER.address[2:])
    chain = memory_chain([GenesisAccount(user, balance=100 * ETHER)], natives=[FeeWatcher()])
    tx = sign_tx(USER, nonce=0, to=b"\x09" * 20, value=1, gas=21_000)
    result = chain.execute([tx], strict=True, base_fee=3 * 10**9)
    assert chain.state.get_storage(HOOKED, 7) == 3 * 10**9 * result.gas_used == 3 * 10**9 * 21_000


class Seeded(NativeContract):
    """Writes its genesis storage and seeds another contract's storage."""

    address = HOOKED
    name = "Seeded"

    def init_chain(self, context: CallContext) -> None:
        context.store_bytes(b"greeting", b"hello genesis")
        context.for_contract(b"\x0c" * 20).store(3, 33)

    @method("greeting()", returns=["bytes"], gas=100, view=True)
    def greeting(self, context: CallContext) -> bytes:
        return context.load_bytes(b"greeting") or b""


def test_init_chain_writes_genesis_storage(memory_chain) -> None:
    chain = memory_chain([GenesisAccount(b"\x0c" * 20, balance=1)], natives=[Seeded()])
    outcome = chain.call(CallMessage(sender=b"\x01" * 20, to=HOOKED, data=selector("greeting()")))
    assert eth_abi.decode(["bytes"], outcome.output)[0] == b"hello genesis"
    assert chain.state.get_storage(b"\x0c" * 20, 3) == 33
    assert chain.state.get_nonce(HOOKED) == 1


class Attempting(NativeContract):
    """An end-block hook that tries two steps all or nothing: one that fails part-way, one that succeeds."""

    address = bytes.fromhex("00000000000000000000000000000000000c0ffe")
    name = "Attempting"

    def end_block(self, context: CallContext, info: ConsensusInfo) -> Sequence[ValidatorUpdate]:
        def failing() -> None:
            context.store(1, 11)
            context.mint(b"\x0f" * 20, ETHER)
            context.emit("Step(uint256)", [], [("uint256", 1)])
            raise NativeContractError("Attempting: cannot go on")

        def succeeding() -> None:
            context.store(2, 22)
            context.emit("Step(uint256)", [], [("uint256", 2)])

        context.store(3, 1 if context.attempt(failing) == "Attempting: cannot go on" else 0)
        context.store(4, 1 if context.attempt(succeeding) is None else 0)
        return ()


def test_an_attempt_in_a_block_hook_is_all_or_nothing(memory_chain) -> None:
    hooked = Attempting()
    chain = memory_chain([], natives=[hooked])
    result = chain.execute([])
    storage = [chain.state.get_storage(hooked.address, slot) for slot in (1, 2, 3, 4)]
    assert storage == [0, 22, 1, 1]  # the failed step's write is undone, the error reported, the other kept
    assert chain.state.get_balance(b"\x0f" * 20) == 0
    assert [eth_abi.decode(["uint256"], event.data)[0] for event in result.block_events] == [2]
