"""The chain parameters of delegated proof of stake, their table, codec and storage.

Every parameter is an integer, a boolean or an address (no floats: ratios are
basis points, ``_bp``, 1/10,000, or whole percent; periods are seconds of block
time or a number of blocks, as each name's documentation says). ``PARAMETERS``
is the table that type-checks a value before it is used: genesis overrides
(``params_from_mapping``) and governance proposals (``parse_value`` +
``DposParams.with_value``) both go through it, so a parameter outside its bounds
can never reach chain state.

The parameters in force live in the governance contract's storage, as one byte
string under ``PARAMS_KEY`` (see ``encode_params``), written at genesis and by
approved parameter proposals. Any native contract reads them with
``load_params(context)``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import rlp

from consensus.dpos.errors import InvalidParameter
from vm.native.addresses import GOVERNANCE_ADDRESS
from vm.native.framework import CallContext

WEI_PER_CMT = 10**18
BASIS_POINTS = 10_000
DAY = 86_400
PARAMS_KEY = b"dpos.params"
ADDRESS_BYTES = 20
MAX_VALUE_TEXT = 100  # characters of a parameter value given as text (a proposal's value)

ParamKind = Literal["int", "bool", "address"]
ParamValue = int | bool | bytes


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name, kind, inclusive bounds (integers only) and meaning."""

    name: str
    kind: ParamKind
    minimum: int
    maximum: int
    doc: str


@dataclass(frozen=True)
class DposParams:
    """The parameters of staking, election, rewards, slashing and governance (defaults: ``PARAMETERS``)."""

    max_validators: int = 19
    backup_validators: int = 5
    self_staking_ratio_bp: int = 1_000
    validator_size_threshold_bp: int = 1_200
    min_staking_amount: int = 1_000 * WEI_PER_CMT
    min_commission_bp: int = 0
    max_commission_bp: int = 5_000
    unbonding_period: int = 7 * DAY
    election_interval: int = 100
    validators_block_award_ratio: int = 90
    inflation_rate_bp: int = 800
    inflation_years: int = 10
    post_inflation_rate_bp: int = 0
    supply_cap: int = 10_000_000_000 * WEI_PER_CMT
    slash_ratio_bp: int = 100
    max_slash_blocks: int = 12
    slash_enabled: bool = False
    foundation_address: bytes = b"\x00" * ADDRESS_BYTES
    proposal_expire_period: int = 7 * DAY
    block_gas_limit: int = 0  # 0: the genesis document's params.gas_limit

    def __post_init__(self) -> None:
        for spec in PARAMETERS:
            check_value(spec, getattr(self, spec.name))
        if 0 < self.block_gas_limit < MIN_BLOCK_GAS_LIMIT:
            raise InvalidParameter(
                f"block_gas_limit ({self.block_gas_limit}) must be 0 (the genesis value) or at least "
                f"{MIN_BLOCK_GAS_LIMIT}"
            )
        if self.min_commission_bp > self.max_commission_bp:
            raise InvalidParameter(
                f"min_commission_bp ({self.min_commission_bp}) is above max_commission_bp ({self.max_commission_bp})"
            )

    def with_value(self, name: str, value: ParamValue) -> DposParams:
        """A copy with parameter ``name`` set to ``value`` (type- and bounds-checked against ``PARAMETERS``)."""
        check_value(spec_of(name), value)
        changes: dict[str, Any] = {name: value}
        return replace(self, **changes)

    def as_mapping(self) -> dict[str, ParamValue]:
        """Every parameter by name, in ``PARAMETERS`` order."""
        return {spec.name: getattr(self, spec.name) for spec in PARAMETERS}


_CMT_MAX = 10**12 * WEI_PER_CMT  # no amount parameter may exceed a trillion CMT
MIN_BLOCK_GAS_LIMIT = 1_000_000  # a block below it could not hold a contract deployment
MAX_BLOCK_GAS_LIMIT = 2_000_000_000  # about 95,000 plain transfers

PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("max_validators", "int", 1, 100,
              "Number of validators elected at each election (count; default 19)."),
    ParamSpec("backup_validators", "int", 0, 100,
              "Number of backup validators elected after the validators (count; default 5)."),
    ParamSpec("self_staking_ratio_bp", "int", 0, BASIS_POINTS,
              "Self-stake a candidate locks, as a share of its declared max amount (basis points; default 1000 = 10%)."),
    ParamSpec("validator_size_threshold_bp", "int", 1, BASIS_POINTS,
              "Largest share of total voting power any one candidate's stake counts for "
              "(basis points; default 1200 = 12%)."),
    ParamSpec("min_staking_amount", "int", 0, _CMT_MAX,
              "Smallest delegation, and smallest self-stake of a candidate (wei; default 1000 CMT)."),
    ParamSpec("min_commission_bp", "int", 0, BASIS_POINTS,
              "Lowest commission rate a validator may set (basis points; default 0)."),
    ParamSpec("max_commission_bp", "int", 0, BASIS_POINTS,
              "Highest commission rate a validator may set (basis points; default 5000 = 50%)."),
    ParamSpec("unbonding_period", "int", 0, 365 * DAY,
              "Time a withdrawn stake waits before it is paid out (seconds of block time; default 604800 = 7 days)."),
    ParamSpec("election_interval", "int", 1, 1_000_000,
              "Blocks between two elections of the validator set (blocks; default 100)."),
    ParamSpec("validators_block_award_ratio", "int", 0, 100,
              "Share of each block's award paid to validators, the rest to backups (percent; default 90)."),
    ParamSpec("inflation_rate_bp", "int", 0, BASIS_POINTS,
              "Yearly growth of the total supply during the inflation years (basis points; default 800 = 8%)."),
    ParamSpec("inflation_years", "int", 0, 100,
              "Years after genesis during which inflation_rate_bp applies (years of 365 days; default 10)."),
    ParamSpec("post_inflation_rate_bp", "int", 0, BASIS_POINTS,
              "Yearly growth of the total supply after the inflation years (basis points; default 0)."),
    ParamSpec("supply_cap", "int", 0, _CMT_MAX,
              "Total supply never exceeded by block awards (wei; default 10,000,000,000 CMT)."),
    ParamSpec("slash_ratio_bp", "int", 0, BASIS_POINTS,
              "Share of a misbehaving validator's and its delegators' stake that is slashed "
              "(basis points; default 100 = 1%)."),
    ParamSpec("max_slash_blocks", "int", 1, 1_000_000,
              "Consecutive missed blocks after which a validator is jailed (blocks; default 12)."),
    ParamSpec("slash_enabled", "bool", 0, 1,
              "Whether downtime jailing also slashes slash_ratio_bp of the stake (boolean; default false; "
              "double-signing is always slashed)."),
    ParamSpec("foundation_address", "address", 0, 2 ** (8 * ADDRESS_BYTES) - 1,
              "Account that verifies candidacies (address; default the zero address: nobody)."),
    ParamSpec("proposal_expire_period", "int", 60, 365 * DAY,
              "Time a governance proposal stays open for votes (seconds of block time; default 604800 = 7 days)."),
    ParamSpec("block_gas_limit", "int", 0, MAX_BLOCK_GAS_LIMIT,
              "Gas limit of every block from the next one on; 0 keeps the genesis document's params.gas_limit, "
              "else at least 1000000 (gas; default 0)."),
)

_SPECS: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMETERS}


def spec_of(name: str) -> ParamSpec:
    """The table entry of parameter ``name`` (``InvalidParameter`` naming the known ones if absent)."""
    spec = _SPECS.get(name)
    if spec is None:
        raise InvalidParameter(f"unknown parameter {name!r}; known: {', '.join(sorted(_SPECS))}")
    return spec


def check_value(spec: ParamSpec, value: object) -> None:
    """Raise ``InvalidParameter`` unless ``value`` is of ``spec``'s kind and within its bounds."""
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidParameter(f"{spec.name}: expected a boolean, got {value!r}")
        return
    if spec.kind == "address":
        if not isinstance(value, bytes) or len(value) != ADDRESS_BYTES:
            raise InvalidParameter(f"{spec.name}: expected a {ADDRESS_BYTES}-byte address, got {value!r}")
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(f"{spec.name}: expected an integer, got {value!r}")
    if not spec.minimum <= value <= spec.maximum:
        raise InvalidParameter(f"{spec.name}: {value} is outside [{spec.minimum}, {spec.maximum}]")


