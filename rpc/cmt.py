"""The ``cmt_`` namespace: CyberMiles-specific node and chain queries.

``cmt_status`` reports what an operator checks first: the committed height,
the consensus round and step in progress, peers, and whether the node is
still catching up.
"""
from __future__ import annotations

from typing import Any

from rpc.backend import Backend
from rpc.dispatch import Handler
from rpc.params import Args


class CmtAPI:
    """Handlers of the ``cmt_`` methods."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"cmt_status": self.status}

    async def status(self, params: Any, connection: Any) -> dict[str, Any]:
        """``cmt_status``: height, round, step, peers, catching up, validator address, node id."""
        Args(params, 0, 0)
        status = await self.backend.consensus_status()
        return {
            "height": status.height,
            "round": status.round,
            "step": status.step,
            "peers": await self.backend.peer_count(),
            "catchingUp": await self.backend.syncing() is not None,
            "validator": None if status.validator is None else "0x" + status.validator.hex(),
            "nodeId": status.node_id,
            "moniker": status.moniker,
        }
