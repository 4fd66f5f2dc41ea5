"""Sponsored gas: the ISponsor contract, the bounds at admission and at execution, the fee paid from the deposit."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import eth_abi
import pytest
from click.testing import CliRunner
from eth.db.account import AccountDB
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    function_signature_to_4byte_selector,
    to_checksum_address,
)

from cybermiles_node.cli.main import cli
from cybermiles_node.mempool import Mempool
from cybermiles_node.mempool.errors import FeeCapTooLowError, SponsorshipError
from cybermiles_node.solc import CompiledContract, compile_file
from tests.test_oracle_contract import address_of, calldata, revert_reason
from vm.errors import BlockExecutionError
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import SPONSOR_ADDRESS
from vm.sponsorship.block import GAS_SPONSORED_TOPIC
from vm.sponsorship.contract import SponsorContract
from vm.tracing.calls import CallTracer
from vm.tracing.replay import replay_block
from vm.transactions import decode_transaction

CHAIN_ID = 15
GWEI = 10**9
ETHER = 10**18
T0 = 1_700_000_010
REPO = Path(__file__).resolve().parents[1]
ABI = json.loads((REPO / "vm" / "sponsorship" / "ISponsor.abi.json").read_text())
OWNER = Account.from_key(keccak(b"sponsor test owner"))
STRANGER = Account.from_key(keccak(b"sponsor test stranger"))
SHOPPERS = [Account.from_key(keccak(b"sponsor test shopper %d" % i)) for i in range(4)]
CONFIGURE = "configure(address,address,uint64,uint32,uint64,uint64)"
SPONSORSHIP_TYPES = ["address", "uint256", "uint64", "uint32", "uint64", "uint64"]


@pytest.fixture(scope="module")
def shop_contract(tmp_path_factory) -> CompiledContract:
    """SponsoredShop.sol compiled against the shipped ISponsor.sol."""
    workdir = tmp_path_factory.mktemp("sponsored")
    shutil.copy(REPO / "tests" / "contracts" / "SponsoredShop.sol", workdir)
    shutil.copy(REPO / "vm" / "sponsorship" / "ISponsor.sol", workdir)
    return compile_file(workdir / "SponsoredShop.sol")["SponsoredShop"]


class SponsorChain:
    """A memory chain with the sponsor contract, a funded owner and shoppers holding nothing."""

    def __init__(self, memory_chain, shop: CompiledContract) -> None:
        self.chain = memory_chain([GenesisAccount(address_of(OWNER), balance=100 * ETHER)],
                                  natives=[SponsorContract()])
        self.shop_code = shop.bytecode
        self.nonces: dict[str, int] = {}
        self.time = T0

    def sign(self, account, to: bytes | None, data: bytes = b"", *, gas: int = 100_000, **fields):
        nonce = self.nonces.get(account.address, 0)
        self.nonces[account.address] = nonce + 1
        tx = {"nonce": nonce, "gas": gas, "value": 0, "data": data, "chainId": CHAIN_ID, **fields}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        if "gasPrice" not in tx:
            tx.setdefault("maxFeePerGas", 10 * GWEI)
            tx.setdefault("maxPriorityFeePerGas", GWEI)
        return bytes(account.sign_transaction(tx).raw_transaction)

    def tx(self, account, to: bytes | None, data: bytes = b"", **fields):
        return decode_transaction(self.sign(account, to, data, **fields), CHAIN_ID)

    def block(self, txs, *, strict: bool = True, advance: int = 1):
        result = self.chain.execute(txs, strict=strict, timestamp=self.time)
        self.time += advance
        return result

    def deploy_shop(self, *, deposit: int = ETHER, max_gas: int = 100_000, max_txs: int = 3, window: int = 60,
                    block_gas: int = 1_000_000) -> bytes:
        args = eth_abi.encode(["uint64", "uint32", "uint64", "uint64"], [max_gas, max_txs, window, block_gas])
        receipt = self.block([self.tx(OWNER, None, self.shop_code + args, gas=1_000_000, value=deposit)]).receipts[0]
        assert receipt.status == 1
        return receipt.contract_address

    def call(self, to: bytes, data: bytes, sender=OWNER):
        return self.chain.call(CallMessage(sender=address_of(sender), to=to, data=data), timestamp=self.time)

    def sponsorship(self, target: bytes) -> tuple:
        outcome = self.call(SPONSOR_ADDRESS, calldata("sponsorshipOf(address)", "0x" + target.hex()))
        assert outcome.success
        return eth_abi.decode(SPONSORSHIP_TYPES, outcome.output)

    def deposit(self, target: bytes) -> int:
        return self.sponsorship(target)[1]

    @property
    def state(self) -> AccountDB:
        return self.chain.state


@pytest.fixture
def sponsored(memory_chain, shop_contract) -> SponsorChain:
    return SponsorChain(memory_chain, shop_contract)


def visit(chain: SponsorChain, shopper, shop: bytes, *, dynamic: bool = False, gas: int = 60_000, **fields):
    """A zero-price call of the shop's visit(): legacy gasPrice 0, or EIP-1559 maxFeePerGas 0."""
    price = {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0} if dynamic else {"gasPrice": 0}
    return chain.tx(shopper, shop, calldata("visit()"), gas=gas, **price, **fields)


