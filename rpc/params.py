"""Parsing and validation of JSON-RPC parameters.

Every parser raises ``InvalidParams`` (-32602) with a message naming the
argument and what is wrong with it, in the wording geth uses
(``invalid argument 0: hex string without 0x prefix``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rpc.backend import CallRequest
from rpc.errors import InvalidParams
from vm.logs import MAX_TOPIC_POSITIONS, LogFilter
from vm.overrides import AccountOverride, BlockOverrides, CallOverrides, StateOverrides

T = TypeVar("T")

MAX_QUANTITY_DIGITS = 64
BLOCK_TAGS = ("earliest", "finalized", "safe", "latest", "pending")


class ParamError(ValueError):
    """A malformed value; ``Args`` adds the argument position and re-raises ``InvalidParams``."""


_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
"""Hex digits as geth reads them: no sign, no whitespace, no underscores, no other scripts' digits."""
_BRIEF_LENGTH = 40


def brief(value: Any) -> str:
    """``value`` as an error message shows it: its ``repr``, cut to a few dozen characters."""
    text = repr(value) if not isinstance(value, (list, dict)) else _json_type(value)
    return text if len(text) <= _BRIEF_LENGTH else text[: _BRIEF_LENGTH - 3] + "..."


def parse_quantity(value: Any) -> int:
    """A 0x-prefixed hex quantity (no leading zeros required, at most 256 bits)."""
    if not isinstance(value, str):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a hex quantity")
    if not value.startswith(("0x", "0X")):
        raise ParamError("hex string without 0x prefix")
    digits = value[2:]
    if not digits:
        raise ParamError("hex string \"0x\"")
    if len(digits) > MAX_QUANTITY_DIGITS:
        raise ParamError("hex number > 256 bits")
    if not _HEX_DIGITS.fullmatch(digits):
        raise ParamError(f"invalid hex string {brief(value)}")
    return int(digits, 16)


def parse_data(value: Any, length: int | None = None) -> bytes:
    """0x-prefixed hex bytes, optionally of an exact ``length``."""
    if not isinstance(value, str):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into hex bytes")
    if not value.startswith(("0x", "0X")):
        raise ParamError("hex string without 0x prefix")
    digits = value[2:]
    if len(digits) % 2:
        raise ParamError("hex string of odd length")
    if digits and not _HEX_DIGITS.fullmatch(digits):
        raise ParamError(f"invalid hex string {brief(value)}")
    data = bytes.fromhex(digits)
    if length is not None and len(data) != length:
        raise ParamError(f"hex string has length {len(digits)}, want {2 * length}")
    return data


def parse_address(value: Any) -> bytes:
    """A 20-byte address."""
    return parse_data(value, 20)


def parse_hash(value: Any) -> bytes:
    """A 32-byte hash."""
    return parse_data(value, 32)


def parse_bool(value: Any) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a boolean")
    return value


