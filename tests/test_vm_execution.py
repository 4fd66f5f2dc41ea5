"""Tests of block execution, calls and gas estimation with hand-assembled EVM contracts."""
from __future__ import annotations

import pytest
import rlp
from eth._utils.address import generate_contract_address
from eth_account import Account
from eth_hash.auto import keccak
from trie import HexaryTrie

from vm.errors import BlockExecutionError
from vm.execution import BLANK_ROOT_HASH, CallMessage, GenesisAccount
from vm.fees import FeeParams, next_base_fee
from vm.receipts import logs_bloom

GWEI = 10**9
ETHER = 10**18
CHAIN_ID = 15
TIMESTAMP = 1_700_000_010
COINBASE = bytes.fromhex("c0" * 20)

ALICE = Account.from_key(keccak(b"execution alice"))
BOB = Account.from_key(keccak(b"execution bob"))
POOR = Account.from_key(keccak(b"execution poor"))
RECIPIENT = bytes.fromhex("ab" * 20)


def addr(account) -> bytes:
    """The 20-byte address of an eth_account account."""
    return bytes.fromhex(account.address[2:])


def push1(value: int) -> bytes:
    """PUSH1 ``value``."""
    return bytes([0x60, value])


def word(value: int | bytes) -> bytes:
    """A 32-byte ABI word."""
    return value.rjust(32, b"\x00") if isinstance(value, bytes) else value.to_bytes(32, "big")


# Stores BLOCKHASH(calldata[0]) at slot 0, CHAINID at 1, TIMESTAMP at 2, NUMBER at 3, BASEFEE at 4.
ENV_PROBE = (
    push1(0) + b"\x35\x40" + push1(0) + b"\x55"
    + b"\x46" + push1(1) + b"\x55"
    + b"\x42" + push1(2) + b"\x55"
    + b"\x43" + push1(3) + b"\x55"
    + b"\x48" + push1(4) + b"\x55"
    + b"\x00"
)
# Returns BLOCKHASH(calldata[0]) (for eth_call).
BLOCKHASH_VIEW = push1(0) + b"\x35\x40" + push1(0) + b"\x52" + push1(32) + push1(0) + b"\xf3"
# LOG1 with topic calldata[0] and data calldata[32:64].
LOGGER = push1(32) + b"\x35" + push1(0) + b"\x52" + push1(0) + b"\x35" + push1(32) + push1(0) + b"\xa1\x00"
# Reverts with its calldata as revert data.
REVERTER = b"\x36" + push1(0) + push1(0) + b"\x37" + b"\x36" + push1(0) + b"\xfd"
# Writes slots n..1 (n = calldata[0]) with their own index.
WRITER = bytes.fromhex("600035" "5b" "801560135780805560019003600356" "5b00")
# Clears slot 1 (set at genesis): a call with a gas refund.
CLEARER = push1(0) + push1(1) + b"\x55\x00"

ENV_ADDR = bytes.fromhex("e0" * 20)
BLOCKHASH_ADDR = bytes.fromhex("e1" * 20)
LOGGER_ADDR = bytes.fromhex("e2" * 20)
REVERTER_ADDR = bytes.fromhex("e3" * 20)
WRITER_ADDR = bytes.fromhex("e4" * 20)
CLEARER_ADDR = bytes.fromhex("e5" * 20)

GENESIS = (
    GenesisAccount(addr(ALICE), balance=1_000 * ETHER),
    GenesisAccount(addr(BOB), balance=1_000 * ETHER),
    GenesisAccount(addr(POOR), balance=21_000 * GWEI),  # a transfer at 1 gwei and nothing more
    GenesisAccount(ENV_ADDR, code=ENV_PROBE),
    GenesisAccount(BLOCKHASH_ADDR, code=BLOCKHASH_VIEW),
    GenesisAccount(LOGGER_ADDR, code=LOGGER),
    GenesisAccount(REVERTER_ADDR, code=REVERTER),
    GenesisAccount(WRITER_ADDR, code=WRITER),
    GenesisAccount(CLEARER_ADDR, code=CLEARER, storage=((1, 7),)),
)


