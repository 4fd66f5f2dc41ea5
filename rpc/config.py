"""Bounds and options of the JSON-RPC server."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RPCConfig:
    """Limits that keep every request, connection and query bounded.

    ``cors_origins`` lists the browser origins allowed to call the server;
    ``("*",)`` allows any origin. Each field is a setting of ``config.toml``'s
    ``[rpc]`` table; ``metadata["range"]`` bounds it there, and ``explorer`` is
    decided by the node (``"toml": None``).
    """

    max_body_bytes: int = field(default=5 * 1024 * 1024, metadata={"range": (1, 256 * 1024 * 1024)})
    max_batch_size: int = field(default=1000, metadata={"range": (1, 10_000)})
    max_batch_response_bytes: int = field(default=25_000_000, metadata={"range": (1024, 2**31 - 1)})
    max_ws_connections: int = field(default=100, metadata={"range": (1, 10_000)})
    max_subscriptions_per_connection: int = field(default=100, metadata={"range": (1, 100_000)})
    max_ws_queue: int = field(default=1024, metadata={"range": (1, 1_000_000)})
    max_log_block_range: int = field(default=100_000, metadata={"range": (1, 1_000_000)})
    max_log_results: int = field(default=10_000, metadata={"range": (1, 10_000_000)})
    max_fee_history_blocks: int = field(default=1024, metadata={"range": (1, 100_000)})
    max_fee_history_percentiles: int = field(default=100, metadata={"range": (1, 1_000)})
    max_filters: int = field(default=1000, metadata={"range": (1, 1_000_000)})
    filter_timeout_seconds: float = field(default=300.0, metadata={"range": (1.0, 86_400.0)})
    max_filter_blocks: int = field(default=1024, metadata={"range": (1, 1_000_000)})
    # admitted transactions kept for pending-transaction filters
    pending_filter_capacity: int = field(default=10_000, metadata={"range": (1, 10_000_000)})
    decoded_block_cache: int = field(default=128, metadata={"range": (1, 100_000)})
    cors_origins: tuple[str, ...] = ("*",)
    explorer: bool = field(default=False, metadata={"toml": None})  # serve the explorer page at /explorer
