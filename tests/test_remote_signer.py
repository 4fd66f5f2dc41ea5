"""The remote signer over real sockets and real secret handshakes: signing, identities, refusals, bad frames."""
from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from consensus.errors import (
    DoubleSignRefused,
    SignerProtocolError,
    SignerUnavailable,
    SignRequestRejected,
)
from consensus.keys import ValidatorKey, verify
from consensus.messages import (
    PROPOSAL_KIND,
    MalformedMessage,
    decode_sign_bytes,
    proposal_sign_bytes,
)
from consensus.privval import STEP_PRECOMMIT, STEP_PREVOTE, STEP_PROPOSE, PrivValidator
from consensus.remote_signer.endpoint import RemoteSigner, RemoteSignerConfig
from consensus.remote_signer.protocol import (
    MAX_FRAME_BYTES,
    DoubleSignResponse,
    ErrorResponse,
    PingRequest,
    PingResponse,
    PubKeyRequest,
    PubKeyResponse,
    SeedRequest,
    SeedResponse,
    SignatureResponse,
    SignRequest,
    decode_request,
    decode_response,
    encode,
)
from consensus.remote_signer.service import SignerService, SignerServiceConfig
from consensus.solo import EngineConfig, SingleValidatorEngine
from consensus.types import PRECOMMIT, PREVOTE, vote_sign_bytes
from cybermiles_node.beacon import remote_reveals
from middleware.randomness.hashchain import HashChain
from middleware.randomness.records import ValidatorRecord
from p2p.address import NetAddress
from p2p.framing import pack
from p2p.handshake import secret_handshake
from p2p.keys import NodeKey
from p2p.secret_connection import SecretConnection

CHAIN_ID = 15
VALIDATOR = ValidatorKey(seed=keccak(b"remote signer validator"))
NODE = NodeKey(seed=keccak(b"remote signer node identity"))
SIGNER = NodeKey(seed=keccak(b"remote signer identity"))
STRANGER = NodeKey(seed=keccak(b"a stranger"))
BLOCK_A, BLOCK_B = keccak(b"block A"), keccak(b"block B")


