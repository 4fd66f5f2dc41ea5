"""Plain value transfers applied by the transfer ledger give exactly what py-evm gives.

Each case executes the same blocks twice: once as the node does (plain
transfers through ``TransferLedger``, everything else through py-evm) and once
with every transaction sent through py-evm, and compares state roots, state
writes, receipts and left-out transactions.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vm.execution import ChainExecutor, GenesisAccount
from vm.transfers import TransferLedger

GWEI = 10**9
ETHER = 10**18
SENDERS = [Account.from_key(keccak(b"transfer sender %d" % i)) for i in range(4)]
EMPTY_COINBASE = bytes.fromhex("c1" * 20)  # holds nothing: zero-fee transfers touch an empty account
FUNDED_COINBASE = bytes.fromhex("c2" * 20)
FRESH = bytes.fromhex("d0" * 20)  # no account until something pays it
EMPTY_AT_GENESIS = bytes.fromhex("d1" * 20)  # listed at genesis with nothing
PAYABLE = bytes.fromhex("e0" * 20)  # code: STOP (accepts value)
LOGGER = bytes.fromhex("e1" * 20)  # code: LOG0 of nothing, then STOP
IDENTITY_PRECOMPILE = (4).to_bytes(20, "big")


def _address(account: Any) -> bytes:
    return bytes.fromhex(account.address[2:])


RECIPIENTS = [*(_address(a) for a in SENDERS), FRESH, EMPTY_AT_GENESIS, PAYABLE, LOGGER, IDENTITY_PRECOMPILE,
              EMPTY_COINBASE, FUNDED_COINBASE]
GENESIS = (
    *(GenesisAccount(_address(a), balance=(10 if i else 1) * ETHER) for i, a in enumerate(SENDERS)),
    GenesisAccount(FUNDED_COINBASE, balance=1),
    GenesisAccount(EMPTY_AT_GENESIS),
    GenesisAccount(PAYABLE, code=b"\x00"),
    GenesisAccount(LOGGER, code=b"\x60\x00\x60\x00\xa0\x00"),
)

transaction_specs = st.lists(
    st.fixed_dictionaries({
        "sender": st.integers(0, len(SENDERS) - 1),
        "to": st.sampled_from(RECIPIENTS),
        "value": st.sampled_from([0, 1, 10**15, ETHER, 10 * ETHER]),
        "tip": st.sampled_from([0, 1, GWEI]),
        "kind": st.sampled_from(["dynamic", "legacy", "access-list", "with-data"]),
        "nonce_skew": st.sampled_from([0, 0, 0, 0, 0, 1, -1]),
    }),
    min_size=1,
    max_size=12,
)


def _sign(spec: dict[str, Any], nonce: int, sign_tx: Callable[..., Any]) -> Any:
    fields: dict[str, Any] = {"nonce": max(nonce + spec["nonce_skew"], 0), "to": to_checksum_address(spec["to"]),
                              "value": spec["value"], "gas": 60_000}
    if spec["kind"] == "legacy":
        fields["gasPrice"] = GWEI + spec["tip"]
    else:
        fields["maxFeePerGas"] = 3 * GWEI
        fields["maxPriorityFeePerGas"] = spec["tip"]
    if spec["kind"] == "access-list":
        fields["accessList"] = [{"address": to_checksum_address(FRESH), "storageKeys": ["0x" + "00" * 32]}]
    if spec["kind"] == "with-data":
        fields["data"] = b"\x01\x00"
    return sign_tx(SENDERS[spec["sender"]], **fields)


def _blocks_of(specs: list[dict[str, Any]], sign_tx: Callable[..., Any]) -> list[list[Any]]:
    """Two blocks of signed transactions (nonces follow each sender's sequence, some skewed on purpose)."""
    nonces = [0] * len(SENDERS)
    signed = []
    for spec in specs:
        signed.append(_sign(spec, nonces[spec["sender"]], sign_tx))
        if spec["nonce_skew"] == 0:
            nonces[spec["sender"]] += 1
    half = len(signed) // 2
    return [signed[:half], signed[half:]]


def _run(memory_chain: Callable[..., Any], blocks: list[list[Any]], coinbase: bytes) -> list[Any]:
    chain = memory_chain(GENESIS)
    return [chain.execute(block, coinbase=coinbase, base_fee=GWEI) for block in blocks]


def _evm_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TransferLedger, "is_plain_transfer", lambda self, tx: False)


def _assert_same(fast: list[Any], reference: list[Any]) -> None:
    for ours, theirs in zip(fast, reference, strict=True):
        assert ours.rejected == theirs.rejected
        assert ours.receipts == theirs.receipts
        assert ours.state_root == theirs.state_root
        assert ours.state_writes == theirs.state_writes
        assert ours.gas_used == theirs.gas_used


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=transaction_specs, coinbase=st.sampled_from([EMPTY_COINBASE, FUNDED_COINBASE]))
def test_blocks_of_mixed_transactions_match_py_evm(memory_chain, sign_tx, specs, coinbase) -> None:
    blocks = _blocks_of(specs, sign_tx)
    fast = _run(memory_chain, blocks, coinbase)
    with pytest.MonkeyPatch.context() as patch:
        _evm_only(patch)
        reference = _run(memory_chain, blocks, coinbase)
    _assert_same(fast, reference)


def test_a_block_of_transfers_between_many_accounts_matches_py_evm(memory_chain, sign_tx, monkeypatch) -> None:
    """A payment-shaped block: every sender pays the next one several times, coinbase paid per transfer."""
    specs = [{"sender": i % 4, "to": _address(SENDERS[(i + 1) % 4]), "value": 10**15, "tip": GWEI,
              "kind": "dynamic", "nonce_skew": 0} for i in range(40)]
    blocks = _blocks_of(specs, sign_tx)
    fast = _run(memory_chain, blocks, FUNDED_COINBASE)
    assert all(receipt.gas_used == 21_000 and receipt.status == 1 for block in fast for receipt in block.receipts)
    _evm_only(monkeypatch)
    _assert_same(fast, _run(memory_chain, blocks, FUNDED_COINBASE))


def test_the_ledger_takes_only_plain_transfers(memory_chain, sign_tx) -> None:
    """What the ledger applies itself and what it leaves to the EVM."""
    chain = memory_chain(GENESIS)
    state = chain.executor.open_state(chain.db, chain.root, chain.env(coinbase=FUNDED_COINBASE))
    ledger = TransferLedger(state, ChainExecutor().precompile_addresses)
    base = {"sender": 1, "value": 1, "tip": GWEI, "kind": "dynamic", "nonce_skew": 0}

    def plain(**changes: Any) -> bool:
        return ledger.is_plain_transfer(_sign({**base, **changes}, 0, sign_tx))

    assert plain(to=FRESH)
    assert plain(to=_address(SENDERS[1]))  # to itself
    assert plain(to=FRESH, kind="legacy")
    assert plain(to=FRESH, kind="access-list")
    assert not plain(to=FRESH, value=0)
    assert not plain(to=FRESH, kind="with-data")
    assert not plain(to=PAYABLE)
    assert not plain(to=IDENTITY_PRECOMPILE)
    empty_coinbase_state = chain.executor.open_state(chain.db, chain.root, chain.env(coinbase=EMPTY_COINBASE))
    ledger = TransferLedger(empty_coinbase_state, ChainExecutor().precompile_addresses)
    assert plain(to=FRESH)
    assert not plain(to=FRESH, tip=0)
