"""Running the Ethereum consensus tests (``GeneralStateTests`` of ethereum/tests) on a py-evm state class.

Each fixture gives a pre-state, a block environment and, per fork, the signed
transactions (``txbytes``) with the post-state root and logs hash every client
must reach. ``run_case`` sets the pre-state up, applies one transaction as a
block of its own would (header checks, then the state's ``apply_transaction``),
and returns the root and logs hash reached, for the caller to compare.

The fixtures are not packaged on any registry: point ``ETHEREUM_TESTS_DIR`` at a
checkout of ethereum/tests (its ``GeneralStateTests`` directory is read).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp
from eth.abc import SignedTransactionAPI, StateAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth.rlp.logs import Log
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth_hash.auto import keccak
from eth_utils import ValidationError

FORK = "Cancun"
"""The newest fork ethereum/tests fills GeneralStateTests for (newer forks' tests live in execution-spec-tests)."""

TESTS_DIR_VARIABLE = "ETHEREUM_TESTS_DIR"


@dataclass(frozen=True)
class Case:
    """One transaction of one fixture under ``FORK``."""

    path: Path
    name: str
    index: int

    @property
    def id(self) -> str:
        """A readable test id: directory/file:name[index]."""
        return f"{self.path.parent.name}/{self.path.stem}:{self.name}[{self.index}]"


def fixtures_root() -> Path | None:
    """The ``GeneralStateTests`` directory named by ``ETHEREUM_TESTS_DIR``, if it exists."""
    base = os.environ.get(TESTS_DIR_VARIABLE)
    if not base:
        return None
    root = Path(base) / "GeneralStateTests"
    return root if root.is_dir() else None


def fixture_files(root: Path, directories: tuple[str, ...] = ()) -> list[Path]:
    """Every fixture file under ``root`` (only in ``directories`` when given), in a stable order."""
    bases = [root / d for d in directories] if directories else [root]
    return sorted(path for base in bases for path in base.rglob("*.json"))


def cases_of(path: Path) -> Iterator[Case]:
    """The ``FORK`` transactions of one fixture file."""
    for name, fixture in json.loads(path.read_text()).items():
        for index in range(len(fixture.get("post", {}).get(FORK, ()))):
            yield Case(path, name, index)


def _int(value: str) -> int:
    return int(value, 16)


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def _context(env: dict[str, str]) -> ExecutionContext:
    number = _int(env["currentNumber"])
    # The tests' block hashes: keccak of the block number in decimal, parent first.
    prev_hashes = [keccak(str(n).encode()) for n in range(number - 1, max(-1, number - 257), -1)]
    return ExecutionContext(
        coinbase=_bytes(env["currentCoinbase"]),
        timestamp=_int(env["currentTimestamp"]),
        block_number=number,
        difficulty=0,
        mix_hash=_bytes(env.get("currentRandom", "0x" + "00" * 32)),
        gas_limit=_int(env["currentGasLimit"]),
        prev_hashes=prev_hashes,
        chain_id=1,
        base_fee_per_gas=_int(env.get("currentBaseFee", "0x0a")),
        excess_blob_gas=_int(env.get("currentExcessBlobGas", "0x00")),
    )


def _pre_state(state_class: type[StateAPI], db: AtomicDB, context: ExecutionContext, pre: dict[str, Any]) -> bytes:
    state = state_class(db, context, BLANK_ROOT_HASH)
    for address_hex, account in sorted(pre.items()):
        address = _bytes(address_hex)
        state.set_balance(address, _int(account["balance"]))
        state.set_nonce(address, _int(account["nonce"]))
        state.set_code(address, _bytes(account["code"]))
        for slot, value in sorted(account.get("storage", {}).items()):
            state.set_storage(address, _int(slot), _int(value))
    state.persist()
    return state.state_root


def _decode(txbytes: bytes) -> SignedTransactionAPI | None:
    try:
        return CancunVM.get_transaction_builder().decode(txbytes)
    except Exception:  # any malformed encoding is an invalid transaction, as the fixture expects
        return None


def _header_problem(tx: SignedTransactionAPI, context: ExecutionContext) -> str | None:
    """What a block header's checks reject (the state's own checks come after)."""
    if tx.gas > context.gas_limit:
        return "gas limit above the block's"
    max_fee = getattr(tx, "max_fee_per_gas", tx.gas_price)
    if max_fee < (context.base_fee_per_gas or 0):
        return "fee cap below the base fee"
    if getattr(tx, "max_priority_fee_per_gas", 0) > max_fee:
        return "priority fee above the fee cap"
    if tx.type_id == 3 and not getattr(tx, "blob_versioned_hashes", ()):
        return "blob transaction without blobs"
    return None


def _logs_hash(entries: tuple[tuple[bytes, tuple[int, ...], bytes], ...]) -> bytes:
    return keccak(rlp.encode([Log(address, topics, data) for address, topics, data in entries]))


EMPTY_LOGS_HASH = _logs_hash(())


@dataclass(frozen=True)
class Outcome:
    """What running a case reached, and what the fixture says it must."""

    state_root: bytes
    logs_hash: bytes
    expected_root: bytes
    expected_logs_hash: bytes

    @property
    def matches(self) -> bool:
        """Whether both the post-state root and the logs hash are the fixture's."""
        return self.state_root == self.expected_root and self.logs_hash == self.expected_logs_hash


def run_case(state_class: type[StateAPI], case: Case) -> Outcome:
    """Apply ``case``'s transaction on its pre-state with ``state_class`` (a ``FORK`` state class)."""
    fixture = json.loads(case.path.read_text())[case.name]
    post = fixture["post"][FORK][case.index]
    context = _context(fixture["env"])
    db = AtomicDB()
    root = _pre_state(state_class, db, context, fixture["pre"])
    logs_hash = EMPTY_LOGS_HASH
    tx = _decode(_bytes(post["txbytes"]))
    if tx is not None and _header_problem(tx, context) is None:
        state = state_class(db, context, root)
        try:
            computation = state.apply_transaction(tx)
        except ValidationError:
            pass  # an invalid transaction leaves the state as it was
        else:
            state.persist()
            root = state.state_root
            logs_hash = _logs_hash(computation.get_log_entries())
    return Outcome(root, logs_hash, _bytes(post["hash"]), _bytes(post["logs"]))