def in_loop(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop, bounded in time."""
    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 20))
    return run


def vote(height: int, round_: int, vote_type: int = PRECOMMIT, block: bytes = BLOCK_A, chain_id: int = CHAIN_ID) -> bytes:
    return vote_sign_bytes(chain_id, vote_type, height, round_, block, 1_700_000_000_000)


def endpoint(**overrides: object) -> RemoteSigner:
    settings: dict[str, object] = {
        "host": "127.0.0.1", "port": 0, "signer_id": SIGNER.node_id, "validator_public_key": VALIDATOR.public_key,
        "chain_id": CHAIN_ID, "request_timeout_s": 0.5, "handshake_timeout_s": 1.0, "ping_interval_s": 0.2,
    }
    settings.update(overrides)
    return RemoteSigner(NODE, RemoteSignerConfig(**settings))  # type: ignore[arg-type]


def service(port: int, state: Path, identity: NodeKey = SIGNER, key: ValidatorKey = VALIDATOR,
            node_id: str | None = None) -> SignerService:
    node = NetAddress(node_id or NODE.node_id, "127.0.0.1", port)
    config = SignerServiceConfig(node, CHAIN_ID, dial_timeout_s=1.0, idle_timeout_s=2.0, initial_backoff_s=0.05,
                                 max_backoff_s=0.2)
    return SignerService(identity, PrivValidator(key, state), config)


@asynccontextmanager
async def running(task_of: SignerService) -> AsyncIterator[SignerService]:
    task = asyncio.create_task(task_of.run())
    try:
        yield task_of
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition, timeout: float = 5.0) -> None:  # noqa: ANN001 - a predicate
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@asynccontextmanager
async def node_with_signer(state: Path) -> AsyncIterator[RemoteSigner]:
    node = endpoint()
    await node.start()
    try:
        async with running(service(node.port, state)):
            await until(lambda: node.connected)
            yield node
    finally:
        await node.stop()


# -- signing through the signer ---------------------------------------------------------


@in_loop
async def test_votes_and_proposals_are_signed_by_the_remote_key(tmp_path: Path) -> None:
    async with node_with_signer(tmp_path / "last_signed.json") as node:
        assert node.address == VALIDATOR.address
        prevote = await node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE))
        assert verify(VALIDATOR.public_key, vote(5, 0, PREVOTE), prevote)
        proposal = proposal_sign_bytes(CHAIN_ID, 5, 1, -1, BLOCK_A, 1_700_000_000_000)
        assert verify(VALIDATOR.public_key, proposal, await node.sign_step(5, 1, STEP_PROPOSE, proposal))
        again = await node.sign_step(5, 1, STEP_PROPOSE, proposal)  # the same bytes: the same signature
        assert verify(VALIDATOR.public_key, proposal, again)


@in_loop
async def test_the_signer_gives_the_seeds_of_the_keys_randomness_chains(tmp_path: Path) -> None:
    async with node_with_signer(tmp_path / "last_signed.json") as node:
        assert await node.beacon_seed(3) == VALIDATOR.beacon_seed(CHAIN_ID, 3)
        loop = asyncio.get_running_loop()
        reveals = remote_reveals(node, loop)  # as the node's execution thread asks for them
        anchor = await loop.run_in_executor(None, reveals.reveal, ValidatorRecord())
        assert anchor == HashChain(VALIDATOR.beacon_seed(CHAIN_ID, 0)).anchor


@in_loop
async def test_a_conflicting_signature_is_refused_by_the_signer_even_after_it_restarts(tmp_path: Path) -> None:
    state = tmp_path / "last_signed.json"
    async with node_with_signer(state) as node:
        first = await node.sign_step(7, 2, STEP_PRECOMMIT, vote(7, 2, block=BLOCK_A))
    # That signer is gone; a new one starts from the same last-signed record and dials the node again.
    async with node_with_signer(state) as node:
        with pytest.raises(DoubleSignRefused) as refused:
            await node.sign_step(7, 2, STEP_PRECOMMIT, vote(7, 2, block=BLOCK_B))
        assert refused.value.signed == (7, 2, STEP_PRECOMMIT)
        with pytest.raises(DoubleSignRefused):
            await node.sign_step(7, 1, STEP_PRECOMMIT, vote(7, 1, block=BLOCK_B))  # an earlier round
        assert await node.sign_step(7, 2, STEP_PRECOMMIT, vote(7, 2, block=BLOCK_A)) == first
        assert verify(VALIDATOR.public_key, vote(7, 3), await node.sign_step(7, 3, STEP_PRECOMMIT, vote(7, 3)))


@pytest.mark.parametrize(("height", "round_", "step", "sign_bytes", "reason"), [
    (5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE, chain_id=16), "chain 16"),
    (6, 0, STEP_PREVOTE, vote(5, 0, PREVOTE), "carries sign bytes of (5, 0, 2)"),
    (5, 1, STEP_PREVOTE, vote(5, 0, PREVOTE), "carries sign bytes of (5, 0, 2)"),
    (5, 0, STEP_PRECOMMIT, vote(5, 0, PREVOTE), "carries sign bytes of (5, 0, 2)"),
    (5, 0, STEP_PROPOSE, vote(5, 0, PREVOTE), "carries sign bytes of (5, 0, 2)"),
    (5, 0, STEP_PREVOTE, b"\xde\xad\xbe\xef any bytes at all", "not a proposal or vote"),
    (5, 0, STEP_PREVOTE, keccak(b"a transaction hash"), "not a proposal or vote"),
])
@in_loop
async def test_the_signer_signs_only_sign_bytes_that_say_what_the_request_says(
        tmp_path: Path, height: int, round_: int, step: int, sign_bytes: bytes, reason: str) -> None:
    state = tmp_path / "last_signed.json"
    async with node_with_signer(state) as node:
        with pytest.raises(SignRequestRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
            await node.sign_step(height, round_, step, sign_bytes)
        assert node.connected  # a refusal is an answer: the connection stays
    assert not state.exists()  # nothing was signed


@in_loop
async def test_a_request_for_another_chain_is_refused() -> None:
    signer = SignerService(SIGNER, PrivValidator(VALIDATOR, Path("/nonexistent/last_signed.json")),
                           SignerServiceConfig(NetAddress(NODE.node_id, "127.0.0.1", 1), CHAIN_ID))
    answer = await signer.answer(SignRequest(9, 16, 5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE, chain_id=16)))
    assert isinstance(answer, ErrorResponse) and answer.request_id == 9 and "chain 16" in answer.reason


# -- identities ---------------------------------------------------------------------------


@in_loop
async def test_the_node_refuses_a_signer_with_another_identity(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    node = endpoint()
    await node.start()
    try:
        async with running(service(node.port, tmp_path / "ls.json", identity=STRANGER)):
            await until(lambda: "is not the configured signer" in caplog.text)
            assert not node.connected
            with pytest.raises(SignerUnavailable):
                await node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE))
    finally:
        await node.stop()
    assert not (tmp_path / "ls.json").exists()


@in_loop
async def test_the_node_refuses_a_signer_holding_another_validator_key(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    node = endpoint()
    await node.start()
    try:
        other = ValidatorKey(seed=keccak(b"another validator"))
        async with running(service(node.port, tmp_path / "ls.json", key=other)):
            await until(lambda: "the configured key is" in caplog.text)
            assert not node.connected
    finally:
        await node.stop()


@in_loop
async def test_the_signer_refuses_a_node_with_another_identity(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    node = endpoint()
    await node.start()
    try:
        async with running(service(node.port, tmp_path / "ls.json", node_id=STRANGER.node_id)) as signer:
            await until(lambda: "but the remote node is" in caplog.text)
            assert not node.connected and not signer.connected.is_set()
    finally:
        await node.stop()


# -- loss, time-outs and bad frames --------------------------------------------------------


@in_loop
async def test_without_a_signer_nothing_is_signed_and_the_node_reconnects_when_it_comes_back(tmp_path: Path) -> None:
    node = endpoint()
    await node.start()
    try:
        with pytest.raises(SignerUnavailable, match="no remote signer connected"):
            await node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE))
        async with running(service(node.port, tmp_path / "ls.json")):
            await until(lambda: node.connected)
            await node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE))
        await until(lambda: not node.connected)  # the signer went away: seen by the read or the next ping
        with pytest.raises(SignerUnavailable):
            await node.sign_step(5, 0, STEP_PRECOMMIT, vote(5, 0))
        async with running(service(node.port, tmp_path / "ls.json")):
            await until(lambda: node.connected)
            assert verify(VALIDATOR.public_key, vote(5, 0), await node.sign_step(5, 0, STEP_PRECOMMIT, vote(5, 0)))
    finally:
        await node.stop()


async def fake_signer(port: int) -> SecretConnection:
    """A signer with the right identity and key that answers the public-key request and nothing else by itself."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = await secret_handshake(reader, writer, SIGNER, MAX_FRAME_BYTES, NODE.node_id)
    request = decode_request(await connection.recv())
    await connection.send(encode(PubKeyResponse(request.request_id, VALIDATOR.public_key)))
    return connection


@in_loop
async def test_a_signer_that_does_not_answer_times_out_and_is_dropped() -> None:
    node = endpoint(ping_interval_s=60.0)
    await node.start()
    try:
        connection = await fake_signer(node.port)
        await until(lambda: node.connected)
        started = asyncio.get_running_loop().time()
        with pytest.raises(SignerUnavailable, match="did not answer within 0.5 s"):
            await node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE))
        assert asyncio.get_running_loop().time() - started < 2.0
        assert not node.connected
        await connection.close()
    finally:
        await node.stop()