def runtime_deployer(runtime: bytes) -> bytes:
    """Init code that deploys ``runtime``."""
    size = len(runtime)
    return push1(size) + push1(12) + push1(0) + b"\x39" + push1(size) + push1(0) + b"\xf3" + runtime


@pytest.fixture
def chain(memory_chain):
    """A fresh chain holding the test accounts and contracts."""
    return memory_chain(GENESIS)


def transfer(sign_tx, account=ALICE, nonce: int = 0, **fields):
    """A value transfer to RECIPIENT."""
    return sign_tx(account, nonce=nonce, to=RECIPIENT, value=fields.pop("value", 1), gas=fields.pop("gas", 21_000), **fields)


# -- determinism and the state overlay ---------------------------------------------


def _block(sign_tx):
    return [
        transfer(sign_tx, ALICE, 0, value=5),
        sign_tx(BOB, nonce=0, to=LOGGER_ADDR, data=word(0xAA) + word(0xBB)),
        sign_tx(ALICE, nonce=1, data=runtime_deployer(LOGGER), to=None, gas=200_000),
        sign_tx(BOB, nonce=1, to=REVERTER_ADDR, data=b"nope"),
    ]


def test_same_block_twice_gives_identical_results(chain, sign_tx) -> None:
    txs = _block(sign_tx)
    env = chain.env()
    first = chain.executor.execute_block(chain.db, chain.root, env, txs, strict=True)
    second = chain.executor.execute_block(chain.db, chain.root, env, txs, strict=True)
    assert first.state_root == second.state_root != chain.root
    assert first.receipts == second.receipts
    assert first.receipts_root == second.receipts_root
    assert first.transactions_root == second.transactions_root
    assert first.state_writes == second.state_writes


def test_two_fresh_databases_reach_the_same_state(memory_chain, sign_tx) -> None:
    one, two = memory_chain(GENESIS), memory_chain(GENESIS)
    assert one.root == two.root
    for _ in range(3):
        txs = [transfer(sign_tx, ALICE, one.number, value=one.number + 1)]
        a, b = one.execute(txs, strict=True), two.execute(txs, strict=True)
        assert (a.state_root, a.receipts, a.receipts_root, a.logs_bloom) == (b.state_root, b.receipts, b.receipts_root, b.logs_bloom)
    assert one.state.get_balance(RECIPIENT) == two.state.get_balance(RECIPIENT) == 6


def test_execution_does_not_touch_the_base_database(chain, sign_tx) -> None:
    before = dict(chain.db.kv_store)
    result = chain.executor.execute_block(chain.db, chain.root, chain.env(), _block(sign_tx), strict=True)
    assert dict(chain.db.kv_store) == before
    assert result.state_writes
    # the new root is readable only once the captured writes are stored
    unapplied = type(chain.state)(chain.db, result.state_root)
    with pytest.raises(Exception, match="[Mm]issing"):
        unapplied.get_balance(RECIPIENT)
    chain.apply(result.state_writes)
    assert type(chain.state)(chain.db, result.state_root).get_balance(RECIPIENT) == 5


def test_empty_block_keeps_the_state_root(chain) -> None:
    root = chain.root
    result = chain.execute([])
    assert result.state_root == root
    assert result.receipts == () and result.gas_used == 0 and result.logs_bloom == 0
    assert result.transactions_root == result.receipts_root == BLANK_ROOT_HASH


# -- inclusion rules -------------------------------------------------------------


