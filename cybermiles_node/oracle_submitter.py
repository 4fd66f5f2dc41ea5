"""Inbound webhook callbacks become transactions of the node's oracle account.

The oracle key is unlocked from the node's keystore with the password in
``webhooks.inbound.password_file``; ``OracleSubmitter`` estimates, signs and admits each
call through ``NodeBackend.send_raw_transaction``, the path of ``eth_sendRawTransaction``.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from eth_account import Account

from cybermiles_node.errors import NodeError
from cybermiles_node.keystore import Keystore, KeystoreError
from cybermiles_node.rpc_backend import NodeBackend
from cybermiles_node.secretfile import SecretFileError, read_secret_file
from middleware.webhooks.errors import SubmissionRejected
from middleware.webhooks.settings import InboundSettings
from rpc.backend import CallRequest
from rpc.errors import RPCError

ORACLE_TIP = 1_000_000_000  # 1 gwei priority fee on oracle transactions


class OracleSubmitter:
    """``TxSubmitter``: signs calls with the oracle key and admits them like ``eth_sendRawTransaction``."""

    def __init__(self, backend: NodeBackend, private_key: bytes) -> None:
        self._backend = backend
        self._account = Account.from_key(private_key)
        self._address = bytes.fromhex(self._account.address[2:])
        self._lock = asyncio.Lock()  # one at a time: each takes the next pending nonce

    @property
    def address(self) -> bytes:
        """The oracle account."""
        return self._address

    async def submit(self, to: bytes, data: bytes) -> bytes:
        """Estimate, sign and admit a call of ``to``; ``SubmissionRejected`` if it would revert or is refused."""
        async with self._lock:
            try:
                latest = await self._backend.latest_height()
                gas = await self._backend.estimate_gas(CallRequest(sender=self._address, to=to, data=data), latest)
                base_fee = await self._backend.next_base_fee()
                nonce = await self._backend.pending_nonce(self._address)
                signed = self._account.sign_transaction({
                    "chainId": self._backend.chain_id(), "nonce": nonce, "to": to, "data": data, "value": 0,
                    "gas": gas + gas // 5, "maxFeePerGas": 2 * base_fee + ORACLE_TIP,
                    "maxPriorityFeePerGas": ORACLE_TIP,
                })
                return await self._backend.send_raw_transaction(bytes(signed.raw_transaction))
            except RPCError as exc:
                raise SubmissionRejected(f"transaction refused: {exc.message}") from None


def unlock_oracle(keystore_dir: Path, settings: InboundSettings, home_root: Path) -> bytes:
    """The oracle account's private key, from the keystore and the configured password file."""
    if settings.oracle_account is None or settings.password_file is None:
        raise NodeError("webhooks.inbound: oracle_account and password_file are required when enabled")
    password_path = Path(settings.password_file).expanduser()
    if not password_path.is_absolute():
        password_path = home_root / password_path
    try:
        lines = read_secret_file(password_path, "webhooks.inbound.password_file").splitlines()
        return Keystore(keystore_dir).unlock(settings.oracle_account, lines[0] if lines else "")
    except (SecretFileError, KeystoreError) as exc:
        raise NodeError(f"webhooks.inbound: cannot unlock oracle account {settings.oracle_account}: {exc}") from None
