"""Fuzzing sponsored gas: arbitrary calls of the sponsor contract, and random blocks of zero-price calls.

Contracts: a call of ``0x…0C16`` with any call data and value from any account ends as a
call outcome (success or a revert with a reason), never another exception. A block built
from any mix of sponsored, unsponsored and priced transactions (any gas limit, value, sender
and block time) keeps every bound (gas per transaction, gas per block, transactions per
sender per window), pays exactly the logged fees from the deposit, leaves the senders'
balances untouched, keeps the deposit equal to the contract's balance, and verifies
strictly to the same state root.
"""
from __future__ import annotations

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, FUZZ_LONG
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import SPONSOR_ADDRESS
from vm.sponsorship.block import GAS_SPONSORED_TOPIC
from vm.sponsorship.contract import SponsorContract
from vm.sponsorship.records import Bounds, load_sponsorship, load_window, store_balance, store_settings
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9
T0 = 1_700_000_010
COUNTER = bytes.fromhex("5f546001015f5500")  # slot0 += 1
TARGET = b"\xc0\x01" + b"\x00" * 18
UNSPONSORED = b"\xc0\x02" + b"\x00" * 18
SENDERS = [Account.from_key(keccak(b"sponsor fuzz sender %d" % i)) for i in range(3)]
BOUNDS = Bounds(max_gas_per_tx=60_000, max_txs_per_sender=2, window_seconds=20, max_gas_per_block=150_000)
DEPOSIT = 400_000 * GWEI
SELECTORS = [spec.selector for spec in SponsorContract.methods()]


def _chain(memory_chain, funded: bool = False):
    storage: dict[int, int] = {}
    store_settings(storage.__setitem__, TARGET, b"\x00" * 20, BOUNDS)
    store_balance(storage.__setitem__, TARGET, DEPOSIT)
    accounts = [GenesisAccount(TARGET, code=COUNTER), GenesisAccount(UNSPONSORED, code=COUNTER),
                GenesisAccount(SPONSOR_ADDRESS, balance=DEPOSIT, storage=tuple(sorted(storage.items())))]
    if funded:
        accounts += [GenesisAccount(bytes.fromhex(a.address[2:]), balance=10**18) for a in SENDERS]
    return memory_chain(accounts, natives=[SponsorContract()])


calls = st.tuples(
    st.one_of(st.binary(max_size=200), st.builds(lambda s, rest: s + rest, st.sampled_from(SELECTORS),
                                                  st.binary(max_size=260))),
    st.integers(0, 10**18),
    st.sampled_from([TARGET, b"\x00" * 20, bytes.fromhex(SENDERS[0].address[2:])]),
)


def _call_contract(memory_chain, data: bytes, value: int, sender: bytes) -> None:
    chain = _chain(memory_chain)
    outcome = chain.call(CallMessage(sender=sender, to=SPONSOR_ADDRESS, data=data, value=value, gas=1_000_000))
    assert outcome.success or outcome.output[:4] in (b"", bytes.fromhex("08c379a0")) or outcome.error


@settings(FUZZ, max_examples=100)
@given(call=calls)
def test_fuzz_sponsor_calls(memory_chain, call) -> None:
    _call_contract(memory_chain, *call)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(call=calls)
def test_fuzz_sponsor_calls_long(memory_chain, call) -> None:
    _call_contract(memory_chain, *call)


transactions = st.lists(st.tuples(
    st.integers(0, len(SENDERS) - 1),                      # sender
    st.sampled_from(["legacy", "dynamic", "priced", "unsponsored"]),
    st.integers(21_000, 70_000),                           # gas limit
    st.sampled_from([0, 0, 0, 1]),                         # value
), max_size=8)
blocks = st.lists(st.tuples(transactions, st.integers(1, 15)), min_size=1, max_size=4)


def _run_blocks(memory_chain, plan) -> None:
    chain = _chain(memory_chain)
    nonces = [0] * len(SENDERS)
    now = T0
    for txs, advance in plan:
        signed = []
        for index, kind, gas, value in txs:
            fields = {"nonce": nonces[index], "gas": gas, "value": value, "chainId": CHAIN_ID, "data": b"",
                      "to": to_checksum_address(UNSPONSORED if kind == "unsponsored" else TARGET)}
            fields.update({"legacy": {"gasPrice": 0}, "unsponsored": {"gasPrice": 0}, "priced": {"gasPrice": GWEI},
                           "dynamic": {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}}[kind])
            tx = decode_transaction(bytes(SENDERS[index].sign_transaction(fields).raw_transaction), CHAIN_ID)
            signed.append(tx)
            nonces[index] += 1
        parent_root, env = chain.root, chain.env(timestamp=now)
        before = load_sponsorship(lambda slot: chain.state.get_storage(SPONSOR_ADDRESS, slot), TARGET)
        result = chain.execute(signed, strict=False, timestamp=now)
        included = {r.tx_hash for r in result.receipts}
        verified = chain.executor.execute_block(chain.db, parent_root, env, [t for t in signed if t.hash in included],
                                                strict=True)
        assert verified.state_root == result.state_root

        state = chain.state
        after = load_sponsorship(lambda slot: state.get_storage(SPONSOR_ADDRESS, slot), TARGET)
        fees = [eth_abi.decode(["uint256", "uint256"], log.data)[1] for r in result.receipts for log in r.logs
                if log.address == SPONSOR_ADDRESS and log.topics[0] == GAS_SPONSORED_TOPIC]
        sponsored = [t for t in signed if t.hash in included and t.to == TARGET and t.max_fee_per_gas == 0]
        assert len(fees) == len(sponsored)
        assert before.balance - after.balance == sum(fees)
        assert state.get_balance(SPONSOR_ADDRESS) == after.balance
        assert sum(t.gas for t in sponsored) <= BOUNDS.max_gas_per_block
        assert all(t.gas <= BOUNDS.max_gas_per_tx and t.value == 0 for t in sponsored)
        assert all(t.max_fee_per_gas > 0 or t.to == TARGET for t in signed if t.hash in included)
        for account in SENDERS:
            address = bytes.fromhex(account.address[2:])
            assert state.get_balance(address) == 0  # nobody holds CMT: only sponsored calls can be included
            window = load_window(lambda slot: state.get_storage(SPONSOR_ADDRESS, slot), TARGET, address)
            assert window.used <= BOUNDS.max_txs_per_sender
        for index, account in enumerate(SENDERS):
            nonces[index] = state.get_nonce(bytes.fromhex(account.address[2:]))
        now += advance


A_DAY_OF_SHOPPING = [  # the window fills, the block bound cuts, a priced and an unsponsored call are left out
    ([(0, "legacy", 50_000, 0), (0, "dynamic", 50_000, 0), (0, "legacy", 50_000, 0), (1, "legacy", 50_000, 0),
      (2, "priced", 30_000, 0), (1, "unsponsored", 30_000, 0)], 5),
    ([(0, "legacy", 50_000, 0), (1, "legacy", 60_001, 0), (2, "legacy", 40_000, 1)], 25),
    ([(0, "legacy", 50_000, 0)], 1),
]


@settings(FUZZ, max_examples=25)
@given(plan=blocks)
@example(plan=A_DAY_OF_SHOPPING)
def test_fuzz_sponsored_blocks(memory_chain, plan) -> None:
    _run_blocks(memory_chain, plan)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG, max_examples=2_000)
@given(plan=blocks)
def test_fuzz_sponsored_blocks_long(memory_chain, plan) -> None:
    _run_blocks(memory_chain, plan)