def test_non_strict_mode_leaves_out_what_cannot_be_included(chain, sign_tx) -> None:
    good = transfer(sign_tx, ALICE, 0)
    nonce_gap = transfer(sign_tx, BOB, 5)
    too_poor = transfer(sign_tx, POOR, 0, maxFeePerGas=2 * GWEI, maxPriorityFeePerGas=GWEI)
    underpriced = transfer(sign_tx, BOB, 0, maxFeePerGas=GWEI - 1, maxPriorityFeePerGas=0)
    replayed = transfer(sign_tx, ALICE, 0, value=2)
    result = chain.execute([good, nonce_gap, too_poor, underpriced, replayed], base_fee=GWEI)
    assert [r.tx_hash for r in result.receipts] == [good.hash]
    assert result.transactions == (good.encode(),)
    reasons = dict(result.rejected)
    assert list(reasons) == [nonce_gap.hash, too_poor.hash, underpriced.hash, replayed.hash]
    assert reasons[nonce_gap.hash] == "nonce too high: next nonce 0, tx nonce 5"
    assert reasons[too_poor.hash] == "insufficient funds for gas * price + value"
    assert reasons[underpriced.hash] == (
        "max fee per gas less than block base fee: maxFeePerGas: 999999999, baseFee: 1000000000"
    )
    assert reasons[replayed.hash] == "nonce too low: next nonce 1, tx nonce 0"
    assert chain.state.get_nonce(addr(BOB)) == 0
    assert chain.state.get_balance(addr(POOR)) == 21_000 * GWEI


@pytest.mark.parametrize("bad", ["nonce", "funds", "fee"])
def test_strict_mode_raises_on_a_transaction_that_cannot_be_included(chain, sign_tx, bad: str) -> None:
    tx = {
        "nonce": transfer(sign_tx, BOB, 1),
        "funds": transfer(sign_tx, POOR, 0, maxFeePerGas=2 * GWEI, maxPriorityFeePerGas=GWEI),
        "fee": transfer(sign_tx, BOB, 0, maxFeePerGas=GWEI - 1, maxPriorityFeePerGas=0),
    }[bad]
    root = chain.root
    with pytest.raises(BlockExecutionError, match=tx.hash.hex()):
        chain.execute([transfer(sign_tx, ALICE, 0), tx], strict=True)
    assert chain.root == root


def test_block_gas_limit_is_respected(chain, sign_tx) -> None:
    txs = [transfer(sign_tx, ALICE, n) for n in range(3)]
    result = chain.execute(txs, gas_limit=50_000)
    assert len(result.receipts) == 2
    assert result.gas_used == 42_000 <= 50_000
    assert result.rejected == ((txs[2].hash, "gas limit reached"),)
    with pytest.raises(BlockExecutionError, match="gas limit reached"):
        chain.executor.execute_block(chain.db, chain.root, chain.env(gas_limit=20_999), [transfer(sign_tx, ALICE, 2)], strict=True)


def test_oversized_init_code_is_left_out_not_raised(chain, sign_tx) -> None:
    tx = sign_tx(ALICE, nonce=0, to=None, data=b"\x00" * 49_153, gas=5_000_000)
    result = chain.execute([tx])
    assert result.receipts == ()
    assert result.rejected == ((tx.hash, "max initcode size exceeded: code size 49153, limit 49152"),)
    with pytest.raises(BlockExecutionError, match="max initcode size exceeded"):
        chain.execute([tx], strict=True)


def test_gas_below_the_calldata_floor_is_left_out(chain, sign_tx) -> None:
    data = b"\x01" * 1_000  # intrinsic 37,000 gas, EIP-7623 floor 21,000 + 10 * 4,000 = 61,000
    short = sign_tx(ALICE, nonce=0, to=RECIPIENT, data=data, gas=60_999)
    result = chain.execute([short])
    assert result.receipts == ()
    assert result.rejected == ((short.hash, "insufficient gas for floor data gas cost: gas 60999, minimum needed 61000"),)
    enough = sign_tx(ALICE, nonce=0, to=RECIPIENT, data=data, gas=61_000)
    result = chain.execute([enough], strict=True)
    assert result.receipts[0].status == 1 and result.receipts[0].gas_used == 61_000


def test_legacy_transaction_fee_check_uses_its_gas_price(chain, sign_tx) -> None:
    cheap = sign_tx(ALICE, nonce=0, to=RECIPIENT, gas=21_000, gasPrice=GWEI - 1)
    result = chain.execute([cheap], base_fee=GWEI)
    assert result.receipts == () and result.rejected[0][1].startswith("max fee per gas less than block base fee")
    fine = sign_tx(ALICE, nonce=0, to=RECIPIENT, gas=21_000, gasPrice=3 * GWEI)
    result = chain.execute([fine], base_fee=GWEI)
    assert result.receipts[0].status == 1 and result.receipts[0].effective_gas_price == 3 * GWEI


