"""The ``web3_`` namespace: client version and keccak-256."""
from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from rpc.backend import Backend
from rpc.dispatch import Handler
from rpc.formatting import data
from rpc.params import Args, parse_data


class Web3API:
    """Handlers of the ``web3_`` methods."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"web3_clientVersion": self.client_version, "web3_sha3": self.sha3}

    async def client_version(self, params: Any, connection: Any) -> str:
        """``web3_clientVersion``."""
        Args(params, 0, 0)
        return await self.backend.client_version()

    async def sha3(self, params: Any, connection: Any) -> str:
        """``web3_sha3``: keccak-256 of the given bytes."""
        return data(keccak(Args(params, 1, 1).get(0, parse_data)))
