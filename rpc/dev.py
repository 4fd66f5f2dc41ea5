"""Development-chain methods: ``evm_*``, ``hardhat_*`` / ``anvil_*``, and node-signed transactions.

Registered only on a node started with ``cmnode start --dev`` (like ``admin_``,
through the server's extra APIs); everywhere else they are unknown methods
(-32601). The names and answers follow Hardhat Network and anvil, so their
tools (Hardhat's network helpers, ``loadFixture``, Foundry scripts) drive the
chain unchanged. Hardhat's network helpers accept only a client whose
``web3_clientVersion`` starts with ``anvil`` or ``HardhatNetwork``: on the
development chain the version reads ``anvil-compatible cmnode/v…``, which says
what the chain offers.

``eth_accounts`` lists the development accounts; ``eth_sendTransaction`` signs
with their keys or, for an impersonated address, sends without a signature.
With automine on (the default), ``eth_sendTransaction`` and
``eth_sendRawTransaction`` return after the block that includes the
transaction.
"""
from __future__ import annotations

from typing import Any, Protocol

from rpc.backend import Backend, CallRequest
from rpc.dispatch import Handler
from rpc.errors import InvalidParams
from rpc.formatting import data, quantity
from rpc.params import (
    Args,
    ParamError,
    parse_address,
    parse_bool,
    parse_call_request,
    parse_data,
    parse_hash,
    parse_quantity,
)

COMPATIBLE_CLIENT = "anvil-compatible"
MAX_CODE_BYTES = 24_576 * 2  # the init-code bound (EIP-3860): no deployable code is longer


class DevRequestError(InvalidParams):
    """A well-formed development-chain request the chain refuses (a timestamp in the past, too many blocks)."""


class DevControls(Protocol):
    """What a development chain offers these methods; they raise ``rpc.errors`` types to refuse."""

    automine: bool

    async def mine(self, count: int = 1, interval: int | None = None) -> None:
        """Make ``count`` blocks now, ``interval`` seconds apart if given."""
        ...

    def increase_time(self, seconds: int) -> int:
        """Move the next blocks' clock forward; the total offset."""
        ...

    def set_next_timestamp(self, timestamp: int) -> None:
        """Stamp the next block with ``timestamp``."""
        ...

    def set_automine(self, enabled: bool) -> None:
        """Turn automine on or off."""
        ...

    async def transaction_sent(self) -> None:
        """Called after a transaction was accepted over RPC."""
        ...

    async def set_balance(self, address: bytes, balance: int) -> None:
        """Set a balance through a block made now."""
        ...

    async def set_nonce(self, address: bytes, nonce: int) -> None:
        """Set a nonce through a block made now."""
        ...

    async def set_code(self, address: bytes, code: bytes) -> None:
        """Set code through a block made now."""
        ...

    async def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Set a storage slot through a block made now."""
        ...

    def snapshot(self) -> int:
        """A snapshot id of the current height."""
        ...

    async def revert(self, snapshot_id: int) -> bool:
        """Return to a snapshot; False if unknown."""
        ...

    async def reset(self) -> None:
        """Return to the genesis block."""
        ...

    def accounts(self) -> list[bytes]:
        """The accounts the node signs for."""
        ...

    def impersonate(self, address: bytes) -> None:
        """Accept unsigned transactions from ``address``."""
        ...

    def stop_impersonating(self, address: bytes) -> None:
        """Stop accepting unsigned transactions from ``address``."""
        ...

    def drop_transaction(self, tx_hash: bytes) -> bool:
        """Remove a waiting transaction; whether there was one."""
        ...

    async def send_transaction(self, request: CallRequest) -> bytes:
        """Sign or impersonate, submit; the hash."""
        ...


def parse_number(value: Any) -> int:
    """A hex quantity or a non-negative JSON integer (Hardhat accepts both for times and counts)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ParamError(f"negative number {value}")
        return value
    return parse_quantity(value)


def parse_code(value: Any) -> bytes:
    """Contract code: hex bytes, bounded."""
    code = parse_data(value)
    if len(code) > MAX_CODE_BYTES:
        raise ParamError(f"code of {len(code)} bytes, at most {MAX_CODE_BYTES}")
    return code


def parse_storage_value(value: Any) -> int:
    """A storage value: exactly 32 bytes of hex (Hardhat's rule)."""
    try:
        return int.from_bytes(parse_data(value, 32), "big")
    except ParamError:
        raise ParamError("Storage value must be exactly 32 bytes long") from None


def parse_nonce(value: Any) -> int:
    """An account nonce (at most 2^64 - 1)."""
    nonce = parse_quantity(value)
    if nonce >= 2**64:
        raise ParamError("nonce exceeds 2^64-1")
    return nonce


def parse_reset_options(value: Any) -> None:
    """``hardhat_reset``'s options: only an empty object; forking is not offered."""
    if not isinstance(value, dict):
        raise ParamError("expected an object")
    if value.get("forking") is not None:
        raise ParamError("forking is not supported: this chain resets to its own genesis block")


