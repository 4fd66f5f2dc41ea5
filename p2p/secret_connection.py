"""Encrypted, authenticated frames over a TCP stream.

Each frame on the wire is a 4-byte big-endian length ``n`` followed by ``n``
bytes of ChaCha20-Poly1305 ciphertext and tag; the length header is the
associated data, so it is authenticated too. Each direction has its own key
and a 96-bit frame counter used as the nonce: a nonce is never reused, and the
connection refuses to go on once the counter is exhausted. Any frame that fails
authentication ends the connection.

A frame's size is checked against the limit of the connection's phase from its
length header, before any of its body is read: during the handshake that limit
is the size of the largest handshake message (a few hundred bytes), so a
stranger cannot make the node buffer more than that; once the peer is
admitted it is the configured maximum frame size.
"""
from __future__ import annotations

import asyncio
import contextlib
import struct

from Crypto.Cipher import ChaCha20_Poly1305

from p2p.errors import (
    AuthenticationError,
    ConnectionClosed,
    FrameTooLarge,
    NonceOverflow,
)

HEADER = struct.Struct(">I")
TAG_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 12
MAX_COUNTER = 2 ** (8 * NONCE_SIZE) - 1


class _CounterNonce:
    """A per-direction frame counter producing 96-bit nonces, each once."""

    def __init__(self) -> None:
        self._next = 0

    def take(self) -> bytes:
        if self._next >= MAX_COUNTER:
            raise NonceOverflow("frame counter exhausted; the connection must be re-established")
        nonce = self._next.to_bytes(NONCE_SIZE, "big")
        self._next += 1
        return nonce


class FrameSealer:
    """Encrypts outgoing frames of one direction (sans-IO)."""

    def __init__(self, key: bytes, max_frame_size: int) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("a frame key is 32 bytes")
        self._key = key
        self._max = max_frame_size
        self._nonce = _CounterNonce()

    def seal(self, plaintext: bytes) -> bytes:
        """The wire bytes of one frame carrying ``plaintext``."""
        if len(plaintext) > self._max:
            raise FrameTooLarge(f"frame of {len(plaintext)} bytes exceeds the maximum of {self._max}")
        header = HEADER.pack(len(plaintext) + TAG_SIZE)
        cipher = ChaCha20_Poly1305.new(key=self._key, nonce=self._nonce.take())
        cipher.update(header)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return header + ciphertext + tag


class FrameOpener:
    """Authenticates and decrypts incoming frames of one direction (sans-IO)."""

    def __init__(self, key: bytes, max_frame_size: int) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("a frame key is 32 bytes")
        self._key = key
        self._max = max_frame_size
        self._nonce = _CounterNonce()

    def body_length(self, header: bytes, max_size: int | None = None) -> int:
        """The number of bytes following ``header``; refuses lengths outside the allowed range.

        ``max_size`` lowers the opener's maximum plaintext size for this frame.
        """
        length: int = HEADER.unpack(header)[0]
        if length < TAG_SIZE:
            raise AuthenticationError(f"frame length {length} is shorter than its tag")
        limit = self._max if max_size is None else min(self._max, max_size)
        if length - TAG_SIZE > limit:
            raise FrameTooLarge(f"frame of {length - TAG_SIZE} bytes exceeds the maximum of {limit}")
        return length

    def open(self, header: bytes, body: bytes) -> bytes:
        """The plaintext of a frame; raises ``AuthenticationError`` if it was altered."""
        if len(body) != self.body_length(header):
            raise AuthenticationError("frame body does not match its length header")
        cipher = ChaCha20_Poly1305.new(key=self._key, nonce=self._nonce.take())
        cipher.update(header)
        try:
            return cipher.decrypt_and_verify(body[:-TAG_SIZE], body[-TAG_SIZE:])
        except ValueError as exc:
            raise AuthenticationError("frame failed authentication") from exc


async def read_frame(reader: asyncio.StreamReader, opener: FrameOpener, max_size: int | None = None) -> bytes:
    """Read one frame from ``reader``: its plaintext, or ``ConnectionClosed`` at end of stream.

    At most one frame is buffered, bounded by the opener's maximum or by
    ``max_size`` if smaller: a longer frame is refused (``FrameTooLarge``) from
    its header, before its body is read.
    """
    try:
        header = await reader.readexactly(HEADER.size)
        body = await reader.readexactly(opener.body_length(header, max_size))
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed("connection closed by the remote side") from exc
    except (ConnectionError, OSError) as exc:
        raise ConnectionClosed(f"connection lost: {exc}") from exc
    return opener.open(header, body)


class SecretConnection:
    """A TCP stream carrying encrypted frames, authenticated to the remote node's key."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sealer: FrameSealer,
        opener: FrameOpener,
        remote_public_key: bytes,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._sealer = sealer
        self._opener = opener
        self.remote_public_key = remote_public_key

    @property
    def remote_host(self) -> str:
        """The IP address of the remote end of the socket ("" if unknown)."""
        peername = self._writer.get_extra_info("peername")
        return str(peername[0]) if peername else ""

    def write(self, plaintext: bytes) -> int:
        """Seal and buffer one frame; returns the number of bytes buffered. Call ``drain`` to flush."""
        data = self._sealer.seal(plaintext)
        self._writer.write(data)
        return len(data)

    async def drain(self) -> None:
        """Wait until the write buffer is flushed to the socket."""
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ConnectionClosed(f"connection lost: {exc}") from exc

    async def send(self, plaintext: bytes) -> None:
        """Send one frame and wait until it is handed to the socket."""
        self.write(plaintext)
        await self.drain()

    async def recv(self, max_size: int | None = None) -> bytes:
        """Receive one frame's plaintext (of at most ``max_size`` bytes, if given, besides the connection's maximum)."""
        return await read_frame(self._reader, self._opener, max_size)

    async def close(self) -> None:
        """Close the socket (idempotent, never raises)."""
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self._writer.wait_closed()
