"""The ``ISponsor`` native contract at ``0x…0C16``: sponsorships, their deposits and their bounds.

``configure`` sets a target's manager and bounds: the first time only the
target itself may (a contract calls it from its constructor or an owner-only
function), later the target or the manager. ``deposit`` adds ``msg.value`` to a
configured target's deposit (anyone), ``withdraw`` pays unspent deposit to the
manager or the target. The deposits are this contract's balance; block
execution (``vm.sponsorship.block``) spends them on sponsored transactions.

Gas: each method's base cost below plus the framework's storage and event
schedule; ``benchmarks/sponsor_gas.py`` measures every call (``benchmarks/README.md``).
"""
from __future__ import annotations

from vm.errors import NativeContractError
from vm.native.addresses import SPONSOR_ADDRESS
from vm.native.framework import CallContext, NativeContract, method
from vm.sponsorship.records import (
    Bounds,
    Sponsorship,
    load_sponsorship,
    load_window,
    store_balance,
    store_settings,
)
from vm.sponsorship.rule import MAX_WINDOW_SECONDS, MIN_TX_GAS, hex_address

CONFIGURE_GAS = 10_000
DEPOSIT_GAS = 5_000
WITHDRAW_GAS = 5_000
VIEW_GAS = 200

CONFIGURED_EVENT = "SponsorshipConfigured(address,address,uint64,uint32,uint64,uint64)"
DEPOSIT_EVENT = "SponsorDeposit(address,address,uint256,uint256)"
WITHDRAWAL_EVENT = "SponsorWithdrawal(address,address,uint256,uint256)"


def _fail(message: str) -> NativeContractError:
    return NativeContractError(f"Sponsor: {message}")


def _address(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def check_bounds(bounds: Bounds) -> None:
    """Refuse bounds a sponsorship cannot have, naming the first one wrong."""
    if bounds.max_gas_per_tx < MIN_TX_GAS:
        raise _fail(f"maxGasPerTx must be at least {MIN_TX_GAS}, got {bounds.max_gas_per_tx}")
    if bounds.max_txs_per_sender == 0:
        raise _fail("maxTxsPerSenderPerWindow must be at least 1, got 0")
    if not 1 <= bounds.window_seconds <= MAX_WINDOW_SECONDS:
        raise _fail(f"windowSeconds must be 1 to {MAX_WINDOW_SECONDS}, got {bounds.window_seconds}")
    if bounds.max_gas_per_block < bounds.max_gas_per_tx:
        raise _fail(f"maxGasPerBlock ({bounds.max_gas_per_block}) must be at least maxGasPerTx "
                    f"({bounds.max_gas_per_tx})")


class SponsorContract(NativeContract):
    """Sponsorships of gas for calls to contracts (interface: ``ISponsor.sol``)."""

    address = SPONSOR_ADDRESS
    name = "Sponsor"

    @staticmethod
    def _sponsorship(ctx: CallContext, target: bytes) -> Sponsorship:
        sponsorship = load_sponsorship(ctx.load, target)
        if sponsorship is None:
            raise _fail(f"{hex_address(target)} has no sponsorship")
        return sponsorship

    @method("configure(address,address,uint64,uint32,uint64,uint64)", gas=CONFIGURE_GAS)
    def configure(self, ctx: CallContext, target: str, manager: str, max_gas_per_tx: int, max_txs: int,
                  window_seconds: int, max_gas_per_block: int) -> None:
        """Set the manager and bounds of ``target`` (first by the target itself, then by it or its manager)."""
        target_address, manager_address = _address(target), _address(manager)
        current = load_sponsorship(ctx.load, target_address)
        if current is None and ctx.sender != target_address:
            raise _fail(f"only {hex_address(target_address)} itself may set up its sponsorship")
        if current is not None and ctx.sender not in (target_address, current.manager):
            raise _fail(f"only the target or its manager may configure the sponsorship of {hex_address(target_address)}")
        bounds = Bounds(max_gas_per_tx, max_txs, window_seconds, max_gas_per_block)
        check_bounds(bounds)
        store_settings(ctx.store, target_address, manager_address, bounds)
        ctx.emit(CONFIGURED_EVENT, indexed=[("address", target), ("address", manager)],
                 data=[("uint64", max_gas_per_tx), ("uint32", max_txs), ("uint64", window_seconds),
                       ("uint64", max_gas_per_block)])

    @method("deposit(address)", gas=DEPOSIT_GAS, payable=True)
    def deposit(self, ctx: CallContext, target: str) -> None:
        """Add ``msg.value`` to the deposit of a configured ``target``."""
        target_address = _address(target)
        sponsorship = self._sponsorship(ctx, target_address)
        if ctx.value == 0:
            raise _fail("a deposit needs a value above 0")
        balance = sponsorship.balance + ctx.value
        store_balance(ctx.store, target_address, balance)
        ctx.emit(DEPOSIT_EVENT, indexed=[("address", target), ("address", hex_address(ctx.sender))],
                 data=[("uint256", ctx.value), ("uint256", balance)])

    @method("withdraw(address,uint256)", gas=WITHDRAW_GAS)
    def withdraw(self, ctx: CallContext, target: str, amount: int) -> None:
        """Pay ``amount`` wei of ``target``'s deposit to the caller (its manager or the target)."""
        target_address = _address(target)
        sponsorship = self._sponsorship(ctx, target_address)
        if ctx.sender not in (target_address, sponsorship.manager):
            raise _fail(f"only the target or its manager may withdraw from {hex_address(target_address)}")
        if amount == 0:
            raise _fail("a withdrawal needs an amount above 0")
        if amount > sponsorship.balance:
            raise _fail(f"withdrawal of {amount} wei exceeds the deposit of {hex_address(target_address)} ({sponsorship.balance} wei)")
        balance = sponsorship.balance - amount
        store_balance(ctx.store, target_address, balance)
        ctx.transfer(ctx.sender, amount)
        ctx.emit(WITHDRAWAL_EVENT, indexed=[("address", target), ("address", hex_address(ctx.sender))],
                 data=[("uint256", amount), ("uint256", balance)])

    @method("sponsorshipOf(address)", returns=["address", "uint256", "uint64", "uint32", "uint64", "uint64"],
            gas=VIEW_GAS, view=True)
    def sponsorship_of(self, ctx: CallContext, target: str) -> tuple[str, int, int, int, int, int]:
        """Manager, deposit and bounds of ``target`` (all zero when never configured)."""
        sponsorship = load_sponsorship(ctx.load, _address(target))
        if sponsorship is None:
            return ("0x" + "00" * 20, 0, 0, 0, 0, 0)
        b = sponsorship.bounds
        return (hex_address(sponsorship.manager), sponsorship.balance, b.max_gas_per_tx, b.max_txs_per_sender,
                b.window_seconds, b.max_gas_per_block)

    @method("sponsoredTxsOf(address,address)", returns=["uint32", "uint64"], gas=VIEW_GAS, view=True)
    def sponsored_txs_of(self, ctx: CallContext, target: str, sender: str) -> tuple[int, int]:
        """The recorded window of ``sender``'s sponsored transactions to ``target``: count and start."""
        window = load_window(ctx.load, _address(target), _address(sender))
        return window.used, window.start
