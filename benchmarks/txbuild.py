"""Build and sign the EIP-1559 transactions of the benchmark workloads."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

TRANSFER_SELECTOR = keccak(text="transfer(address,uint256)")[:4]
VALUE_TRANSFER_GAS = 21_000


@dataclass(frozen=True)
class Fees:
    """Fixed EIP-1559 fee caps used for every transaction of a run."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction ready for ``eth_sendRawTransaction``."""

    tx_hash: str
    raw: str


def _hex(data: bytes) -> str:
    """Return ``data`` as 0x-prefixed lowercase hex."""
    return "0x" + bytes(data).hex()


def sign(
    account: LocalAccount, chain_id: int, nonce: int, fees: Fees, gas: int,
    to: str | None, value: int = 0, data: bytes = b"",
) -> SignedTx:
    """Sign one EIP-1559 transaction; ``to=None`` creates a contract."""
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxFeePerGas": fees.max_fee_per_gas,
        "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        "gas": gas,
        "value": value,
        "data": data,
    }
    if to is not None:
        tx["to"] = to
    signed = account.sign_transaction(tx)
    return SignedTx(_hex(signed.hash), _hex(signed.raw_transaction))


def erc20_transfer_data(to: str, amount: int) -> bytes:
    """Calldata of ``transfer(to, amount)``."""
    return TRANSFER_SELECTOR + abi_encode(["address", "uint256"], [to, amount])


def build_workload(
    kind: str, count: int, accounts: Sequence[LocalAccount], nonces: Sequence[int],
    chain_id: int, fees: Fees, token: str | None = None, token_gas: int = 0,
) -> list[SignedTx]:
    """Sign ``count`` transactions of ``kind`` ("transfer" or "erc20") round-robin over ``accounts``.

    Transaction ``i`` is sent by account ``i % len(accounts)`` with that account's next
    consecutive nonce (starting at ``nonces[k]``) to the following account, so the list
    can be cut into batches that each carry one nonce step for every sender. Value
    transfers move 1 wei; ERC-20 transfers move 1 token unit of ``token``.
    """
    senders = len(accounts)
    txs: list[SignedTx] = []
    for i in range(count):
        k = i % senders
        recipient = accounts[(k + 1) % senders].address
        nonce = nonces[k] + i // senders
        if kind == "transfer":
            txs.append(sign(accounts[k], chain_id, nonce, fees, VALUE_TRANSFER_GAS, recipient, value=1))
        elif kind == "erc20":
            if token is None:
                raise ValueError("an erc20 workload needs a token address")
            txs.append(sign(accounts[k], chain_id, nonce, fees, token_gas, token, data=erc20_transfer_data(recipient, 1)))
        else:
            raise ValueError(f"unknown workload kind {kind!r}")
    return txs
