"""Calls with checkpoints: the same outcome as py-evm's own loop, and a clean stop at a deadline."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vm.execution import CallMessage, GenesisAccount
from vm.interruptible import CHECK_EVERY, CallInterrupted

CALLER = bytes.fromhex("a1" * 20)
TARGET = bytes.fromhex("c0" * 19 + "01")
LOOPER = bytes.fromhex("c0" * 19 + "02")
ENDLESS_LOOP = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP
# CALL(gas, LOOPER, 0, 0, 0, 0, 0) and return the success flag
CALLS_LOOPER = bytes.fromhex("6000600060006000600073" + LOOPER.hex() + "5af160005260206000f3")

opcode = st.integers(0, 255)
push = st.integers(1, 32).flatmap(lambda n: st.binary(min_size=n, max_size=n).map(lambda data: bytes([0x5F + n]) + data))
jump_back = st.just(bytes.fromhex("5b60005660"))  # a JUMPDEST/JUMP pair with a dangling PUSH
programs = st.lists(st.one_of(opcode.map(lambda op: bytes([op])), push, jump_back), max_size=60).map(b"".join)


def chain_with(memory_chain, code: bytes):
    return memory_chain([
        GenesisAccount(CALLER, balance=10**20),
        GenesisAccount(TARGET, code=code),
        GenesisAccount(LOOPER, code=ENDLESS_LOOP),
    ])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=programs, calldata=st.binary(max_size=64), gas=st.integers(21_000, 400_000))
def test_a_checkpointed_call_matches_the_plain_one(memory_chain, code: bytes, calldata: bytes, gas: int) -> None:
    chain = chain_with(memory_chain, code)
    env = chain.env()
    message = CallMessage(sender=CALLER, to=TARGET, data=calldata, gas=gas)
    checkpoints = []
    plain = chain.executor.call(chain.db, chain.root, env, message)
    checked = chain.executor.call(chain.db, chain.root, env, message, lambda: checkpoints.append(1))
    assert checked == plain
    steps_lower_bound = 0 if not checkpoints else CHECK_EVERY * len(checkpoints)
    assert steps_lower_bound <= gas  # every opcode costs gas: checkpoints come no faster than CHECK_EVERY opcodes


def test_a_deadline_stops_a_loop_inside_a_nested_call_and_keeps_nothing(memory_chain) -> None:
    chain = chain_with(memory_chain, CALLS_LOOPER)
    before = dict(chain.db.kv_store)
    calls = []

    def deadline() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise CallInterrupted("execution aborted (timeout = 5s)")

    message = CallMessage(sender=CALLER, to=TARGET, gas=10_000_000)
    with pytest.raises(CallInterrupted):
        chain.executor.call(chain.db, chain.root, chain.env(), message, deadline)
    assert len(calls) == 3
    assert dict(chain.db.kv_store) == before
    # Without a deadline the same call runs the inner loop out of gas and reports the failed inner call.
    outcome = chain.executor.call(chain.db, chain.root, chain.env(), message)
    assert outcome.success and outcome.output == bytes(32)


def test_estimate_gas_honours_the_checkpoint(memory_chain) -> None:
    chain = chain_with(memory_chain, ENDLESS_LOOP)

    def deadline() -> None:
        raise CallInterrupted("execution aborted (timeout = 5s)")

    with pytest.raises(CallInterrupted):
        chain.executor.estimate_gas(chain.db, chain.root, chain.env(), CallMessage(sender=CALLER, to=TARGET),
                                    cap=30_000_000, checkpoint=deadline)