# -- receipts and fees ----------------------------------------------------------------


def test_receipts_report_status_gas_logs_and_created_contracts(chain, sign_tx) -> None:
    txs = _block(sign_tx)
    result = chain.execute(txs, strict=True)
    transfer_r, log_r, create_r, revert_r = result.receipts
    assert [r.status for r in result.receipts] == [1, 1, 1, 0]
    assert [r.tx_index for r in result.receipts] == [0, 1, 2, 3]
    assert [r.tx_type for r in result.receipts] == [2, 2, 2, 2]
    assert transfer_r.gas_used == 21_000
    cumulative = 0
    for receipt in result.receipts:
        cumulative += receipt.gas_used
        assert receipt.cumulative_gas_used == cumulative
    assert result.gas_used == cumulative

    assert len(log_r.logs) == 1
    log = log_r.logs[0]
    assert (log.address, log.topics, log.data) == (LOGGER_ADDR, (word(0xAA),), word(0xBB))
    assert result.logs_bloom == logs_bloom(log_r.logs) != 0

    created = generate_contract_address(addr(ALICE), 1)
    assert create_r.contract_address == created and create_r.to is None
    assert chain.state.get_code(created) == LOGGER
    assert transfer_r.contract_address is None and transfer_r.to == RECIPIENT

    assert revert_r.logs == () and revert_r.gas_used > 21_000
    assert chain.state.get_nonce(addr(BOB)) == 2  # the reverted transaction still used its nonce


def test_roots_commit_to_transactions_and_receipts(chain, sign_tx) -> None:
    txs = _block(sign_tx)
    result = chain.execute(txs, strict=True)
    tx_trie, receipt_trie = HexaryTrie({}), HexaryTrie({})
    for index, (tx, receipt) in enumerate(zip(txs, result.receipts)):
        tx_trie[rlp.encode(index)] = tx.encode()
        body = rlp.encode([
            receipt.status, receipt.cumulative_gas_used, receipt.bloom.to_bytes(256, "big"),
            [[log.address, list(log.topics), log.data] for log in receipt.logs],
        ])
        receipt_trie[rlp.encode(index)] = b"\x02" + body
    assert result.transactions_root == tx_trie.root_hash
    assert result.receipts_root == receipt_trie.root_hash


@pytest.mark.parametrize(("max_fee", "tip", "price"), [(10 * GWEI, 2 * GWEI, 5 * GWEI), (4 * GWEI, 2 * GWEI, 4 * GWEI)])
def test_fees_tip_to_coinbase_base_fee_burned(chain, sign_tx, max_fee: int, tip: int, price: int) -> None:
    base_fee = 3 * GWEI
    tx = transfer(sign_tx, ALICE, 0, value=1_000, maxFeePerGas=max_fee, maxPriorityFeePerGas=tip)
    holders = (addr(ALICE), RECIPIENT, COINBASE)
    before = {a: chain.state.get_balance(a) for a in holders}
    result = chain.execute([tx], base_fee=base_fee, strict=True)
    receipt = result.receipts[0]
    assert receipt.effective_gas_price == price
    after = {a: chain.state.get_balance(a) for a in holders}
    assert after[COINBASE] - before[COINBASE] == (price - base_fee) * 21_000
    assert before[addr(ALICE)] - after[addr(ALICE)] == price * 21_000 + 1_000
    assert after[RECIPIENT] - before[RECIPIENT] == 1_000
    assert sum(before.values()) - sum(after.values()) == base_fee * 21_000


# -- block environment opcodes -------------------------------------------------------


