"""The genesis vesting lock-ups as a native contract.

The white paper locks the team-and-partners and 5miles allocations and
releases 10% per quarter over 2.5 years. Each lock-up is a schedule kept in
this contract's storage; the locked CMT is this contract's balance. Anyone may
call ``release(id)``: it pays the beneficiary what has vested by the block's
timestamp and not yet been released.

Vested amount at time t: ``total * min(periods, (t - start) // period) // periods``
(nothing before the first full period; integer arithmetic only).

Storage layout: slot 0 holds the schedule count; schedule ``i`` keeps its
fields at ``keccak("cmt.vesting" ++ i) + k`` for k = beneficiary, total,
start, period, periods, released.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_hash.auto import keccak

from vm.errors import NativeContractError
from vm.native.addresses import VESTING_ADDRESS
from vm.native.framework import CallContext, NativeContract, method

COUNT_SLOT = 0
BENEFICIARY, TOTAL, START, PERIOD, PERIODS, RELEASED = range(6)
RELEASED_EVENT = "Released(uint256,address,uint256)"


@dataclass(frozen=True)
class Schedule:
    """One lock-up: ``total`` wei released to ``beneficiary`` in ``periods`` equal steps."""

    beneficiary: bytes
    total: int
    start: int
    period: int
    periods: int
    released: int = 0

    def vested(self, timestamp: int) -> int:
        """How much of ``total`` has vested by ``timestamp``."""
        if timestamp < self.start:
            return 0
        elapsed_periods = min(self.periods, (timestamp - self.start) // self.period)
        return self.total * elapsed_periods // self.periods

    def releasable(self, timestamp: int) -> int:
        """Vested and not yet released."""
        return self.vested(timestamp) - self.released


def _base_slot(schedule_id: int) -> int:
    return int.from_bytes(keccak(b"cmt.vesting" + schedule_id.to_bytes(32, "big")), "big")


def genesis_storage(schedules: Sequence[Schedule]) -> dict[int, int]:
    """The contract storage that holds ``schedules`` at genesis."""
    storage = {COUNT_SLOT: len(schedules)}
    for schedule_id, schedule in enumerate(schedules):
        base = _base_slot(schedule_id)
        storage[base + BENEFICIARY] = int.from_bytes(schedule.beneficiary, "big")
        storage[base + TOTAL] = schedule.total
        storage[base + START] = schedule.start
        storage[base + PERIOD] = schedule.period
        storage[base + PERIODS] = schedule.periods
        storage[base + RELEASED] = schedule.released
    return storage


class VestingContract(NativeContract):
    """Query and release the genesis lock-ups (interface: ``IVesting.sol``)."""

    address = VESTING_ADDRESS
    name = "Vesting"

    def _count(self, ctx: CallContext) -> int:
        return ctx.load(COUNT_SLOT)

    def _schedule(self, ctx: CallContext, schedule_id: int) -> Schedule:
        if schedule_id >= self._count(ctx):
            raise NativeContractError("Vesting: unknown schedule")
        base = _base_slot(schedule_id)
        return Schedule(
            beneficiary=ctx.load(base + BENEFICIARY).to_bytes(20, "big"),
            total=ctx.load(base + TOTAL),
            start=ctx.load(base + START),
            period=ctx.load(base + PERIOD),
            periods=ctx.load(base + PERIODS),
            released=ctx.load(base + RELEASED),
        )

    @method("scheduleCount()", returns=["uint256"], gas=200, view=True)
    def schedule_count(self, ctx: CallContext) -> int:
        """Number of lock-up schedules."""
        return self._count(ctx)

    @method(
        "getSchedule(uint256)",
        returns=["address", "uint256", "uint256", "uint256", "uint256", "uint256"],
        gas=200,
        view=True,
    )
    def get_schedule(self, ctx: CallContext, schedule_id: int) -> tuple[object, ...]:
        """Beneficiary, total, start, period, periods and released amount of a schedule."""
        s = self._schedule(ctx, schedule_id)
        return ("0x" + s.beneficiary.hex(), s.total, s.start, s.period, s.periods, s.released)

    @method("vestedAmount(uint256)", returns=["uint256"], gas=200, view=True)
    def vested_amount(self, ctx: CallContext, schedule_id: int) -> int:
        """Amount vested by the current block time."""
        return self._schedule(ctx, schedule_id).vested(ctx.timestamp)

    @method("releasableAmount(uint256)", returns=["uint256"], gas=200, view=True)
    def releasable_amount(self, ctx: CallContext, schedule_id: int) -> int:
        """Amount vested and not yet released."""
        return self._schedule(ctx, schedule_id).releasable(ctx.timestamp)

    @method("lockedOf(address)", returns=["uint256"], gas=200, view=True)
    def locked_of(self, ctx: CallContext, beneficiary: str) -> int:
        """Total still locked (not yet vested) for a beneficiary across its schedules."""
        wanted = bytes.fromhex(beneficiary[2:])
        locked = 0
        for schedule_id in range(self._count(ctx)):
            s = self._schedule(ctx, schedule_id)
            if s.beneficiary == wanted:
                locked += s.total - s.vested(ctx.timestamp)
        return locked

    @method("release(uint256)", returns=["uint256"], gas=5_000)
    def release(self, ctx: CallContext, schedule_id: int) -> int:
        """Pay the beneficiary what is due; returns the amount paid (anyone may call)."""
        s = self._schedule(ctx, schedule_id)
        amount = s.releasable(ctx.timestamp)
        if amount == 0:
            raise NativeContractError("Vesting: nothing to release")
        ctx.store(_base_slot(schedule_id) + RELEASED, s.released + amount)
        ctx.transfer(s.beneficiary, amount)
        ctx.emit(
            RELEASED_EVENT,
            indexed=[("uint256", schedule_id), ("address", s.beneficiary)],
            data=[("uint256", amount)],
        )
        return amount
