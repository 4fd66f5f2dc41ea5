"""Tests of the native-contract framework: dispatch, reverts, payability, static calls, gas, events, Solidity callers."""
from __future__ import annotations

import shutil
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector

from cybermiles_node.natives import genesis_accounts
from cybermiles_node.solc import CompiledContract, compile_file
from vm.errors import NativeContractError
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import VESTING_ADDRESS
from vm.native.framework import (
    ERROR_SELECTOR,
    SSTORE_RESET_GAS,
    SSTORE_SET_GAS,
    NativeContract,
    mapping_slot,
    method,
)
from vm.native.vesting import VestingContract

GWEI = 10**9
ETHER = 10**18
REPO = Path(__file__).resolve().parents[1]
COUNTER_ADDRESS = bytes.fromhex("0000000000000000000000000000000000000cff")
USER = Account.from_key(keccak(b"native framework user"))
STATIC_PROXY = bytes.fromhex("5f" * 19 + "a1")
CALL_PROXY = bytes.fromhex("5f" * 19 + "a2")
REVERTING_PROXY = bytes.fromhex("5f" * 19 + "a3")
DELEGATE_PROXY = bytes.fromhex("5f" * 19 + "a4")


class Counter(NativeContract):
    """A native contract exercising every part of the framework."""

    address = COUNTER_ADDRESS
    name = "Counter"

    @method("set(uint256,uint256)", gas=1_000)
    def set_value(self, ctx, key: int, value: int) -> None:
        """Store ``value`` at ``key`` and announce it."""
        ctx.store(key, value)
        ctx.emit("Set(uint256,uint256)", indexed=[("uint256", key)], data=[("uint256", value)])

    @method("fill(uint256)", gas=1_000)
    def fill(self, ctx, count: int) -> None:
        """Write slots 1..count."""
        for slot in range(1, count + 1):
            ctx.store(slot, slot)

    @method("get(uint256)", returns=["uint256"], gas=100, view=True)
    def get(self, ctx, key: int) -> int:
        """Read a slot."""
        return ctx.load(key)

    @method("whoami()", returns=["address", "uint256"], gas=100, view=True)
    def whoami(self, ctx) -> tuple:
        """The caller and the block number."""
        return ("0x" + ctx.sender.hex(), ctx.block_number)

    @method("deposit()", returns=["uint256"], gas=100, payable=True)
    def deposit(self, ctx) -> int:
        """Accept value; return how much."""
        return ctx.value

    @method("pay(address,uint256)", gas=1_000)
    def pay(self, ctx, to: str, amount: int) -> None:
        """Send ``amount`` of the contract's balance."""
        ctx.transfer(bytes.fromhex(to[2:]), amount)

    @method("setThenFail(uint256)", gas=1_000)
    def set_then_fail(self, ctx, value: int) -> None:
        """Write slot 1, then refuse."""
        ctx.store(1, value)
        raise NativeContractError("Counter: refused")


def calldata(signature: str, types: list[str] = (), values: list = ()) -> bytes:
    """ABI call data."""
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(list(types), list(values))


def revert_reason(output: bytes) -> str:
    """The message of an ``Error(string)`` revert."""
    assert output[:4] == ERROR_SELECTOR
    return eth_abi.decode(["string"], output[4:])[0]


def proxy(target: bytes, opcode: int, *, revert_after: bool = False) -> bytes:
    """Runtime code forwarding its call data to ``target`` with ``opcode``; returns (flag word ++ return data)."""
    code = bytes.fromhex("36" "6000" "6000" "37")  # CALLDATACOPY(0, 0, CALLDATASIZE)
    code += bytes.fromhex("6000" "6000" "36" "6000")  # retSize, retOffset, argsSize, argsOffset
    if opcode == 0xF1:
        code += b"\x34"  # CALLVALUE
    code += b"\x73" + target + b"\x5a" + bytes([opcode])  # PUSH20 target, GAS, call
    code += bytes.fromhex("6000" "52")  # MSTORE(0, success)
    code += bytes.fromhex("3d" "6000" "6020" "3e")  # RETURNDATACOPY(32, 0, RETURNDATASIZE)
    code += bytes.fromhex("3d" "6020" "01" "6000") + (b"\xfd" if revert_after else b"\xf3")
    return code


def forwarded(output: bytes) -> tuple[bool, bytes]:
    """Split a proxy's output into (inner success, inner return data)."""
    return bool(int.from_bytes(output[:32], "big")), output[32:]


