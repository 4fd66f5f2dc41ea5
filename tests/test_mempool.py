"""Tests of the transaction pool with real transactions signed by eth_account for chain 15."""
from __future__ import annotations

from functools import cache

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cybermiles_node.mempool import (
    AlreadyKnownError,
    FeeCapTooLowError,
    FloorDataGasError,
    GasLimitError,
    InitCodeSizeError,
    InsufficientFundsError,
    IntrinsicGasError,
    InvalidChainIdError,
    InvalidSenderError,
    InvalidTransactionError,
    Mempool,
    MempoolConfig,
    MempoolConfigError,
    MempoolError,
    NonceTooHighError,
    NonceTooLowError,
    OversizedDataError,
    PoolFullError,
    ReplacementUnderpricedError,
    TipAboveFeeCapError,
    TxGasLimitTooHighError,
    UnderpricedError,
)

CHAIN_ID = 15
GWEI = 10**9
ETHER = 10**18
RECIPIENT = to_checksum_address("0x" + "ab" * 20)
ACCOUNTS = [Account.from_key(keccak(b"mempool test account %d" % i)) for i in range(8)]
A, B, C, D, E = ACCOUNTS[:5]


def addr(account) -> bytes:
    """The 20-byte address of an eth_account account."""
    return bytes.fromhex(account.address[2:])


def sign(
    account,
    nonce: int,
    *,
    max_fee: int = 10 * GWEI,
    tip: int = 1 * GWEI,
    gas: int = 21_000,
    value: int = 0,
    data: bytes = b"",
    to: str | None = RECIPIENT,
    chain_id: int | None = CHAIN_ID,
) -> bytes:
    """A signed EIP-1559 transaction."""
    fields = {
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": tip,
        "value": value,
        "data": data,
        "chainId": chain_id,
    }
    if to is not None:
        fields["to"] = to
    return bytes(account.sign_transaction(fields).raw_transaction)


def sign_legacy(account, nonce: int, *, gas_price: int = 10 * GWEI, gas: int = 21_000, chain_id: int | None = CHAIN_ID) -> bytes:
    """A signed legacy transaction (EIP-155 protected unless ``chain_id`` is None)."""
    fields = {"nonce": nonce, "gas": gas, "gasPrice": gas_price, "to": RECIPIENT, "value": 0}
    if chain_id is not None:
        fields["chainId"] = chain_id
    return bytes(account.sign_transaction(fields).raw_transaction)


class DictState:
    """A StateView over plain dicts; unknown accounts have nonce 0 and 100 ether."""

    def __init__(self) -> None:
        self.balances: dict[bytes, int] = {}
        self.nonces: dict[bytes, int] = {}

    def get_balance(self, address: bytes) -> int:
        return self.balances.get(address, 100 * ETHER)

    def get_nonce(self, address: bytes) -> int:
        return self.nonces.get(address, 0)


def pending_of(pool: Mempool, account) -> list[int]:
    return list(pool.content()["pending"].get(addr(account), {}))


def queued_of(pool: Mempool, account) -> list[int]:
    return list(pool.content()["queued"].get(addr(account), {}))


@pytest.fixture
def state() -> DictState:
    return DictState()


@pytest.fixture
def pool() -> Mempool:
    return Mempool(CHAIN_ID)


# ---------------------------------------------------------------------------- admission errors


def test_accepts_a_valid_transaction_and_returns_its_hash(pool, state):
    raw = sign(A, 0)
    tx_hash = pool.add(raw, state, base_fee=GWEI)
    assert tx_hash == keccak(raw)
    pooled = pool.get(tx_hash)
    assert pooled is not None
    assert (pooled.sender, pooled.nonce, pooled.gas, pooled.max_fee, pooled.tip, pooled.size) == (
        addr(A), 0, 21_000, 10 * GWEI, GWEI, len(raw)
    )
    assert pooled.raw == raw
    assert len(pool) == 1


def test_check_tx_does_not_change_the_pool(pool, state):
    pooled = pool.check_tx(sign(A, 0), state, base_fee=0)
    assert pooled.sender == addr(A)
    assert len(pool) == 0 and pool.get(pooled.hash) is None


def test_nonce_too_low(pool, state):
    state.nonces[addr(A)] = 5
    with pytest.raises(NonceTooLowError) as err:
        pool.add(sign(A, 3), state, base_fee=0)
    assert str(err.value) == "nonce too low: next nonce 5, tx nonce 3"


