"""``eth_simulateV1``: a sequence of blocks of calls with state and block overrides, run and thrown away.

The payload and answer follow the execution-apis ``EthSimulatePayload`` and
``EthSimulateResult``. Bounds: at most ``vm.simulation.MAX_SIMULATED_BLOCKS``
blocks (gaps included) and ``MAX_SIMULATED_CALLS`` calls, all within the
node's call deadline. A call that cannot start fails the whole request with
geth's simulation error codes (-380xx); a call that reverts or fails is
reported in its block (code 3 or -32015) and the simulation goes on.
``traceTransfers`` adds, for each call that moves value, an ERC-20 style
``Transfer`` log from ``0xeeee…eeee`` (the top-level transfer only; value
moved by inner calls is not traced). Transactions are listed by their
synthetic hashes even with ``returnFullTransactions``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_hash.auto import keccak

from consensus.types import EMPTY_OMMERS_HASH
from rpc.backend import SimulatedBlockRequest, SimulationRequest
from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import ExecutionReverted, RPCError
from rpc.formatting import EMPTY_NONCE, data, quantity
from rpc.params import (
    LATEST,
    Args,
    ParamError,
    brief,
    optional_field,
    parse_block_overrides,
    parse_block_ref,
    parse_bool,
    parse_call_request,
    parse_state_overrides,
)
from vm.receipts import Log, logs_bloom
from vm.simulation import MAX_SIMULATED_BLOCKS, MAX_SIMULATED_CALLS, SimulatedBlock, SimulatedCall, SimulationError
from vm.trie_root import BLANK_ROOT_HASH

TRANSFER_LOG_ADDRESS = b"\xee" * 20
TRANSFER_TOPIC = keccak(b"Transfer(address,address,uint256)")
VM_ERROR_CODE = -32015

_ERROR_CODES = (
    ("nonce too low", -38010),
    ("nonce", -38011),
    ("base fee", -38012),
    ("max fee per gas", -38012),
    ("intrinsic gas", -38013),
    ("insufficient funds", -38014),
    ("block gas limit", -38015),
    ("block numbers", -38020),
    ("block timestamps", -38021),
    ("too many", -38026),
)
"""geth's simulation error codes by what the reason says (first match wins); else -32602."""


class SimulateAPI:
    """The handler of ``eth_simulateV1``."""

    def __init__(self, chain: ChainReader) -> None:
        self.chain = chain
        self.backend = chain.backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"eth_simulateV1": self.simulate}

    async def simulate(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``eth_simulateV1``: ``[payload, block?]``."""
        args = Args(params, 1, 2)
        request = args.get(0, parse_simulation)
        height = await self.chain.state_height(args.optional(1, parse_block_ref, LATEST))
        try:
            blocks = await self.backend.simulate(request, height)
        except SimulationError as exc:
            raise RPCError(str(exc), code=_error_code(exc.reason)) from None
        return [format_simulated_block(block, request.trace_transfers) for block in blocks]


def parse_simulation(value: Any) -> SimulationRequest:
    """An ``EthSimulatePayload``."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {brief(value)} into a simulation payload")
    unknown = sorted(set(value) - {"blockStateCalls", "traceTransfers", "validation", "returnFullTransactions"})
    if unknown:
        raise ParamError(f"unknown field {brief(unknown[0])}")
    blocks = value.get("blockStateCalls")
    if not isinstance(blocks, list):
        raise ParamError("blockStateCalls: must be an array")
    if len(blocks) > MAX_SIMULATED_BLOCKS:
        raise ParamError(f"too many blocks: {len(blocks)}, at most {MAX_SIMULATED_BLOCKS}")
    parsed = tuple(_block_request(index, block) for index, block in enumerate(blocks))
    calls = sum(len(block.calls) for block in parsed)
    if calls > MAX_SIMULATED_CALLS:
        raise ParamError(f"too many calls: {calls}, at most {MAX_SIMULATED_CALLS}")
    flags = {name: optional_field(value, name, parse_bool) or False
             for name in ("validation", "traceTransfers", "returnFullTransactions")}
    return SimulationRequest(parsed, validation=flags["validation"], trace_transfers=flags["traceTransfers"])


