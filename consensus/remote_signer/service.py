"""The signer's side: dials the node, authenticates it, and answers its requests with a guarded key.

``SignerService`` holds the validator key in a ``PrivValidator``: its
last-signed record (fsynced before any signature is sent) is the authority
against double signing, whatever the node asks. Before signing it checks the
request (``checks.check_sign_request``): right chain, sign bytes of a proposal
or vote at exactly the requested height, round and step.

It dials ``node`` and runs the secret handshake expecting the node's id; a node
with another identity is refused. It redials with capped backoff whenever the
connection fails, the node sends something malformed, or the node is silent
for ``idle_timeout_s`` (the node pings every few seconds). It runs until
cancelled.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from consensus.errors import DoubleSignRefused, SignerProtocolError, SignRequestRejected, ValidatorKeyFileError
from consensus.privval import PrivValidator
from consensus.remote_signer.checks import check_sign_request
from consensus.remote_signer.protocol import (
    MAX_FRAME_BYTES,
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
    decode_request,
    encode,
)
from p2p.address import NetAddress
from p2p.errors import P2PError
from p2p.handshake import secret_handshake
from p2p.keys import NodeKey
from p2p.secret_connection import SecretConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignerServiceConfig:
    """The node to serve and the signer's timing."""

    node: NetAddress
    chain_id: int
    dial_timeout_s: float = 5.0
    idle_timeout_s: float = 15.0
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 3.0


class SignerService:
    """Serves one node's signing requests from a key guarded by a persistent last-signed record."""

    def __init__(self, identity: NodeKey, privval: PrivValidator, config: SignerServiceConfig) -> None:
        self._identity = identity
        self._privval = privval
        self._config = config
        self.connected = asyncio.Event()
        """Set while connected to the node (for callers that wait for it)."""

    async def run(self) -> None:
        """Dial, serve and redial until cancelled."""
        backoff = self._config.initial_backoff_s
        last_failure = ""
        while True:
            try:
                connection = await self._dial()
            except (OSError, P2PError, TimeoutError) as exc:
                failure = str(exc) or "timed out"
                if failure != last_failure:
                    log.warning("cannot reach node %s: %s (retrying)", self._config.node, failure)
                    last_failure = failure
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._config.max_backoff_s)
                continue
            backoff, last_failure = self._config.initial_backoff_s, ""
            log.info("connected to node %s", self._config.node)
            self.connected.set()
            try:
                await self._serve(connection)
            finally:
                self.connected.clear()
                await connection.close()

    async def _dial(self) -> SecretConnection:
        node = self._config.node
        async with asyncio.timeout(self._config.dial_timeout_s):
            reader, writer = await asyncio.open_connection(node.host, node.port)
            try:
                return await secret_handshake(reader, writer, self._identity, MAX_FRAME_BYTES, node.node_id)
            except BaseException:
                writer.close()
                raise

    async def _serve(self, connection: SecretConnection) -> None:
        while True:
            try:
                async with asyncio.timeout(self._config.idle_timeout_s):
                    data = await connection.recv()
            except TimeoutError:
                log.warning("node sent nothing for %g s; reconnecting", self._config.idle_timeout_s)
                return
            except P2PError as exc:
                log.warning("connection to the node lost: %s", exc)
                return
            try:
                request = decode_request(data)
            except SignerProtocolError as exc:
                log.warning("closing the connection: malformed request from the node: %s", exc)
                return
            response = await self.answer(request)
            try:
                await connection.send(encode(response))
            except P2PError as exc:
                log.warning("connection to the node lost: %s", exc)
                return

    async def answer(self, request: Request) -> Response:
        """The response to one request (signing only what passes the checks and the double-sign guard)."""
        if isinstance(request, PubKeyRequest):
            return PubKeyResponse(request.request_id, self._privval.key.public_key)
        if isinstance(request, PingRequest):
            return PingResponse(request.request_id)
        if isinstance(request, SeedRequest):
            if request.chain_id != self._config.chain_id:
                return ErrorResponse(request.request_id, f"this signer serves chain {self._config.chain_id}, "
                                                         f"not {request.chain_id}")
            return SeedResponse(request.request_id, self._privval.key.beacon_seed(request.chain_id, request.epoch))
        position = (request.height, request.round, request.step)
        try:
            check_sign_request(request, self._config.chain_id)
            signature = await self._privval.sign_step(request.height, request.round, request.step,
                                                      request.sign_bytes)
        except SignRequestRejected as exc:
            log.warning("refused to sign at %s: %s", position, exc)
            return ErrorResponse(request.request_id, str(exc))
        except DoubleSignRefused as exc:
            log.warning("refused to sign at %s: %s", position, exc)
            return DoubleSignResponse(request.request_id, str(exc), exc.signed or position)
        except (ValidatorKeyFileError, OSError) as exc:
            log.error("cannot record the signature at %s, not signing: %s", position, exc)
            return ErrorResponse(request.request_id, "the signer cannot record its last signed step")
        log.debug("signed %s", position)
        return SignatureResponse(request.request_id, signature)
