"""The ``debug_trace*`` methods: geth's transaction, call and block tracing.

``debug_traceTransaction``, ``debug_traceCall``, ``debug_traceBlockByNumber``
and ``debug_traceBlockByHash`` take geth's ``TraceConfig``: no ``tracer`` (the
struct logger, with ``enableMemory``, ``disableStack``, ``disableStorage``,
``enableReturnData``, ``limit``), ``callTracer`` (``tracerConfig``:
``onlyTopCall``, ``withLog``), ``prestateTracer`` (``diffMode``) or
``noopTracer``; ``timeout`` is a Go duration (``"5s"``, ``"300ms"``), 5 s by
default and at most ``MAX_TIMEOUT_SECONDS``. JavaScript tracers are not
supported.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import ServerError
from rpc.params import Args, ParamError, _json_type, parse_block_ref, parse_call_request, parse_hash
from rpc.trace_format import format_call_trace, format_prestate, format_state_diff, format_struct_trace
from vm.tracing.session import BlockTraces, TraceSpec, TransactionTrace
from vm.tracing.structlog import StructLogConfig

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 60.0
TRACERS = {"": "struct", "callTracer": "call", "prestateTracer": "prestate", "noopTracer": "noop"}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_CONFIG_FIELDS = {
    "tracer": str, "tracerConfig": dict, "timeout": str, "enableMemory": bool, "disableStack": bool,
    "disableStorage": bool, "enableReturnData": bool, "limit": int, "debug": bool, "reexec": int,
    "stateOverrides": dict, "blockOverrides": dict,
}
_TRACER_CONFIG_FIELDS = {"onlyTopCall": bool, "withLog": bool, "diffMode": bool, "disableCode": bool,
                         "disableStorage": bool}
_GO_TYPES = {str: "string", dict: "object", bool: "bool", int: "int"}


def parse_duration(value: str) -> float:
    """A Go duration (``"5s"``, ``"1m30s"``, ``"250ms"``) in seconds; ``time: invalid duration`` otherwise."""
    position, total = 0, 0.0
    text = value[1:] if value.startswith("+") else value
    if not text:
        raise ParamError(f'time: invalid duration "{value}"')
    if text == "0":
        return 0.0
    while position < len(text):
        match = _DURATION.match(text, position)
        if match is None:
            raise ParamError(f'time: invalid duration "{value}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total


def _checked(value: dict[str, Any], fields: Mapping[str, type], struct: str) -> None:
    for name, kind in fields.items():
        item = value.get(name)
        if item is None:
            continue
        wrong = isinstance(item, bool) != (kind is bool) or not isinstance(item, kind)
        if kind is int and isinstance(item, float) and item.is_integer():
            wrong = False
        if wrong or (kind is int and item < 0):
            raise ParamError(f"json: cannot unmarshal {_json_type(item)} into Go struct field {struct}.{name} "
                             f"of type {_GO_TYPES[kind]}")


def parse_trace_config(value: Any) -> TraceSpec:
    """geth's ``TraceConfig`` object as a ``TraceSpec``."""
    if not isinstance(value, dict):
        raise ParamError(f"json: cannot unmarshal {_json_type(value)} into Go value of type tracers.TraceConfig")
    _checked(value, _CONFIG_FIELDS, "TraceConfig")
    name = value.get("tracer") or ""
    if name not in TRACERS:
        raise ParamError(f"tracer not found: {name!r} (built-in: callTracer, prestateTracer, noopTracer, "
                         "or none for the struct logger; JavaScript tracers are not supported)")
    tracer_config = value.get("tracerConfig") or {}
    _checked(tracer_config, _TRACER_CONFIG_FIELDS, "tracerConfig")
    timeout = DEFAULT_TIMEOUT_SECONDS
    if value.get("timeout") is not None:
        timeout = min(parse_duration(value["timeout"]), MAX_TIMEOUT_SECONDS)
    struct = StructLogConfig(
        enable_memory=bool(value.get("enableMemory")), disable_stack=bool(value.get("disableStack")),
        disable_storage=bool(value.get("disableStorage")), enable_return_data=bool(value.get("enableReturnData")),
        limit=int(value.get("limit") or 0),
    )
    return TraceSpec(
        kind=TRACERS[name], struct=struct, with_logs=bool(tracer_config.get("withLog")),
        only_top_call=bool(tracer_config.get("onlyTopCall")), diff_mode=bool(tracer_config.get("diffMode")),
        timeout_seconds=timeout,
    )


