"""The node's side of the remote signer: listens for the signer and asks it for signatures.

``RemoteSigner`` is a ``ConsensusSigner``. It listens on ``[privval] laddr``;
the signer dials in and both sides run the p2p secret handshake. A connection
whose authenticated identity is not the configured signer id is closed, and so
is one whose validator public key is not the configured one. A newer accepted
connection replaces an older one (a restarted signer). Requests go one at a
time, each bounded by ``request_timeout_s``; a time-out, a lost connection or
a malformed answer drops the connection (the signer redials) and the step goes
unsigned. A ping every ``ping_interval_s`` finds a dead connection before a
signature is needed. Returned signatures are verified before use.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass

from consensus.errors import (
    DoubleSignRefused,
    RemoteSignerError,
    SignerProtocolError,
    SignerUnavailable,
    SignRequestRejected,
)
from consensus.keys import address_of, verify
from consensus.remote_signer.protocol import (
    MAX_FRAME_BYTES,
    MAX_REQUEST_ID,
    DoubleSignResponse,
    ErrorResponse,
    PingRequest,
    PingResponse,
    PubKeyRequest,
    PubKeyResponse,
    Request,
    Response,
    SeedRequest,
    SeedResponse,
    SignatureResponse,
    SignRequest,
    decode_response,
    encode,
)
from p2p.errors import P2PError
from p2p.handshake import secret_handshake
from p2p.keys import NodeKey, node_id_of
from p2p.secret_connection import SecretConnection

log = logging.getLogger(__name__)

MAX_PENDING_HANDSHAKES = 4
"""Connections still in their handshake at once; more are closed at once."""


@dataclass(frozen=True)
class RemoteSignerConfig:
    """Where the node listens for its signer, whom it accepts, and how long it waits."""

    host: str
    port: int  # 0 picks a free port (see ``RemoteSigner.port``)
    signer_id: str  # node id of the signer's identity key
    validator_public_key: bytes  # the consensus key the signer must hold
    chain_id: int
    request_timeout_s: float = 3.0
    handshake_timeout_s: float = 5.0
    ping_interval_s: float = 2.0


class RemoteSigner:
    """A ``ConsensusSigner`` whose key is held by a signer process connected over a secret connection."""

    def __init__(self, node_key: NodeKey, config: RemoteSignerConfig) -> None:
        self._node_key = node_key
        self._config = config
        self._connection: SecretConnection | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._handshakes = 0
        self._server: asyncio.Server | None = None
        self._keep_alive: asyncio.Task[None] | None = None

    @property
    def address(self) -> bytes:
        """The validator address of the configured consensus key."""
        return address_of(self._config.validator_public_key)

    @property
    def connected(self) -> bool:
        """Whether a signer is connected and was accepted."""
        return self._connection is not None

    @property
    def port(self) -> int:
        """The port listened on (after ``start``)."""
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen for the signer; raises ``OSError`` if the address cannot be bound."""
        self._server = await asyncio.start_server(self._accept, self._config.host, self._config.port)
        self._keep_alive = asyncio.create_task(self._ping_forever())
        log.info("waiting for remote signer %s on %s:%d", self._config.signer_id, self._config.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close the signer connection."""
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keep_alive
        if self._server is not None:
            self._server.close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def sign_step(self, height: int, round_: int, step: int, sign_bytes: bytes) -> bytes:
        """The signer's signature of ``sign_bytes`` at (height, round, step), verified against the key."""
        async with self._lock:
            connection = self._connection
            if connection is None:
                raise SignerUnavailable("no remote signer connected")
            request = SignRequest(self._next_id(), self._config.chain_id, height, round_, step, sign_bytes)
            response = await self._request(connection, request)
            if isinstance(response, DoubleSignResponse):
                raise DoubleSignRefused(f"remote signer: {response.reason}", response.signed)
            if isinstance(response, ErrorResponse):
                raise SignRequestRejected(f"remote signer refused: {response.reason}")
            if not isinstance(response, SignatureResponse):
                problem = f"it answered a sign request with {type(response).__name__}"
            elif not verify(self._config.validator_public_key, sign_bytes, response.signature):
                problem = "it returned a signature that does not verify"
            else:
                return response.signature
            await self._drop(connection, problem)
            raise SignerProtocolError(f"remote signer dropped: {problem}")

    async def beacon_seed(self, epoch: int) -> bytes:
        """The seed of the validator's randomness hash chain ``epoch``, derived by the signer from its key."""
        async with self._lock:
            connection = self._connection
            if connection is None:
                raise SignerUnavailable("no remote signer connected")
            response = await self._request(connection, SeedRequest(self._next_id(), self._config.chain_id, epoch))
            if isinstance(response, ErrorResponse):
                raise SignRequestRejected(f"remote signer refused: {response.reason}")
            if isinstance(response, SeedResponse):
                return response.seed
            await self._drop(connection, f"it answered a seed request with {type(response).__name__}")
            raise SignerProtocolError(f"remote signer dropped: it answered a seed request with "
                                      f"{type(response).__name__}")

    # -- connections -----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if peer else "unknown address"
        if self._handshakes >= MAX_PENDING_HANDSHAKES:
            writer.close()
            return
        self._handshakes += 1
        try:
            async with asyncio.timeout(self._config.handshake_timeout_s):
                connection = await secret_handshake(reader, writer, self._node_key, MAX_FRAME_BYTES)
        except (P2PError, TimeoutError, OSError) as exc:
            log.warning("signer connection from %s failed its handshake: %s", where, str(exc) or "timed out")
            writer.close()
            return
        finally:
            self._handshakes -= 1
        signer_id = node_id_of(connection.remote_public_key)
        if signer_id != self._config.signer_id:
            log.warning("refused a signer connection from %s: its identity %s is not the configured signer %s",
                        where, signer_id, self._config.signer_id)
            await connection.close()
            return
        await self._adopt(connection, where)

    async def _adopt(self, connection: SecretConnection, where: str) -> None:
        """Check the signer's validator key and make ``connection`` the one requests use."""
        async with self._lock:
            try:
                response = await self._request(connection, PubKeyRequest(self._next_id()))
            except RemoteSignerError as exc:
                log.warning("remote signer at %s did not give its public key: %s", where, exc)
                return
            if not isinstance(response, PubKeyResponse) or response.public_key != self._config.validator_public_key:
                shown = response.public_key.hex() if isinstance(response, PubKeyResponse) else type(response).__name__
                log.error("refused remote signer at %s: it holds validator key %s, the configured key is %s",
                          where, shown, self._config.validator_public_key.hex())
                await connection.close()
                return
            previous, self._connection = self._connection, connection
        if previous is not None:
            await previous.close()
        log.info("remote signer %s connected from %s (validator 0x%s)", self._config.signer_id, where,
                 self.address.hex())

    async def _request(self, connection: SecretConnection, request: Request) -> Response:
        """Send ``request`` and read its answer; on any failure the connection is dropped."""
        try:
            async with asyncio.timeout(self._config.request_timeout_s):
                await connection.send(encode(request))
                response = decode_response(await connection.recv())
        except TimeoutError:
            await self._drop(connection, f"no answer within {self._config.request_timeout_s:g} s")
            raise SignerUnavailable(f"the remote signer did not answer within {self._config.request_timeout_s:g} s") \
                from None
        except P2PError as exc:
            await self._drop(connection, f"connection lost: {exc}")
            raise SignerUnavailable(f"remote signer connection lost: {exc}") from None
        except SignerProtocolError as exc:
            await self._drop(connection, str(exc))
            raise
        if response.request_id != request.request_id:
            await self._drop(connection, "it answered another request")
            raise SignerProtocolError(f"answer to request {response.request_id}, expected {request.request_id}")
        return response

    async def _drop(self, connection: SecretConnection, reason: str) -> None:
        if self._connection is connection:
            self._connection = None
            log.warning("remote signer disconnected: %s", reason)
        await connection.close()

    async def _ping_forever(self) -> None:
        while True:
            await asyncio.sleep(self._config.ping_interval_s)
            if self._connection is None or self._lock.locked():
                continue
            async with self._lock:
                connection = self._connection
                if connection is None:
                    continue
                try:
                    response = await self._request(connection, PingRequest(self._next_id()))
                except RemoteSignerError:
                    continue  # dropped and logged
                if not isinstance(response, PingResponse):
                    await self._drop(connection, f"it answered a ping with {type(response).__name__}")

    def _next_id(self) -> int:
        return next(self._ids) % (MAX_REQUEST_ID + 1)