def test_nonce_too_high_beyond_the_queue_window_after_the_pending_run(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_queued_per_sender=4))
    state.nonces[addr(A)] = 10
    pool.add(sign(A, 14), state, base_fee=0)
    with pytest.raises(NonceTooHighError) as err:
        pool.add(sign(A, 15), state, base_fee=0)
    assert str(err.value) == "nonce too high: next nonce 10, tx nonce 15, at most 4 queued ahead"
    for nonce in (10, 11):
        pool.add(sign(A, nonce), state, base_fee=0)
    pool.add(sign(A, 16), state, base_fee=0)  # the window moves with the pending run
    assert pending_of(pool, A) == [10, 11] and queued_of(pool, A) == [14, 16]
    with pytest.raises(NonceTooHighError):
        pool.check_tx(sign(A, 17), state, base_fee=0)


def test_a_burst_of_one_hundred_from_one_sender_is_all_pending(pool, state):
    hashes = [pool.add(sign(A, nonce), state, base_fee=0) for nonce in range(100)]
    assert pending_of(pool, A) == list(range(100)) and queued_of(pool, A) == []
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 22, base_fee=0)] == hashes
    assert pool.pending_nonce(addr(A), state) == 100


def test_the_global_queue_evicts_its_cheapest_tail_for_a_better_paying_newcomer(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_queued=2))
    pool.add(sign(A, 1, tip=1 * GWEI), state, base_fee=0)
    b2 = pool.add(sign(B, 2, tip=3 * GWEI), state, base_fee=0)
    pool.add(sign(C, 0, tip=1 * GWEI), state, base_fee=0)  # pending: not counted in the queue
    with pytest.raises(PoolFullError):
        pool.add(sign(D, 1, tip=1 * GWEI), state, base_fee=0)  # does not outbid the cheapest queued
    with pytest.raises(PoolFullError):
        pool.add(sign(A, 2, tip=2 * GWEI), state, base_fee=0)  # A's own cheaper one is not a victim, B's pays more
    d1 = pool.add(sign(D, 1, tip=2 * GWEI), state, base_fee=0)
    assert queued_of(pool, A) == [] and pool.get(b2) is not None and pool.get(d1) is not None
    assert pool.stats().queued == 2 and pool.stats().pending == 1
    pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)  # pending newcomers never count against the queue
    assert pool.stats().queued == 2


def test_filling_a_gap_frees_queue_slots(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_queued=2))
    pool.add(sign(A, 1), state, base_fee=0)
    pool.add(sign(A, 2), state, base_fee=0)
    with pytest.raises(PoolFullError):
        pool.add(sign(B, 1), state, base_fee=0)
    pool.add(sign(A, 0), state, base_fee=0)
    assert pool.stats().queued == 0
    pool.add(sign(B, 1), state, base_fee=0)
    assert queued_of(pool, B) == [1]


def test_update_trims_a_demoted_run_to_the_queue_bounds(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_queued_per_sender=3, max_queued=4))
    for nonce in range(8):
        pool.add(sign(A, nonce, value=(20 if nonce == 1 else 0) * ETHER), state, base_fee=0)
    pool.add(sign(B, 1, tip=5 * GWEI), state, base_fee=0)
    pool.add(sign(B, 2, tip=5 * GWEI), state, base_fee=0)
    state.balances[addr(A)] = 10 * ETHER  # nonce 1 is no longer affordable: 2..7 fall behind a gap
    pool.update([], state, base_fee=0, senders=[addr(A)])
    assert pending_of(pool, A) == [0]
    assert queued_of(pool, A) == [2, 3]  # 5..7 lie beyond the window, then the cheapest tails go
    assert queued_of(pool, B) == [1, 2]
    assert pool.stats().queued == 4


def test_insufficient_funds_is_checked_against_gas_times_max_fee_plus_value(pool, state):
    cost = 21_000 * 10 * GWEI + 5
    state.balances[addr(A)] = cost - 1
    with pytest.raises(InsufficientFundsError) as err:
        pool.add(sign(A, 0, value=5), state, base_fee=0)
    assert str(err.value) == (
        f"insufficient funds for gas * price + value: balance {cost - 1}, tx cost {cost}, overshot 1"
    )
    state.balances[addr(A)] = cost
    pool.add(sign(A, 0, value=5), state, base_fee=0)


