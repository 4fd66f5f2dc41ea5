"""The fast execution paths (``vm.interpreter``, ``vm.account_db``) against py-evm's plain ones and the consensus tests."""
from __future__ import annotations

import pytest
import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.rlp.accounts import Account
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.state import CancunState
from eth.vm.forks.cancun.transaction_context import CancunTransactionContext
from eth.vm.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.erc20_execution import HOLDERS, TokenChain
from tests.state_fixtures import cases_of, fixture_files, fixtures_root, run_case
from vm.account_db import FastAccountDB, encode_account
from vm.interpreter import fast_computation_class

FastCancunState = type("FastCancunState", (CancunState,), {
    "computation_class": fast_computation_class(CancunComputation), "account_db_class": FastAccountDB})
CONTRACT = b"\x10" * 20
SENDER = b"\x20" * 20
# Opcodes the fast loop runs, and a few it yields (SLOAD, SSTORE, LOG1, RETURN, REVERT, EXP, CALLDATACOPY).
OPCODES = [*range(0x01, 0x0C), *range(0x10, 0x1E), 0x20, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x3D,
           0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x5B, 0x5F, 0xA1, 0xF3, 0xFD,
           *range(0x80, 0x90), *range(0x90, 0xA0)]
SMALL = st.integers(0, 70)
WORD = st.one_of(SMALL, st.integers(0, 2**256 - 1), st.just(2**255))


@st.composite
def programs(draw: st.DrawFn) -> bytes:
    """Random code: opcodes each preceded by a few PUSHes of small or full-width values."""
    code = bytearray()
    for _ in range(draw(st.integers(1, 40))):
        for value in draw(st.lists(WORD, max_size=3)):
            size = max(1, (value.bit_length() + 7) // 8)
            code += bytes([0x5F + size]) + value.to_bytes(size, "big")
        code.append(draw(st.sampled_from(OPCODES)))
    return bytes(code)


def _run(state_class: type[CancunState], code: bytes, data: bytes, gas: int) -> tuple[object, ...]:
    from tests.state_fixtures import _context  # the fixtures' environment is a plain Cancun block

    context = _context({"currentNumber": "0x10", "currentCoinbase": "0x" + "00" * 20, "currentTimestamp": "0x3e8",
                        "currentGasLimit": "0x05f5e100"})
    state = state_class(AtomicDB(), context, BLANK_ROOT_HASH)
    state.set_code(CONTRACT, code)
    state.set_storage(CONTRACT, 1, 5)
    state.set_balance(SENDER, 10**18)
    state.lock_changes()
    message = Message(gas=gas, to=CONTRACT, sender=SENDER, value=3, data=data, code=code)
    computation = state.computation_class.apply_message(state, message, CancunTransactionContext(1, SENDER))
    state.persist()
    error = type(computation.error).__name__ if computation.is_error else None
    # A failed frame's stack is discarded (and py-evm checks the depth before popping, this loop while popping).
    stack = () if error else tuple(v if isinstance(v, int) else int.from_bytes(v, "big") for v in computation._stack.values)
    return (error, stack, computation.get_gas_remaining(), computation.output, computation.get_log_entries(),
            computation.get_gas_refund(), state.state_root)


@settings(max_examples=400, deadline=None)
@given(programs(), st.binary(max_size=70), st.sampled_from([30, 3_000, 100_000]))
def test_fast_loop_matches_py_evm_on_random_programs(code: bytes, data: bytes, gas: int) -> None:
    assert _run(FastCancunState, code, data, gas) == _run(CancunState, code, data, gas)


FIXTURE_DIRECTORIES = ("VMTests/vmArithmeticTest", "VMTests/vmBitwiseLogicOperation", "VMTests/vmIOandFlowOperations",
                       "VMTests/vmTests", "VMTests/vmLogTest", "stShift", "stMemoryTest", "stRandom")
_ROOT = fixtures_root()
_CASES = [case for path in fixture_files(_ROOT, FIXTURE_DIRECTORIES) for case in cases_of(path)] if _ROOT else []


@pytest.mark.skipif(_ROOT is None, reason="ETHEREUM_TESTS_DIR does not name a checkout of ethereum/tests")
@pytest.mark.parametrize("case", _CASES, ids=[case.id for case in _CASES])
def test_fast_loop_passes_the_consensus_tests(case) -> None:  # type: ignore[no-untyped-def]
    outcome = run_case(FastCancunState, case)
    assert (outcome.state_root.hex(), outcome.logs_hash.hex()) == (outcome.expected_root.hex(),
                                                                    outcome.expected_logs_hash.hex())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**256 - 1), st.binary(min_size=32, max_size=32),
       st.binary(min_size=32, max_size=32))
def test_hand_encoded_accounts_are_pyrlps_encoding(nonce: int, balance: int, root: bytes, code_hash: bytes) -> None:
    account = Account(nonce, balance, root, code_hash)
    assert encode_account(account) == rlp.encode(account, sedes=Account)


def test_a_block_of_token_transfers_executes_alike_on_the_fast_and_the_plain_paths() -> None:
    chain = TokenChain()
    block = [chain.transfer(k % HOLDERS, (k + 7) % HOLDERS, k + 1) for k in range(150)]
    fast = chain.execute(block, commit=False)
    executor = chain.executor
    # py-evm's own opcode loop (the call state's, without a checkpoint) and its own account database.
    executor.state_class = type("PlainState", (executor.call_state_class,), {"account_db_class": AccountDB})
    plain = chain.execute(block, commit=False)
    assert all(receipt.status == 1 for receipt in fast.receipts)
    assert (fast.state_root, fast.receipts, fast.state_writes) == (plain.state_root, plain.receipts, plain.state_writes)