def test_the_published_abi_matches_the_native_contract() -> None:
    functions = {function_abi_to_4byte_selector(e) for e in ABI if e["type"] == "function"}
    assert functions == {spec.selector for spec in SponsorContract.methods()}
    topics = {event_abi_to_log_topic(e) for e in ABI if e["type"] == "event"}
    assert GAS_SPONSORED_TOPIC in topics and len(topics) == 4


def test_zero_price_calls_from_empty_accounts_are_paid_from_the_deposit(sponsored) -> None:
    shop = sponsored.deploy_shop(deposit=ETHER)
    assert sponsored.sponsorship(shop) == ("0x" + address_of(OWNER).hex(), ETHER, 100_000, 3, 60, 1_000_000)
    held = sponsored.state.get_balance(SPONSOR_ADDRESS)
    txs = [
        visit(sponsored, SHOPPERS[0], shop),
        visit(sponsored, SHOPPERS[1], shop, dynamic=True),
        sponsored.tx(SHOPPERS[2], shop, calldata("refuse()"), gasPrice=0, gas=60_000),
    ]
    block_time = sponsored.time
    result = sponsored.block(txs)
    fees = 0
    for tx, receipt, status in zip(txs, result.receipts, (1, 1, 0), strict=True):
        assert receipt.status == status and receipt.effective_gas_price == 0
        paid = receipt.logs[-1]  # the sponsor's log closes the receipt, a reverted call's too
        assert paid.address == SPONSOR_ADDRESS and paid.topics[0] == GAS_SPONSORED_TOPIC
        assert paid.topics[1][12:] == shop and paid.topics[2][12:] == tx.sender
        fee = receipt.gas_used * GWEI
        assert eth_abi.decode(["uint256", "uint256"], paid.data) == (receipt.gas_used, fee)
        assert sponsored.state.get_balance(tx.sender) == 0
        fees += fee
    assert sponsored.deposit(shop) == ETHER - fees
    assert sponsored.state.get_balance(SPONSOR_ADDRESS) == held - fees
    visits = sponsored.call(shop, calldata("visits(address)", SHOPPERS[0].address))
    assert eth_abi.decode(["uint256"], visits.output) == (1,)
    counted = sponsored.call(SPONSOR_ADDRESS, calldata("sponsoredTxsOf(address,address)", "0x" + shop.hex(),
                                                       SHOPPERS[2].address))
    assert eth_abi.decode(["uint32", "uint64"], counted.output) == (1, block_time)