def test_balance_covers_each_transaction_alone_as_geth_does(pool, state):
    state.balances[addr(A)] = 21_000 * 10 * GWEI
    pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 1), state, base_fee=0)
    assert pending_of(pool, A) == [0, 1]


def test_intrinsic_gas_too_low(pool, state):
    with pytest.raises(IntrinsicGasError) as err:
        pool.add(sign(A, 0, gas=20_999), state, base_fee=0)
    assert str(err.value) == "intrinsic gas too low: gas 20999, minimum needed 21000"
    with pytest.raises(IntrinsicGasError) as err:
        pool.add(sign(A, 0, gas=21_000, data=b"\x01"), state, base_fee=0)
    assert str(err.value) == "intrinsic gas too low: gas 21000, minimum needed 21016"


def test_intrinsic_gas_too_low_for_a_legacy_transaction(pool, state):
    with pytest.raises(IntrinsicGasError) as err:
        pool.add(sign_legacy(A, 0, gas=20_000), state, base_fee=0)
    assert str(err.value).startswith("intrinsic gas too low")


def test_gas_below_the_calldata_floor(pool, state):
    data = b"\x01" * 1000  # intrinsic 37,000; EIP-7623 floor 21,000 + 10 * 4,000 = 61,000
    with pytest.raises(FloorDataGasError) as err:
        pool.add(sign(A, 0, gas=40_000, data=data), state, base_fee=0)
    assert str(err.value) == "insufficient gas for floor data gas cost: gas 40000, minimum needed 61000"
    pool.add(sign(A, 0, gas=61_000, data=data), state, base_fee=0)


def test_exceeds_block_gas_limit(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(block_gas_limit=1_000_000, max_tx_gas=1_000_000))
    with pytest.raises(GasLimitError) as err:
        pool.add(sign(A, 0, gas=1_000_001), state, base_fee=0)
    assert str(err.value) == "exceeds block gas limit"
    pool.add(sign(A, 0, gas=1_000_000), state, base_fee=0)


def test_exceeds_the_per_transaction_gas_cap(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(block_gas_limit=1_000_000, max_tx_gas=100_000))
    with pytest.raises(TxGasLimitTooHighError) as err:
        pool.add(sign(A, 0, gas=100_001), state, base_fee=0)
    assert str(err.value) == "transaction gas limit too high (cap: 100000, tx: 100001)"


def test_oversized_data(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_tx_bytes=300))
    raw = sign(A, 0, gas=100_000, data=b"\x01" * 300)
    with pytest.raises(OversizedDataError) as err:
        pool.add(raw, state, base_fee=0)
    assert str(err.value) == f"oversized data: transaction size {len(raw)}, limit 300"


def test_oversized_data_at_the_default_128_kib_limit(pool, state):
    raw = sign(A, 0, gas=3_000_000, data=b"\x00" * (128 * 1024))
    assert len(raw) > 128 * 1024
    with pytest.raises(OversizedDataError):
        pool.add(raw, state, base_fee=0)


def test_init_code_too_large(pool, state):
    with pytest.raises(InitCodeSizeError) as err:
        pool.add(sign(A, 0, to=None, gas=1_000_000, data=b"\x00" * 49_153), state, base_fee=0)
    assert str(err.value) == "max initcode size exceeded: code size 49153, limit 49152"


def test_underpriced_below_the_minimum_gas_price(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(min_gas_price=10 * GWEI))
    with pytest.raises(UnderpricedError) as err:
        pool.add(sign(A, 0, max_fee=9 * GWEI), state, base_fee=0)
    assert str(err.value) == f"transaction underpriced: max fee per gas {9 * GWEI}, minimum needed {10 * GWEI}"
    pool.add(sign(A, 0, max_fee=10 * GWEI), state, base_fee=0)


def test_max_fee_below_the_block_base_fee(pool, state):
    with pytest.raises(FeeCapTooLowError) as err:
        pool.add(sign(A, 0, max_fee=5 * GWEI), state, base_fee=6 * GWEI)
    assert str(err.value) == (
        f"max fee per gas less than block base fee: address {to_checksum_address(A.address)}, "
        f"maxFeePerGas: {5 * GWEI}, baseFee: {6 * GWEI}"
    )


def test_already_known(pool, state):
    raw = sign(A, 0)
    pool.add(raw, state, base_fee=0)
    with pytest.raises(AlreadyKnownError) as err:
        pool.add(raw, state, base_fee=0)
    assert str(err.value) == "already known"
    with pytest.raises(AlreadyKnownError):
        pool.check_tx(raw, state, base_fee=0)


