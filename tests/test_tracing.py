"""Tracing in vm: struct logs step for step against py-evm's own opcode log, call trees with
nested, reverting and native calls, prestate diffs, plain transfers, block hooks, and the bounds."""
from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_utils.logging import DEBUG2_LEVEL_NUM

from cybermiles_node.solc import compile_file
from rpc.debug import parse_duration, parse_trace_config
from rpc.errors import InvalidParams
from rpc.params import Args
from rpc.trace_format import flat_traces, format_call_trace, format_struct_trace
from tests.conftest import GWEI
from tests.dpos.harness import CMT, StakingChain, address_of, make_staking_chain, selector
from tests.test_rpc import assert_matches_component
from vm.errors import TraceLimitExceeded
from vm.execution import BlockEnv, CallMessage
from vm.interruptible import CallInterrupted
from vm.native.addresses import STAKING_ADDRESS
from vm.native.hooks import ConsensusInfo
from vm.overrides import AccountOverride, CallOverrides
from vm.tracing.calls import CallTracer
from vm.tracing.frames import CallFrame, geth_error
from vm.tracing.prestate import PrestateTracer
from vm.tracing.replay import BlockReplay, replay_block, trace_call
from vm.tracing.session import TraceSpec, TxTracers
from vm.tracing.structlog import StructLogConfig, StructLogger
from vm.tracing.tracer import FanOut

INTERFACE = Path(__file__).resolve().parents[1] / "consensus" / "dpos" / "IStaking.sol"
SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.10;
import "./IStaking.sol";

contract Callee {
    uint256 public stored;
    function put(uint256 v) external returns (uint256) { stored = v; return v * 2; }
    function fail() external pure { revert("callee says no"); }
}