def _block_request(index: int, value: Any) -> SimulatedBlockRequest:
    if not isinstance(value, dict):
        raise ParamError(f"blockStateCalls[{index}]: cannot unmarshal {brief(value)} into a block")
    unknown = sorted(set(value) - {"blockOverrides", "stateOverrides", "calls"})
    if unknown:
        raise ParamError(f"blockStateCalls[{index}]: unknown field {brief(unknown[0])}")
    calls = value.get("calls") or []
    if not isinstance(calls, list):
        raise ParamError(f"blockStateCalls[{index}].calls: must be an array")
    try:
        block = optional_field(value, "blockOverrides", parse_block_overrides)
        state = optional_field(value, "stateOverrides", parse_state_overrides) or ()
        parsed_calls = []
        for position, call in enumerate(calls):
            try:
                parsed_calls.append(parse_call_request(call))
            except ParamError as exc:
                raise ParamError(f"calls[{position}]: {exc}") from None
    except ParamError as exc:
        raise ParamError(f"blockStateCalls[{index}]: {exc}") from None
    return SimulatedBlockRequest(block, state, tuple(parsed_calls))


def _error_code(reason: str) -> int:
    lowered = reason.lower()
    return next((code for words, code in _ERROR_CODES if words in lowered), -32602)


def format_simulated_block(block: SimulatedBlock, trace_transfers: bool) -> dict[str, Any]:
    """A simulated block as a block object (transaction hashes) with its ``calls`` results."""
    env = block.env
    calls = []
    all_logs: list[Log] = []
    for index, call in enumerate(block.calls):
        logs = _call_logs(call, trace_transfers)
        calls.append(_format_call(call, logs, block, index, len(all_logs)))
        all_logs.extend(logs)
    return {
        "hash": data(block.hash),
        "parentHash": data(block.parent_hash),
        "sha3Uncles": data(EMPTY_OMMERS_HASH),
        "miner": data(env.coinbase),
        "stateRoot": data(block.state_root),
        "transactionsRoot": data(BLANK_ROOT_HASH),
        "receiptsRoot": data(BLANK_ROOT_HASH),
        "logsBloom": data(logs_bloom(all_logs).to_bytes(256, "big")),
        "difficulty": "0x0",
        "number": quantity(env.number),
        "gasLimit": quantity(env.gas_limit),
        "gasUsed": quantity(block.gas_used),
        "timestamp": quantity(env.timestamp),
        "extraData": "0x",
        "mixHash": data(env.prev_randao),
        "nonce": EMPTY_NONCE,
        "baseFeePerGas": quantity(env.base_fee),
        "size": "0x0",
        "transactions": [data(call.tx_hash) for call in block.calls],
        "uncles": [],
        "calls": calls,
    }


def _call_logs(call: SimulatedCall, trace_transfers: bool) -> Sequence[Log]:
    """The logs a call's result lists: its own (when it succeeded), after its traced transfer."""
    if not call.outcome.success:
        return ()
    message = call.message
    if trace_transfers and message.value > 0 and message.to is not None:
        transfer = Log(
            address=TRANSFER_LOG_ADDRESS,
            topics=(TRANSFER_TOPIC, message.sender.rjust(32, b"\x00"), message.to.rjust(32, b"\x00")),
            data=message.value.to_bytes(32, "big"),
        )
        return (transfer, *call.outcome.logs)
    return call.outcome.logs


def _format_call(call: SimulatedCall, logs: Sequence[Log], block: SimulatedBlock, index: int,
                 first_log_index: int) -> dict[str, Any]:
    outcome = call.outcome
    result: dict[str, Any] = {
        "status": "0x1" if outcome.success else "0x0",
        "returnData": data(outcome.output),
        "gasUsed": quantity(outcome.gas_used),
    }
    if outcome.success:
        result["logs"] = [
            {
                "address": data(log.address),
                "topics": [data(topic) for topic in log.topics],
                "data": data(log.data),
                "blockNumber": quantity(block.env.number),
                "blockHash": data(block.hash),
                "blockTimestamp": quantity(block.env.timestamp),
                "transactionHash": data(call.tx_hash),
                "transactionIndex": quantity(index),
                "logIndex": quantity(first_log_index + position),
                "removed": False,
            }
            for position, log in enumerate(logs)
        ]
    elif outcome.error == "execution reverted":
        reverted = ExecutionReverted(outcome.output)
        result["error"] = {"code": reverted.code, "message": reverted.message, "data": reverted.data}
    else:
        result["error"] = {"code": VM_ERROR_CODE, "message": f"vm execution error: {outcome.error}"}
    return result
