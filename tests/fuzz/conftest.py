"""Shared settings of the fuzzers: a CI budget per surface, a longer run behind ``-m fuzz_long``.

Each fuzzer asserts the contract of the surface it feeds: a typed error of that
surface (never another exception, a crash, a hang or an unbounded allocation).
Inputs that once broke something are kept under ``tests/fuzz/corpus/<surface>/``
and replayed by every run (``corpus_inputs``).

The CI budget is hypothesis's ``max_examples``; ``CMNODE_FUZZ_EXAMPLES`` raises it
for a longer local run, and the ``fuzz_long`` marker selects tests meant for use
before a release (``python -m pytest -m fuzz_long tests/fuzz``).
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

CORPUS = Path(__file__).parent / "corpus"

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("CMNODE_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    derandomize=False,
)
settings.register_profile(
    "fuzz_long",
    max_examples=int(os.environ.get("CMNODE_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

FUZZ = settings.get_profile("fuzz")
"""Decorate a fuzzer with ``@FUZZ`` (or ``@settings(FUZZ, max_examples=...)`` for a surface's own budget)."""
FUZZ_LONG = settings.get_profile("fuzz_long")
"""Settings of the ``fuzz_long`` runs."""


def corpus_inputs(surface: str) -> list[tuple[str, bytes]]:
    """The regression inputs kept for ``surface``: (file name, bytes), in name order."""
    folder = CORPUS / surface
    if not folder.is_dir():
        return []
    return [(path.name, path.read_bytes()) for path in sorted(folder.iterdir()) if path.is_file()]
