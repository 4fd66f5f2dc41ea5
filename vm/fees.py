"""EIP-1559 base fee, with the chain's minimum gas price as a floor.

A pure function of the parent header's gas figures and the chain parameters.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeeParams:
    """Chain parameters of the fee market."""

    min_base_fee: int
    elasticity_multiplier: int = 2
    max_change_denominator: int = 8


def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int, params: FeeParams) -> int:
    """The base fee of the block after a parent with the given figures."""
    target = parent_gas_limit // params.elasticity_multiplier
    if target == 0 or parent_gas_used == target:
        fee = parent_base_fee
    elif parent_gas_used > target:
        delta = max(parent_base_fee * (parent_gas_used - target) // target // params.max_change_denominator, 1)
        fee = parent_base_fee + delta
    else:
        delta = parent_base_fee * (target - parent_gas_used) // target // params.max_change_denominator
        fee = parent_base_fee - delta
    return max(fee, params.min_base_fee)
