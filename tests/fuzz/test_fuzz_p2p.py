"""Fuzzers of what a peer sends: encrypted frames, frame plaintexts, node info and every channel's messages.

Each decoder gets arbitrary bytes and mutations of valid messages (bytes
flipped, inserted, deleted, the message cut or repeated) and must return a
message or raise its package's typed error: ``P2PError`` for frames, node
info and PEX, ``MalformedMessage`` for consensus messages,
``BlockSyncDecodeError`` / ``StateSyncDecodeError`` for block and state sync,
``InvalidEvidence`` for evidence and ``MalformedTxMessage`` for mempool
batches. Files in ``tests/fuzz/corpus/p2p/`` are named ``<surface>-<what>``
and replayed through their surface's decoder.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.blocksync import (
    BlockRequest,
    BlockResponse,
    BlockSyncDecodeError,
    NoBlockResponse,
    StatusRequest,
    StatusResponse,
)
from consensus.blocksync import decode_message as decode_sync_message
from consensus.blocksync import encode_message as encode_sync_message
from consensus.evidence import DuplicateVoteEvidence, InvalidEvidence
from consensus.messages import MalformedMessage, Proposal, Vote, decode_message, encode_message
from consensus.statesync import NodeDataRequest, NodeDataResponse, StateSyncDecodeError
from consensus.statesync import decode_message as decode_state_message
from consensus.statesync import encode_message as encode_state_message
from consensus.types import EMPTY_COMMIT, PRECOMMIT, PREVOTE, ZERO_HASH32
from cybermiles_node.mempool.gossip import MalformedTxMessage, decode_txs, encode_txs
from p2p.errors import P2PError
from p2p.framing import decode_message as decode_frame_message
from p2p.framing import encode_message as encode_frame_message
from p2p.framing import pack
from p2p.handshake import MAX_AUTH_MESSAGE
from p2p.keys import NodeKey
from p2p.node_info import PROTOCOL_VERSION, NodeInfo
from p2p.pex import decode_pex_message
from p2p.secret_connection import FrameOpener, FrameSealer, read_frame
from tests.fuzz.conftest import FUZZ, corpus_inputs
from tests.test_blocksync import CHAIN_ID, KEYS, VALIDATORS, make_block, sign_commit

KEY = bytes(range(32))
MAX_FRAME = 64 * 1024
MAX_CONSENSUS_MESSAGE = 1024 * 1024
PEX_MAX_ADDRESSES = 100
LOOP = asyncio.new_event_loop()


def read_frames(wire: bytes, max_size: int | None) -> list[bytes]:
    """Every frame the node reads from ``wire``; ``P2PError`` if the stream breaks off or a frame is bad."""
    async def read() -> list[bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        opener = FrameOpener(KEY, MAX_FRAME)
        frames = []
        while not reader.at_eof():
            frames.append(await read_frame(reader, opener, max_size))
        return frames

    return LOOP.run_until_complete(read())


def sealed(*plaintexts: bytes) -> bytes:
    sealer = FrameSealer(KEY, MAX_FRAME)
    return b"".join(sealer.seal(plaintext) for plaintext in plaintexts)


def vote(type_: int = PREVOTE, block_hash: bytes = b"\x11" * 32) -> Vote:
    key = KEYS[0]
    unsigned = Vote(type=type_, height=5, round=1, block_hash=block_hash, timestamp_ms=1_700_000_000_123,
                    validator_address=key.address)
    return unsigned.with_signature(key.sign(unsigned.sign_bytes(CHAIN_ID)))


GENESIS = make_block(0, ZERO_HASH32, EMPTY_COMMIT)
BLOCK = make_block(1, GENESIS.hash, EMPTY_COMMIT)
PROPOSAL = Proposal(height=1, round=0, pol_round=-1, block=BLOCK, timestamp_ms=1_700_000_000_000,
                    proposer_address=KEYS[1].address, signature=b"\x22" * 64)
NODE_KEY = NodeKey.generate()

# surface -> (decoder, the error every malformed input must raise, valid messages to mutate)
SURFACES: dict[str, tuple[Callable[[bytes], object], type[Exception], list[bytes]]] = {
    "frame": (lambda data: read_frames(data, None), P2PError,
              [sealed(encode_frame_message(0x30, b"tx"), encode_frame_message(0xFF, b"")),
               sealed(b"x" * 300)]),
    "handshake-frame": (lambda data: read_frames(data, MAX_AUTH_MESSAGE), P2PError,
                        [sealed(pack([NODE_KEY.public_key, NODE_KEY.sign(b"c" * 32)]))]),
    "envelope": (lambda data: decode_frame_message(data, MAX_FRAME), P2PError,
                 [encode_frame_message(0x21, b"proposal"), encode_frame_message(0, b"")]),
    "node-info": (NodeInfo.decode, P2PError,
                  [NodeInfo(node_id=NODE_KEY.node_id, listen_host="10.0.0.1", listen_port=26656, chain_id="cmt-1",
                            protocol_version=PROTOCOL_VERSION, software_version="0.1.0", channels=(0, 0x20, 0x30),
                            moniker="fuzz").encode()]),
    "pex": (lambda data: decode_pex_message(data, PEX_MAX_ADDRESSES), P2PError,
            [pack({"type": "request"}),
             pack({"type": "addrs", "addrs": [[NODE_KEY.node_id, "10.0.0.2", 26656], [KEYS[0].address.hex(),
                                                                                    "[::1]", 1]]})]),
    "consensus": (lambda data: decode_message(data, MAX_CONSENSUS_MESSAGE), MalformedMessage,
                  [encode_message(vote()), encode_message(vote(PRECOMMIT, b"")), encode_message(PROPOSAL)]),
    "blocksync": (decode_sync_message, BlockSyncDecodeError,
                  [encode_sync_message(StatusRequest()), encode_sync_message(StatusResponse(0, 7)),
                   encode_sync_message(BlockRequest(3, with_receipts=True)), encode_sync_message(NoBlockResponse(9)),
                   encode_sync_message(BlockResponse(BLOCK, sign_commit(BLOCK), (b"r1", b"r2"), VALIDATORS))]),
    "statesync": (decode_state_message, StateSyncDecodeError,
                  [encode_state_message(NodeDataRequest((b"\x33" * 32, b"\x44" * 32))),
                   encode_state_message(NodeDataResponse((b"node", b"code")))]),
    "evidence": (DuplicateVoteEvidence.decode, InvalidEvidence,
                 [DuplicateVoteEvidence.of(vote(), vote(block_hash=b"\x12" * 32)).encode()]),
    "mempool": (decode_txs, MalformedTxMessage, [encode_txs([b"\x02" + bytes(100), b"\xf8" * 40]), encode_txs([])]),
}


def check(surface: str, data: bytes) -> None:
    """Feed ``data`` to ``surface``'s decoder: it returns, or raises that surface's typed error."""
    decoder, error, _ = SURFACES[surface]
    try:
        decoder(data)
    except error:
        pass


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A valid message with a few bytes flipped, inserted or deleted, cut short, or repeated."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(("flip", "insert", "delete", "cut", "repeat")))
        if operation == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[position:position + draw(st.integers(1, 8))]
        elif operation == "cut":
            del data[position:]
        elif operation == "repeat":
            data += data[position:]
    return bytes(data)


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_valid_messages_decode(surface: str) -> None:
    decoder, _, samples = SURFACES[surface]
    for sample in samples:
        assert decoder(sample) is not None


@pytest.mark.parametrize("surface", sorted(SURFACES))
@FUZZ
@given(data=st.data())
def test_arbitrary_bytes_give_the_typed_error(surface: str, data: st.DataObject) -> None:
    check(surface, data.draw(st.binary(max_size=2048)))


@pytest.mark.parametrize("surface", sorted(SURFACES))
@FUZZ
@given(data=st.data())
def test_mutated_messages_give_the_typed_error(surface: str, data: st.DataObject) -> None:
    check(surface, data.draw(mutated(SURFACES[surface][2])))


@pytest.mark.parametrize(("name", "data"), corpus_inputs("p2p") or [pytest.param("", b"", marks=pytest.mark.skip)])
def test_corpus_inputs_give_the_typed_error(name: str, data: bytes) -> None:
    surface = next(s for s in sorted(SURFACES, key=len, reverse=True) if name.startswith(f"{s}-"))
    check(surface, data)