def test_invalid_chain_id(pool, state):
    with pytest.raises(InvalidChainIdError) as err:
        pool.add(sign(A, 0, chain_id=16), state, base_fee=0)
    assert str(err.value) == "invalid chain id for signer: have 16 want 15"


def test_tip_above_fee_cap(pool, state):
    with pytest.raises(TipAboveFeeCapError) as err:
        pool.add(sign(A, 0, max_fee=GWEI, tip=2 * GWEI), state, base_fee=0)
    assert str(err.value) == "max priority fee per gas higher than max fee per gas"


def _not_an_x_coordinate() -> int:
    """The smallest r for which no secp256k1 point has x == r, so no key can be recovered."""
    p = 2**256 - 2**32 - 977
    r = 1
    while pow((r**3 + 7) % p, (p - 1) // 2, p) == 1:
        r += 1
    return r


def test_invalid_sender(pool, state):
    fields = rlp.decode(sign(A, 0)[1:])
    fields[10] = _not_an_x_coordinate().to_bytes(32, "big").lstrip(b"\x00")  # r of a type-2 transaction
    with pytest.raises(InvalidSenderError) as err:
        pool.add(b"\x02" + rlp.encode(fields), state, base_fee=0)
    assert str(err.value) == "invalid sender"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "typed transaction too short"),
        (b"\x02\xc0", "rlp: invalid transaction encoding"),
        (b"\x03\xc0", "transaction type not supported: blob transactions are disabled on this chain"),
    ],
)
def test_decoding_errors_pass_through(pool, state, raw, message):
    with pytest.raises(InvalidTransactionError) as err:
        pool.add(raw, state, base_fee=0)
    assert str(err.value) == message
    assert isinstance(err.value, MempoolError)


def test_unprotected_legacy_transaction_is_rejected(pool, state):
    with pytest.raises(InvalidTransactionError) as err:
        pool.add(sign_legacy(A, 0, chain_id=None), state, base_fee=0)
    assert "replay-protected" in str(err.value)


def test_config_rejects_bad_limits():
    with pytest.raises(MempoolConfigError, match="max_txs"):
        MempoolConfig(max_txs=0)
    with pytest.raises(MempoolConfigError, match="max_tx_gas"):
        MempoolConfig(block_gas_limit=100_000, max_tx_gas=200_000)


# ---------------------------------------------------------------------------- nonce order


def test_gap_queues_and_filling_it_promotes(pool, state):
    for nonce in (0, 2, 3):
        pool.add(sign(A, nonce), state, base_fee=0)
    assert pending_of(pool, A) == [0]
    assert queued_of(pool, A) == [2, 3]
    assert pool.pending_nonce(addr(A), state) == 1
    assert pool.stats().pending == 1 and pool.stats().queued == 2
    pool.add(sign(A, 1), state, base_fee=0)
    assert pending_of(pool, A) == [0, 1, 2, 3]
    assert queued_of(pool, A) == []
    assert pool.pending_nonce(addr(A), state) == 4


def test_pending_nonce_without_transactions_is_the_state_nonce(pool, state):
    state.nonces[addr(B)] = 7
    assert pool.pending_nonce(addr(B), state) == 7


def test_queued_transactions_are_not_reaped(pool, state):
    pool.add(sign(A, 1), state, base_fee=0)
    assert pool.reap(30_000_000, 1 << 20, base_fee=0) == []


# ---------------------------------------------------------------------------- replacement


