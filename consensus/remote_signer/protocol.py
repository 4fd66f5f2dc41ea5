"""Messages between a node and its remote signer, and their strict decoding.

Each message is one encrypted frame holding a msgpack array
``[type, request_id, fields...]``. Requests (node to signer): public key, sign
(chain id, height, round, step, sign bytes), ping, randomness seed (chain id,
epoch). Responses carry the id of the request they answer: the public key, a
signature, a pong, a seed, a double-sign refusal naming the signer's last signed
step, or an error. Decoding checks the
frame size, the exact field count, every type and range; anything else is a
``SignerProtocolError``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consensus.errors import SignerProtocolError
from consensus.messages import MAX_INT, SIGNATURE_SIZE
from consensus.privval import STEP_PRECOMMIT, STEP_PROPOSE
from p2p.errors import P2PError
from p2p.framing import pack, safe_unpack

MAX_FRAME_BYTES = 1024
"""Largest frame plaintext either side sends or accepts."""
MAX_SIGN_BYTES = 256
"""Largest sign bytes of a request (proposal and vote sign bytes are about 100 bytes)."""
MAX_TEXT = 200
"""Longest message text of a refusal."""
MAX_REQUEST_ID = 2**32 - 1
PUBLIC_KEY_SIZE = 32

SEED_SIZE = 32

_PUBKEY_REQUEST, _SIGN_REQUEST, _PING_REQUEST, _SEED_REQUEST = 1, 2, 3, 4
_PUBKEY_RESPONSE, _SIGNATURE_RESPONSE, _PING_RESPONSE, _DOUBLE_SIGN_RESPONSE, _ERROR_RESPONSE = 11, 12, 13, 14, 15
_SEED_RESPONSE = 16


@dataclass(frozen=True)
class PubKeyRequest:
    """Asks for the validator's public key."""

    request_id: int


@dataclass(frozen=True)
class SignRequest:
    """Asks for the signature of a proposal's or vote's sign bytes at (height, round, step)."""

    request_id: int
    chain_id: int
    height: int
    round: int
    step: int
    sign_bytes: bytes


@dataclass(frozen=True)
class PingRequest:
    """Keeps the connection alive and proves the signer answers."""

    request_id: int


@dataclass(frozen=True)
class SeedRequest:
    """Asks for the seed of the validator's randomness hash chain ``epoch`` (``ValidatorKey.beacon_seed``)."""

    request_id: int
    chain_id: int
    epoch: int


@dataclass(frozen=True)
class PubKeyResponse:
    """The validator's Ed25519 public key."""

    request_id: int
    public_key: bytes


@dataclass(frozen=True)
class SignatureResponse:
    """The requested signature."""

    request_id: int
    signature: bytes


@dataclass(frozen=True)
class PingResponse:
    """The answer to a ping."""

    request_id: int


@dataclass(frozen=True)
class SeedResponse:
    """The requested randomness seed."""

    request_id: int
    seed: bytes


@dataclass(frozen=True)
class DoubleSignResponse:
    """Signing would conflict with what the signer already signed; ``signed`` is its last (height, round, step)."""

    request_id: int
    reason: str
    signed: tuple[int, int, int]


@dataclass(frozen=True)
class ErrorResponse:
    """The signer refused the request (wrong chain, sign bytes not matching the request, ...)."""

    request_id: int
    reason: str


Request = PubKeyRequest | SignRequest | PingRequest | SeedRequest
Response = PubKeyResponse | SignatureResponse | PingResponse | SeedResponse | DoubleSignResponse | ErrorResponse


def encode(message: Request | Response) -> bytes:
    """The frame plaintext of ``message``."""
    fields: list[Any]
    match message:
        case PubKeyRequest(request_id):
            fields = [_PUBKEY_REQUEST, request_id]
        case SignRequest(request_id, chain_id, height, round_, step, sign_bytes):
            fields = [_SIGN_REQUEST, request_id, chain_id, height, round_, step, sign_bytes]
        case PingRequest(request_id):
            fields = [_PING_REQUEST, request_id]
        case SeedRequest(request_id, chain_id, epoch):
            fields = [_SEED_REQUEST, request_id, chain_id, epoch]
        case PubKeyResponse(request_id, public_key):
            fields = [_PUBKEY_RESPONSE, request_id, public_key]
        case SignatureResponse(request_id, signature):
            fields = [_SIGNATURE_RESPONSE, request_id, signature]
        case PingResponse(request_id):
            fields = [_PING_RESPONSE, request_id]
        case SeedResponse(request_id, seed):
            fields = [_SEED_RESPONSE, request_id, seed]
        case DoubleSignResponse(request_id, reason, signed):
            fields = [_DOUBLE_SIGN_RESPONSE, request_id, reason[:MAX_TEXT], *signed]
        case ErrorResponse(request_id, reason):
            fields = [_ERROR_RESPONSE, request_id, reason[:MAX_TEXT]]
    return pack(fields)


