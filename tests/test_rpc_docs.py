"""``docs/rpc.md`` lists every JSON-RPC method the node can serve."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rpc.admin import AdminAPI
from rpc.config import RPCConfig
from rpc.dev import DevAPI
from rpc.dev_signing import DevSigningAPI
from rpc.server import build_dispatcher

DOC = Path(__file__).resolve().parents[1] / "docs" / "rpc.md"


class _Unused:
    """Stands in for the objects the namespaces are built over: listing method names calls none of them."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"listing methods used {name}")


def test_every_served_method_has_a_row() -> None:
    unused: Any = _Unused()
    extra = [AdminAPI(unused), DevAPI(unused, unused), DevSigningAPI({})]
    dispatcher, _ = build_dispatcher(unused, RPCConfig(), extra)
    documented = set(re.findall(r"`([a-z0-9]+_[A-Za-z0-9_]+)`", DOC.read_text()))
    missing = sorted(set(dispatcher.method_names) - documented)
    assert not missing, f"docs/rpc.md has no row for {missing}"
    assert len(dispatcher.method_names) > 100