def _probe(chain, sign_tx, nonce: int, block_number_arg: int, **env) -> dict[int, int]:
    tx = sign_tx(ALICE, nonce=nonce, to=ENV_ADDR, data=word(block_number_arg), gas=200_000)
    result = chain.execute([tx], strict=True, **env)
    assert result.receipts[0].status == 1
    return {slot: chain.state.get_storage(ENV_ADDR, slot) for slot in range(5)}


def test_blockhash_chainid_timestamp_number_and_basefee(chain, sign_tx) -> None:
    for _ in range(3):
        chain.execute([])
    expected_parent = chain.hashes[0]
    grandparent = chain.hashes[1]
    seen = _probe(chain, sign_tx, 0, chain.number, timestamp=TIMESTAMP + 77, base_fee=2 * GWEI)
    assert seen[0] == int.from_bytes(expected_parent, "big")  # BLOCKHASH(number - 1)
    assert seen[1] == CHAIN_ID
    assert seen[2] == TIMESTAMP + 77
    assert seen[3] == chain.number
    assert seen[4] == 2 * GWEI
    assert _probe(chain, sign_tx, 1, chain.number - 2)[0] == int.from_bytes(grandparent, "big")
    assert _probe(chain, sign_tx, 2, chain.number + 1)[0] == 0  # the block being executed has no hash yet


def test_blockhash_covers_exactly_the_last_256_blocks(chain) -> None:
    chain.number = 299
    chain.hashes = [keccak(b"block %d" % n) for n in range(299, -1, -1)]

    def blockhash(n: int) -> bytes:
        outcome = chain.call(CallMessage(sender=addr(ALICE), to=BLOCKHASH_ADDR, data=word(n)))
        assert outcome.success
        return outcome.output

    # executing block 300: BLOCKHASH sees blocks 44..299
    assert blockhash(299) == keccak(b"block 299")
    assert blockhash(44) == keccak(b"block 44")
    assert blockhash(43) == word(0)
    assert blockhash(300) == word(0)
    assert blockhash(10**6) == word(0)


# -- eth_call and gas estimation ------------------------------------------------------


def test_call_returns_revert_data(chain) -> None:
    outcome = chain.call(CallMessage(sender=addr(ALICE), to=REVERTER_ADDR, data=b"\x08\xc3\x79\xa0reason"))
    assert not outcome.success
    assert outcome.error == "execution reverted"
    assert outcome.output == b"\x08\xc3\x79\xa0reason"
    assert outcome.gas_used > 21_000


def test_call_keeps_no_state(chain) -> None:
    root, before = chain.root, dict(chain.db.kv_store)
    outcome = chain.call(CallMessage(sender=addr(ALICE), to=WRITER_ADDR, data=word(3)))
    assert outcome.success
    assert chain.root == root and dict(chain.db.kv_store) == before
    assert chain.state.get_storage(WRITER_ADDR, 1) == 0


def test_call_without_price_ignores_the_base_fee(chain) -> None:
    broke = Account.from_key(keccak(b"no balance at all"))
    message = CallMessage(sender=addr(broke), to=BLOCKHASH_ADDR, data=word(0))
    assert chain.call(message, base_fee=50 * GWEI).success
    priced = CallMessage(sender=addr(broke), to=BLOCKHASH_ADDR, data=word(0), max_fee_per_gas=60 * GWEI)
    outcome = chain.call(priced, base_fee=50 * GWEI)
    assert not outcome.success
    assert outcome.error == "insufficient funds for gas * price + value"
    below = CallMessage(sender=addr(ALICE), to=BLOCKHASH_ADDR, data=word(0), gas_price=GWEI)
    assert not chain.call(below, base_fee=50 * GWEI).success


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (CallMessage(sender=addr(ALICE), to=RECIPIENT, gas=20_999), "intrinsic gas too low"),
        (CallMessage(sender=addr(ALICE), to=RECIPIENT, data=b"\x01" * 1_000, gas=60_000),
         "insufficient gas for floor data gas cost: gas 60000, minimum needed 61000"),
        (CallMessage(sender=addr(ALICE), to=None, data=b"\x00" * 49_153),
         "max initcode size exceeded: code size 49153, limit 49152"),
        (CallMessage(sender=addr(POOR), to=RECIPIENT, value=ETHER), "insufficient funds for gas * price + value"),
    ],
    ids=["intrinsic", "floor", "initcode", "funds"],
)
def test_calls_that_cannot_run_report_why(chain, message: CallMessage, error: str) -> None:
    outcome = chain.call(message)
    assert (outcome.success, outcome.error, outcome.output) == (False, error, b"")
    estimate = chain.executor.estimate_gas(chain.db, chain.root, chain.env(), message, cap=30_000_000)
    assert not estimate.success