@pytest.fixture
def chain(memory_chain):
    """A chain with the Counter and vesting natives and the proxies."""
    return memory_chain(
        [
            GenesisAccount(bytes.fromhex(USER.address[2:]), balance=100 * ETHER),
            GenesisAccount(COUNTER_ADDRESS, balance=10),
            GenesisAccount(STATIC_PROXY, code=proxy(COUNTER_ADDRESS, 0xFA)),
            GenesisAccount(CALL_PROXY, code=proxy(COUNTER_ADDRESS, 0xF1)),
            GenesisAccount(REVERTING_PROXY, code=proxy(COUNTER_ADDRESS, 0xF1, revert_after=True)),
            GenesisAccount(DELEGATE_PROXY, code=proxy(COUNTER_ADDRESS, 0xF4)),
        ],
        natives=[Counter(), VestingContract()],
    )


def user() -> bytes:
    return bytes.fromhex(USER.address[2:])


def send(chain, sign_tx, data: bytes, *, to: bytes = COUNTER_ADDRESS, value: int = 0, gas: int = 200_000):
    """Execute one transaction from USER in a new block; return its receipt."""
    tx = sign_tx(USER, nonce=chain.state.get_nonce(user()), to=to, data=data, value=value, gas=gas)
    result = chain.execute([tx], strict=True)
    return result.receipts[0]


def call(chain, data: bytes, *, to: bytes = COUNTER_ADDRESS, value: int = 0):
    """eth_call from USER."""
    return chain.call(CallMessage(sender=user(), to=to, data=data, value=value))


# -- dispatch --------------------------------------------------------------------------


def test_methods_are_dispatched_by_selector(chain, sign_tx) -> None:
    receipt = send(chain, sign_tx, calldata("set(uint256,uint256)", ["uint256", "uint256"], [5, 42]))
    assert receipt.status == 1
    assert chain.state.get_storage(COUNTER_ADDRESS, 5) == 42
    outcome = call(chain, calldata("get(uint256)", ["uint256"], [5]))
    assert outcome.success and eth_abi.decode(["uint256"], outcome.output) == (42,)


def test_several_return_values_and_call_context(chain) -> None:
    outcome = call(chain, calldata("whoami()"))
    assert outcome.success
    sender, number = eth_abi.decode(["address", "uint256"], outcome.output)
    assert bytes.fromhex(sender[2:]) == user() and number == chain.number + 1


def test_declared_methods_are_listed_by_signature() -> None:
    signatures = [spec.signature for spec in Counter.methods()]
    assert signatures == sorted(signatures)
    assert "pay(address,uint256)" in signatures and len(signatures) == 7


def test_duplicate_selectors_are_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="duplicate selector"):
        class Twice(NativeContract):
            address = bytes(20)
            name = "Twice"

            @method("f()", gas=1)
            def one(self, ctx) -> None:
                """First."""

            @method("f()", gas=1)
            def two(self, ctx) -> None:
                """Second."""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xde\xad\xbe\xef", "Counter: unknown method"),
        (b"\x01", "Counter: unknown method"),
        (b"", "Counter: unknown method"),
        (calldata("set(uint256,uint256)")[:4] + b"\x00" * 10, "Counter: malformed arguments"),
        (calldata("setThenFail(uint256)", ["uint256"], [3]), "Counter: refused"),
        (calldata("pay(address,uint256)", ["address", "uint256"], [user(), 11]), "native contract balance too low"),
    ],
    ids=["unknown", "short", "empty", "malformed", "refused", "balance"],
)
def test_failures_revert_with_an_error_string(chain, data: bytes, reason: str) -> None:
    outcome = call(chain, data)
    assert not outcome.success
    assert outcome.error == "execution reverted"
    assert revert_reason(outcome.output) == reason


def test_value_to_a_non_payable_method_reverts_and_stays_with_the_sender(chain, sign_tx) -> None:
    outcome = call(chain, calldata("get(uint256)", ["uint256"], [1]), value=5)
    assert revert_reason(outcome.output) == "Counter: method is not payable"
    balance = chain.state.get_balance(user())
    receipt = send(chain, sign_tx, calldata("set(uint256,uint256)", ["uint256", "uint256"], [1, 1]), value=5)
    assert receipt.status == 0
    assert chain.state.get_balance(COUNTER_ADDRESS) == 10
    assert chain.state.get_storage(COUNTER_ADDRESS, 1) == 0
    assert balance - chain.state.get_balance(user()) == receipt.gas_used * receipt.effective_gas_price