contract Caller {
    IStaking constant STAKING = IStaking(0x0000000000000000000000000000000000000c02);
    Callee public callee;
    uint256 public last;
    event Done(uint256 total);

    constructor() { callee = new Callee(); }

    function run(uint256 v, address candidate) external payable returns (uint256) {
        last = callee.put(v);
        try callee.fail() {} catch {}
        uint256 total = STAKING.getSupply().total;
        if (msg.value > 0) STAKING.delegate{value: msg.value}(candidate);
        emit Done(total);
        return last;
    }

    function badNative() external { STAKING.withdraw(address(0), 1); }
}
"""


@dataclass
class TracedChain:
    """A staking chain with the Caller contract deployed, and the means to replay its latest block."""

    sc: StakingChain
    caller: bytes
    callee: bytes
    parent_root: bytes = b""
    env: BlockEnv | None = None
    txs: tuple[Any, ...] = ()

    def block(self, txs: list[Any]) -> Any:
        """Execute ``txs`` in the next block, remembering what a replay needs."""
        self.parent_root = self.sc.chain.root
        signed = [v[1] for v in self.sc.call("getValidators()", ["(address,bytes32,uint256)[]"])[0]]
        self.env = self.sc.chain.env(timestamp=self.sc.time + 10, coinbase=STAKING_ADDRESS,
                                     consensus=ConsensusInfo(signed=tuple(signed)))
        self.txs = tuple(txs)
        return self.sc.block(txs)

    def replay(self, tracer: Any, index: int = 0, **options: Any) -> BlockReplay:
        """Replay the latest block, tracing transaction ``index`` with ``tracer``."""
        assert self.env is not None
        return replay_block(self.sc.chain.executor, self.sc.chain.db, self.parent_root, self.env, self.txs,
                            lambda i: tracer if i == index else None, lambda: None, **options)

    def tx(self, data: bytes, nonce: int, value: int = 0, to: bytes | None = None, gas: int = 2_000_000) -> Any:
        """A signed transaction of the first user."""
        return self.sc.sign_tx(self.sc.users[0], nonce=nonce, to=to or self.caller, data=data, value=value, gas=gas)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("tracing")
    shutil.copy(INTERFACE, folder / "IStaking.sol")
    (folder / "Caller.sol").write_text(SOURCE)
    return compile_file(folder / "Caller.sol")["Caller"]


@pytest.fixture
def chain(compiled: Any, sign_tx: Any) -> TracedChain:
    sc = make_staking_chain(sign_tx, validators=2, users=2)
    traced = TracedChain(sc, b"", b"")
    receipt = traced.block([sign_tx(sc.users[0], nonce=0, to=b"", data=compiled.bytecode, gas=3_000_000)]).receipts[0]
    assert receipt.status == 1
    traced.caller = receipt.contract_address
    traced.callee = sc.chain.state.get_storage(traced.caller, 0).to_bytes(20, "big")
    return traced


def run_data(value: int, candidate: bytes) -> bytes:
    return selector("run(uint256,address)") + eth_abi.encode(["uint256", "address"], [value, candidate])


def shape(frame: CallFrame) -> tuple[Any, ...]:
    return (frame.call_type, frame.to, frame.error is not None, tuple(shape(call) for call in frame.calls))


def test_call_tree_of_a_contract_calling_a_contract_and_the_staking_contract(chain: TracedChain) -> None:
    candidate = chain.sc.owners[0]
    receipt = chain.block([chain.tx(run_data(21, address_of(candidate)), 1, value=1_000 * CMT)]).receipts[0]
    assert receipt.status == 1
    tracer = CallTracer(with_logs=True)
    replay = chain.replay(tracer)
    traced = replay.transactions[0]
    assert traced.gas_used == receipt.gas_used and traced.success
    root = tracer.root
    assert root is not None
    assert shape(root) == ("CALL", chain.caller, False, (
        ("CALL", chain.callee, False, ()),
        ("STATICCALL", chain.callee, True, ()),  # fail() is pure
        ("STATICCALL", STAKING_ADDRESS, False, ()),
        ("CALL", STAKING_ADDRESS, False, ()),
    ))
    put, fail, supply, delegate = root.calls
    assert put.input[:4] == selector("put(uint256)") and eth_abi.decode(["uint256"], put.output) == (42,)
    assert fail.reverted and eth_abi.decode(["string"], fail.output[4:]) == ("callee says no",)
    assert supply.sender == chain.caller and supply.input == selector("getSupply()") and len(supply.output) == 9 * 32
    assert delegate.value == 1_000 * CMT and delegate.gas_used > 0
    assert delegate.input == selector("delegate(address)") + eth_abi.encode(["address"], [address_of(candidate)])
    assert [position for position, _ in root.logs] == [4]  # emitted after the four calls
    assert len(delegate.logs) == 1 and delegate.logs[0][1].address == STAKING_ADDRESS  # the native event


def test_a_native_contract_revert_shows_its_reason(chain: TracedChain) -> None:
    chain.block([chain.tx(selector("badNative()"), 1)])
    tracer = CallTracer()
    chain.replay(tracer)
    assert tracer.root is not None and tracer.root.reverted
    (native,) = tracer.root.calls
    assert native.to == STAKING_ADDRESS and native.reverted
    assert native.output[:4] == bytes.fromhex("08c379a0") and b"" != native.output[4:]


def test_a_plain_transfer_is_one_call_frame(chain: TracedChain) -> None:
    recipient = b"\x77" * 20
    receipt = chain.block([chain.tx(b"", 1, value=5, to=recipient)]).receipts[0]
    tracer = CallTracer()
    logger = StructLogger()
    chain.replay(tracer)
    chain.replay(logger)
    assert tracer.root is not None and shape(tracer.root) == ("CALL", recipient, False, ())
    assert tracer.root.value == 5 and receipt.gas_used == 21_000
    assert logger.logs == []


class OpcodeLog(logging.Handler):
    """py-evm's own DEBUG2 opcode log: (pc, opcode name, stack) per executed opcode."""

    LINE = re.compile(r"OPCODE: 0x([0-9a-f]+) \((\w+)\) \| pc: (\d+) \| stack: (.*)$")

    def __init__(self) -> None:
        super().__init__(level=DEBUG2_LEVEL_NUM)
        self.steps: list[tuple[int, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = self.LINE.search(record.getMessage())
        if match:
            self.steps.append((int(match.group(3)), int(match.group(1), 16), match.group(4)))


def test_struct_logs_match_py_evm_step_for_step(chain: TracedChain) -> None:
    candidate = chain.sc.owners[0]
    receipt = chain.block([chain.tx(run_data(7, address_of(candidate)), 1, value=10 * CMT)]).receipts[0]
    logger = StructLogger(StructLogConfig(enable_memory=True, enable_return_data=True))
    handler = OpcodeLog()
    computation_logger = logging.getLogger("eth.vm.computation.BaseComputation")
    saved = computation_logger.level
    computation_logger.addHandler(handler)
    computation_logger.setLevel(DEBUG2_LEVEL_NUM)
    forget_debug2_cache(computation_logger)
    try:
        replay = chain.replay(logger)
    finally:
        computation_logger.removeHandler(handler)
        computation_logger.setLevel(saved)
        forget_debug2_cache(computation_logger)
    assert replay.transactions[0].gas_used == receipt.gas_used
    logs = logger.logs
    assert len(logs) > 500 and len(logs) == len(handler.steps)
    for entry, (pc, opcode, stack_text) in zip(logs, handler.steps, strict=True):
        assert entry.pc == pc
        assert entry.op == {"SHA3": "KECCAK256"}.get(opcode_mnemonic(opcode), opcode_mnemonic(opcode))
        assert entry.stack == tuple(int(word or "0", 16) for word in re.findall(r"'0x([0-9a-f]*)'", stack_text))
    # gas accounting: within a frame each step's gas is the previous step's gas minus its cost
    for before, after in zip(logs, logs[1:]):
        if before.depth == after.depth and before.op not in ("CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"):
            assert after.gas == before.gas - before.gas_cost, (before, after)
    depths = {entry.depth for entry in logs}
    assert depths == {1, 2}  # the native contract runs no opcodes: only Caller and Callee steps
    sstores = [entry for entry in logs if entry.op == "SSTORE"]
    assert sstores and all(entry.storage for entry in sstores)
    assert any(entry.memory for entry in logs) and any(entry.return_data for entry in logs)


def forget_debug2_cache(logger: logging.Logger) -> None:
    """py-evm's logger caches whether DEBUG2 is on (and replaces ``debug2`` by a no-op): forget both."""
    logger.__dict__.pop("show_debug2", None)
    logger.__dict__.pop("debug2", None)


def opcode_mnemonic(opcode: int) -> str:
    from eth.vm.forks.prague.computation import PragueComputation
    implementation = PragueComputation.opcodes[opcode]
    return getattr(implementation, "mnemonic", None) or implementation.__wrapped__.mnemonic


def test_prestate_diff_of_a_transaction_and_the_block_hooks_effects(chain: TracedChain) -> None:
    user = address_of(chain.sc.users[0])
    chain.block([chain.tx(run_data(9, address_of(chain.sc.owners[0])), 1, value=1_000 * CMT)])
    tracer = PrestateTracer()
    replay = chain.replay(tracer, with_hooks=True)
    diff = tracer.changes
    assert diff is not None
    assert diff.post[user].nonce == diff.pre[user].nonce + 1
    assert diff.post[user].balance is not None and diff.post[user].balance < diff.pre[user].balance
    assert diff.post[chain.callee].storage == {0: 9} and diff.pre[chain.callee].storage == {0: 0}
    assert diff.post[chain.caller].storage[1] == 18  # last = put(9)
    staking = diff.post[STAKING_ADDRESS]
    assert staking.balance is not None  # the delegated value, and the priority fee (staking is the coinbase)
    assert 0 < staking.balance - diff.pre[STAKING_ADDRESS].balance - 1_000 * CMT < receipt_fee_bound()
    assert staking.storage  # the native contract's own storage writes are seen too
    assert STAKING_ADDRESS in tracer.accounts and tracer.accounts[user].nonce == 1
    phases = [effects.phase for effects in replay.hooks]
    assert phases == ["begin_block", "end_block"]
    minted = [effects.diff.post[STAKING_ADDRESS].balance for effects in replay.hooks
              if STAKING_ADDRESS in effects.diff.post]
    assert minted, "the block award is minted into the staking contract by a hook"


def test_a_traced_call_shows_the_same_tree_as_the_transaction(chain: TracedChain) -> None:
    data = run_data(3, address_of(chain.sc.owners[0]))
    message = CallMessage(sender=address_of(chain.sc.users[0]), to=chain.caller, data=data, gas=2_000_000)
    tracer = CallTracer()
    sc = chain.sc
    outcome = trace_call(sc.chain.executor, sc.chain.db, sc.chain.root, sc.chain.env(timestamp=sc.time + 10),
                         message, tracer, lambda: None)
    assert outcome.success and eth_abi.decode(["uint256"], outcome.output) == (6,)
    assert tracer.root is not None and [call.to for call in tracer.root.calls] == [
        chain.callee, chain.callee, STAKING_ADDRESS]


def receipt_fee_bound() -> int:
    return 2_000_000 * 10 * GWEI


LOOP_RUNTIME = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP
LOOP_INIT = bytes.fromhex("63") + LOOP_RUNTIME + bytes.fromhex("6000526004601cf3")


def test_bounds_steps_size_and_deadline(chain: TracedChain, sign_tx: Any) -> None:
    sc = chain.sc
    deploy = sign_tx(sc.users[1], nonce=0, to=b"", data=LOOP_INIT, gas=200_000)
    receipt = chain.block([deploy]).receipts[0]
    loop = receipt.contract_address
    chain.block([sign_tx(sc.users[1], nonce=1, to=loop, data=b"", gas=1_000_000)])
    limited = StructLogger(StructLogConfig(limit=10))
    chain.replay(limited)
    assert len(limited.logs) == 10
    with pytest.raises(TraceLimitExceeded, match="struct logs exceed 100000 bytes"):
        chain.replay(StructLogger(StructLogConfig(max_bytes=100_000)))
    calls = 0

    def deadline() -> None:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise CallInterrupted("execution aborted (timeout = 5s)")

    assert chain.env is not None
    with pytest.raises(CallInterrupted):
        replay_block(sc.chain.executor, sc.chain.db, chain.parent_root, chain.env, chain.txs,
                     lambda index: CallTracer(), deadline)
    assert calls == 4  # stopped inside the loop, at the first checkpoint past the deadline
    finished = replay_block(sc.chain.executor, sc.chain.db, chain.parent_root, chain.env, chain.txs,
                            lambda index: CallTracer(), lambda: None)
    assert not finished.transactions[0].success  # without a deadline it runs out of gas, as in the block


def test_rpc_shapes_struct_logs_validate_against_execution_apis_and_call_frames_carry_reasons(
        chain: TracedChain) -> None:
    receipt = chain.block([chain.tx(run_data(4, address_of(chain.sc.owners[0])), 1, value=1_000 * CMT)]).receipts[0]
    logger = StructLogger(StructLogConfig(enable_memory=True, enable_return_data=True))
    traced = chain.replay(logger).transactions[0]
    result = format_struct_trace(logger.result(traced.gas_used, not traced.success, traced.output))
    assert_matches_component("OpcodeTransactionTrace", result)
    assert result["gas"] == receipt.gas_used and result["returnValue"] == "0x" + eth_abi.encode(["uint256"], [8]).hex()
    sload = next(entry for entry in result["structLogs"] if entry["op"] == "SLOAD")
    assert all(len(key) == 66 for key in sload["storage"])
    session = TxTracers(TraceSpec(kind="call", with_logs=True))
    traced = chain.replay(session.tracer).transactions[0]
    tree = format_call_trace(session.of(traced))
    assert tree["gasUsed"] == hex(receipt.gas_used) and tree["type"] == "CALL"
    assert tree["calls"][1]["revertReason"] == "callee says no" and "value" not in tree["calls"][1]
    assert tree["logs"][0]["position"] == "0x4"
    flat = flat_traces(session.of(traced).call, {})  # type: ignore[arg-type]
    assert [t["traceAddress"] for t in flat] == [[], [0], [1], [2], [3]]
    assert flat[2]["error"] == "Reverted" and flat[3]["action"]["callType"] == "staticcall"


@pytest.mark.parametrize(("config", "message"), [
    ({"timeout": "5 s"}, 'invalid argument 1: time: invalid duration "5 s"'),
    ({"tracer": 5}, "invalid argument 1: json: cannot unmarshal number into Go struct field TraceConfig.tracer "
                    "of type string"),
    ({"tracer": "{step: function() {}}"}, "invalid argument 1: tracer not found"),
    ({"tracer": "callTracer", "tracerConfig": {"onlyTopCall": "yes"}},
     "invalid argument 1: json: cannot unmarshal string into Go struct field tracerConfig.onlyTopCall of type bool"),
    ({"limit": -1}, "invalid argument 1: json: cannot unmarshal number into Go struct field TraceConfig.limit"),
    ([], "invalid argument 1: json: cannot unmarshal array into Go value of type tracers.TraceConfig"),
])
def test_bad_trace_configs_get_invalid_params_in_geths_words(config: Any, message: str) -> None:
    with pytest.raises(InvalidParams) as raised:
        Args(["0x" + "00" * 32, config], 1, 2).optional(1, parse_trace_config, TraceSpec())
    assert raised.value.code == -32602 and raised.value.message.startswith(message)


def test_trace_config_options_and_durations() -> None:
    spec = parse_trace_config({"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}, "timeout": "1m30s"})
    assert spec.kind == "prestate" and spec.diff_mode and spec.timeout_seconds == 60.0  # capped
    spec = parse_trace_config({"enableMemory": True, "disableStack": True, "limit": 7, "timeout": "250ms"})
    assert spec.struct == StructLogConfig(enable_memory=True, disable_stack=True, limit=7)
    assert spec.timeout_seconds == 0.25 and parse_duration("1.5h") == 5400.0


def test_failed_opcodes_are_worded_as_geth_words_them(chain: TracedChain) -> None:
    target = b"\x42" * 20
    overrides = CallOverrides(state=((target, AccountOverride(code=bytes.fromhex("6001fe"))),))  # PUSH1 1 INVALID
    message = CallMessage(sender=address_of(chain.sc.users[0]), to=target, gas=100_000)
    sc = chain.sc
    session = TxTracers(TraceSpec(kind="struct"))
    calls = CallTracer()
    tracer = FanOut([session.tracer, calls])
    outcome = trace_call(sc.chain.executor, sc.chain.db, sc.chain.root, sc.chain.env(), message, tracer, lambda: None,
                         overrides)
    assert not outcome.success and outcome.gas_used == 100_000
    assert session.struct is not None
    assert [(e.op, e.error) for e in session.struct.logs] == [("PUSH1", None), ("INVALID", "invalid opcode: INVALID")]
    assert calls.root is not None and calls.root.error is not None
    assert geth_error(calls.root.error) == "invalid opcode: INVALID"
