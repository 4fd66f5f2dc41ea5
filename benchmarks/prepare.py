"""The untimed setup phase: chain parameters, funding of all senders, token deployment and distribution."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from benchmarks.errors import RpcError, SetupError
from benchmarks.rpcclient import RpcClient
from benchmarks.txbuild import (
    VALUE_TRANSFER_GAS,
    Fees,
    SignedTx,
    erc20_transfer_data,
    sign,
)
from cybermiles_node.solc import CompiledContract

GWEI = 10**9
ETHER = 10**18
TOKEN_SUPPLY = 10**9 * ETHER
TOKEN_SHARE = 10**6 * ETHER
GAS_MARGIN_PERCENT = 120
# Largest calldata-cost difference between two recipient addresses: 20 bytes, each 16 gas if non-zero, 4 if zero.
ADDRESS_CALLDATA_SLACK = 20 * (16 - 4)
# Transactions of one sender sent together in the setup: pools may cap how far ahead of
# its next nonce one sender can queue (geth keeps 16 executable per account).
SETUP_CHUNK = 16


@dataclass(frozen=True)
class Chain:
    """What the workloads need to know about a prepared chain."""

    chain_id: int
    accounts: list[LocalAccount]
    token: str | None = None
    token_gas: int = 0


async def read_fees(client: RpcClient, base_fee_multiplier: int) -> Fees:
    """Fee caps for a run: ``base_fee_multiplier`` times the latest base fee plus the node's suggested tip.

    The multiplier leaves room for the base fee to rise while full blocks drain the load.
    """
    block = await client.call("eth_getBlockByNumber", "latest", False)
    base_fee = int(block.get("baseFeePerGas") or "0x0", 16)
    try:
        tip = int(await client.call("eth_maxPriorityFeePerGas"), 16)
    except RpcError:
        tip = GWEI
    gas_price = int(await client.call("eth_gasPrice"), 16)
    return Fees(max(base_fee * base_fee_multiplier + tip, gas_price), tip)


async def pending_nonces(client: RpcClient, accounts: Sequence[LocalAccount]) -> list[int]:
    """The next nonce of each account, counting transactions already in the node's pool."""
    results = await client.batch([("eth_getTransactionCount", [a.address, "pending"]) for a in accounts])
    for result in results:
        if isinstance(result, Exception):
            raise SetupError(f"cannot read nonces: {result}")
    return [int(r, 16) for r in results]


async def send_and_confirm(client: RpcClient, txs: Sequence[SignedTx], what: str, timeout: float = 120.0) -> list[dict]:
    """Send ``txs`` in one batch, wait for all their receipts and require every one to succeed."""
    for tx, result in zip(txs, await client.batch([("eth_sendRawTransaction", [t.raw]) for t in txs])):
        if isinstance(result, Exception):
            raise SetupError(f"{what}: transaction {tx.tx_hash} was rejected: {result}")
    receipts: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(receipts) < len(txs):
        if time.monotonic() > deadline:
            raise SetupError(f"{what}: {len(txs) - len(receipts)} of {len(txs)} transactions not mined within {timeout:.0f} s")
        await asyncio.sleep(0.2)
        missing = [t.tx_hash for t in txs if t.tx_hash not in receipts]
        for tx_hash, result in zip(missing, await client.batch([("eth_getTransactionReceipt", [h]) for h in missing])):
            if isinstance(result, dict):
                receipts[tx_hash] = result
    failed = [h for h, r in receipts.items() if int(r.get("status", "0x1"), 16) == 0]
    if failed:
        raise SetupError(f"{what}: {len(failed)} transactions reverted, e.g. {failed[0]}")
    return [receipts[t.tx_hash] for t in txs]


