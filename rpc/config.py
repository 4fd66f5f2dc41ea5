"""Bounds and options of the JSON-RPC server."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RPCConfig:
    """Limits that keep every request, connection and query bounded.

    ``cors_origins`` lists the browser origins allowed to call the server;
    ``("*",)`` allows any origin.
    """

    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_size: int = 1000
    max_batch_response_bytes: int = 25_000_000
    max_ws_connections: int = 100
    max_subscriptions_per_connection: int = 100
    max_ws_queue: int = 1024
    max_log_block_range: int = 100_000
    max_log_results: int = 10_000
    max_fee_history_blocks: int = 1024
    max_fee_history_percentiles: int = 100
    max_filters: int = 1000
    filter_timeout_seconds: float = 300.0
    max_filter_blocks: int = 1024
    pending_filter_capacity: int = 10_000  # admitted transactions kept for pending-transaction filters
    decoded_block_cache: int = 128
    cors_origins: tuple[str, ...] = ("*",)
    explorer: bool = False  # serve the explorer page at /explorer
