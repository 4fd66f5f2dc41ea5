"""The rules a genesis document must satisfy, checked on the dataclasses.

``validate_genesis`` checks types of plain values, ranges, lengths, limits,
uniqueness, cross-field consistency and the supply hard cap, and raises
``GenesisValidationError`` naming the first offending value by its JSON path.
The loader calls it on every parsed document; code that builds a document
directly (the built-in networks) calls it too.
"""
from __future__ import annotations

import re
from typing import Any

from Crypto.Signature import eddsa

from genesis.distribution import CMT, SUPPLY_CAP
from genesis.document import (
    ChainParams,
    ConsensusParams,
    DposGenesis,
    GenesisDocument,
    Validator,
)
from genesis.errors import GenesisValidationError

JSON_INT_BOUND = 2**53
UINT256_MAX = 2**256 - 1
MAX_VALIDATORS = 1_000
MAX_ALLOC = 1_000_000
MAX_VESTING = 10_000
MAX_STORAGE_SLOTS = 100_000
MAX_DPOS_PARAMS = 64
MAX_PARAM_TEXT = 100  # characters of a parameter value written as a string
MAX_CODE_BYTES = 24_576  # EIP-170
MAX_TOTAL_VOTING_POWER = (2**63 - 1) // 8  # CometBFT's bound, keeps proposer priorities in int64
ADDRESS_BYTES = 20
#: Bounds of the round timeouts in ms: a step waits at least 10 ms, a block at least 50 ms
#: (as ``cmnode start --block-interval``), nothing longer than 10 minutes, and a round adds at most a minute.
CONSENSUS_TIMEOUT_RANGES = {
    "timeout_propose_ms": (10, 600_000),
    "timeout_propose_delta_ms": (0, 60_000),
    "timeout_prevote_ms": (10, 600_000),
    "timeout_prevote_delta_ms": (0, 60_000),
    "timeout_precommit_ms": (10, 600_000),
    "timeout_precommit_delta_ms": (0, 60_000),
    "timeout_commit_ms": (50, 600_000),
}
#: Bounds of ``consensus.max_block_bytes`` (Tendermint's largest block is 100 MiB) and the least ``max_tx_bytes``.
MIN_BLOCK_BYTES = 4 * 1024
MAX_BLOCK_BYTES = 100 * 1024 * 1024
MIN_TX_BYTES = 1024
ED25519_KEY_BYTES = 32

_CHAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LABEL = re.compile(r"[ -~]{1,64}")  # printable ASCII
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _fail(source: str, path: str, problem: str) -> GenesisValidationError:
    return GenesisValidationError(source, path, problem)


def check_count(source: str, path: str, count: int, limit: int) -> None:
    """Reject a list of ``count`` entries at ``path`` when it exceeds ``limit``."""
    if count > limit:
        raise _fail(source, path, f"at most {limit} entries are allowed, got {count}")


def _integer(source: str, path: str, value: Any, *, minimum: int, bound: int = JSON_INT_BOUND) -> int:
    """Check that ``value`` is an int with ``minimum <= value < bound``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, path, "not an integer")
    if value < minimum:
        raise _fail(source, path, "must not be negative" if minimum == 0 else "must be positive")
    if value >= bound:
        raise _fail(source, path, "must be below 2**53")
    return value


def _amount(source: str, path: str, value: Any) -> int:
    """Check that ``value`` is a wei amount: an int in 0 .. 2**256 - 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, path, "not a number")
    if value < 0:
        raise _fail(source, path, "must not be negative")
    if value > UINT256_MAX:
        raise _fail(source, path, "must be at most 2**256 - 1")
    return value


def _bytes(source: str, path: str, value: Any, length: int) -> bytes:
    if not isinstance(value, bytes):
        raise _fail(source, path, "not bytes")
    if len(value) != length:
        raise _fail(source, path, f"must be {length} bytes, got {len(value)}")
    return value