def test_payable_method_receives_value(chain, sign_tx) -> None:
    outcome = call(chain, calldata("deposit()"), value=7)
    assert outcome.success and eth_abi.decode(["uint256"], outcome.output) == (7,)
    assert send(chain, sign_tx, calldata("deposit()"), value=7).status == 1
    assert chain.state.get_balance(COUNTER_ADDRESS) == 17


def test_native_transfer_moves_the_contract_balance(chain, sign_tx) -> None:
    payee = bytes.fromhex("77" * 20)
    assert send(chain, sign_tx, calldata("pay(address,uint256)", ["address", "uint256"], [payee, 4])).status == 1
    assert chain.state.get_balance(payee) == 4
    assert chain.state.get_balance(COUNTER_ADDRESS) == 6


# -- static calls and reverted frames ------------------------------------------------------


def test_static_call_may_read_but_not_write(chain) -> None:
    ok, data = forwarded(call(chain, calldata("get(uint256)", ["uint256"], [9]), to=STATIC_PROXY).output)
    assert ok and eth_abi.decode(["uint256"], data) == (0,)
    outcome = call(chain, calldata("set(uint256,uint256)", ["uint256", "uint256"], [9, 9]), to=STATIC_PROXY)
    assert outcome.success  # the proxy itself returns normally
    ok, data = forwarded(outcome.output)
    assert not ok
    assert revert_reason(data) == "write protection: state change in a static call"


def test_delegatecall_to_a_native_contract_is_refused(chain) -> None:
    ok, data = forwarded(call(chain, calldata("get(uint256)", ["uint256"], [9]), to=DELEGATE_PROXY).output)
    assert not ok and revert_reason(data) == "Counter: delegatecall is not supported"


def test_changes_of_a_failed_native_call_are_undone(chain, sign_tx) -> None:
    receipt = send(chain, sign_tx, calldata("setThenFail(uint256)", ["uint256"], [3]))
    assert receipt.status == 0 and receipt.logs == ()
    assert chain.state.get_storage(COUNTER_ADDRESS, 1) == 0


def test_changes_of_a_native_call_in_a_reverted_frame_are_undone(chain, sign_tx) -> None:
    data = calldata("set(uint256,uint256)", ["uint256", "uint256"], [2, 8])
    assert send(chain, sign_tx, data, to=REVERTING_PROXY).status == 0
    assert chain.state.get_storage(COUNTER_ADDRESS, 2) == 0
    receipt = send(chain, sign_tx, data, to=CALL_PROXY)
    assert receipt.status == 1
    assert chain.state.get_storage(COUNTER_ADDRESS, 2) == 8
    assert receipt.logs[0].address == COUNTER_ADDRESS  # the event is the native contract's, not the caller's


# -- gas and events -------------------------------------------------------------------------


def test_gas_grows_with_storage_writes(chain, sign_tx) -> None:
    one = send(chain, sign_tx, calldata("fill(uint256)", ["uint256"], [1]))
    three = send(chain, sign_tx, calldata("fill(uint256)", ["uint256"], [3]))
    assert one.status == three.status == 1
    # slot 1 was already set by the first call: it costs a reset, the two new slots a set each
    assert three.gas_used - one.gas_used == (SSTORE_RESET_GAS - SSTORE_SET_GAS) + 2 * SSTORE_SET_GAS
    again = send(chain, sign_tx, calldata("fill(uint256)", ["uint256"], [3]))
    assert three.gas_used - again.gas_used == 2 * (SSTORE_SET_GAS - SSTORE_RESET_GAS)


def test_running_out_of_gas_fails_and_burns_the_gas(chain, sign_tx) -> None:
    data = calldata("fill(uint256)", ["uint256"], [3])
    receipt = send(chain, sign_tx, data, gas=50_000)
    assert receipt.status == 0 and receipt.gas_used == 50_000
    assert chain.state.get_storage(COUNTER_ADDRESS, 1) == 0


def test_events_carry_signature_topic_indexed_arguments_and_data(chain, sign_tx) -> None:
    receipt = send(chain, sign_tx, calldata("set(uint256,uint256)", ["uint256", "uint256"], [5, 42]))
    (log,) = receipt.logs
    assert log.address == COUNTER_ADDRESS
    assert log.topics == (keccak(b"Set(uint256,uint256)"), (5).to_bytes(32, "big"))
    assert log.data == (42).to_bytes(32, "big")


