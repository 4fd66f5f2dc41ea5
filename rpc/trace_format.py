"""JSON shapes of traces: geth's struct logger, ``callTracer`` and ``prestateTracer``, and Parity's ``trace_*``.

geth shapes follow ``eth/tracers/logger`` and ``eth/tracers/native`` (and the
execution-apis ``OpcodeTransactionTrace`` schema); Parity shapes follow
OpenEthereum's ``trace`` module as Erigon serves it.
"""
from __future__ import annotations

from typing import Any

from rpc.errors import decode_revert_reason
from rpc.formatting import data, quantity
from vm.tracing.frames import CallFrame, geth_error, parity_error
from vm.tracing.prestate import AccountState, StateDiff
from vm.tracing.replay import HookEffects
from vm.tracing.session import TransactionTrace
from vm.tracing.structlog import StructLog, StructTrace


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def format_struct_log(entry: StructLog) -> dict[str, Any]:
    """One struct-log entry (``StructLog`` of the execution-apis)."""
    result: dict[str, Any] = {"pc": entry.pc, "op": entry.op, "gas": entry.gas, "gasCost": entry.gas_cost,
                              "depth": entry.depth, "refund": entry.refund}
    if entry.error is not None:
        result["error"] = entry.error
    if entry.stack is not None:
        result["stack"] = [hex(value) for value in entry.stack]
    if entry.memory is not None:
        result["memory"] = ["0x" + entry.memory[i:i + 32].hex() for i in range(0, len(entry.memory), 32)]
    if entry.return_data is not None:
        result["returnData"] = data(entry.return_data)
    if entry.storage is not None:
        result["storage"] = {_word(slot): _word(value) for slot, value in entry.storage.items()}
    return result


def format_struct_trace(trace: StructTrace) -> dict[str, Any]:
    """geth's struct-logger result (``OpcodeTransactionTrace``)."""
    return {"gas": trace.gas, "failed": trace.failed, "returnValue": data(trace.return_value),
            "structLogs": [format_struct_log(entry) for entry in trace.logs]}


def format_call_frame(frame: CallFrame, *, only_top_call: bool = False) -> dict[str, Any]:
    """A ``callTracer`` frame and, unless ``only_top_call``, its callees."""
    result: dict[str, Any] = {
        "from": data(frame.sender), "gas": quantity(frame.gas), "gasUsed": quantity(frame.gas_used),
        "to": data(frame.to), "input": data(frame.input),
    }
    if frame.output:
        result["output"] = data(frame.output)
    if frame.error is not None:
        result["error"] = geth_error(frame.error)
        reason = decode_revert_reason(frame.output) if frame.reverted else None
        if reason is not None:
            result["revertReason"] = reason
    if frame.logs:
        result["logs"] = [{"address": data(log.address), "topics": [data(t) for t in log.topics],
                           "data": data(log.data), "position": quantity(position)} for position, log in frame.logs]
    if frame.call_type != "STATICCALL":
        result["value"] = quantity(frame.value)
    result["type"] = frame.call_type
    if frame.calls and not only_top_call:
        result["calls"] = [format_call_frame(call) for call in frame.calls]
    return result


def format_call_trace(trace: TransactionTrace, *, only_top_call: bool = False) -> dict[str, Any]:
    """A transaction's ``callTracer`` result: the top frame carries the transaction's gas and gas used."""
    assert trace.call is not None
    result = format_call_frame(trace.call, only_top_call=only_top_call)
    result["gas"] = quantity(trace.gas)
    result["gasUsed"] = quantity(trace.gas_used)
    return result


def _account(state: AccountState) -> dict[str, Any]:
    result: dict[str, Any] = {"balance": quantity(state.balance)}
    if state.nonce:
        result["nonce"] = state.nonce
    if state.code:
        result["code"] = data(state.code)
    if state.storage:
        result["storage"] = {_word(slot): _word(value) for slot, value in state.storage.items()}
    return result


def format_prestate(accounts: dict[bytes, AccountState]) -> dict[str, Any]:
    """``prestateTracer``: every touched account as it was before the transaction."""
    return {data(address): _account(state) for address, state in accounts.items()}