def test_execution_enforces_every_bound_and_a_block_breaking_one_is_invalid(sponsored) -> None:
    shop = sponsored.deploy_shop(deposit=140_000 * GWEI, max_gas=60_000, max_txs=2, window=30, block_gas=120_000)
    cases = [
        (visit(sponsored, SHOPPERS[0], shop, value=1), "a sponsored transaction carries no value"),
        (visit(sponsored, SHOPPERS[1], shop, gas=60_001), "gas limit 60001 exceeds the 60000 gas per transaction"),
    ]
    for tx, reason in cases:
        with pytest.raises(BlockExecutionError, match=reason):
            sponsored.chain.executor.execute_block(sponsored.chain.db, sponsored.chain.root,
                                                   sponsored.chain.env(timestamp=sponsored.time), [tx], strict=True)
        assert sponsored.block([tx], strict=False).rejected[0][1].startswith(reason)
    sponsored.nonces.clear()  # the refused transactions used no nonce
    first, second, third = (visit(sponsored, SHOPPERS[i], shop) for i in range(3))
    chain = sponsored.chain
    with pytest.raises(BlockExecutionError, match="over its bound of 120000 per block"):
        chain.executor.execute_block(chain.db, chain.root, chain.env(timestamp=sponsored.time), [first, second, third],
                                     strict=True)
    result = sponsored.block([first, second, third], strict=False)
    assert [r.status for r in result.receipts] == [1, 1]
    assert "over its bound of 120000 per block" in result.rejected[0][1]
    sponsored.nonces[SHOPPERS[2].address] = 0
    deposit = sponsored.deposit(shop)
    assert deposit < 60_000 * GWEI  # two calls spent more than what a third reserves
    drained = visit(sponsored, SHOPPERS[2], shop)
    with pytest.raises(BlockExecutionError, match="is drained"):
        chain.executor.execute_block(chain.db, chain.root, chain.env(timestamp=sponsored.time), [drained], strict=True)
    assert sponsored.block([drained], strict=False).rejected == (
        (drained.hash, f"sponsorship of 0x{shop.hex()} is drained (balance {deposit} wei, needs {60_000 * GWEI})"),)
    assert sponsored.deposit(shop) == deposit and sponsored.state.get_nonce(address_of(SHOPPERS[2])) == 0


def test_a_sender_gets_its_window_and_a_new_one_after_it_ends(sponsored) -> None:
    shop = sponsored.deploy_shop(max_txs=2, window=30)
    shopper = SHOPPERS[0]
    assert [r.status for r in sponsored.block([visit(sponsored, shopper, shop), visit(sponsored, shopper, shop)],
                                              advance=10).receipts] == [1, 1]
    start = sponsored.time - 10
    third = visit(sponsored, shopper, shop)
    with pytest.raises(BlockExecutionError, match="used its 2 sponsored transactions of this window"):
        sponsored.block([third], strict=True)
    sponsored.time = start + 30  # the window ended
    assert sponsored.block([third]).receipts[0].status == 1
    counted = sponsored.call(SPONSOR_ADDRESS, calldata("sponsoredTxsOf(address,address)", "0x" + shop.hex(),
                                                       shopper.address))
    assert eth_abi.decode(["uint32", "uint64"], counted.output) == (1, start + 30)