@dataclass(frozen=True)
class BlockRef:
    """A block named by tag, by number, or by hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    block_hash: bytes | None = None


LATEST = BlockRef(tag="latest")


def parse_block_ref(value: Any, allow_hash: bool = True) -> BlockRef:
    """A block tag, a hex number, or (when ``allow_hash``) an EIP-1898 object or bare hash."""
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockRef(tag=value)
        if allow_hash and len(value) == 66:
            return BlockRef(block_hash=parse_hash(value))
        return BlockRef(number=_block_number(value))
    if allow_hash and isinstance(value, dict):
        unknown = sorted(set(value) - {"blockHash", "blockNumber", "requireCanonical"})
        if unknown:
            raise ParamError(f"unknown field {brief(unknown[0])} in block reference")
        if "requireCanonical" in value:
            parse_bool(value["requireCanonical"])
        if ("blockHash" in value) == ("blockNumber" in value):
            raise ParamError("block reference needs exactly one of blockHash and blockNumber")
        if "blockHash" in value:
            return BlockRef(block_hash=parse_hash(value["blockHash"]))
        return parse_block_ref(value["blockNumber"], allow_hash=False)
    raise ParamError(f"cannot unmarshal {_json_type(value)} into a block number or tag")


def _block_number(value: str) -> int:
    number = parse_quantity(value)
    if number >= 2**63:
        raise ParamError("block number larger than int64")
    return number


def parse_call_request(value: Any) -> CallRequest:
    """A ``GenericTransaction`` object for ``eth_call`` / ``eth_estimateGas``."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a transaction object")
    known = {
        "from", "to", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas",
        "value", "data", "input", "accessList", "nonce", "type", "chainId",
    }
    unknown = sorted(set(value) - known)
    if unknown:
        raise ParamError(f"unsupported transaction field {brief(unknown[0])}")

    def field(name: str, parser: Callable[[Any], T]) -> T | None:
        raw = value.get(name)
        if raw is None:
            return None
        try:
            return parser(raw)
        except ParamError as exc:
            raise ParamError(f"{name}: {exc}") from None

    data = field("data", parse_data)
    input_ = field("input", parse_data)
    if data is not None and input_ is not None and data != input_:
        raise ParamError('both "data" and "input" are set and not equal. Please use "input" to pass transaction call data')
    gas_price = field("gasPrice", parse_quantity)
    max_fee = field("maxFeePerGas", parse_quantity)
    max_priority = field("maxPriorityFeePerGas", parse_quantity)
    if gas_price is not None and (max_fee is not None or max_priority is not None):
        raise ParamError("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if max_fee is not None and max_priority is not None and max_priority > max_fee:
        raise ParamError("maxFeePerGas must be greater than or equal to maxPriorityFeePerGas")
    field("type", parse_quantity)
    field("chainId", parse_quantity)
    return CallRequest(
        sender=field("from", parse_address),
        to=field("to", parse_address),
        gas=field("gas", parse_quantity),
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_priority,
        value=field("value", parse_quantity) or 0,
        data=input_ if input_ is not None else (data or b""),
        access_list=field("accessList", parse_access_list) or (),
        nonce=field("nonce", parse_quantity),
    )


def parse_access_list(value: Any) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
    """An EIP-2930 access list: ``[{address, storageKeys}]``."""
    if not isinstance(value, list):
        raise ParamError("access list must be an array")
    entries = []
    for position, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != {"address", "storageKeys"}:
            raise ParamError(f"access list entry {position} must have exactly address and storageKeys")
        keys = entry["storageKeys"]
        if not isinstance(keys, list):
            raise ParamError(f"access list entry {position}: storageKeys must be an array")
        entries.append(
            (
                parse_address(entry["address"]),
                tuple(int.from_bytes(parse_hash(key), "big") for key in keys),
            )
        )
    return tuple(entries)


@dataclass(frozen=True)
class FilterSpec:
    """A parsed log filter before its block range is resolved against the chain."""

    from_block: BlockRef
    to_block: BlockRef
    block_hash: bytes | None
    log_filter: LogFilter


def parse_filter(value: Any) -> FilterSpec:
    """A log filter object: ``fromBlock``/``toBlock`` or ``blockHash``, ``address``, ``topics``."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a filter object")
    unknown = sorted(set(value) - {"fromBlock", "toBlock", "blockHash", "address", "topics"})
    if unknown:
        raise ParamError(f"unknown filter field {brief(unknown[0])}")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise ParamError("cannot specify both blockHash and fromBlock/toBlock, choose one or the other")
        block_hash = parse_hash(value["blockHash"])
    return FilterSpec(
        from_block=_range_bound(value.get("fromBlock")),
        to_block=_range_bound(value.get("toBlock")),
        block_hash=block_hash,
        log_filter=LogFilter(_filter_addresses(value.get("address")), _filter_topics(value.get("topics"))),
    )


def _range_bound(value: Any) -> BlockRef:
    if value is None:
        return LATEST
    try:
        return parse_block_ref(value, allow_hash=False)
    except ParamError as exc:
        raise ParamError(f"fromBlock/toBlock: {exc}") from None


def _filter_addresses(value: Any) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(parse_address(item) for item in value)
    return (parse_address(value),)


def _filter_topics(value: Any) -> tuple[tuple[bytes, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ParamError("topics must be an array")
    if len(value) > MAX_TOPIC_POSITIONS:
        raise ParamError(f"filter has more than {MAX_TOPIC_POSITIONS} topic positions")
    positions: list[tuple[bytes, ...] | None] = []
    for entry in value:
        if entry is None:
            positions.append(None)
        elif isinstance(entry, list):
            if not entry or any(item is None for item in entry):
                positions.append(None)
            else:
                positions.append(tuple(parse_hash(item) for item in entry))
        else:
            positions.append((parse_hash(entry),))
    return tuple(positions)


class Args:
    """Positional parameters of one call, checked for count and parsed one by one."""

    def __init__(self, params: Any, required: int, maximum: int) -> None:
        if params is None:
            params = []
        if not isinstance(params, list):
            raise InvalidParams("non-array args")
        if len(params) > maximum:
            raise InvalidParams(f"too many arguments, want at most {maximum}")
        if len(params) < required:
            raise InvalidParams(f"missing value for required argument {len(params)}")
        self._params: Sequence[Any] = params

    def get(self, index: int, parser: Callable[[Any], T]) -> T:
        """Parse required argument ``index``."""
        if index >= len(self._params) or self._params[index] is None:
            raise InvalidParams(f"missing value for required argument {index}")
        return self._parse(index, parser)

    def optional(self, index: int, parser: Callable[[Any], T], default: T) -> T:
        """Parse optional argument ``index``; absent or null gives ``default``."""
        if index >= len(self._params) or self._params[index] is None:
            return default
        return self._parse(index, parser)

    def _parse(self, index: int, parser: Callable[[Any], T]) -> T:
        try:
            return parser(self._params[index])
        except ParamError as exc:
            raise InvalidParams(f"invalid argument {index}: {exc}") from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_ACCOUNT_OVERRIDE_FIELDS = ("balance", "nonce", "code", "state", "stateDiff")
_BLOCK_OVERRIDE_FIELDS = ("number", "time", "gasLimit", "feeRecipient", "prevRandao", "baseFeePerGas")
MAX_UINT64 = 2**64 - 1


def parse_state_overrides(value: Any) -> StateOverrides:
    """geth's ``StateOverride``: address to ``{balance, nonce, code, state | stateDiff}``."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a state override object")
    overrides = []
    for key, fields in value.items():
        address = parse_address(key)
        if not isinstance(fields, dict):
            raise ParamError(f"account {key}: cannot unmarshal {_json_type(fields)} into an account override")
        unknown = sorted(set(fields) - set(_ACCOUNT_OVERRIDE_FIELDS))
        if unknown:
            raise ParamError(f"account {key}: unknown field {brief(unknown[0])}")
        if fields.get("state") is not None and fields.get("stateDiff") is not None:
            raise ParamError(f"account {key} has both 'state' and 'stateDiff'")

        where = f"account {key}: "
        overrides.append((address, AccountOverride(
            balance=optional_field(fields, "balance", parse_quantity, where),
            nonce=optional_field(fields, "nonce", _uint64, where),
            code=optional_field(fields, "code", parse_data, where),
            state=optional_field(fields, "state", _storage_words, where),
            state_diff=optional_field(fields, "stateDiff", _storage_words, where) or (),
        )))
    return tuple(overrides)


def parse_block_overrides(value: Any) -> BlockOverrides:
    """geth's ``BlockOverrides``: ``number``, ``time``, ``gasLimit``, ``feeRecipient``, ``prevRandao``, ``baseFeePerGas``."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a block override object")
    unknown = sorted(set(value) - set(_BLOCK_OVERRIDE_FIELDS))
    if unknown:
        raise ParamError(f"unsupported block override field {brief(unknown[0])}")

    return BlockOverrides(
        number=optional_field(value, "number", _uint64),
        time=optional_field(value, "time", _uint64),
        gas_limit=optional_field(value, "gasLimit", _uint64),
        fee_recipient=optional_field(value, "feeRecipient", parse_address),
        prev_randao=optional_field(value, "prevRandao", parse_hash),
        base_fee=optional_field(value, "baseFeePerGas", parse_quantity),
    )


def optional_field(value: dict[str, Any], name: str, parser: Callable[[Any], T], where: str = "") -> T | None:
    """Field ``name`` of a JSON object parsed, None when absent or null; errors say ``<where><name>: ...``."""
    if value.get(name) is None:
        return None
    try:
        return parser(value[name])
    except ParamError as exc:
        raise ParamError(f"{where}{name}: {exc}") from None


def _uint64(value: Any) -> int:
    number = parse_quantity(value)
    if number > MAX_UINT64:
        raise ParamError("hex number > 64 bits")
    return number


def _storage_words(value: Any) -> tuple[tuple[int, int], ...]:
    """A storage map: 32-byte slot to 32-byte value."""
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a storage map")
    return tuple(
        (int.from_bytes(parse_hash(slot), "big"), int.from_bytes(parse_hash(word), "big"))
        for slot, word in value.items()
    )


@dataclass(frozen=True)
class CallArgs:
    """The parameters of ``eth_call``-like methods: the call, the block, and state and block overrides."""

    request: CallRequest
    block: BlockRef
    overrides: CallOverrides


def parse_call_args(params: Any) -> CallArgs:
    """``[call, block?, stateOverrides?, blockOverrides?]`` as ``eth_call`` and ``eth_estimateGas`` take them."""
    args = Args(params, 1, 4)
    state: tuple[tuple[bytes, AccountOverride], ...] = args.optional(2, parse_state_overrides, ())
    block = args.optional(3, parse_block_overrides, None)
    return CallArgs(args.get(0, parse_call_request), args.optional(1, parse_block_ref, LATEST), CallOverrides(state, block))


MAX_PROOF_KEYS = 1024
"""Storage keys one ``eth_getProof`` may ask for."""


def parse_storage_keys(value: Any) -> list[tuple[str, int]]:
    """``eth_getProof`` storage keys as geth reads them: 0x-hex of at most 32 bytes (odd lengths allowed).

    Each key comes with its text, which the answer echoes.
    """
    if not isinstance(value, list):
        raise ParamError(f"cannot unmarshal {_json_type(value)} into a list of storage keys")
    if len(value) > MAX_PROOF_KEYS:
        raise ParamError(f"too many storage keys: {len(value)}, at most {MAX_PROOF_KEYS}")
    keys = []
    for item in value:
        if not isinstance(item, str):
            raise ParamError(f"cannot unmarshal {_json_type(item)} into a storage key")
        if not item.startswith(("0x", "0X")):
            raise ParamError("unable to decode storage key: hex string without 0x prefix")
        digits = item[2:]
        if len(digits) > 64:
            raise ParamError("unable to decode storage key: hex string too long, want at most 32 bytes")
        if digits and not _HEX_DIGITS.fullmatch(digits):
            raise ParamError(f"unable to decode storage key: invalid hex string {brief(item)}")
        keys.append((item, int(digits or "0", 16)))
    return keys
