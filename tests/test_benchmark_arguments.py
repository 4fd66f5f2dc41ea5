"""The soak and flood benchmarks refuse bad arguments with one clear line, before starting anything."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script>`` with ``args`` as a user would."""
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def test_soak_refuses_more_senders_than_one_batch_holds() -> None:
    result = run_benchmark("soak.py", "--minutes", "3", "--senders", "101")
    assert result.returncode == 2
    assert "--senders and --tx-rate must be at most 100" in result.stderr
    assert "Traceback" not in result.stderr


def test_flood_refuses_a_non_http_url() -> None:
    result = run_benchmark("flood.py", "--rpc", "ftp://127.0.0.1:8545")
    assert result.returncode == 2
    assert "not an http(s) URL: ftp://127.0.0.1:8545" in result.stderr
    assert "Traceback" not in result.stderr