def test_configure_deposit_and_withdraw_refuse_with_precise_errors_and_change_nothing(sponsored) -> None:
    shop = sponsored.deploy_shop(deposit=ETHER)
    target = "0x" + shop.hex()
    owner_balance = sponsored.state.get_balance(address_of(OWNER))

    def refused(account, signature: str, *values, value: int = 0) -> str:
        outcome = sponsored.chain.call(CallMessage(sender=address_of(account), to=SPONSOR_ADDRESS,
                                                   data=calldata(signature, *values), value=value),
                                       timestamp=sponsored.time)
        assert not outcome.success
        return revert_reason(outcome.output)

    stranger_target = STRANGER.address.lower()
    assert refused(OWNER, CONFIGURE, stranger_target, OWNER.address, 50_000, 1, 60, 50_000) == (
        f"Sponsor: only {stranger_target} itself may set up its sponsorship")
    assert refused(STRANGER, CONFIGURE, target, STRANGER.address, 50_000, 1, 60, 50_000) == (
        f"Sponsor: only the target or its manager may configure the sponsorship of {target}")
    for bounds, message in [
        ((20_999, 1, 60, 50_000), "maxGasPerTx must be at least 21000, got 20999"),
        ((50_000, 0, 60, 50_000), "maxTxsPerSenderPerWindow must be at least 1, got 0"),
        ((50_000, 1, 0, 50_000), "windowSeconds must be 1 to 31622400, got 0"),
        ((50_000, 1, 31_622_401, 50_000), "windowSeconds must be 1 to 31622400, got 31622401"),
        ((50_000, 1, 60, 49_999), "maxGasPerBlock (49999) must be at least maxGasPerTx (50000)"),
    ]:
        assert refused(OWNER, CONFIGURE, target, OWNER.address, *bounds) == f"Sponsor: {message}"
    assert refused(OWNER, "deposit(address)", stranger_target, value=1) == (
        f"Sponsor: {stranger_target} has no sponsorship")
    assert refused(OWNER, "deposit(address)", target) == "Sponsor: a deposit needs a value above 0"
    assert refused(STRANGER, "withdraw(address,uint256)", target, 1) == (
        f"Sponsor: only the target or its manager may withdraw from {target}")
    assert refused(OWNER, "withdraw(address,uint256)", target, ETHER + 1) == (
        f"Sponsor: withdrawal of {ETHER + 1} wei exceeds the deposit of {target} ({ETHER} wei)")
    malformed = sponsored.chain.call(CallMessage(sender=address_of(OWNER), to=SPONSOR_ADDRESS,
                                                 data=function_signature_to_4byte_selector(CONFIGURE) + b"\x01"),
                                     timestamp=sponsored.time)
    assert revert_reason(malformed.output) == "Sponsor: malformed arguments"
    assert sponsored.sponsorship(shop) == ("0x" + address_of(OWNER).hex(), ETHER, 100_000, 3, 60, 1_000_000)

    # The manager reconfigures, tops up and withdraws; the deposit and its balance follow exactly.
    changed = sponsored.tx(OWNER, SPONSOR_ADDRESS, calldata(CONFIGURE, target, OWNER.address, 50_000, 5, 600, 500_000))
    topped = sponsored.tx(OWNER, SPONSOR_ADDRESS, calldata("deposit(address)", target), value=2 * ETHER)
    withdrawn = sponsored.tx(OWNER, SPONSOR_ADDRESS, calldata("withdraw(address,uint256)", target, ETHER // 2))
    receipts = sponsored.block([changed, topped, withdrawn]).receipts
    assert [r.status for r in receipts] == [1, 1, 1]
    assert eth_abi.decode(["uint256", "uint256"], receipts[2].logs[0].data) == (ETHER // 2, ETHER * 5 // 2)
    assert sponsored.sponsorship(shop) == ("0x" + address_of(OWNER).hex(), ETHER * 5 // 2, 50_000, 5, 600, 500_000)
    gas_paid = sum(r.gas_used * r.effective_gas_price for r in receipts)
    assert sponsored.state.get_balance(address_of(OWNER)) == owner_balance - 2 * ETHER + ETHER // 2 - gas_paid


class ChainView:
    """The mempool's view of the memory chain's latest state."""

    def __init__(self, chain: SponsorChain) -> None:
        self._state, self._time = chain.state, chain.time - 1

    def get_balance(self, address: bytes) -> int:
        return self._state.get_balance(address)

    def get_nonce(self, address: bytes) -> int:
        return self._state.get_nonce(address)

    def get_storage(self, address: bytes, slot: int) -> int:
        return self._state.get_storage(address, slot)

    def block_time(self) -> int:
        return self._time


def test_the_mempool_admits_sponsored_calls_within_bounds_counting_those_it_holds(sponsored) -> None:
    shop = sponsored.deploy_shop(deposit=5 * 60_000 * GWEI, max_gas=60_000, max_txs=2, window=600,
                                 block_gas=120_000)
    where = "0x" + shop.hex()
    pool, view = Mempool(CHAIN_ID), ChainView(sponsored)

    def add(raw: bytes) -> bytes:
        return pool.add(raw, view, GWEI)

    def refused(raw: bytes, error=SponsorshipError) -> str:
        with pytest.raises(error) as caught:
            pool.check_tx(raw, view, GWEI)
        return str(caught.value)

    def raw_visit(shopper, **fields) -> bytes:
        return sponsored.sign(shopper, shop, calldata("visit()"), gas=60_000, gasPrice=0, **fields)

    # Gas price 0 to an address nobody sponsors: refused with the reason; a priced call below the base fee as before.
    assert refused(sponsored.sign(SHOPPERS[0], address_of(STRANGER), gasPrice=0, gas=21_000)) == (
        f"no sponsorship for {STRANGER.address.lower()}: gas price 0 is only accepted for sponsored contracts")
    refused(sponsored.sign(SHOPPERS[0], shop, gasPrice=1, gas=60_000), FeeCapTooLowError)
    sponsored.nonces.clear()
    assert refused(raw_visit(SHOPPERS[0], value=1)).startswith("a sponsored transaction carries no value")
    sponsored.nonces.clear()
    assert refused(sponsored.sign(SHOPPERS[0], shop, gas=60_001, gasPrice=0)).startswith(
        "gas limit 60001 exceeds the 60000 gas per transaction")
    sponsored.nonces.clear()

    # Two per sender per window, pending ones counted; five calls' worth of deposit, held ones counted.
    admitted = [add(raw_visit(SHOPPERS[0])), add(raw_visit(SHOPPERS[0]))]
    assert refused(raw_visit(SHOPPERS[0])).startswith(
        f"sender {SHOPPERS[0].address.lower()} used its 2 sponsored transactions of this window to {where}")
    admitted += [add(raw_visit(SHOPPERS[1])), add(raw_visit(SHOPPERS[1])), add(raw_visit(SHOPPERS[2]))]
    assert refused(raw_visit(SHOPPERS[3])) == (
        f"sponsorship of {where} is drained (balance {5 * 60_000 * GWEI} wei, needs {6 * 60_000 * GWEI})")
    reaped = pool.reap(30_000_000, 1 << 20, GWEI)
    assert {tx.hash for tx in reaped} == set(admitted) and all(tx.sponsor == shop for tx in reaped)

    # The proposer keeps the per-block bound (two calls of 60,000 gas); the rest wait for later blocks.
    result = sponsored.block([tx.tx for tx in reaped], strict=False)
    assert len(result.receipts) == 2 and len(result.rejected) == 3
    view = ChainView(sponsored)
    pool.update([r.tx_hash for r in result.receipts], view, GWEI)
    assert len(pool) == 3
    deposit = sponsored.deposit(shop)
    assert refused(raw_visit(SHOPPERS[3])) == (
        f"sponsorship of {where} is drained (balance {deposit} wei, needs {4 * 60_000 * GWEI})")


def test_estimate_and_call_with_gas_price_zero_work_for_an_empty_account(sponsored) -> None:
    shop = sponsored.deploy_shop()
    message = CallMessage(sender=address_of(SHOPPERS[0]), to=shop, data=calldata("visit()"), gas_price=0)
    chain = sponsored.chain
    estimate = chain.executor.estimate_gas(chain.db, chain.root, chain.env(timestamp=sponsored.time), message,
                                           30_000_000)
    assert estimate.success
    receipt = sponsored.block([visit(sponsored, SHOPPERS[0], shop, gas=estimate.gas_used)]).receipts[0]
    assert receipt.status == 1 and receipt.gas_used <= estimate.gas_used


def test_a_replayed_block_runs_sponsored_calls_as_execution_did(sponsored) -> None:
    shop = sponsored.deploy_shop()
    txs = [visit(sponsored, SHOPPERS[0], shop), sponsored.tx(SHOPPERS[1], shop, calldata("refuse()"), gasPrice=0,
                                                               gas=60_000)]
    chain = sponsored.chain
    parent_root, env = chain.root, chain.env(timestamp=sponsored.time)
    receipts = sponsored.block(txs).receipts
    replay = replay_block(chain.executor, chain.db, parent_root, env, txs, lambda index: CallTracer(),
                          lambda: None)
    assert [(t.gas_used, t.success) for t in replay.transactions] == [(r.gas_used, r.status == 1) for r in receipts]


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (["show", "0x12"], 1, "invalid target address '0x12': expected 0x followed by 40 hex digits"),
    (["show", "0x" + "ab" * 20, "--rpc", "http://127.0.0.1:1"], 1, "cannot reach node at http://127.0.0.1:1"),
    (["deposit", "0x" + "ab" * 20, "--amount", "ten"], 1, "--amount"),
    (["configure", "0x" + "ab" * 20, "--manager", "0x" + "cd" * 20, "--max-gas-per-tx", "20999",
      "--max-txs-per-window", "1", "--window-seconds", "60", "--max-gas-per-block", "50000"], 2, "--max-gas-per-tx"),
    (["configure", "0x" + "ab" * 20, "--manager", "0x" + "cd" * 20, "--max-gas-per-tx", "21000",
      "--max-txs-per-window", "1", "--window-seconds", "31622401", "--max-gas-per-block", "50000"], 2,
     "--window-seconds"),
])
def test_cmnode_sponsor_refuses_bad_input_in_one_line(args: list[str], exit_code: int, message: str) -> None:
    result = CliRunner().invoke(cli, ["sponsor", *args])
    assert result.exit_code == exit_code and message in result.output, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