def parse_value(name: str, text: str) -> ParamValue:
    """The value of parameter ``name`` written as text (a proposal's value), checked against the table.

    Integers are decimal digits, booleans ``true``/``false``, addresses
    ``0x`` and 40 hex digits.
    """
    spec = spec_of(name)
    if len(text) > MAX_VALUE_TEXT:
        raise InvalidParameter(f"{name}: value longer than {MAX_VALUE_TEXT} characters")
    value: ParamValue
    if spec.kind == "bool":
        if text not in ("true", "false"):
            raise InvalidParameter(f"{name}: expected true or false, got {text!r}")
        value = text == "true"
    elif spec.kind == "address":
        value = _parse_address(name, text)
    else:
        if not text.isdecimal() or not text.isascii():
            raise InvalidParameter(f"{name}: expected decimal digits, got {text!r}")
        value = int(text)
    check_value(spec, value)
    return value


def format_value(value: ParamValue) -> str:
    """The text form of a parameter value (inverse of ``parse_value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _parse_address(name: str, text: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else None
    if body is None or len(body) != 2 * ADDRESS_BYTES:
        raise InvalidParameter(f"{name}: expected 0x and {2 * ADDRESS_BYTES} hex digits, got {text!r}")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise InvalidParameter(f"{name}: expected 0x and {2 * ADDRESS_BYTES} hex digits, got {text!r}") from None


def params_from_mapping(raw: Mapping[str, Any]) -> DposParams:
    """The defaults overridden by a genesis document's ``dpos.params`` mapping (name -> JSON value).

    Integers may be JSON numbers or decimal strings (for amounts of wei),
    booleans JSON ``true``/``false``, addresses ``0x``-prefixed hex strings.
    Unknown names and bad values raise ``InvalidParameter`` naming the parameter.
    """
    for name in raw:
        if not isinstance(name, str):
            raise InvalidParameter(f"parameter names must be strings, got {name!r}")
    values: dict[str, Any] = {}  # checked per parameter; DposParams types each field
    for name in sorted(raw):
        spec = spec_of(name)
        value = raw[name]
        if spec.kind == "int" and isinstance(value, str):
            value = parse_value(name, value)
        elif spec.kind == "address":
            if not isinstance(value, str):
                raise InvalidParameter(f"{name}: expected an address string, got {value!r}")
            value = _parse_address(name, value)
        check_value(spec, value)
        values[name] = value
    return DposParams(**values)


def encode_params(params: DposParams) -> bytes:
    """The stored form: RLP list of ``[name, value]`` pairs in ``PARAMETERS`` order.

    Integers and booleans are RLP big-endian integers, addresses 20 bytes.
    """
    items = []
    for spec in PARAMETERS:
        value = getattr(params, spec.name)
        items.append([spec.name.encode(), value if isinstance(value, bytes) else int(value)])
    return rlp.encode(items)


def decode_params(data: bytes) -> DposParams:
    """The parameters of ``encode_params`` output (``InvalidParameter`` if it is not well formed).

    A parameter missing from the stored list takes its default, so adding a
    parameter to the table keeps stored lists readable.
    """
    try:
        items = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise InvalidParameter(f"stored parameters are not valid RLP: {exc}") from None
    values: dict[str, Any] = {}  # checked per parameter; DposParams types each field
    for item in items:
        if not isinstance(item, list) or len(item) != 2 or not all(isinstance(part, bytes) for part in item):
            raise InvalidParameter("stored parameters: each entry must be a [name, value] pair")
        spec = spec_of(item[0].decode("ascii", errors="replace"))
        raw = item[1]
        if spec.kind == "address":
            values[spec.name] = raw
        elif spec.kind == "bool":
            if raw not in (b"", b"\x01"):
                raise InvalidParameter(f"stored parameters: {spec.name} is not a boolean")
            values[spec.name] = raw == b"\x01"
        else:
            values[spec.name] = int.from_bytes(raw, "big")
    return DposParams(**values)


def load_params(context: CallContext) -> DposParams:
    """The parameters in force, read from the governance contract's storage (defaults before genesis stored any)."""
    data = context.for_contract(GOVERNANCE_ADDRESS).load_bytes(PARAMS_KEY)
    return DposParams() if data is None else decode_params(data)


def store_params(context: CallContext, params: DposParams) -> None:
    """Write ``params`` as the parameters in force (governance storage)."""
    context.for_contract(GOVERNANCE_ADDRESS).store_bytes(PARAMS_KEY, encode_params(params))

