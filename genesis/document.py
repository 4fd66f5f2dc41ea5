"""The genesis document: the chain's first state and its rules, as frozen dataclasses.

A genesis document is a JSON object. Every node of a chain must load the same
one; ``GenesisDocument.hash()`` lets them check that they do.

JSON format (all keys are required unless a default is given)::

    {
      "chain_id": 15,                      # integer, 1 .. 2**53 - 1 (EIP-155 chain id)
      "chain_name": "cybermiles-local",    # 1-64 characters of [A-Za-z0-9._-]
      "genesis_time": 1700000000,          # unix seconds, UTC; the first block's time
      "foundation": "0xf39F...2266",       # the foundation account
      "consensus": {                       # optional; every key has a default
        "timeout_propose_ms": 3000, "timeout_propose_delta_ms": 500,
        "timeout_prevote_ms": 1000, "timeout_prevote_delta_ms": 500,
        "timeout_precommit_ms": 1000, "timeout_precommit_delta_ms": 500,
        "timeout_commit_ms": 1000,         # the block interval
        "create_empty_blocks": true,
        "max_block_bytes": 4194304, "max_tx_bytes": 131072
      },
      "params": {                          # optional; every key has a default
        "gas_limit": 30000000,             # block gas limit
        "max_gas_per_tx": 16777216,        # gas limit cap of one transaction
        "initial_base_fee": "1000000000",  # wei, base fee of the first block
        "min_gas_price": "1000000000",     # wei, the base fee never falls below it
        "elasticity_multiplier": 2,
        "base_fee_max_change_denominator": 8,
        "foundation_reserve": "0"          # wei held for release by governance
      },
      "dpos": {                            # optional; delegated proof of stake
        "params": {"max_validators": 19}   # overrides of the chain parameters, by name
      },
      "validators": [                      # at least one
        {"name": "validator-0", "pub_key": "0x<32-byte ed25519 key>",
         "power": 10, "owner": "0x<address receiving fees>",
         "stake": "1000000000000000000000000"}   # optional, wei bonded as the owner's self-stake
      ],
      "alloc": [                           # funded accounts and pre-deployed contracts
        {"address": "0x...", "balance": "35000000000000000000000000",
         "code": "0x6080...",              # optional
         "storage": {"0x<slot>": "0x<value>"}}   # optional, 32-byte hex keys/values
      ],
      "vesting": [                         # optional; locked amounts released per period
        {"name": "team_and_partners", "beneficiary": "0x...",
         "amount": "100000000000000000000000000", "start_time": 1700000000,
         "period_seconds": 7776000, "periods": 10}
      ]
    }

``dpos.params`` maps parameter names to JSON values (integers, decimal
strings for amounts of wei, booleans, ``0x`` addresses). This package checks
only their shape (known-looking names, scalar values); the node checks names,
kinds and bounds against its parameter table when it starts the chain.

Encoding rules: amounts of wei (balances, vesting amounts, stakes, fees, the reserve)
are decimal strings, since they exceed what a JSON number carries exactly
(plain JSON integers are accepted too); every other number is a JSON integer
below 2**53. Bytes are ``0x``-prefixed hex. Addresses are accepted in any case;
a mixed-case address must carry a valid EIP-55 checksum. ``to_json`` writes
the canonical form (checksummed addresses, lower-case hex, decimal strings,
storage slots as 32-byte hex in slot order).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

DEFAULT_TIMEOUT_COMMIT_MS = 1000
DEFAULT_MAX_BLOCK_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_TX_BYTES = 128 * 1024
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_MAX_GAS_PER_TX = 2**24  # the per-transaction cap of EIP-7825
GWEI = 10**9
QUARTER_SECONDS = 7_776_000  # 90 days
DEFAULT_VESTING_PERIODS = 10


def checksum_address(address: bytes) -> str:
    """The EIP-55 mixed-case hex form of a 20-byte address."""
    digits = address.hex()
    digest = keccak(digits.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if d in "89abcdef" else c for c, d in zip(digits, digest))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


@dataclass(frozen=True)
class ConsensusParams:
    """Tendermint round timeouts (milliseconds) and block size limits."""

    timeout_propose_ms: int = 3000
    timeout_propose_delta_ms: int = 500
    timeout_prevote_ms: int = 1000
    timeout_prevote_delta_ms: int = 500
    timeout_precommit_ms: int = 1000
    timeout_precommit_delta_ms: int = 500
    timeout_commit_ms: int = DEFAULT_TIMEOUT_COMMIT_MS
    create_empty_blocks: bool = True
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES

    def to_json(self) -> dict[str, Any]:
        """The JSON object of these parameters."""
        return {
            "timeout_propose_ms": self.timeout_propose_ms,
            "timeout_propose_delta_ms": self.timeout_propose_delta_ms,
            "timeout_prevote_ms": self.timeout_prevote_ms,
            "timeout_prevote_delta_ms": self.timeout_prevote_delta_ms,
            "timeout_precommit_ms": self.timeout_precommit_ms,
            "timeout_precommit_delta_ms": self.timeout_precommit_delta_ms,
            "timeout_commit_ms": self.timeout_commit_ms,
            "create_empty_blocks": self.create_empty_blocks,
            "max_block_bytes": self.max_block_bytes,
            "max_tx_bytes": self.max_tx_bytes,
        }


@dataclass(frozen=True)
class ChainParams:
    """Gas, fee-market (EIP-1559) and treasury parameters; governance may change them later."""

    gas_limit: int = DEFAULT_GAS_LIMIT
    max_gas_per_tx: int = DEFAULT_MAX_GAS_PER_TX
    initial_base_fee: int = GWEI
    min_gas_price: int = GWEI
    elasticity_multiplier: int = 2
    base_fee_max_change_denominator: int = 8
    foundation_reserve: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSON object of these parameters (wei amounts as decimal strings)."""
        return {
            "gas_limit": self.gas_limit,
            "max_gas_per_tx": self.max_gas_per_tx,
            "initial_base_fee": str(self.initial_base_fee),
            "min_gas_price": str(self.min_gas_price),
            "elasticity_multiplier": self.elasticity_multiplier,
            "base_fee_max_change_denominator": self.base_fee_max_change_denominator,
            "foundation_reserve": str(self.foundation_reserve),
        }