def decode_request(data: bytes) -> Request:
    """Decode a frame the signer received; raises ``SignerProtocolError``."""
    kind, request_id, fields = _envelope(data)
    if kind == _PUBKEY_REQUEST:
        _count(fields, 0, "public key request")
        return PubKeyRequest(request_id)
    if kind == _PING_REQUEST:
        _count(fields, 0, "ping")
        return PingRequest(request_id)
    if kind == _SIGN_REQUEST:
        _count(fields, 5, "sign request")
        chain_id = _int(fields[0], "chain id", 1, MAX_INT)
        height = _int(fields[1], "height", 1, MAX_INT)
        round_ = _int(fields[2], "round", 0, MAX_INT)
        step = _int(fields[3], "step", STEP_PROPOSE, STEP_PRECOMMIT)
        sign_bytes = _bytes(fields[4], "sign bytes", 1, MAX_SIGN_BYTES)
        return SignRequest(request_id, chain_id, height, round_, step, sign_bytes)
    if kind == _SEED_REQUEST:
        _count(fields, 2, "seed request")
        return SeedRequest(request_id, _int(fields[0], "chain id", 1, MAX_INT), _int(fields[1], "epoch", 0, MAX_INT))
    raise SignerProtocolError(f"unknown request type {kind}")


def decode_response(data: bytes) -> Response:
    """Decode a frame the node received; raises ``SignerProtocolError``."""
    kind, request_id, fields = _envelope(data)
    if kind == _PUBKEY_RESPONSE:
        _count(fields, 1, "public key response")
        return PubKeyResponse(request_id, _bytes(fields[0], "public key", PUBLIC_KEY_SIZE, PUBLIC_KEY_SIZE))
    if kind == _SIGNATURE_RESPONSE:
        _count(fields, 1, "signature response")
        return SignatureResponse(request_id, _bytes(fields[0], "signature", SIGNATURE_SIZE, SIGNATURE_SIZE))
    if kind == _PING_RESPONSE:
        _count(fields, 0, "ping response")
        return PingResponse(request_id)
    if kind == _SEED_RESPONSE:
        _count(fields, 1, "seed response")
        return SeedResponse(request_id, _bytes(fields[0], "seed", SEED_SIZE, SEED_SIZE))
    if kind == _DOUBLE_SIGN_RESPONSE:
        _count(fields, 4, "double-sign response")
        signed = (_int(fields[1], "signed height", 0, MAX_INT), _int(fields[2], "signed round", 0, MAX_INT),
                  _int(fields[3], "signed step", STEP_PROPOSE, STEP_PRECOMMIT))
        return DoubleSignResponse(request_id, _text(fields[0]), signed)
    if kind == _ERROR_RESPONSE:
        _count(fields, 1, "error response")
        return ErrorResponse(request_id, _text(fields[0]))
    raise SignerProtocolError(f"unknown response type {kind}")


def _envelope(data: bytes) -> tuple[int, int, list[object]]:
    try:
        message = safe_unpack(data, MAX_FRAME_BYTES, max_items=8)
    except P2PError as exc:  # malformed or oversized
        raise SignerProtocolError(f"malformed signer message: {exc}") from None
    if not isinstance(message, list) or len(message) < 2:
        raise SignerProtocolError("a signer message is an array [type, request id, fields...]")
    kind = _int(message[0], "message type", 0, 255)
    return kind, _int(message[1], "request id", 0, MAX_REQUEST_ID), message[2:]


def _count(fields: list[object], count: int, what: str) -> None:
    if len(fields) != count:
        raise SignerProtocolError(f"a {what} has {count} fields, got {len(fields)}")


def _int(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SignerProtocolError(f"{what} must be an integer in {low}..{high}")
    return value


def _bytes(value: object, what: str, shortest: int, longest: int) -> bytes:
    if not isinstance(value, bytes) or not shortest <= len(value) <= longest:
        raise SignerProtocolError(f"{what} must be {shortest}..{longest} bytes")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise SignerProtocolError(f"a reason is a string of at most {MAX_TEXT} characters")
    return value
