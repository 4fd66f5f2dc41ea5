"""Turn raw run timings into the reported figures and print them as tables or JSON."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from benchmarks.measure import RunRecord

MB = 1024 * 1024


@dataclass(frozen=True)
class Summary:
    """The figures of one workload run against one node."""

    kind: str
    transactions: int
    rejected: int
    committed: int
    failed: int
    lost: int
    submitted_tps: float
    committed_tps: float
    p50_latency_ms: float
    p99_latency_ms: float
    blocks: int
    block_interval_s: float
    max_txs_per_block: int
    peak_rss_mb: float | None

    def as_dict(self) -> dict[str, object]:
        """The summary as a JSON-ready dict; undefined figures become null."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarise(kind: str, record: RunRecord, peak_rss_bytes: int | None) -> Summary:
    """Compute the reported figures of one run."""
    first_send = min(record.send_times.values(), default=math.nan)
    latencies = [(t - record.send_times[i]) * 1000 for i, t in record.commit_times.items()]
    last_commit = max(record.commit_times.values(), default=math.nan)
    send_span = record.send_end - first_send
    commit_span = last_commit - first_send
    # Blocks from the first one after sending began to the one carrying the last committed transaction.
    run_blocks = [b for b in record.blocks if b.observed_at <= last_commit]
    interval = math.nan
    if len(run_blocks) >= 2:
        interval = (run_blocks[-1].timestamp - run_blocks[0].timestamp) / (len(run_blocks) - 1)
    return Summary(
        kind=kind,
        transactions=record.count,
        rejected=len(record.rejected),
        committed=len(record.commit_times),
        failed=len(record.failed),
        lost=record.count - len(record.commit_times),
        submitted_tps=len(record.send_times) / send_span if send_span > 0 else math.nan,
        committed_tps=len(record.commit_times) / commit_span if commit_span > 0 else math.nan,
        p50_latency_ms=percentile(latencies, 0.50),
        p99_latency_ms=percentile(latencies, 0.99),
        blocks=sum(1 for b in record.blocks if b.ours),
        block_interval_s=interval,
        max_txs_per_block=max((b.transactions for b in record.blocks), default=0),
        peak_rss_mb=None if peak_rss_bytes is None else peak_rss_bytes / MB,
    )


# (field, label, format) of each reported figure, in table order
ROWS: tuple[tuple[str, str, str], ...] = (
    ("transactions", "transactions", "{:.0f}"),
    ("submitted_tps", "submitted tx/s", "{:.0f}"),
    ("committed_tps", "committed tx/s", "{:.0f}"),
    ("p50_latency_ms", "p50 send-to-receipt ms", "{:.0f}"),
    ("p99_latency_ms", "p99 send-to-receipt ms", "{:.0f}"),
    ("committed", "committed", "{:.0f}"),
    ("lost", "lost (not committed)", "{:.0f}"),
    ("rejected", "rejected at submit", "{:.0f}"),
    ("failed", "failed receipts (status 0)", "{:.0f}"),
    ("blocks", "blocks carrying the load", "{:.0f}"),
    ("block_interval_s", "mean block interval s", "{:.2f}"),
    ("max_txs_per_block", "max txs in a block", "{:.0f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
)


def format_value(value: object, fmt: str) -> str:
    """Format one figure; missing or undefined figures print as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows as a plain-text table with the first column left-aligned and the others right-aligned."""
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    lines = []
    for n, row in enumerate([header, *rows]):
        cells = [str(v).ljust(widths[0]) if c == 0 else str(v).rjust(widths[c]) for c, v in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(summaries: Sequence[Summary]) -> str:
    """A table with one column per workload run."""
    header = ["", *(s.kind for s in summaries)]
    rows = [[label, *(format_value(getattr(s, name), fmt) for s in summaries)] for name, label, fmt in ROWS]
    return render_table(header, rows)