def test_replacement_needs_a_ten_percent_bump_of_fee_cap_and_tip(pool, state):
    old_hash = pool.add(sign(A, 0, max_fee=100 * GWEI, tip=10 * GWEI), state, base_fee=0)
    with pytest.raises(ReplacementUnderpricedError) as err:
        pool.add(sign(A, 0, max_fee=109 * GWEI, tip=109 * GWEI // 10), state, base_fee=0)
    assert str(err.value) == "replacement transaction underpriced"
    with pytest.raises(ReplacementUnderpricedError):
        pool.add(sign(A, 0, max_fee=110 * GWEI, tip=10 * GWEI), state, base_fee=0)
    with pytest.raises(ReplacementUnderpricedError):
        pool.add(sign(A, 0, max_fee=100 * GWEI, tip=11 * GWEI), state, base_fee=0)
    new_hash = pool.add(sign(A, 0, max_fee=110 * GWEI, tip=11 * GWEI), state, base_fee=0)
    assert pool.get(old_hash) is None
    assert pool.get(new_hash).max_fee == 110 * GWEI
    assert len(pool) == 1
    assert pool.stats().size_bytes == pool.get(new_hash).size


def test_legacy_replacement_by_gas_price(pool, state):
    pool.add(sign_legacy(A, 0, gas_price=20 * GWEI), state, base_fee=0)
    with pytest.raises(ReplacementUnderpricedError):
        pool.add(sign_legacy(A, 0, gas_price=21 * GWEI), state, base_fee=0)
    pool.add(sign_legacy(A, 0, gas_price=22 * GWEI), state, base_fee=0)
    assert [tx.max_fee for tx in pool.reap(30_000_000, 1 << 20, base_fee=0)] == [22 * GWEI]


def test_replacing_a_queued_transaction_keeps_it_queued(pool, state):
    pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 2, max_fee=10 * GWEI, tip=GWEI), state, base_fee=0)
    pool.add(sign(A, 2, max_fee=20 * GWEI, tip=2 * GWEI), state, base_fee=0)
    assert pending_of(pool, A) == [0] and queued_of(pool, A) == [2]
    assert len(pool) == 2


# ---------------------------------------------------------------------------- eviction


def test_full_pool_evicts_the_cheapest_and_rejects_a_cheaper_newcomer(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=3))
    cheap = pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)
    pool.add(sign(B, 0, tip=2 * GWEI), state, base_fee=0)
    pool.add(sign(C, 0, tip=3 * GWEI), state, base_fee=0)
    pool.add(sign(D, 0, tip=4 * GWEI), state, base_fee=0)
    assert len(pool) == 3
    assert pool.get(cheap) is None
    with pytest.raises(PoolFullError) as err:
        pool.add(sign(E, 0, tip=2 * GWEI), state, base_fee=0)
    assert str(err.value) == "txpool is full"
    assert len(pool) == 3


def test_eviction_takes_a_senders_highest_nonce_never_the_middle_of_a_run(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=3))
    pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)  # cheapest overall, but not A's top
    pool.add(sign(A, 1, tip=5 * GWEI), state, base_fee=0)
    b0 = pool.add(sign(B, 0, tip=3 * GWEI), state, base_fee=0)
    pool.add(sign(C, 0, tip=4 * GWEI), state, base_fee=0)
    assert pool.get(b0) is None
    assert pending_of(pool, A) == [0, 1]
    assert pending_of(pool, C) == [0]


def test_evicting_the_top_of_a_pending_run_shortens_the_run(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=3))
    a0 = pool.add(sign(A, 0, tip=5 * GWEI), state, base_fee=0)
    a1 = pool.add(sign(A, 1, tip=1 * GWEI), state, base_fee=0)
    b0 = pool.add(sign(B, 0, tip=3 * GWEI), state, base_fee=0)
    c0 = pool.add(sign(C, 0, tip=2 * GWEI), state, base_fee=0)
    assert pool.get(a1) is None
    assert pool.stats().pending == 3
    assert pool.pending_nonce(addr(A), state) == 1
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=0)] == [a0, b0, c0]


def test_eviction_ranks_by_effective_tip_at_the_base_fee(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=2))
    capped = pool.add(sign(A, 0, max_fee=11 * GWEI, tip=5 * GWEI), state, base_fee=10 * GWEI)  # pays 1 gwei
    pool.add(sign(B, 0, max_fee=20 * GWEI, tip=2 * GWEI), state, base_fee=10 * GWEI)
    pool.add(sign(C, 0, max_fee=20 * GWEI, tip=3 * GWEI), state, base_fee=10 * GWEI)
    assert pool.get(capped) is None


def test_a_queued_newcomer_never_evicts_a_pending_transaction(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=2))
    pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)
    pool.add(sign(B, 0, tip=1 * GWEI), state, base_fee=0)
    with pytest.raises(PoolFullError):
        pool.add(sign(C, 1, tip=9 * GWEI), state, base_fee=0)
    pool.add(sign(C, 0, tip=9 * GWEI), state, base_fee=0)
    assert len(pool) == 2


def test_a_sender_never_evicts_its_own_transactions(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=2))
    pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)
    pool.add(sign(A, 1, tip=1 * GWEI), state, base_fee=0)
    with pytest.raises(PoolFullError):
        pool.add(sign(A, 2, tip=9 * GWEI), state, base_fee=0)
    assert pending_of(pool, A) == [0, 1]


