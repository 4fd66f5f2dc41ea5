"""Decoding and stateless validation of Ethereum transactions for this chain.

Accepted: legacy transactions protected by EIP-155, EIP-2930 access-list
transactions and EIP-1559 dynamic-fee transactions. Rejected: unprotected
(replayable) legacy transactions, EIP-4844 blob transactions (there is no
beacon chain to carry blobs) and EIP-7702 set-code transactions.

Every decoded transaction recovers its sender once, with coincurve, and caches
it: py-evm asks for the sender several times per transaction.

Two decoders share the signature rules (``recover_sender``, ``signing_message``):
``decode_transaction`` gives the py-evm transaction that execution and the pool
use, with every stateless check; ``read_fields`` gives only the fields a receipt
depends on, with plain RLP, for checking committed blocks without executing them.
``decode_batch`` runs ``decode_transaction`` over many encodings for a worker
process: its results pickle with their caches (sender, hash, encoding), so the
process that receives them repeats none of the work.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import coincurve
import rlp
from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.transactions import (
    PragueLegacyTransaction,
    PragueTransactionBuilder,
    PragueTypedTransaction,
)
from eth_hash.auto import keccak
from eth_typing import Address, Hash32
from eth_utils import ValidationError
from rlp.codec import consume_length_prefix, encode_raw, length_prefix
from rlp.sedes import big_endian_int

from vm.errors import InvalidTransaction
from vm.rlp_nesting import nesting_exceeds

LEGACY_TX_TYPE = 0
ACCESS_LIST_TX_TYPE = 1
DYNAMIC_FEE_TX_TYPE = 2
BLOB_TX_TYPE = 3
SET_CODE_TX_TYPE = 4
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Lists inside one another in a transaction: the fields, the access list, an entry, its storage keys.
MAX_RLP_NESTING = 4


def recover_sender(message: bytes, y_parity: int, r: int, s: int) -> bytes:
    """Recover the 20-byte address that signed ``keccak(message)`` (low-s signatures only)."""
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2) or y_parity not in (0, 1):
        raise InvalidTransaction("invalid transaction v, r, s values")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity])
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature, keccak(message), hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception subclasses
        raise InvalidTransaction("invalid sender") from exc
    return keccak(public_key.format(compressed=False)[1:])[12:]


def _item_ends(payload: bytes, start: int) -> list[int]:
    """End offsets of the items of the RLP list whose payload begins at ``start`` (already validated)."""
    ends = []
    position = start
    while position < len(payload):
        _, _, length, content = consume_length_prefix(payload, position)
        position = content + length
        ends.append(position)
    return ends


def _check_nesting(raw: bytes, start: int) -> None:
    """Refuse RLP lists nested deeper than ``MAX_RLP_NESTING`` before the recursive decoder meets them."""
    if nesting_exceeds(raw, start, MAX_RLP_NESTING):
        raise InvalidTransaction(f"rlp: lists nested deeper than {MAX_RLP_NESTING} levels")


def signing_message(raw: bytes, legacy_chain_id: int | None = None) -> bytes:
    """The message a decoded transaction's signature covers, cut from its canonical encoding ``raw``.

    Typed transactions sign their type byte and the RLP list of every field
    but the last three (y parity, r, s); legacy transactions sign the list of
    their first six fields, followed for EIP-155 ones by ``legacy_chain_id``,
    0 and 0. Cutting the fields out of ``raw`` gives py-evm's
    ``get_message_for_signing`` without re-encoding them (a test compares the two).
    """
    typed = raw[0] <= 0x7F
    body = raw[1:] if typed else raw
    _, _, _, content = consume_length_prefix(body, 0)
    ends = _item_ends(body, content)
    if typed:
        fields = body[content:ends[-4]]
        return raw[:1] + length_prefix(len(fields), 0xC0) + fields
    fields = body[content:ends[5]]
    if legacy_chain_id is not None:
        fields += encode_raw(big_endian_int.serialize(legacy_chain_id)) + b"\x80\x80"
    return length_prefix(len(fields), 0xC0) + fields


class _DecodedOnce:
    """Caches what py-evm would otherwise recompute per access: the encoding, hash and sender."""

    def encode(self) -> bytes:
        cached: bytes | None = self.__dict__.get("_raw")
        if cached is None:
            cached = super().encode()  # type: ignore[misc]
            self.__dict__["_raw"] = cached
        return cached

    @property
    def hash(self) -> Hash32:
        cached: Hash32 | None = self.__dict__.get("_hash")
        if cached is None:
            cached = Hash32(keccak(self.encode()))
            self.__dict__["_hash"] = cached
        return cached


class SenderCachingLegacyTransaction(_DecodedOnce, PragueLegacyTransaction):
    """A legacy transaction whose encoding, hash and sender are computed once."""

    def get_sender(self) -> Address:
        cached: Address | None = self.__dict__.get("_sender")
        if cached is None:
            v = self.v
            y_parity = (v - 35) % 2 if v >= 35 else v - 27
            raw = self.__dict__.get("_raw")
            message = self.get_message_for_signing() if raw is None else signing_message(raw, legacy_chain_id(v))
            cached = Address(recover_sender(message, y_parity, self.r, self.s))
            self.__dict__["_sender"] = cached
        return cached


class SenderCachingTypedTransaction(_DecodedOnce, PragueTypedTransaction):
    """A typed (EIP-2718) transaction whose encoding, hash and sender are computed once."""

    def get_sender(self) -> Address:
        cached: Address | None = self.__dict__.get("_sender")
        if cached is None:
            raw = self.__dict__.get("_raw")
            message = self.get_message_for_signing() if raw is None else signing_message(raw)
            cached = Address(recover_sender(message, self.y_parity, self.r, self.s))
            self.__dict__["_sender"] = cached
        return cached


class TransactionBuilder(PragueTransactionBuilder):
    """py-evm transaction builder producing sender-caching transactions."""

    legacy_signed = SenderCachingLegacyTransaction
    typed_transaction = SenderCachingTypedTransaction


def tx_type(tx: SignedTransactionAPI) -> int:
    """The EIP-2718 type of a decoded transaction (0 for legacy)."""
    return getattr(tx, "type_id", None) or LEGACY_TX_TYPE


def legacy_chain_id(v: int) -> int | None:
    """The EIP-155 chain id encoded in a legacy ``v``, or None if unprotected."""
    if v in (27, 28):
        return None
    if v >= 35:
        return (v - 35) // 2
    raise InvalidTransaction("invalid transaction v, r, s values")


def decode_transaction(raw: bytes, chain_id: int) -> SignedTransactionAPI:
    """Decode a canonical transaction encoding and check what needs no state.

    Checks the type is enabled, the chain id matches, the fields are in range
    and the signature recovers a sender. Returns the py-evm transaction with
    its sender cached. Raises ``InvalidTransaction`` with a geth-worded message.
    """
    if not raw:
        raise InvalidTransaction("typed transaction too short")
    first = raw[0]
    if first == BLOB_TX_TYPE:
        raise InvalidTransaction("transaction type not supported: blob transactions are disabled on this chain")
    if first == SET_CODE_TX_TYPE:
        raise InvalidTransaction("transaction type not supported: set-code transactions are disabled on this chain")
    if first <= 0x7F and first not in (ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE):
        raise InvalidTransaction("transaction type not supported")
    _check_nesting(raw, 0 if first > 0x7F else 1)
    try:
        tx = TransactionBuilder.decode(raw)
    except (rlp.DecodingError, rlp.DeserializationError, ValidationError, ValueError, TypeError, IndexError) as exc:
        raise InvalidTransaction("rlp: invalid transaction encoding") from exc
    # pyrlp decodes strictly (minimal lengths and integers, no trailing bytes), so
    # a decoded transaction re-encodes to exactly ``raw``: keep it as the encoding.
    tx.__dict__["_raw"] = raw
    if tx_type(tx) == LEGACY_TX_TYPE:
        tx_chain_id = legacy_chain_id(cast(SenderCachingLegacyTransaction, tx).v)
        if tx_chain_id is None:
            raise InvalidTransaction("only replay-protected (EIP-155) transactions allowed over RPC")
    else:
        tx_chain_id = tx.chain_id
    if tx_chain_id != chain_id:
        raise InvalidTransaction(f"invalid chain id for signer: have {tx_chain_id} want {chain_id}")
    tx.get_sender()
    try:
        tx.validate()
    except ValidationError as exc:
        raise InvalidTransaction(f"invalid transaction: {exc}") from exc
    if tx_type(tx) == DYNAMIC_FEE_TX_TYPE and tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise InvalidTransaction("max priority fee per gas higher than max fee per gas")
    return tx


def effective_tip(tx: SignedTransactionAPI, base_fee: int) -> int:
    """The priority fee per gas the transaction pays at ``base_fee`` (negative if it cannot pay)."""
    return min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    """The gas price the transaction actually pays at ``base_fee``."""
    return base_fee + min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)


@dataclass(frozen=True, slots=True)
class SignedFields:
    """The fields of a signed transaction that its receipt depends on, and its recovered sender."""

    tx_type: int
    nonce: int
    to: bytes  # empty for a contract creation
    sender: bytes
    gas_price: int  # legacy and access-list transactions (0 for dynamic-fee ones)
    max_priority_fee: int
    max_fee: int

    def effective_gas_price(self, base_fee: int) -> int:
        """What one unit of gas cost the transaction at ``base_fee``."""
        if self.tx_type != DYNAMIC_FEE_TX_TYPE:
            return self.gas_price
        return base_fee + min(self.max_priority_fee, self.max_fee - base_fee)


def rlp_uint(item: object, what: str) -> int:
    """A canonical RLP integer (no leading zero byte)."""
    if not isinstance(item, bytes) or item[:1] == b"\x00":
        raise InvalidTransaction(f"rlp: {what} is not a canonical integer")
    return int.from_bytes(item, "big")


def read_fields(raw: bytes, chain_id: int) -> SignedFields:
    """Decode a transaction's receipt-relevant fields with plain RLP and recover its sender.

    For transactions already committed by the chain (EIP-155 legacy, EIP-2930,
    EIP-1559): it checks the shape, the chain id and the signature, not what
    ``decode_transaction`` adds for admission (gas bounds, fee order).
    Raises ``InvalidTransaction``.
    """
    typed = raw[:1] in (bytes([ACCESS_LIST_TX_TYPE]), bytes([DYNAMIC_FEE_TX_TYPE]))
    _check_nesting(raw, 1 if typed else 0)
    try:
        fields = rlp.decode(raw[1:] if typed else raw)
    except rlp.exceptions.RLPException as exc:
        raise InvalidTransaction(f"rlp: undecodable transaction: {exc}") from None
    if typed:
        kind = raw[0]
        if not isinstance(fields, list) or len(fields) != (11 if kind == ACCESS_LIST_TX_TYPE else 12):
            raise InvalidTransaction(f"rlp: type-{kind} transaction has the wrong number of fields")
        if rlp_uint(fields[0], "chain id") != chain_id:
            raise InvalidTransaction("invalid chain id for signer")
        sender = recover_sender(signing_message(raw), rlp_uint(fields[-3], "y parity"), rlp_uint(fields[-2], "r"),
                                rlp_uint(fields[-1], "s"))
        nonce = rlp_uint(fields[1], "nonce")
        if kind == ACCESS_LIST_TX_TYPE:
            price = rlp_uint(fields[2], "gas price")
            return SignedFields(kind, nonce, _bytes(fields[4], "to"), sender, price, price, price)
        return SignedFields(kind, nonce, _bytes(fields[5], "to"), sender, 0,
                            rlp_uint(fields[2], "max priority fee"), rlp_uint(fields[3], "max fee"))
    if not isinstance(fields, list) or len(fields) != 9:
        raise InvalidTransaction("rlp: legacy transaction has the wrong number of fields")
    v = rlp_uint(fields[6], "v")
    if v < 35 or (v - 35) // 2 != chain_id:
        raise InvalidTransaction("legacy transaction not replay-protected for this chain")
    sender = recover_sender(signing_message(raw, chain_id), (v - 35) % 2, rlp_uint(fields[7], "r"),
                            rlp_uint(fields[8], "s"))
    price = rlp_uint(fields[1], "gas price")
    return SignedFields(LEGACY_TX_TYPE, rlp_uint(fields[0], "nonce"), _bytes(fields[3], "to"), sender, price, price,
                        price)


def _bytes(item: object, what: str) -> bytes:
    """An RLP string field (not a list)."""
    if not isinstance(item, bytes):
        raise InvalidTransaction(f"rlp: {what} is not a byte string")
    return item


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """Why an encoding did not decode: the ``InvalidTransaction`` message, as ``decode_transaction`` raised it."""

    message: str


DecodeOutcome = SignedTransactionAPI | DecodeFailure


def decode_batch(raws: Sequence[bytes], chain_id: int) -> list[DecodeOutcome]:
    """``decode_transaction`` of each encoding, its hash computed; a failure is kept as its message.

    Meant for worker processes: an encoding longer than the pool's size limit
    should not be sent, since this decodes whatever it is given.
    """
    outcomes: list[DecodeOutcome] = []
    for raw in raws:
        try:
            tx = decode_transaction(raw, chain_id)
        except InvalidTransaction as exc:
            outcomes.append(DecodeFailure(str(exc)))
            continue
        tx.hash  # noqa: B018 - computed now so that it travels with the transaction
        outcomes.append(tx)
    return outcomes