def format_state_diff(diff: StateDiff) -> dict[str, Any]:
    """``prestateTracer`` with ``diffMode``: ``pre`` and ``post`` of what changed."""
    post: dict[str, Any] = {}
    for address, change in diff.post.items():
        entry: dict[str, Any] = {}
        if change.balance is not None:
            entry["balance"] = quantity(change.balance)
        if change.nonce is not None:
            entry["nonce"] = change.nonce
        if change.code is not None:
            entry["code"] = data(change.code)
        if change.storage:
            entry["storage"] = {_word(slot): _word(value) for slot, value in change.storage.items()}
        post[data(address)] = entry
    return {"pre": format_prestate(diff.pre), "post": post}


# -- Parity style ------------------------------------------------------------------------------


def flat_traces(frame: CallFrame, context: dict[str, Any], address: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Parity's flat list for ``frame``'s tree, depth first; ``context`` adds block and transaction fields."""
    creates = frame.call_type in ("CREATE", "CREATE2")
    trace: dict[str, Any] = {}
    if creates:
        trace["action"] = {"from": data(frame.sender), "gas": quantity(frame.gas), "init": data(frame.input),
                           "value": quantity(frame.value), "creationMethod": frame.call_type.lower()}
    else:
        trace["action"] = {"from": data(frame.sender), "callType": frame.call_type.lower(),
                           "gas": quantity(frame.gas), "input": data(frame.input), "to": data(frame.to),
                           "value": quantity(0 if frame.call_type == "STATICCALL" else frame.value)}
    trace.update(context)
    if frame.error is not None:
        trace["error"] = parity_error(frame.error)
        trace["result"] = None
    elif creates:
        trace["result"] = {"address": data(frame.to), "code": data(frame.output), "gasUsed": quantity(frame.gas_used)}
    else:
        trace["result"] = {"gasUsed": quantity(frame.gas_used), "output": data(frame.output)}
    trace["subtraces"] = len(frame.calls)
    trace["traceAddress"] = list(address)
    trace["type"] = "create" if creates else "call"
    traces = [trace]
    for position, call in enumerate(frame.calls):
        traces.extend(flat_traces(call, context, (*address, position)))
    return traces


def _change(before: Any, after: Any, encode: Any) -> Any:
    return "=" if before == after else {"*": {"from": encode(before), "to": encode(after)}}


def parity_state_diff(diff: StateDiff) -> dict[str, Any]:
    """Parity's ``stateDiff``: per account ``+`` (created), ``-`` (removed) or per field ``=`` / ``*``."""
    result: dict[str, Any] = {}
    for address in sorted({*diff.pre, *diff.post}):
        before, change = diff.pre.get(address), diff.post.get(address)
        if before is None and change is not None:
            result[data(address)] = {
                "balance": {"+": quantity(change.balance or 0)}, "nonce": {"+": quantity(change.nonce or 0)},
                "code": {"+": data(change.code or b"")},
                "storage": {_word(slot): {"+": _word(value)} for slot, value in change.storage.items()},
            }
        elif before is not None and change is None:
            result[data(address)] = {
                "balance": {"-": quantity(before.balance)}, "nonce": {"-": quantity(before.nonce)},
                "code": {"-": data(before.code)},
                "storage": {_word(slot): {"-": _word(value)} for slot, value in before.storage.items()},
            }
        elif before is not None and change is not None:
            after_balance = before.balance if change.balance is None else change.balance
            after_nonce = before.nonce if change.nonce is None else change.nonce
            after_code = before.code if change.code is None else change.code
            result[data(address)] = {
                "balance": _change(before.balance, after_balance, quantity),
                "nonce": _change(before.nonce, after_nonce, quantity),
                "code": _change(before.code, after_code, data),
                "storage": {_word(slot): {"*": {"from": _word(value), "to": _word(change.storage.get(slot, 0))}}
                            for slot, value in before.storage.items()},
            }
    return result


def reward_traces(hooks: tuple[HookEffects, ...], context: dict[str, Any]) -> list[dict[str, Any]]:
    """One Parity ``reward`` trace per account whose balance a block hook raised (in hook order)."""
    traces = []
    for effects in hooks:
        for address, change in effects.diff.post.items():
            before = effects.diff.pre.get(address)
            previous = before.balance if before is not None else 0
            if change.balance is None or change.balance <= previous:
                continue
            reward = quantity(change.balance - previous)
            traces.append({
                "action": {"author": data(address), "rewardType": "block", "value": reward},
                **context, "result": None, "subtraces": 0, "traceAddress": [], "type": "reward",
            })
    return traces