@pytest.mark.parametrize("frame", [
    b"\xc1",  # not msgpack
    pack([12, 2, b"short signature"]),
    pack([12, 99, b"\x00" * 64]),  # the answer to another request
    pack([12, 2, b"\x00" * 64]),  # a signature that does not verify
    pack([11, 2, b"\x00" * 32]),  # the wrong kind of answer
    pack([99, 2]),
    pack([12, 2, b"\x00" * 64, "extra"]),
    pack([True, 2, b"\x00" * 64]),
])
@in_loop
async def test_a_malformed_answer_drops_the_signer(frame: bytes) -> None:
    node = endpoint(ping_interval_s=60.0)
    await node.start()
    try:
        connection = await fake_signer(node.port)
        await until(lambda: node.connected)
        signing = asyncio.create_task(node.sign_step(5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE)))
        assert decode_request(await connection.recv()).request_id == 2  # after the public-key request
        await connection.send(frame)
        with pytest.raises(SignerProtocolError):
            await signing
        assert not node.connected
        await connection.close()
    finally:
        await node.stop()


@in_loop
async def test_a_malformed_request_makes_the_signer_hang_up_and_redial(tmp_path: Path) -> None:
    accepted: asyncio.Queue[SecretConnection] = asyncio.Queue()

    async def fake_node(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(await secret_handshake(reader, writer, NODE, MAX_FRAME_BYTES, SIGNER.node_id))

    server = await asyncio.start_server(fake_node, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with running(service(port, tmp_path / "ls.json")):
            first = await asyncio.wait_for(accepted.get(), 5)
            await first.send(pack([2, 1, CHAIN_ID, 5, 0, 9, b"x"]))  # step 9 does not exist
            with pytest.raises(Exception):  # noqa: B017 - closed by the signer: ConnectionClosed
                await asyncio.wait_for(first.recv(), 5)
            second = await asyncio.wait_for(accepted.get(), 5)  # it dialed again
            await second.send(encode(PingRequest(3)))
            assert decode_response(await asyncio.wait_for(second.recv(), 5)) == PingResponse(3)
    finally:
        server.close()


# -- the wire format ---------------------------------------------------------------------------


def test_messages_round_trip() -> None:
    requests = [PubKeyRequest(1), PingRequest(2), SignRequest(3, CHAIN_ID, 5, 0, STEP_PREVOTE, vote(5, 0, PREVOTE)),
                SeedRequest(4, CHAIN_ID, 7)]
    for request in requests:
        assert decode_request(encode(request)) == request
    responses = [PubKeyResponse(1, VALIDATOR.public_key), PingResponse(2), SignatureResponse(3, b"\x01" * 64),
                 DoubleSignResponse(4, "already signed", (5, 0, 3)), ErrorResponse(5, "wrong chain"),
                 SeedResponse(6, b"\x02" * 32)]
    for response in responses:
        assert decode_response(encode(response)) == response


@pytest.mark.parametrize("frame", [
    b"", b"\xc1", pack({"type": 1}), pack([1]), pack([1, -1]), pack([1, 2**32]), pack([1, 1, "extra"]),
    pack([2, 1, CHAIN_ID, 5, 0, 2]), pack([2, 1, CHAIN_ID, 0, 0, 2, b"x"]), pack([2, 1, 0, 5, 0, 2, b"x"]),
    pack([2, 1, CHAIN_ID, 5, -1, 2, b"x"]), pack([2, 1, CHAIN_ID, 5, 0, 4, b"x"]), pack([2, 1, CHAIN_ID, 5, 0, 2, b""]),
    pack([2, 1, CHAIN_ID, 5, 0, 2, b"x" * 257]), pack([2, 1, CHAIN_ID, 5, 0, 2, "text"]),
    pack([2, 1, CHAIN_ID, True, 0, 2, b"x"]), pack([2, 1, CHAIN_ID, 5, 0, 2.0, b"x"]), pack([11, 1, b"k" * 32]),
    pack([1, 1, b"x" * 2000]), b"\x92\x01" + b"\xcf" + b"\xff" * 8,
])
def test_malformed_requests_are_refused_with_a_protocol_error(frame: bytes) -> None:
    with pytest.raises(SignerProtocolError):
        decode_request(frame)


@given(st.binary(max_size=1200))
def test_any_bytes_decode_to_a_message_or_a_protocol_error(data: bytes) -> None:
    for decode in (decode_request, decode_response):
        try:
            decode(data)
        except SignerProtocolError:
            pass


@given(st.lists(st.one_of(st.integers(-(2**63), 2**64 - 1), st.binary(max_size=80), st.text(max_size=10), st.booleans(),
                          st.none()), max_size=8))
def test_arrays_of_any_values_decode_to_a_message_or_a_protocol_error(items: list[object]) -> None:
    for decode in (decode_request, decode_response):
        try:
            decode(pack(items))
        except SignerProtocolError:
            pass


def test_sign_bytes_decode_to_what_was_encoded_and_nothing_else() -> None:
    fields = decode_sign_bytes(vote(5, 3, PREVOTE))
    assert (fields.kind, fields.chain_id, fields.height, fields.round, fields.block_hash) == (PREVOTE, CHAIN_ID, 5, 3,
                                                                                            BLOCK_A)
    assert decode_sign_bytes(vote(5, 3, PRECOMMIT, block=b"")).block_hash == b""  # a nil vote
    proposal = decode_sign_bytes(proposal_sign_bytes(CHAIN_ID, 9, 2, 1, BLOCK_B, 7))
    assert (proposal.kind, proposal.height, proposal.round, proposal.block_hash) == (PROPOSAL_KIND, 9, 2, BLOCK_B)
    for bad in (proposal_sign_bytes(CHAIN_ID, 9, 2, 2, BLOCK_B, 7),  # POL round not below the round
                vote_sign_bytes(CHAIN_ID, 3, 5, 0, BLOCK_A, 7),  # no such vote type
                vote_sign_bytes(CHAIN_ID, PREVOTE, 5, 0, b"\x01" * 31, 7),
                vote(5, 0) + b"\x00", b"\x00" + vote(5, 0)):
        with pytest.raises(MalformedMessage):
            decode_sign_bytes(bad)


# -- the single-validator engine -------------------------------------------------------------


class NoTransactions:
    """A transaction source with nothing to offer."""

    def reap(self, max_bytes: int) -> list[object]:
        return []

    def has_txs(self) -> bool:
        return False


def test_the_single_validator_engine_makes_no_block_without_its_signer_and_goes_on_when_it_connects(
        open_node, validator_key: ValidatorKey, genesis, tmp_path: Path) -> None:  # noqa: ANN001 - fixtures
    node = open_node("solo")
    committed: list[object] = []

    async def scenario() -> None:
        remote = RemoteSigner(NODE, RemoteSignerConfig("127.0.0.1", 0, SIGNER.node_id, validator_key.public_key,
                                                       genesis.chain_id, ping_interval_s=0.2))
        await remote.start()
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                engine = SingleValidatorEngine(node.app, NoTransactions(), remote,
                                               EngineConfig(chain_id=genesis.chain_id), pool, committed.append)
                with pytest.raises(SignerUnavailable):
                    await engine.produce_block()
                assert engine.height == 0 and committed == []
                signer = SignerService(SIGNER, PrivValidator(validator_key, tmp_path / "ls.json"), SignerServiceConfig(
                    NetAddress(NODE.node_id, "127.0.0.1", remote.port), genesis.chain_id, initial_backoff_s=0.05))
                async with running(signer):
                    await until(lambda: remote.connected)
                    block = await engine.produce_block()
        finally:
            await remote.stop()
        commit = node.store.get_seen_commit(block.number)
        (signature,) = commit.signatures
        assert block.number == 1 and committed == [block]
        assert verify(validator_key.public_key, vote_sign_bytes(genesis.chain_id, PRECOMMIT, 1, commit.round, block.hash,
                                                               signature.timestamp_ms), signature.signature)

    asyncio.run(asyncio.wait_for(scenario(), 30))