@dataclass(frozen=True)
class DposGenesis:
    """The delegated-proof-of-stake section: chain-parameter overrides as (name, JSON value) pairs by name."""

    params: tuple[tuple[str, Any], ...] = ()

    def overrides(self) -> dict[str, Any]:
        """The parameter overrides as a name -> JSON value mapping, in name order."""
        return dict(self.params)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this section."""
        return {"params": self.overrides()}


@dataclass(frozen=True)
class Validator:
    """A genesis validator: its ed25519 consensus key, voting power, owning account and bonded self-stake.

    ``stake`` (wei) is bonded at genesis in the owner's name; it counts in the
    genesis supply like balances and vesting amounts.
    """

    name: str
    pub_key: bytes
    power: int
    owner: bytes
    stake: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this validator (stake as a decimal string)."""
        return {
            "name": self.name,
            "pub_key": _hex(self.pub_key),
            "power": self.power,
            "owner": checksum_address(self.owner),
            "stake": str(self.stake),
        }


@dataclass(frozen=True)
class VestingSchedule:
    """An amount locked at genesis and released in equal steps, one per elapsed period.

    By block time ``t``, ``amount * k // periods`` may be released, where
    ``k = min(periods, (t - start_time) // period_seconds)`` (nothing before
    the first period ends); the execution layer's vesting contract applies
    this rule. The default is 10% per quarter over 2.5 years.
    """

    name: str
    beneficiary: bytes
    amount: int
    start_time: int
    period_seconds: int = QUARTER_SECONDS
    periods: int = DEFAULT_VESTING_PERIODS

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this schedule (amount as a decimal string)."""
        return {
            "name": self.name,
            "beneficiary": checksum_address(self.beneficiary),
            "amount": str(self.amount),
            "start_time": self.start_time,
            "period_seconds": self.period_seconds,
            "periods": self.periods,
        }


@dataclass(frozen=True)
class Allocation:
    """An account funded at genesis, optionally a pre-deployed contract with code and storage."""

    address: bytes
    balance: int
    code: bytes = b""
    storage: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this allocation; ``code`` and ``storage`` only when present."""
        out: dict[str, Any] = {"address": checksum_address(self.address), "balance": str(self.balance)}
        if self.code:
            out["code"] = _hex(self.code)
        if self.storage:
            out["storage"] = {_word(slot): _word(value) for slot, value in sorted(self.storage)}
        return out


@dataclass(frozen=True)
class GenesisDocument:
    """The whole genesis document; build it with ``parse_genesis``/``load_genesis`` to have it validated."""

    chain_id: int
    chain_name: str
    genesis_time: int
    validators: tuple[Validator, ...]
    alloc: tuple[Allocation, ...]
    foundation: bytes
    vesting: tuple[VestingSchedule, ...] = ()
    consensus: ConsensusParams = field(default_factory=ConsensusParams)
    params: ChainParams = field(default_factory=ChainParams)
    dpos: DposGenesis = field(default_factory=DposGenesis)

    def total_staked(self) -> int:
        """Wei bonded at genesis by the validators' owners."""
        return sum(v.stake for v in self.validators)

    def total_supply(self) -> int:
        """Wei in existence at genesis: balances, vesting amounts, the foundation reserve and validator stakes."""
        return (
            sum(a.balance for a in self.alloc)
            + sum(v.amount for v in self.vesting)
            + self.params.foundation_reserve
            + self.total_staked()
        )

    def to_json(self) -> dict[str, Any]:
        """The document as a JSON-ready dict, in canonical form."""
        return {
            "chain_id": self.chain_id,
            "chain_name": self.chain_name,
            "genesis_time": self.genesis_time,
            "foundation": checksum_address(self.foundation),
            "consensus": self.consensus.to_json(),
            "params": self.params.to_json(),
            "dpos": self.dpos.to_json(),
            "validators": [v.to_json() for v in self.validators],
            "alloc": [a.to_json() for a in self.alloc],
            "vesting": [v.to_json() for v in self.vesting],
        }

    def canonical_json(self) -> bytes:
        """The canonical encoding hashed by ``hash``: sorted keys, no whitespace, ASCII only."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    def hash(self) -> bytes:
        """Keccak-256 of the canonical JSON; equal on every node that loaded the same genesis."""
        return keccak(self.canonical_json())