def test_byte_limit_evicts_as_many_as_needed(state):
    size = len(sign(A, 0))
    pool = Mempool(CHAIN_ID, MempoolConfig(max_bytes=size * 3, max_tx_bytes=size * 3))
    pool.add(sign(A, 0, tip=1 * GWEI), state, base_fee=0)
    pool.add(sign(B, 0, tip=2 * GWEI), state, base_fee=0)
    pool.add(sign(C, 0, tip=3 * GWEI), state, base_fee=0)
    big = sign(D, 0, tip=4 * GWEI, gas=100_000, data=b"\x01" * (size // 2))
    assert size < len(big) <= size * 2  # room for it needs two evictions
    pool.add(big, state, base_fee=0)
    assert pool.stats().size_bytes <= size * 3
    assert sorted(pool.content()["pending"]) == sorted([addr(C), addr(D)])


# ---------------------------------------------------------------------------- reap


def test_reap_orders_by_tip_across_senders_and_by_nonce_within_one(pool, state):
    a0 = pool.add(sign(A, 0, tip=5 * GWEI), state, base_fee=0)
    a1 = pool.add(sign(A, 1, tip=1 * GWEI), state, base_fee=0)
    b0 = pool.add(sign(B, 0, tip=3 * GWEI), state, base_fee=0)
    c0 = pool.add(sign(C, 0, tip=4 * GWEI), state, base_fee=0)
    c1 = pool.add(sign(C, 1, tip=6 * GWEI), state, base_fee=0)
    reaped = [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=0)]
    assert reaped == [a0, c0, c1, b0, a1]
    assert len(pool) == 5


def test_reap_breaks_ties_by_arrival(pool, state):
    hashes = [pool.add(sign(account, 0), state, base_fee=0) for account in (D, B, E, A, C)]
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=0)] == hashes


def test_reap_respects_the_gas_and_byte_budgets(pool, state):
    big = pool.add(sign(A, 0, tip=9 * GWEI, gas=50_000), state, base_fee=0)
    small = [pool.add(sign(account, 0, tip=tip * GWEI), state, base_fee=0) for account, tip in ((B, 3), (C, 2), (D, 1))]
    reaped = pool.reap(max_gas=49_999, max_bytes=1 << 20, base_fee=0)
    assert [tx.hash for tx in reaped] == small[:2]  # the best one does not fit, the next ones do
    reaped = pool.reap(max_gas=63_000, max_bytes=1 << 20, base_fee=0)
    assert [tx.hash for tx in reaped] == [big]
    reaped = pool.reap(max_gas=71_000, max_bytes=1 << 20, base_fee=0)
    assert [tx.hash for tx in reaped] == [big, small[0]]
    two = pool.get(big).size + pool.get(small[0]).size
    assert [tx.hash for tx in pool.reap(30_000_000, max_bytes=two, base_fee=0)] == [big, small[0]]
    assert [tx.hash for tx in pool.reap(30_000_000, max_bytes=two - 1, base_fee=0)] == [big]


def test_reap_skips_a_sender_that_cannot_pay_the_base_fee(pool, state):
    pool.add(sign(A, 0, max_fee=10 * GWEI, tip=5 * GWEI), state, base_fee=0)
    pool.add(sign(A, 1, max_fee=50 * GWEI, tip=5 * GWEI), state, base_fee=0)
    b0 = pool.add(sign(B, 0, max_fee=50 * GWEI, tip=1 * GWEI), state, base_fee=0)
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=11 * GWEI)] == [b0]


def test_reap_orders_by_effective_tip_at_the_base_fee(pool, state):
    x = pool.add(sign(A, 0, max_fee=11 * GWEI, tip=5 * GWEI), state, base_fee=0)
    y = pool.add(sign(B, 0, max_fee=20 * GWEI, tip=3 * GWEI), state, base_fee=0)
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=0)] == [x, y]
    assert [tx.hash for tx in pool.reap(30_000_000, 1 << 20, base_fee=10 * GWEI)] == [y, x]


# ---------------------------------------------------------------------------- update after a block


def test_update_removes_committed_and_promotes(pool, state):
    hashes = [pool.add(sign(A, nonce), state, base_fee=0) for nonce in (0, 1, 3)]
    state.nonces[addr(A)] = 2
    pool.update(hashes[:2], state, base_fee=0)
    assert pool.get(hashes[0]) is None and pool.get(hashes[1]) is None
    assert pending_of(pool, A) == [] and queued_of(pool, A) == [3]
    pool.add(sign(A, 2), state, base_fee=0)
    assert pending_of(pool, A) == [2, 3]