def test_mapping_slot_matches_solidity_layout() -> None:
    key = bytes.fromhex("11" * 20)
    assert mapping_slot(3, key) == int.from_bytes(keccak(b"\x00" * 12 + key + (3).to_bytes(32, "big")), "big")
    assert mapping_slot(0, 7) == int.from_bytes(keccak((7).to_bytes(32, "big") + bytes(32)), "big")


# -- a Solidity contract calling the vesting contract through IVesting ------------------------


@pytest.fixture(scope="module")
def vesting_caller(tmp_path_factory) -> CompiledContract:
    """VestingCaller.sol compiled against the shipped IVesting.sol interface."""
    workdir = tmp_path_factory.mktemp("solidity")
    shutil.copy(REPO / "tests" / "contracts" / "VestingCaller.sol", workdir)
    shutil.copy(REPO / "vm" / "native" / "interfaces" / "IVesting.sol", workdir)
    return compile_file(workdir / "VestingCaller.sol")["VestingCaller"]


def test_solidity_contract_uses_vesting_through_its_interface(memory_chain, genesis, dev_keys, sign_tx, vesting_caller) -> None:
    chain = memory_chain(genesis_accounts(genesis), natives=[VestingContract()])
    deployer = dev_keys[5]
    deployed = chain.execute([sign_tx(deployer, nonce=0, to=None, data=vesting_caller.bytecode, gas=3_000_000)], strict=True)
    caller = deployed.receipts[0].contract_address
    assert deployed.receipts[0].status == 1 and caller is not None

    def view(signature: str, types: list[str], values: list, returns: list[str], **env) -> tuple:
        outcome = chain.call(CallMessage(sender=bytes(20), to=caller, data=calldata(signature, types, values)), **env)
        assert outcome.success, outcome
        return eth_abi.decode(returns, outcome.output)

    team = genesis.vesting[0]
    quarter = team.start_time + team.period_seconds
    assert view("count()", [], [], ["uint256"]) == (2,)
    beneficiary, total, start, period, periods, released = view(
        "schedule(uint256)", ["uint256"], [0], ["address", "uint256", "uint256", "uint256", "uint256", "uint256"]
    )
    assert (bytes.fromhex(beneficiary[2:]), total, start, period, periods, released) == (
        team.beneficiary, team.amount, team.start_time, team.period_seconds, team.periods, 0
    )
    assert view("releasable(uint256)", ["uint256"], [0], ["uint256"], timestamp=quarter) == (team.amount // 10,)
    assert view("locked(address)", ["address"], [team.beneficiary], ["uint256"], timestamp=quarter) == (
        team.amount - team.amount // 10,
    )

    ok, data = view("staticRelease(uint256)", ["uint256"], [0], ["bool", "bytes"], timestamp=quarter)
    assert not ok and revert_reason(data) == "write protection: state change in a static call"

    before = chain.state.get_balance(team.beneficiary)
    undone = chain.execute(
        [sign_tx(deployer, nonce=1, to=caller, data=calldata("releaseThenRevert(uint256)", ["uint256"], [0]), gas=300_000)],
        strict=True, timestamp=quarter,
    )
    assert undone.receipts[0].status == 0
    assert chain.state.get_balance(team.beneficiary) == before

    released_block = chain.execute(
        [sign_tx(deployer, nonce=2, to=caller, data=calldata("release(uint256)", ["uint256"], [0]), gas=300_000)],
        strict=True, timestamp=quarter,
    )
    receipt = released_block.receipts[0]
    assert receipt.status == 1
    assert chain.state.get_balance(team.beneficiary) == before + team.amount // 10
    assert chain.state.get_storage(caller, 0) == team.amount // 10  # lastReleased
    (event,) = receipt.logs
    assert event.address == VESTING_ADDRESS
    assert event.topics == (
        keccak(b"Released(uint256,address,uint256)"), bytes(32), team.beneficiary.rjust(32, b"\x00")
    )
    assert eth_abi.decode(["uint256"], event.data) == (team.amount // 10,)

    retried = chain.execute(
        [sign_tx(deployer, nonce=3, to=caller, data=calldata("tryRelease(uint256)", ["uint256"], [0]), gas=300_000)],
        strict=True, timestamp=quarter + 1,
    )
    assert retried.receipts[0].status == 1
    outcome = chain.call(
        CallMessage(sender=bytes(20), to=caller, data=calldata("tryRelease(uint256)", ["uint256"], [0])),
        timestamp=quarter + 1,
    )
    assert eth_abi.decode(["bool", "string"], outcome.output) == (False, "Vesting: nothing to release")
