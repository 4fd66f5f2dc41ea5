"""Shared by the long-running benchmarks: refusals grouped by kind, and figures made JSON-ready."""
from __future__ import annotations

import math
import re

RPC_ERROR = re.compile(r"^\w+: error (-?\d+): ([^:]*)")
NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


def refusal_reason(message: str) -> str:
    """The kind of a refusal: the node's message without its details (``nonce too high (-32000)``)."""
    match = RPC_ERROR.match(message)
    if match:
        return f"{match.group(2).strip()} ({match.group(1)})"
    return NUMBER.sub("N", message)[:120]


def json_ready(value: object) -> object:
    """``value`` with every NaN, in nested dicts and lists too, replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
