"""Fixtures of the staking tests."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.dpos.harness import StakingChain, make_staking_chain


@pytest.fixture
def staking_chain(sign_tx: Callable[..., Any]) -> Callable[..., StakingChain]:
    """Factory: ``staking_chain(validators=4, users=4, params=DposParams(...), stakes=[...])``."""
    return lambda **options: make_staking_chain(sign_tx, **options)
