"""The station-to-station handshake that turns a TCP stream into a ``SecretConnection``.

1. Each side sends a fresh X25519 ephemeral public key (32 bytes).
2. Both compute the X25519 shared secret and derive, with HKDF-SHA256 over the
   secret and the transcript (the two ephemeral keys, sorted), two frame keys
   (one per direction: the side with the smaller ephemeral key sends with the
   first) and a 32-byte challenge.
3. Over the now encrypted stream each side sends ``[ed25519 public key,
   signature of the challenge]`` and verifies the other's. The challenge binds
   the signature to this very key exchange, so a man in the middle holding
   different shared secrets with each side cannot relay it.

The remote node id is derived from the authenticated public key; a dialer that
expects a given id refuses any other. The authentication frame may hold at most
``MAX_AUTH_MESSAGE`` bytes: a longer one is refused from its length header,
before its body is read.
"""
from __future__ import annotations

import asyncio

from Crypto.Hash import SHA256
from Crypto.Protocol.DH import import_x25519_public_key, key_agreement
from Crypto.Protocol.KDF import HKDF
from Crypto.PublicKey import ECC

from p2p.errors import (
    AuthenticationError,
    ConnectionClosed,
    HandshakeError,
    PeerIdMismatch,
    ProtocolViolation,
)
from p2p.framing import pack, safe_unpack
from p2p.keys import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    NodeKey,
    node_id_of,
    verify_signature,
)
from p2p.secret_connection import (
    KEY_SIZE,
    FrameOpener,
    FrameSealer,
    SecretConnection,
    read_frame,
)

HKDF_LABEL = b"CMNODE_P2P_SECRET_CONNECTION_V1"
EPHEMERAL_KEY_SIZE = 32
MAX_AUTH_MESSAGE = 256


def derive_secrets(shared_secret: bytes, local_ephemeral: bytes, remote_ephemeral: bytes) -> tuple[bytes, bytes, bytes]:
    """``(send_key, recv_key, challenge)`` for this side of a key exchange."""
    low, high = sorted((local_ephemeral, remote_ephemeral))
    first, second, challenge = (
        bytes(part)
        for part in HKDF(shared_secret, KEY_SIZE, salt=b"", hashmod=SHA256, num_keys=3, context=HKDF_LABEL + low + high)
    )
    if local_ephemeral == low:
        return first, second, challenge
    return second, first, challenge


def _shared_secret(local: ECC.EccKey, remote_public: bytes) -> bytes:
    try:
        return bytes(
            key_agreement(eph_priv=local, eph_pub=import_x25519_public_key(remote_public), kdf=lambda secret: secret)
        )
    except ValueError as exc:
        raise HandshakeError("the remote ephemeral key is not a valid X25519 key") from exc


async def _exchange_ephemeral(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, public: bytes) -> bytes:
    writer.write(public)
    try:
        await writer.drain()
        return await reader.readexactly(EPHEMERAL_KEY_SIZE)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed("connection closed during the handshake") from exc
    except (ConnectionError, OSError) as exc:
        raise ConnectionClosed(f"connection lost during the handshake: {exc}") from exc


def _parse_auth(data: bytes) -> tuple[bytes, bytes]:
    try:
        message = safe_unpack(data, MAX_AUTH_MESSAGE, max_items=2)
    except ProtocolViolation as exc:
        raise HandshakeError(f"malformed authentication message: {exc}") from exc
    if (
        not isinstance(message, list)
        or len(message) != 2
        or not isinstance(message[0], bytes)
        or not isinstance(message[1], bytes)
        or len(message[0]) != PUBLIC_KEY_BYTES
        or len(message[1]) != SIGNATURE_BYTES
    ):
        raise HandshakeError("malformed authentication message")
    return message[0], message[1]


async def secret_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    node_key: NodeKey,
    max_frame_size: int,
    expected_node_id: str | None = None,
) -> SecretConnection:
    """Authenticate the remote node and set up encryption; the caller bounds the time it may take."""
    ephemeral = ECC.generate(curve="curve25519")
    local_public = ephemeral.public_key().export_key(format="raw")
    remote_public = await _exchange_ephemeral(reader, writer, local_public)
    if remote_public == local_public:
        raise HandshakeError("the remote side reflected our ephemeral key")
    shared = _shared_secret(ephemeral, remote_public)
    send_key, recv_key, challenge = derive_secrets(shared, local_public, remote_public)
    sealer, opener = FrameSealer(send_key, max_frame_size), FrameOpener(recv_key, max_frame_size)
    writer.write(sealer.seal(pack([node_key.public_key, node_key.sign(challenge)])))
    try:
        await writer.drain()
    except (ConnectionError, OSError) as exc:
        raise ConnectionClosed(f"connection lost during the handshake: {exc}") from exc
    remote_key, signature = _parse_auth(await read_frame(reader, opener, MAX_AUTH_MESSAGE))
    if not verify_signature(remote_key, challenge, signature):
        raise AuthenticationError("the remote node's handshake signature does not verify")
    remote_id = node_id_of(remote_key)
    if expected_node_id is not None and remote_id != expected_node_id:
        raise PeerIdMismatch(f"dialed {expected_node_id} but the remote node is {remote_id}")
    return SecretConnection(reader, writer, sealer, opener, remote_key)
