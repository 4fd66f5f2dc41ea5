"""Fee methods: ``eth_gasPrice``, ``eth_maxPriorityFeePerGas`` and ``eth_feeHistory``.

``eth_feeHistory`` is computed from committed blocks and receipts: base fees
(plus the next block's), gas-used ratios, and effective-tip percentiles
weighted by gas used, the way geth computes them.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import InvalidParams, ResourceNotFound
from rpc.formatting import quantity
from rpc.params import Args, ParamError, brief, parse_block_ref, parse_quantity
from vm.receipts import Receipt

_DECIMAL = re.compile(r"[0-9]{1,19}")
"""A block count in decimal, as geth also accepts it: ASCII digits only, at most 19 of them."""


def parse_block_count(value: Any) -> int:
    """A block count given as a hex quantity, a decimal string or a JSON integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    return parse_quantity(value)


def parse_percentiles(value: Any) -> tuple[Fraction, ...]:
    """Reward percentiles: numbers in [0, 100], non-decreasing."""
    if not isinstance(value, list):
        raise ParamError("reward percentiles must be an array")
    percentiles: list[Fraction] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise ParamError(f"invalid reward percentile: {brief(item)}")
        percentile = Fraction(item)
        if not 0 <= percentile <= 100:
            raise ParamError(f"invalid reward percentile: {item}")
        if percentiles and percentile < percentiles[-1]:
            raise ParamError(f"invalid reward percentile: {item} is lower than the one before it")
        percentiles.append(percentile)
    return tuple(percentiles)


def block_rewards(
    gas_used: int, base_fee: int, receipts: Sequence[Receipt], percentiles: Sequence[Fraction]
) -> list[int]:
    """The effective tip at each gas-weighted percentile of one block's transactions."""
    if not receipts or gas_used == 0:
        return [0] * len(percentiles)
    tips = sorted((receipt.effective_gas_price - base_fee, receipt.gas_used) for receipt in receipts)
    rewards = []
    index = 0
    cumulative = tips[0][1]
    for percentile in percentiles:
        threshold = gas_used * percentile / 100
        while cumulative < threshold and index < len(tips) - 1:
            index += 1
            cumulative += tips[index][1]
        rewards.append(tips[index][0])
    return rewards


class FeeAPI:
    """Handlers of the fee methods."""

    def __init__(self, chain: ChainReader, max_blocks: int, max_percentiles: int) -> None:
        self.chain = chain
        self.backend = chain.backend
        self.max_blocks = max_blocks
        self.max_percentiles = max_percentiles

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            "eth_feeHistory": self.fee_history,
        }

    async def gas_price(self, params: Any, connection: Any) -> str:
        """``eth_gasPrice``: a legacy gas price likely to be included soon."""
        Args(params, 0, 0)
        return quantity(await self.backend.gas_price())

    async def max_priority_fee_per_gas(self, params: Any, connection: Any) -> str:
        """``eth_maxPriorityFeePerGas``."""
        Args(params, 0, 0)
        return quantity(await self.backend.max_priority_fee())

    async def fee_history(self, params: Any, connection: Any) -> dict[str, Any]:
        """``eth_feeHistory`` for at most ``max_blocks`` blocks ending at ``newestBlock``."""
        args = Args(params, 2, 3)
        count = args.get(0, parse_block_count)
        newest_ref = args.get(1, lambda value: parse_block_ref(value, allow_hash=False))
        no_percentiles: tuple[Fraction, ...] = ()
        percentiles = args.optional(2, parse_percentiles, no_percentiles)
        if len(percentiles) > self.max_percentiles:
            raise InvalidParams(f"too many reward percentiles, at most {self.max_percentiles}")
        count = min(count, self.max_blocks)
        newest = await self.chain.height_of(newest_ref)
        if newest is None:
            raise ResourceNotFound("requested block is in the future")
        if count == 0:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        oldest = max(0, newest - count + 1)
        base_fees: list[str] = []
        ratios: list[float] = []
        rewards: list[list[str]] = []
        for height in range(oldest, newest + 1):
            block = await self.backend.get_block_by_number(height)
            if block is None:
                raise ResourceNotFound(f"block {height} not found")
            header = block.header
            base_fees.append(quantity(header.base_fee_per_gas))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            if percentiles:
                receipts = await self.chain.receipts(block)
                tips = block_rewards(header.gas_used, header.base_fee_per_gas, receipts, percentiles)
                rewards.append([quantity(max(tip, 0)) for tip in tips])
        base_fees.append(quantity(await self._base_fee_after(newest)))
        result: dict[str, Any] = {
            "oldestBlock": quantity(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles:
            result["reward"] = rewards
        return result

    async def _base_fee_after(self, height: int) -> int:
        if height >= await self.backend.latest_height():
            return await self.backend.next_base_fee()
        block = await self.backend.get_block_by_number(height + 1)
        if block is None:
            raise ResourceNotFound(f"block {height + 1} not found")
        base_fee: int = block.header.base_fee_per_gas
        return base_fee