def test_update_drops_nonces_the_chain_used_for_other_transactions(pool, state):
    pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 1), state, base_fee=0)
    pool.add(sign(A, 2), state, base_fee=0)
    state.nonces[addr(A)] = 2  # nonces 0 and 1 were used by transactions this pool never saw
    pool.update([keccak(b"unknown")], state, base_fee=0, senders=[addr(A)])
    assert pending_of(pool, A) == [2]
    assert len(pool) == 1


def test_add_resyncs_a_sender_whose_nonce_moved(pool, state):
    stale = pool.add(sign(A, 0), state, base_fee=0)
    state.nonces[addr(A)] = 1
    pool.add(sign(A, 1), state, base_fee=0)
    assert pool.get(stale) is None
    assert pending_of(pool, A) == [1]


def test_add_with_an_older_state_view_cannot_reuse_a_committed_nonce(pool, state):
    a0 = pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 2), state, base_fee=0)
    state.nonces[addr(A)] = 2
    pool.update([a0], state, base_fee=0, senders=[addr(A)])
    older = DictState()
    older.nonces[addr(A)] = 0
    with pytest.raises(NonceTooLowError) as err:
        pool.add(sign(A, 1), older, base_fee=0)
    assert str(err.value) == "nonce too low: next nonce 2, tx nonce 1"
    assert pending_of(pool, A) == [2]


def test_update_drops_what_the_balance_no_longer_covers_and_demotes_the_rest(pool, state):
    a0 = pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 1), state, base_fee=0)
    rich = pool.add(sign(A, 2, value=50 * ETHER), state, base_fee=0)
    pool.add(sign(A, 3), state, base_fee=0)
    state.nonces[addr(A)] = 1
    state.balances[addr(A)] = 40 * ETHER
    pool.update([a0], state, base_fee=0)
    assert pool.get(rich) is None
    assert pending_of(pool, A) == [1]
    assert queued_of(pool, A) == [3]
    assert pool.pending_nonce(addr(A), state) == 2


def test_update_leaves_untouched_senders_alone(pool, state):
    a0 = pool.add(sign(A, 0), state, base_fee=0)
    b0 = pool.add(sign(B, 0), state, base_fee=0)
    state.nonces[addr(A)] = 1
    pool.update([a0], state, base_fee=GWEI)
    assert pool.get(b0) is not None
    assert pool.stats().pending == 1


def test_eviction_still_works_after_the_base_fee_moves(state):
    pool = Mempool(CHAIN_ID, MempoolConfig(max_txs=2))
    a0 = pool.add(sign(A, 0, max_fee=30 * GWEI, tip=2 * GWEI), state, base_fee=0)
    b0 = pool.add(sign(B, 0, max_fee=12 * GWEI, tip=5 * GWEI), state, base_fee=0)
    pool.update([], state, base_fee=10 * GWEI)  # b0 now pays 2 gwei, a0 still 2 gwei: b0 is newer
    pool.add(sign(C, 0, max_fee=30 * GWEI, tip=3 * GWEI), state, base_fee=10 * GWEI)
    assert pool.get(b0) is None and pool.get(a0) is not None


def test_content_and_stats(pool, state):
    pool.add(sign(B, 0), state, base_fee=0)
    pool.add(sign(A, 0), state, base_fee=0)
    pool.add(sign(A, 2), state, base_fee=0)
    content = pool.content()
    assert list(content["pending"]) == sorted([addr(A), addr(B)])
    assert list(content["queued"]) == [addr(A)]
    assert content["queued"][addr(A)][2].nonce == 2
    stats = pool.stats()
    assert (stats.pending, stats.queued, stats.senders) == (2, 1, 2)
    assert stats.size_bytes == sum(tx.size for txs in content["pending"].values() for tx in txs.values()) + content[
        "queued"
    ][addr(A)][2].size


# ---------------------------------------------------------------------------- property test


@cache
def _signed(sender: int, nonce: int, fee_level: int, value_level: int) -> bytes:
    return sign(
        ACCOUNTS[sender],
        nonce,
        max_fee=(10 + 3 * fee_level) * GWEI,
        tip=(1 + fee_level) * GWEI,
        value=value_level * ETHER,
    )


