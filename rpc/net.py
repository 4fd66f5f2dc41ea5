"""The ``net_`` namespace: network id, listening state and peer count."""
from __future__ import annotations

from typing import Any

from rpc.backend import Backend
from rpc.dispatch import Handler
from rpc.formatting import quantity
from rpc.params import Args


class NetAPI:
    """Handlers of the ``net_`` methods."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "net_version": self.version,
            "net_listening": self.listening,
            "net_peerCount": self.peer_count,
        }

    async def version(self, params: Any, connection: Any) -> str:
        """``net_version``: the chain id as a decimal string."""
        Args(params, 0, 0)
        return str(self.backend.chain_id())

    async def listening(self, params: Any, connection: Any) -> bool:
        """``net_listening``: the node accepts peer connections while it runs."""
        Args(params, 0, 0)
        return True

    async def peer_count(self, params: Any, connection: Any) -> str:
        """``net_peerCount``."""
        Args(params, 0, 0)
        return quantity(await self.backend.peer_count())