def _label(source: str, path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(source, path, "not a string")
    if not _LABEL.fullmatch(value):
        raise _fail(source, path, "must be 1 to 64 printable ASCII characters")
    return value


def _within(source: str, path: str, value: Any, low: int, high: int, unit: str) -> int:
    """Check that ``value`` is an int with ``low <= value <= high`` (``unit`` names what it counts)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, path, "not an integer")
    if not low <= value <= high:
        raise _fail(source, path, f"must be {low} to {high} {unit}, got {value}")
    return value


def _validate_consensus(source: str, c: ConsensusParams) -> None:
    for name, (low, high) in CONSENSUS_TIMEOUT_RANGES.items():
        _within(source, f"consensus.{name}", getattr(c, name), low, high, "ms")
    _within(source, "consensus.max_block_bytes", c.max_block_bytes, MIN_BLOCK_BYTES, MAX_BLOCK_BYTES, "bytes")
    _within(source, "consensus.max_tx_bytes", c.max_tx_bytes, MIN_TX_BYTES, MAX_BLOCK_BYTES, "bytes")
    if not isinstance(c.create_empty_blocks, bool):
        raise _fail(source, "consensus.create_empty_blocks", "not a boolean")
    if c.max_tx_bytes > c.max_block_bytes:
        raise _fail(source, "consensus.max_tx_bytes", f"must not exceed consensus.max_block_bytes ({c.max_block_bytes})")


def _validate_params(source: str, p: ChainParams) -> None:
    for name in ("gas_limit", "max_gas_per_tx", "elasticity_multiplier", "base_fee_max_change_denominator"):
        _integer(source, f"params.{name}", getattr(p, name), minimum=1)
    for name in ("initial_base_fee", "min_gas_price", "foundation_reserve"):
        _amount(source, f"params.{name}", getattr(p, name))
    if p.max_gas_per_tx > p.gas_limit:
        raise _fail(source, "params.max_gas_per_tx", f"must not exceed params.gas_limit ({p.gas_limit})")
    if p.elasticity_multiplier > p.gas_limit:
        raise _fail(source, "params.elasticity_multiplier", f"must not exceed params.gas_limit ({p.gas_limit})")
    if p.initial_base_fee < p.min_gas_price:
        raise _fail(source, "params.initial_base_fee", f"must be at least params.min_gas_price ({p.min_gas_price})")


def _validate_ed25519(source: str, path: str, key: bytes) -> None:
    _bytes(source, path, key, ED25519_KEY_BYTES)
    try:
        eddsa.import_public_key(key)
    except ValueError:
        raise _fail(source, path, "not a valid ed25519 public key") from None


def _validate_validators(source: str, validators: tuple[Validator, ...]) -> None:
    if not isinstance(validators, tuple):
        raise _fail(source, "validators", "not a tuple")
    if not validators:
        raise _fail(source, "validators", "at least one validator is required")
    check_count(source, "validators", len(validators), MAX_VALIDATORS)
    keys: dict[bytes, int] = {}
    names: dict[str, int] = {}
    for i, v in enumerate(validators):
        path = f"validators[{i}]"
        name = _label(source, f"{path}.name", v.name)
        if name in names:
            raise _fail(source, f"{path}.name", f"duplicate validator name (also validators[{names[name]}])")
        names[name] = i
        _validate_ed25519(source, f"{path}.pub_key", v.pub_key)
        if v.pub_key in keys:
            raise _fail(source, f"{path}.pub_key", f"duplicate validator key (also validators[{keys[v.pub_key]}])")
        keys[v.pub_key] = i
        _integer(source, f"{path}.power", v.power, minimum=1)
        _bytes(source, f"{path}.owner", v.owner, ADDRESS_BYTES)
        _amount(source, f"{path}.stake", v.stake)
    if sum(v.power for v in validators) > MAX_TOTAL_VOTING_POWER:
        raise _fail(source, "validators", f"total power exceeds {MAX_TOTAL_VOTING_POWER}")


def _validate_alloc(source: str, doc: GenesisDocument) -> None:
    if not isinstance(doc.alloc, tuple):
        raise _fail(source, "alloc", "not a tuple")
    check_count(source, "alloc", len(doc.alloc), MAX_ALLOC)
    seen: dict[bytes, int] = {}
    for i, a in enumerate(doc.alloc):
        path = f"alloc[{i}]"
        address = _bytes(source, f"{path}.address", a.address, ADDRESS_BYTES)
        if address in seen:
            raise _fail(source, f"{path}.address", f"duplicate address (also alloc[{seen[address]}])")
        seen[address] = i
        _amount(source, f"{path}.balance", a.balance)
        if not isinstance(a.code, bytes):
            raise _fail(source, f"{path}.code", "not bytes")
        if len(a.code) > MAX_CODE_BYTES:
            raise _fail(source, f"{path}.code", f"must be at most {MAX_CODE_BYTES} bytes (EIP-170), got {len(a.code)}")
        if not isinstance(a.storage, tuple):
            raise _fail(source, f"{path}.storage", "not a tuple")
        check_count(source, f"{path}.storage", len(a.storage), MAX_STORAGE_SLOTS)
        slots: set[int] = set()
        for j, entry in enumerate(a.storage):
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise _fail(source, f"{path}.storage[{j}]", "not a (slot, value) pair")
            slot = _amount(source, f"{path}.storage[{j}].slot", entry[0])
            _amount(source, f"{path}.storage[{j}].value", entry[1])
            if slot in slots:
                raise _fail(source, f"{path}.storage[{j}].slot", "duplicate slot")
            slots.add(slot)


def _validate_dpos(source: str, dpos: DposGenesis) -> None:
    """Check the shape of the parameter overrides; their names and bounds are the node's to check."""
    if not isinstance(dpos, DposGenesis):
        raise _fail(source, "dpos", "not a dpos section")
    if not isinstance(dpos.params, tuple):
        raise _fail(source, "dpos.params", "not a tuple")
    check_count(source, "dpos.params", len(dpos.params), MAX_DPOS_PARAMS)
    names: set[str] = set()
    for entry in dpos.params:
        if not isinstance(entry, tuple) or len(entry) != 2 or not isinstance(entry[0], str):
            raise _fail(source, "dpos.params", "not (name, value) pairs")
        name, value = entry
        if not _PARAM_NAME.fullmatch(name):
            raise _fail(source, "dpos.params", f"parameter name {name[:64]!r} must be 1 to 64 characters of a-z, 0-9, '_'")
        path = f"dpos.params.{name}"
        if name in names:
            raise _fail(source, path, "duplicate parameter")
        names.add(name)
        if isinstance(value, float):
            raise _fail(source, path, "not an integer (write ratios in basis points or percent, as the name says)")
        if isinstance(value, str):
            if len(value) > MAX_PARAM_TEXT:
                raise _fail(source, path, f"longer than {MAX_PARAM_TEXT} characters")
        elif not isinstance(value, int):
            raise _fail(source, path, "must be an integer, a boolean or a string")


def _validate_vesting(source: str, doc: GenesisDocument) -> None:
    if not isinstance(doc.vesting, tuple):
        raise _fail(source, "vesting", "not a tuple")
    check_count(source, "vesting", len(doc.vesting), MAX_VESTING)
    names: dict[str, int] = {}
    for i, v in enumerate(doc.vesting):
        path = f"vesting[{i}]"
        name = _label(source, f"{path}.name", v.name)
        if name in names:
            raise _fail(source, f"{path}.name", f"duplicate schedule name (also vesting[{names[name]}])")
        names[name] = i
        _bytes(source, f"{path}.beneficiary", v.beneficiary, ADDRESS_BYTES)
        _amount(source, f"{path}.amount", v.amount)
        _integer(source, f"{path}.start_time", v.start_time, minimum=0)
        _integer(source, f"{path}.period_seconds", v.period_seconds, minimum=1)
        _integer(source, f"{path}.periods", v.periods, minimum=1)
        if v.start_time + v.period_seconds * v.periods >= JSON_INT_BOUND:
            raise _fail(source, path, "the schedule must end before 2**53 seconds")


def validate_genesis(doc: GenesisDocument, source: str = "genesis.json") -> GenesisDocument:
    """Check every rule of a genesis document; return it unchanged or raise ``GenesisValidationError``.

    ``source`` names the document in error messages (usually the file name).
    """
    chain_id = doc.chain_id
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 < chain_id < JSON_INT_BOUND:
        raise _fail(source, "chain_id", "must be a positive integer below 2**53")
    if not isinstance(doc.chain_name, str) or not _CHAIN_NAME.fullmatch(doc.chain_name):
        raise _fail(source, "chain_name", "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
    _integer(source, "genesis_time", doc.genesis_time, minimum=0)
    _bytes(source, "foundation", doc.foundation, ADDRESS_BYTES)
    if not isinstance(doc.consensus, ConsensusParams):
        raise _fail(source, "consensus", "not consensus parameters")
    _validate_consensus(source, doc.consensus)
    if not isinstance(doc.params, ChainParams):
        raise _fail(source, "params", "not chain parameters")
    _validate_params(source, doc.params)
    _validate_dpos(source, doc.dpos)
    _validate_validators(source, doc.validators)
    _validate_alloc(source, doc)
    _validate_vesting(source, doc)
    supply = doc.total_supply()
    if supply > SUPPLY_CAP:
        raise _fail(
            source,
            "total_supply",
            f"{supply} wei exceeds the hard cap of {SUPPLY_CAP // CMT:,} CMT ({SUPPLY_CAP} wei)",
        )
    return doc
