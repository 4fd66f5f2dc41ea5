"""How fast the chain's executor runs a block of ERC-20 transfers, in-process: the baseline of faster execution.

No node, network or RPC: the benchmark's ERC-20 (``examples/contracts/Token.sol``) is deployed on an in-memory
chain, 100 holders receive tokens, then blocks of ``-n`` transfers (each holder in turn, to the next) are
executed by ``ChainExecutor.execute_block`` as a validator executes a proposal. Each round executes a fresh block
on the same parent state, so rounds are alike; the figure is the median time per transfer. ``--profile`` prints
where one block's time goes (cProfile, which slows it about four times).

    python benchmarks/erc20_execution.py                  # blocks of 800 transfers, 5 rounds
    python benchmarks/erc20_execution.py -n 2000 --rounds 3 --json
    python benchmarks/erc20_execution.py --profile
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from eth.abc import SignedTransactionAPI
from eth.db.backends.memory import MemoryDB
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from benchmarks.contract import compile_token
from benchmarks.load import positive_int
from benchmarks.middleware_gas import CHAIN_ID, GENESIS_TIME, GWEI
from vm.execution import BlockEnv, ChainExecutor, ExecutionResult, GenesisAccount
from vm.transactions import decode_transaction

HOLDERS = 100
TRANSFER = keccak(b"transfer(address,uint256)")[:4]


class TokenChain:
    """An in-memory chain with the token deployed and spread over ``HOLDERS`` accounts."""

    def __init__(self) -> None:
        self.holders = [Account.from_key(keccak(b"erc20 execution holder %d" % i)) for i in range(HOLDERS)]
        self.executor = ChainExecutor(())
        self.db = MemoryDB()
        self.root, writes = self.executor.genesis_state(
            self.db, [GenesisAccount(bytes.fromhex(a.address[2:]), balance=10**24) for a in self.holders])
        self._apply(writes)
        self.number = 0
        self.nonces = [0] * HOLDERS
        token = compile_token()
        supply = encode(["string", "string", "uint256"], ["Bench", "BNC", 10**30])
        deployed = self.execute([self.sign(0, b"", token.bytecode + supply, gas=3_000_000)], commit=True)
        address = deployed.receipts[0].contract_address
        assert address is not None, "the token did not deploy"
        self.token = address
        funding = [self.transfer(0, i, 10**24) for i in range(1, HOLDERS)]
        if any(r.status != 1 for r in self.execute(funding, commit=True).receipts):
            raise RuntimeError("funding the holders failed")

    def _apply(self, writes: dict[bytes, bytes | None]) -> None:
        for key, value in sorted(writes.items()):
            if value is not None:
                self.db[key] = value

    def sign(self, holder: int, to: bytes, data: bytes, gas: int = 100_000) -> SignedTransactionAPI:
        """Holder ``holder``'s next transaction, decoded as the chain decodes it."""
        account: LocalAccount = self.holders[holder]
        raw = account.sign_transaction({"nonce": self.nonces[holder], "to": to, "data": data, "gas": gas,
                                        "value": 0, "chainId": CHAIN_ID, "maxFeePerGas": 10 * GWEI,
                                        "maxPriorityFeePerGas": GWEI}).raw_transaction
        self.nonces[holder] += 1
        return decode_transaction(bytes(raw), CHAIN_ID)

    def transfer(self, sender: int, receiver: int, amount: int) -> SignedTransactionAPI:
        """An ERC-20 ``transfer`` of ``amount`` from holder ``sender`` to holder ``receiver``."""
        to = bytes.fromhex(self.holders[receiver].address[2:])
        return self.sign(sender, self.token, TRANSFER + encode(["address", "uint256"], [to, amount]))

    def execute(self, txs: list[SignedTransactionAPI], commit: bool) -> ExecutionResult:
        """Execute ``txs`` as the next block (strictly, as a validator); keep its state only if ``commit``."""
        parent = keccak(b"block %d" % self.number)
        env = BlockEnv(number=self.number + 1, timestamp=GENESIS_TIME + self.number, coinbase=b"\xc0" * 20,
                       gas_limit=2_000_000_000, base_fee=GWEI, prev_randao=parent, chain_id=CHAIN_ID,
                       recent_hashes=(parent,))
        result = self.executor.execute_block(self.db, self.root, env, txs, strict=True)
        if commit:
            self._apply(result.state_writes)
            self.root = result.state_root
            self.number += 1
        return result


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the median time per transfer (or JSON), or a profile."""
    parser = argparse.ArgumentParser(prog="python benchmarks/erc20_execution.py", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--transfers", type=positive_int, default=800, help="transfers per block (800)")
    parser.add_argument("--rounds", type=positive_int, default=5, help="blocks executed (5)")
    parser.add_argument("--profile", action="store_true", help="profile one block instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    chain = TokenChain()
    nonces = list(chain.nonces)
    block = [chain.transfer(k % HOLDERS, (k + 1) % HOLDERS, 1) for k in range(args.transfers)]
    chain.nonces = nonces  # every round executes this same block on the same parent
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(chain.execute, block, False)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        return 0
    seconds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        result = chain.execute(block, commit=False)
        seconds.append(time.perf_counter() - started)
    gas_per_transfer = result.gas_used // args.transfers
    per_transfer_us = statistics.median(seconds) / args.transfers * 1e6
    if args.json:
        print(json.dumps({"transfers": args.transfers, "rounds": args.rounds, "gas_per_transfer": gas_per_transfer,
                          "median_block_s": statistics.median(seconds), "us_per_transfer": per_transfer_us}))
    else:
        print(f"{args.transfers} ERC-20 transfers a block, {gas_per_transfer:,} gas each: median block "
              f"{statistics.median(seconds) * 1000:,.0f} ms over {args.rounds} rounds, "
              f"{per_transfer_us:,.0f} us a transfer ({1e6 / per_transfer_us:,.0f} transfers/s on one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
