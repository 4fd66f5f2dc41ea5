"""Message signing by the node's own keys: ``eth_sign``, ``personal_sign``, ``eth_signTypedData_v4``.

Registered only on the development chain (``cmnode start --dev``), whose
keys are the public development accounts; a node never holds keys
otherwise, and elsewhere these methods are unknown (-32601). Signatures are
65 bytes ``r ‖ s ‖ v`` with ``v`` 27 or 28, as geth's and MetaMask's:
EIP-191 personal messages for ``eth_sign`` (``[address, data]``) and
``personal_sign`` (``[data, address]``), EIP-712 for
``eth_signTypedData_v4`` (``[address, typedData]``, the typed data as an
object or as its JSON text). Typed data is bounded: at most
``MAX_TYPED_DATA_TYPES`` struct types and ``MAX_TYPED_DATA_DEPTH`` levels of
nesting.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data
from eth_utils import ValidationError

from rpc.dispatch import Handler
from rpc.errors import ServerError
from rpc.formatting import data
from rpc.params import Args, ParamError, brief, parse_address, parse_data

MAX_TYPED_DATA_TYPES = 64
MAX_TYPED_DATA_DEPTH = 32
MAX_TYPED_DATA_TEXT = 1 << 20


class DevSigningAPI:
    """Signs messages with the development accounts' keys."""

    def __init__(self, keys: Mapping[bytes, bytes]) -> None:
        """``keys``: 20-byte address to 32-byte private key."""
        self._keys = dict(keys)

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {
            "eth_sign": self.eth_sign,
            "personal_sign": self.personal_sign,
            "eth_signTypedData_v4": self.sign_typed_data_v4,
        }

    def _sign(self, address: bytes, message: SignableMessage) -> str:
        key = self._keys.get(address)
        if key is None:
            raise ServerError("unknown account")
        return data(bytes(Account.sign_message(message, key).signature))

    async def eth_sign(self, params: Any, connection: Any) -> str:
        """``eth_sign(address, data)``: the EIP-191 signature of ``data``."""
        args = Args(params, 2, 2)
        return self._sign(args.get(0, parse_address), encode_defunct(primitive=args.get(1, parse_data)))

    async def personal_sign(self, params: Any, connection: Any) -> str:
        """``personal_sign(data, address)``: as ``eth_sign`` with the arguments swapped."""
        args = Args(params, 2, 3)
        return self._sign(args.get(1, parse_address), encode_defunct(primitive=args.get(0, parse_data)))

    async def sign_typed_data_v4(self, params: Any, connection: Any) -> str:
        """``eth_signTypedData_v4(address, typedData)``: the EIP-712 signature."""
        args = Args(params, 2, 2)
        return self._sign(args.get(0, parse_address), args.get(1, parse_typed_data))


def parse_typed_data(value: Any) -> SignableMessage:
    """EIP-712 typed data (an object or its JSON text) as the message to sign."""
    if isinstance(value, str):
        if len(value) > MAX_TYPED_DATA_TEXT:
            raise ParamError(f"typed data longer than {MAX_TYPED_DATA_TEXT} characters")
        try:
            value = json.loads(value)
        except ValueError:
            raise ParamError("typed data is not valid JSON") from None
    if not isinstance(value, dict):
        raise ParamError(f"cannot unmarshal {brief(value)} into typed data")
    missing = [name for name in ("types", "primaryType", "domain", "message") if name not in value]
    if missing:
        raise ParamError(f"typed data has no {missing[0]!r}")
    if not isinstance(value["types"], dict) or len(value["types"]) > MAX_TYPED_DATA_TYPES:
        raise ParamError(f"typed data types must be an object of at most {MAX_TYPED_DATA_TYPES} types")
    if _depth(value) > MAX_TYPED_DATA_DEPTH:
        raise ParamError(f"typed data nested deeper than {MAX_TYPED_DATA_DEPTH} levels")
    try:
        return encode_typed_data(full_message=value)
    except (ValidationError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ParamError(f"invalid typed data: {exc}") from None


def _depth(value: Any) -> int:
    """How deeply ``value``'s lists and objects nest (iteratively: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_TYPED_DATA_DEPTH:
                stack.extend((child, depth + 1) for child in item)
    return deepest