DEFAULT_SPEC = TraceSpec()


def format_trace(trace: TransactionTrace, spec: TraceSpec) -> Any:
    """The result of one traced transaction or call for the tracer of ``spec``."""
    if spec.kind == "struct":
        assert trace.struct is not None
        return format_struct_trace(trace.struct)
    if spec.kind == "call":
        return format_call_trace(trace, only_top_call=spec.only_top_call)
    if spec.kind == "prestate":
        if spec.diff_mode:
            assert trace.diff is not None
            return format_state_diff(trace.diff)
        return format_prestate(trace.prestate or {})
    return {}


def _backend_spec(spec: TraceSpec) -> TraceSpec:
    """The noop tracer still runs the transaction (it may fail or time out) but records nothing."""
    return replace(spec, kind="call") if spec.kind == "noop" else spec


class DebugAPI:
    """Handlers of the ``debug_trace*`` methods."""

    def __init__(self, chain: ChainReader) -> None:
        self.chain = chain
        self.backend = chain.backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "debug_traceTransaction": self.trace_transaction,
            "debug_traceCall": self.trace_call,
            "debug_traceBlockByNumber": self.trace_block_by_number,
            "debug_traceBlockByHash": self.trace_block_by_hash,
        }

    async def trace_transaction(self, params: Any, connection: Any) -> Any:
        """``debug_traceTransaction``: replay the transaction's block up to it and trace it."""
        args = Args(params, 1, 2)
        tx_hash = args.get(0, parse_hash)
        spec = args.optional(1, parse_trace_config, DEFAULT_SPEC)
        traces = await self.backend.trace_transaction(tx_hash, _backend_spec(spec))
        if traces is None or not traces.transactions:
            raise ServerError("transaction not found")
        return format_trace(traces.transactions[0], spec)

    async def trace_call(self, params: Any, connection: Any) -> Any:
        """``debug_traceCall``: trace a call on the state of a block."""
        args = Args(params, 1, 3)
        request = args.get(0, parse_call_request)
        height = await self.chain.state_height(args.optional(1, parse_block_ref, parse_block_ref("latest")))
        spec = args.optional(2, parse_trace_config, DEFAULT_SPEC)
        return format_trace(await self.backend.trace_call(request, height, _backend_spec(spec)), spec)

    async def trace_block_by_number(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``debug_traceBlockByNumber``: every transaction of the block, as ``{txHash, result}``."""
        args = Args(params, 1, 2)
        ref = args.get(0, lambda value: parse_block_ref(value, allow_hash=False))
        height = await self.chain.height_of(ref)
        if height is None:
            raise ServerError(f"block #{ref.number} not found")
        spec = args.optional(1, parse_trace_config, DEFAULT_SPEC)
        return self._block_result(await self.backend.trace_block(height, _backend_spec(spec)), spec)

    async def trace_block_by_hash(self, params: Any, connection: Any) -> list[dict[str, Any]]:
        """``debug_traceBlockByHash``."""
        args = Args(params, 1, 2)
        block_hash = args.get(0, parse_hash)
        block = await self.backend.get_block_by_hash(block_hash)
        if block is None:
            raise ServerError(f"block 0x{block_hash.hex()} not found")
        spec = args.optional(1, parse_trace_config, DEFAULT_SPEC)
        return self._block_result(await self.backend.trace_block(block.number, _backend_spec(spec)), spec)

    @staticmethod
    def _block_result(traces: BlockTraces, spec: TraceSpec) -> list[dict[str, Any]]:
        return [{"txHash": "0x" + trace.tx_hash.hex(), "result": format_trace(trace, spec)}
                for trace in traces.transactions]