_ADD = st.tuples(
    st.just("add"),
    st.integers(0, 3),  # sender
    st.sampled_from([0, 0, 0, 0, -1, -2, 1, 3]),  # nonce relative to the pool's next one: next, replacement, gap
    st.integers(0, 3),  # fee level
    st.integers(0, 1),  # value in ether
)
_BLOCK = st.tuples(st.just("block"), st.integers(1, 6), st.sampled_from([0, GWEI, 12 * GWEI]))
_DRAIN = st.tuples(st.just("drain"), st.integers(0, 3), st.integers(0, 10))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_ADD, _ADD, _ADD, _ADD, _BLOCK, _DRAIN), min_size=10, max_size=60))
def test_random_operations_keep_the_pool_consistent(ops):
    config = MempoolConfig(max_txs=5, max_queued_per_sender=2, max_queued=2)
    pool = Mempool(CHAIN_ID, config)
    state = DictState()
    for index in range(4):
        state.balances[addr(ACCOUNTS[index])] = 10 * ETHER
    base_fee = 0
    for op in ops:
        if op[0] == "add":
            _, sender, offset, fee_level, value_level = op
            nonce = max(0, pool.pending_nonce(addr(ACCOUNTS[sender]), state) + offset)
            try:
                pool.add(_signed(sender, nonce, fee_level, value_level), state, base_fee)
            except MempoolError:
                pass
        elif op[0] == "block":
            _, count, next_base_fee = op
            chosen = pool.reap(max_gas=21_000 * count, max_bytes=1 << 20, base_fee=base_fee)
            assert sum(tx.gas for tx in chosen) <= 21_000 * count
            executed = _execute(chosen, state, base_fee)
            base_fee = next_base_fee
            pool.update([tx.hash for tx in executed], state, base_fee)
            for tx in executed:
                assert pool.get(tx.hash) is None
        else:
            _, sender, ether = op
            address = addr(ACCOUNTS[sender])
            state.balances[address] = min(state.get_balance(address), ether * ETHER)
            pool.update([], state, base_fee, senders=[address])
        _check_invariants(pool, state, config)


def _execute(chosen: list, state: DictState, base_fee: int) -> list:
    """Apply reaped transactions as a block builder does; return those executed.

    Admission checks each transaction's cost alone (as geth does), so a later
    nonce may be unaffordable after earlier ones: the builder skips it and the
    sender's later nonces. Everything else reaped must be executable in order.
    """
    executed = []
    skipped: set[bytes] = set()
    for tx in chosen:
        if tx.sender in skipped:
            continue
        assert tx.nonce == state.get_nonce(tx.sender)
        assert tx.max_fee >= base_fee
        if state.get_balance(tx.sender) < tx.cost:
            skipped.add(tx.sender)
            continue
        state.nonces[tx.sender] = tx.nonce + 1
        state.balances[tx.sender] = (
            state.get_balance(tx.sender) - tx.gas * (base_fee + tx.effective_tip(base_fee)) - tx.tx.value
        )
        executed.append(tx)
    return executed


def _check_invariants(pool: Mempool, state: DictState, config: MempoolConfig) -> None:
    content = pool.content()
    held = 0
    total_bytes = 0
    for address in set(content["pending"]) | set(content["queued"]):
        pending = content["pending"].get(address, {})
        queued = content["queued"].get(address, {})
        state_nonce = state.get_nonce(address)
        assert list(pending) == list(range(state_nonce, state_nonce + len(pending)))
        assert not set(pending) & set(queued)
        assert list(queued) == sorted(queued)
        if queued:
            assert min(queued) > state_nonce + len(pending)
        assert max([*pending, *queued]) <= state_nonce + len(pending) + config.max_queued_per_sender
        for nonce, tx in [*pending.items(), *queued.items()]:
            assert tx.nonce == nonce and tx.sender == address
            assert pool.get(tx.hash) is tx
            assert tx.cost <= state.get_balance(address)
            held += 1
            total_bytes += tx.size
        assert pool.pending_nonce(address, state) == state_nonce + len(pending)
    stats = pool.stats()
    assert stats.pending == sum(len(txs) for txs in content["pending"].values())
    assert stats.queued == sum(len(txs) for txs in content["queued"].values())
    assert held == len(pool) == stats.pending + stats.queued
    assert stats.senders == len(set(content["pending"]) | set(content["queued"]))
    assert len(pool) <= config.max_txs
    assert stats.queued <= config.max_queued
    assert total_bytes == stats.size_bytes <= config.max_bytes