@pytest.mark.parametrize(
    ("to", "data"),
    [
        (RECIPIENT, b""), (WRITER_ADDR, word(1)), (WRITER_ADDR, word(6)), (CLEARER_ADDR, b""),
        (None, runtime_deployer(LOGGER)), (RECIPIENT, b"\x01" * 1_000),
    ],
    ids=["transfer", "one-write", "six-writes", "refund", "create", "calldata-floor"],
)
def test_gas_estimate_is_sufficient_and_tight(chain, to: bytes | None, data: bytes) -> None:
    message = CallMessage(sender=addr(ALICE), to=to, data=data)
    estimate = chain.executor.estimate_gas(chain.db, chain.root, chain.env(), message, cap=30_000_000)
    assert estimate.success
    with_estimate = CallMessage(sender=addr(ALICE), to=to, data=data, gas=estimate.gas_used)
    assert chain.call(with_estimate).success
    lower = estimate.gas_used * 99 // 100
    if lower < estimate.gas_used:
        assert not chain.call(CallMessage(sender=addr(ALICE), to=to, data=data, gas=lower)).success


def test_gas_estimate_of_a_revert_reports_it(chain) -> None:
    message = CallMessage(sender=addr(ALICE), to=REVERTER_ADDR, data=b"why")
    outcome = chain.executor.estimate_gas(chain.db, chain.root, chain.env(), message, cap=30_000_000)
    assert not outcome.success
    assert outcome.error == "execution reverted" and outcome.output == b"why"


def test_gas_estimate_within_the_cap_fails_when_the_cap_is_too_low(chain) -> None:
    message = CallMessage(sender=addr(ALICE), to=WRITER_ADDR, data=word(6))
    outcome = chain.executor.estimate_gas(chain.db, chain.root, chain.env(), message, cap=60_000)
    assert not outcome.success


# -- base fee ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent_fee", "used", "limit", "expected"),
    [
        (GWEI, 10_000_000, 20_000_000, GWEI),  # at target: unchanged
        (GWEI, 9_000_000, 20_000_000, 987_500_000),  # go-ethereum's TestCalcBaseFee vectors
        (GWEI, 11_000_000, 20_000_000, 1_012_500_000),
        (GWEI, 30_000_000, 30_000_000, 1_125_000_000),  # full block: +12.5%
        (GWEI, 0, 30_000_000, 875_000_000),  # empty block: -12.5%
        (100, 15_000_001, 30_000_000, 101),  # above target: at least +1
        (7, 0, 30_000_000, 7),  # 7 - 7 // 8 rounds the decrease to nothing
    ],
)
def test_next_base_fee_follows_eip1559(parent_fee: int, used: int, limit: int, expected: int) -> None:
    assert next_base_fee(parent_fee, used, limit, FeeParams(min_base_fee=0)) == expected


def test_next_base_fee_never_goes_below_the_floor() -> None:
    params = FeeParams(min_base_fee=GWEI)
    assert next_base_fee(GWEI, 0, 30_000_000, params) == GWEI
    assert next_base_fee(GWEI + 10, 0, 30_000_000, params) == GWEI
    assert next_base_fee(GWEI, 30_000_000, 30_000_000, params) == 1_125_000_000


def test_base_fee_falls_to_the_floor_over_empty_blocks_and_stays() -> None:
    params = FeeParams(min_base_fee=GWEI)
    fee = 100 * GWEI
    for _ in range(100):
        fee = next_base_fee(fee, 0, 30_000_000, params)
    assert fee == GWEI