class DevAPI:
    """Handlers of the development-chain methods."""

    def __init__(self, dev: DevControls, backend: Backend) -> None:
        self.dev = dev
        self.backend = backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler; each ``hardhat_`` method also answers as ``anvil_``."""
        common = {
            "setBalance": self.set_balance,
            "setCode": self.set_code,
            "setNonce": self.set_nonce,
            "setStorageAt": self.set_storage_at,
            "impersonateAccount": self.impersonate_account,
            "stopImpersonatingAccount": self.stop_impersonating_account,
            "mine": self.mine,
            "dropTransaction": self.drop_transaction,
            "reset": self.reset,
        }
        methods: dict[str, Handler] = {
            "evm_mine": self.evm_mine,
            "evm_increaseTime": self.increase_time,
            "evm_setNextBlockTimestamp": self.set_next_block_timestamp,
            "evm_snapshot": self.snapshot,
            "evm_revert": self.revert,
            "evm_setAutomine": self.set_automine,
            "web3_clientVersion": self.client_version,
            "eth_accounts": self.accounts,
            "eth_sendTransaction": self.send_transaction,
            "eth_sendRawTransaction": self.send_raw_transaction,
        }
        for name, handler in common.items():
            methods[f"hardhat_{name}"] = handler
            methods[f"anvil_{name}"] = handler
        return methods

    async def evm_mine(self, params: Any, connection: Any) -> str:
        """``evm_mine([timestamp])``: one block now, at ``timestamp`` if given."""
        timestamp = Args(params, 0, 1).optional(0, parse_number, None)
        if timestamp is not None:
            self.dev.set_next_timestamp(timestamp)
        await self.dev.mine()
        return "0x0"

    async def mine(self, params: Any, connection: Any) -> bool:
        """``hardhat_mine([blocks, interval])``: blocks (default 1), ``interval`` seconds apart (default 1)."""
        args = Args(params, 0, 2)
        await self.dev.mine(args.optional(0, parse_number, 1), args.optional(1, parse_number, 1))
        return True

    async def increase_time(self, params: Any, connection: Any) -> str:
        """``evm_increaseTime(seconds)``: the total offset, as a quantity."""
        return quantity(self.dev.increase_time(Args(params, 1, 1).get(0, parse_number)))

    async def set_next_block_timestamp(self, params: Any, connection: Any) -> None:
        """``evm_setNextBlockTimestamp(timestamp)``: never earlier than the latest block."""
        self.dev.set_next_timestamp(Args(params, 1, 1).get(0, parse_number))

    async def snapshot(self, params: Any, connection: Any) -> str:
        """``evm_snapshot()``: the snapshot id."""
        Args(params, 0, 0)
        return quantity(self.dev.snapshot())

    async def revert(self, params: Any, connection: Any) -> bool:
        """``evm_revert(id)``: whether the chain returned to the snapshot."""
        return await self.dev.revert(Args(params, 1, 1).get(0, parse_number))

    async def set_automine(self, params: Any, connection: Any) -> None:
        """``evm_setAutomine(enabled)``."""
        self.dev.set_automine(Args(params, 1, 1).get(0, parse_bool))

    async def set_balance(self, params: Any, connection: Any) -> bool:
        """``hardhat_setBalance(address, balance)``."""
        args = Args(params, 2, 2)
        await self.dev.set_balance(args.get(0, parse_address), args.get(1, parse_quantity))
        return True

    async def set_code(self, params: Any, connection: Any) -> bool:
        """``hardhat_setCode(address, code)``."""
        args = Args(params, 2, 2)
        await self.dev.set_code(args.get(0, parse_address), args.get(1, parse_code))
        return True

    async def set_nonce(self, params: Any, connection: Any) -> bool:
        """``hardhat_setNonce(address, nonce)``."""
        args = Args(params, 2, 2)
        await self.dev.set_nonce(args.get(0, parse_address), args.get(1, parse_nonce))
        return True

    async def set_storage_at(self, params: Any, connection: Any) -> bool:
        """``hardhat_setStorageAt(address, slot, value)``: ``value`` is 32 bytes."""
        args = Args(params, 3, 3)
        await self.dev.set_storage(args.get(0, parse_address), args.get(1, parse_quantity),
                                   args.get(2, parse_storage_value))
        return True

    async def impersonate_account(self, params: Any, connection: Any) -> bool:
        """``hardhat_impersonateAccount(address)``."""
        self.dev.impersonate(Args(params, 1, 1).get(0, parse_address))
        return True

    async def stop_impersonating_account(self, params: Any, connection: Any) -> bool:
        """``hardhat_stopImpersonatingAccount(address)``."""
        self.dev.stop_impersonating(Args(params, 1, 1).get(0, parse_address))
        return True

    async def drop_transaction(self, params: Any, connection: Any) -> bool:
        """``hardhat_dropTransaction(hash)``: whether a waiting transaction was removed."""
        return self.dev.drop_transaction(Args(params, 1, 1).get(0, parse_hash))

    async def reset(self, params: Any, connection: Any) -> bool:
        """``hardhat_reset([options])``: back to the genesis block."""
        Args(params, 0, 1).optional(0, parse_reset_options, None)
        await self.dev.reset()
        return True

    async def client_version(self, params: Any, connection: Any) -> str:
        """``web3_clientVersion``: ``anvil-compatible`` and the node's own version."""
        Args(params, 0, 0)
        return f"{COMPATIBLE_CLIENT} {await self.backend.client_version()}"

    async def accounts(self, params: Any, connection: Any) -> list[str]:
        """``eth_accounts``: the development accounts."""
        Args(params, 0, 0)
        return [data(address) for address in self.dev.accounts()]

    async def send_transaction(self, params: Any, connection: Any) -> str:
        """``eth_sendTransaction(tx)``: signed by the node (development account) or impersonated."""
        return data(await self.dev.send_transaction(Args(params, 1, 1).get(0, parse_call_request)))

    async def send_raw_transaction(self, params: Any, connection: Any) -> str:
        """``eth_sendRawTransaction(raw)``; with automine on, returns after its block."""
        tx_hash = await self.backend.send_raw_transaction(Args(params, 1, 1).get(0, parse_data))
        await self.dev.transaction_sent()
        return data(tx_hash)