async def fund_senders(
    client: RpcClient, chain_id: int, accounts: Sequence[LocalAccount], fees: Fees, min_balance: int
) -> int:
    """Give every account holding less than ``min_balance`` that amount from the richest ones; return how many."""
    results = await client.batch([("eth_getBalance", [a.address, "latest"]) for a in accounts])
    if any(isinstance(r, Exception) for r in results):
        raise SetupError(f"cannot read balances: {next(r for r in results if isinstance(r, Exception))}")
    balances = [int(r, 16) for r in results]
    poor = [i for i, b in enumerate(balances) if b < min_balance]
    if not poor:
        return 0
    fee = VALUE_TRANSFER_GAS * fees.max_fee_per_gas
    funders = [i for i, b in enumerate(balances) if b >= 2 * (min_balance + fee)]
    if not funders:
        raise SetupError(
            "no sender holds enough to fund the others: the node must fund at least one account of the "
            "benchmark mnemonic at genesis"
        )
    nonces = await pending_nonces(client, accounts)
    txs: list[SignedTx] = []
    for n, i in enumerate(poor):
        funder = funders[n % len(funders)]
        balances[funder] -= min_balance + fee
        if balances[funder] < min_balance:
            raise SetupError(f"the funded accounts hold too little to give {len(poor)} senders {min_balance} wei each")
        txs.append(sign(accounts[funder], chain_id, nonces[funder], fees, VALUE_TRANSFER_GAS,
                        accounts[i].address, value=min_balance - balances[i]))
        nonces[funder] += 1
    await send_and_confirm(client, txs, "funding senders")
    return len(txs)


async def _estimate(client: RpcClient, call: dict, what: str, margin_percent: int = GAS_MARGIN_PERCENT) -> int:
    """``eth_estimateGas`` for ``call`` times ``margin_percent`` / 100."""
    try:
        return int(await client.call("eth_estimateGas", call), 16) * margin_percent // 100
    except RpcError as exc:
        raise SetupError(f"{what}: gas estimation failed: {exc}") from exc


async def deploy_token(
    client: RpcClient, chain_id: int, accounts: Sequence[LocalAccount], fees: Fees, contract: CompiledContract
) -> tuple[str, int]:
    """Deploy the ERC-20 from the first account, give every other account a share; return (address, transfer gas)."""
    owner = accounts[0]
    data = contract.bytecode + abi_encode(["string", "string", "uint256"], ["Benchmark Token", "BENCH", TOKEN_SUPPLY])
    gas = await _estimate(client, {"from": owner.address, "data": "0x" + data.hex()}, "token deployment")
    nonce = (await pending_nonces(client, [owner]))[0]
    (receipt,) = await send_and_confirm(client, [sign(owner, chain_id, nonce, fees, gas, None, data=data)], "token deployment")
    if not receipt.get("contractAddress"):
        raise SetupError("token deployment: the receipt has no contractAddress")
    token = to_checksum_address(receipt["contractAddress"])
    probe = {"from": owner.address, "to": token, "data": "0x" + erc20_transfer_data(accounts[1].address, TOKEN_SHARE).hex()}
    share_gas = await _estimate(client, probe, "token distribution")
    shares = [
        sign(owner, chain_id, nonce + k, fees, share_gas, token, data=erc20_transfer_data(a.address, TOKEN_SHARE))
        for k, a in enumerate(accounts[1:], start=1)
    ]
    for start in range(0, len(shares), SETUP_CHUNK):
        await send_and_confirm(client, shares[start:start + SETUP_CHUNK], "token distribution")
    # Estimated after distribution, when, as in the workload, sender and recipient both hold tokens. Only
    # the calldata cost differs between the workload's transfers (zero bytes in the recipient address), so
    # the estimate plus that difference fits them all without a margin that would handicap nodes packing
    # blocks by gas limit.
    transfer = {"from": accounts[1].address, "to": token, "data": "0x" + erc20_transfer_data(accounts[2].address, 1).hex()}
    return token, await _estimate(client, transfer, "token transfer", margin_percent=100) + ADDRESS_CALLDATA_SLACK


async def prepare_chain(
    url: str, accounts: list[LocalAccount], contract: CompiledContract | None,
    min_balance: int = 100 * ETHER, base_fee_multiplier: int = 10,
) -> Chain:
    """Fund every sender and, if ``contract`` is given, deploy and distribute it; nothing here is timed."""
    async with RpcClient(url) as client:
        try:
            chain_id = int(await client.call("eth_chainId"), 16)
        except RpcError as exc:
            raise SetupError(f"{url}: eth_chainId failed: {exc}") from exc
        fees = await read_fees(client, base_fee_multiplier)
        await fund_senders(client, chain_id, accounts, fees, min_balance)
        if contract is None:
            return Chain(chain_id, accounts)
        token, token_gas = await deploy_token(client, chain_id, accounts, fees, contract)
        return Chain(chain_id, accounts, token, token_gas)
