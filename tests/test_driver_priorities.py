"""The driver resumes the proposer priorities from the saved state instead of replaying genesis."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consensus.application import AppInfo
from consensus.driver import ConsensusDriver, DriverConfig
from consensus.keys import ValidatorKey
from consensus.proposer import ProposerPriorities
from consensus.tendermint import TimeoutConfig
from consensus.validators import Validator, ValidatorSet
from consensus.wal import WAL

VALIDATORS = ValidatorSet.of([
    Validator(ValidatorKey(seed=bytes([i]) * 32).public_key, power, bytes([i]) * 20)
    for i, power in ((1, 1000), (2, 300), (3, 330))
])


class AppAt:
    def __init__(self, height: int, schedule=lambda height: VALIDATORS) -> None:
        self.height = height
        self.validators_at = schedule

    def info(self) -> AppInfo:
        return AppInfo(last_height=self.height, last_header=None)


class Network:
    def broadcast_message(self, message: object) -> None: ...

    def broadcast_evidence(self, payload: bytes) -> None: ...

    def peer_behind(self, peer_id: str, height: int) -> None: ...


class MemoryPriorities:
    def __init__(self, saved: tuple[int, bytes] | None) -> None:
        self.saved = saved
        self.loads = 0

    def load_priorities(self) -> tuple[int, bytes] | None:
        self.loads += 1
        return self.saved

    def save_priorities(self, height: int, encoded: bytes) -> None:
        self.saved = (height, encoded)


def from_genesis(height: int) -> ProposerPriorities:
    priorities = ProposerPriorities.initial(VALIDATORS)
    for _ in range(1, height):
        priorities = priorities.next_height(VALIDATORS)
    return priorities


def driver_at(tmp_path: Path, last_height: int, store: MemoryPriorities | None,
              schedule=lambda height: VALIDATORS) -> ConsensusDriver:
    return ConsensusDriver(
        app=AppAt(last_height, schedule), txs=None, privval=None, wal=WAL(tmp_path / f"wal{last_height}"),  # type: ignore[arg-type]
        network=Network(),
        config=DriverConfig(chain_id=15, timeouts=TimeoutConfig(), timeout_commit_ms=1000, max_block_bytes=1 << 20),
        executor=ThreadPoolExecutor(1), on_commit=lambda block: None, priority_store=store,
    )


def test_priorities_continue_from_the_saved_height(tmp_path: Path) -> None:
    saved = MemoryPriorities((40, from_genesis(40).encode()))
    driver = driver_at(tmp_path, 44, saved)  # a crash lost the records of heights 41..45
    assert driver.priorities == from_genesis(45)
    assert saved.loads == 1


def test_priorities_without_a_saved_state_come_from_genesis(tmp_path: Path) -> None:
    assert driver_at(tmp_path, 0, MemoryPriorities(None)).priorities == from_genesis(1)
    assert driver_at(tmp_path, 9, None).priorities == from_genesis(10)


def test_a_saved_state_beyond_the_store_is_not_used(tmp_path: Path) -> None:
    ahead = MemoryPriorities((50, from_genesis(50).encode()))
    assert driver_at(tmp_path, 9, ahead).priorities == from_genesis(10)


def test_priorities_follow_validator_set_changes(tmp_path: Path) -> None:
    newcomer = Validator(b"\x09" * 32, 50, b"\x00" * 20)
    grown = ValidatorSet.of(list(VALIDATORS.validators) + [newcomer])

    def schedule(height: int) -> ValidatorSet:
        return VALIDATORS if height < 6 else grown

    expected = ProposerPriorities.initial(VALIDATORS)
    for height in range(2, 11):
        expected = expected.next_height(schedule(height))
    driver = driver_at(tmp_path, 9, None, schedule)
    assert driver.priorities == expected
    assert expected.priority_of(newcomer.address) != 0  # the newcomer is in the state from height 6 on
    assert driver.priorities != from_genesis(10)
