"""p2p building blocks without sockets: node keys, addresses, encrypted frames, message framing, node info, bounds."""
from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.address import NetAddress
from p2p.address_book import AddressBook
from p2p.bans import BanList
from p2p.config import P2PConfig
from p2p.errors import (
    AuthenticationError,
    ConnectionClosed,
    FrameTooLarge,
    IncompatiblePeer,
    NodeKeyFileError,
    NonceOverflow,
    P2PConfigError,
    P2PError,
    ProtocolViolation,
)
from p2p.framing import decode_message, encode_message, safe_unpack
from p2p.handshake import derive_secrets
from p2p.keys import NodeKey, node_id_of, verify_signature
from p2p.node_info import PROTOCOL_VERSION, NodeInfo
from p2p.ratelimit import TokenBucket
from p2p.secret_connection import MAX_COUNTER, FrameOpener, FrameSealer, read_frame

KEY = bytes(range(32))
MAX = 4096


class FakeClock:
    """A settable clock for the bounded structures that take one."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def read_all(wire: bytes, opener: FrameOpener, frames: int) -> list[bytes]:
    """Read ``frames`` frames from a stream holding exactly ``wire`` and then end-of-stream."""

    async def scenario() -> list[bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        return [await read_frame(reader, opener) for _ in range(frames)]

    return asyncio.run(scenario())


# ----- keys ----------------------------------------------------------------------------------------------------------


def test_node_id_is_first_20_bytes_of_sha256_of_the_public_key() -> None:
    key = NodeKey(seed=b"\x07" * 32)
    assert key.node_id == hashlib.sha256(key.public_key).digest()[:20].hex()
    assert key.node_id == node_id_of(key.public_key)
    assert len(key.node_id) == 40
    assert "07" * 32 not in repr(key)


def test_node_key_file_round_trip_with_mode_0600(tmp_path: Path) -> None:
    key = NodeKey.generate()
    path = tmp_path / "node_key.json"
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert NodeKey.load(path) == key
    with pytest.raises(NodeKeyFileError):
        key.save(path)


def test_node_key_load_rejects_missing_malformed_and_inconsistent_files(tmp_path: Path) -> None:
    with pytest.raises(NodeKeyFileError):
        NodeKey.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(NodeKeyFileError):
        NodeKey.load(tmp_path / "bad.json")
    key = NodeKey.generate()
    (tmp_path / "lie.json").write_text(
        f'{{"id": "{"ab" * 20}", "pub_key": "{key.public_key.hex()}", "priv_key": "{key.seed.hex()}"}}'
    )
    with pytest.raises(NodeKeyFileError):
        NodeKey.load(tmp_path / "lie.json")


def test_signatures_verify_only_for_the_signed_message_and_key() -> None:
    key, other = NodeKey.generate(), NodeKey.generate()
    signature = key.sign(b"challenge")
    assert verify_signature(key.public_key, b"challenge", signature)
    assert not verify_signature(key.public_key, b"challengf", signature)
    assert not verify_signature(other.public_key, b"challenge", signature)
    assert not verify_signature(key.public_key[:31], b"challenge", signature)


# ----- addresses and config ------------------------------------------------------------------------------------------


def test_net_address_parse_and_format() -> None:
    node_id = "ab" * 20
    address = NetAddress.parse(f"{node_id}@127.0.0.1:26656")
    assert (address.node_id, address.host, address.port) == (node_id, "127.0.0.1", 26656)
    assert str(address) == f"{node_id}@127.0.0.1:26656"
    assert NetAddress.parse(str(NetAddress(node_id, "::1", 5))).host == "::1"
    for bad in ("127.0.0.1:26656", f"{node_id}@127.0.0.1", f"{node_id}@host:0", f"{node_id}@host:x",
                "xyz@host:1", f"{node_id}@bad host:1"):
        with pytest.raises(P2PConfigError):
            NetAddress.parse(bad)


def test_config_validation() -> None:
    P2PConfig().validate()
    for bad in (P2PConfig(max_frame_size=100), P2PConfig(send_queue_size=0), P2PConfig(ban_seconds=-1),
                P2PConfig(ping_interval=10, idle_timeout=5), P2PConfig(moniker="x" * 65),
                P2PConfig(recv_message_rate=10)):
        with pytest.raises(P2PConfigError):
            bad.validate()


# ----- encrypted frames ----------------------------------------------------------------------------------------------


def test_handshake_secrets_pair_up_across_the_two_sides() -> None:
    ours, theirs, secret = os.urandom(32), os.urandom(32), os.urandom(32)
    send_a, recv_a, challenge_a = derive_secrets(secret, ours, theirs)
    send_b, recv_b, challenge_b = derive_secrets(secret, theirs, ours)
    assert (send_a, recv_a, challenge_a) == (recv_b, send_b, challenge_b)
    assert len({send_a, recv_a, challenge_a}) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=600), min_size=1, max_size=5))
def test_frames_round_trip_in_order(messages: list[bytes]) -> None:
    sealer = FrameSealer(KEY, MAX)
    wire = b"".join(sealer.seal(message) for message in messages)
    assert read_all(wire, FrameOpener(KEY, MAX), len(messages)) == messages


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.data())
def test_any_single_bit_flip_is_rejected(plaintext: bytes, data: st.DataObject) -> None:
    wire = bytearray(FrameSealer(KEY, MAX).seal(plaintext))
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(wire) - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises((AuthenticationError, FrameTooLarge, ConnectionClosed)):
        read_all(bytes(wire), FrameOpener(KEY, MAX), 1)


def test_replayed_reordered_or_cross_direction_frames_are_rejected() -> None:
    sealer = FrameSealer(KEY, MAX)
    first, second = sealer.seal(b"one"), sealer.seal(b"two")
    with pytest.raises(AuthenticationError):
        read_all(first + first, FrameOpener(KEY, MAX), 2)
    with pytest.raises(AuthenticationError):
        read_all(second, FrameOpener(KEY, MAX), 1)
    with pytest.raises(AuthenticationError):
        read_all(first, FrameOpener(bytes(32), MAX), 1)


def test_oversized_frames_are_refused_on_both_sides_without_reading_the_body() -> None:
    with pytest.raises(FrameTooLarge):
        FrameSealer(KEY, MAX).seal(b"x" * (MAX + 1))
    big = FrameSealer(KEY, 10 * MAX).seal(b"x" * (MAX + 1))
    with pytest.raises(FrameTooLarge):
        read_all(big[:4], FrameOpener(KEY, MAX), 1)
    with pytest.raises(AuthenticationError):
        read_all(b"\x00\x00\x00\x03abc", FrameOpener(KEY, MAX), 1)


def test_frame_counter_never_wraps() -> None:
    sealer = FrameSealer(KEY, MAX)
    sealer._nonce._next = MAX_COUNTER - 1  # jump to the last usable nonce
    sealer.seal(b"last")
    with pytest.raises(NonceOverflow):
        sealer.seal(b"one too many")


def test_truncated_stream_is_a_closed_connection() -> None:
    wire = FrameSealer(KEY, MAX).seal(b"hello")
    with pytest.raises(ConnectionClosed):
        read_all(wire[:-1], FrameOpener(KEY, MAX), 1)


# ----- message framing -----------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=255), st.binary(max_size=2000))
def test_messages_round_trip(channel_id: int, payload: bytes) -> None:
    assert decode_message(encode_message(channel_id, payload), MAX) == (channel_id, payload)


@pytest.mark.parametrize(
    "data",
    [
        msgpack.packb([1, "text"]),
        msgpack.packb([256, b"x"], use_bin_type=True),
        msgpack.packb([True, b"x"], use_bin_type=True),
        msgpack.packb([1, b"x", 3], use_bin_type=True),
        msgpack.packb({"a": 1}),
        msgpack.packb([1, msgpack.ExtType(1, b"x")]),
        msgpack.packb([1, b"x"], use_bin_type=True) + b"\x00",
        b"\x92\x01\xc6\xff\xff\xff\xff",  # bin32 claiming 4 GiB
        b"\x92\x01\xc4\x05ab",  # truncated bin
        b"\xc1",  # never-used byte
        b"",
    ],
)
def test_malformed_messages_are_protocol_violations(data: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        decode_message(data, MAX)


def test_safe_unpack_bounds_containers_and_refuses_non_string_map_keys() -> None:
    with pytest.raises(ProtocolViolation):
        safe_unpack(msgpack.packb(list(range(20))), MAX, max_items=10)
    with pytest.raises(ProtocolViolation):
        safe_unpack(msgpack.packb({1: 2}), MAX)
    with pytest.raises(ProtocolViolation):
        safe_unpack(b"\x91" * 5000 + b"\x00", 10 * MAX)  # nesting too deep
    with pytest.raises(FrameTooLarge):
        safe_unpack(b"\x00" * (MAX + 1), MAX)


# ----- node info -----------------------------------------------------------------------------------------------------


def _info(**changes: object) -> NodeInfo:
    fields: dict[str, object] = {
        "node_id": "ab" * 20, "listen_host": "127.0.0.1", "listen_port": 26656, "chain_id": "cmt-local",
        "protocol_version": PROTOCOL_VERSION, "software_version": "0.1.0", "channels": (0, 0x30), "moniker": "n0",
    }
    fields.update(changes)
    return NodeInfo(**fields)  # type: ignore[arg-type]


def test_node_info_round_trip_and_compatibility() -> None:
    local = _info(node_id="cd" * 20)
    remote = _info()
    assert NodeInfo.decode(remote.encode()) == remote
    remote.check_compatible(local, "ab" * 20)
    with pytest.raises(IncompatiblePeer):
        _info(chain_id="other").check_compatible(local, "ab" * 20)
    with pytest.raises(IncompatiblePeer):
        _info(protocol_version=PROTOCOL_VERSION + 1).check_compatible(local, "ab" * 20)
    with pytest.raises(ProtocolViolation):
        remote.check_compatible(local, "ef" * 20)


@pytest.mark.parametrize(
    "raw",
    [
        {**_info().__dict__, "channels": [0, 0]},
        {**_info().__dict__, "channels": [300]},
        {**_info().__dict__, "moniker": "x" * 100},
        {**_info().__dict__, "node_id": "zz"},
        {**_info().__dict__, "listen_port": 0},
        {**_info().__dict__, "extra": 1},
        {k: v for k, v in _info().__dict__.items() if k != "moniker"},
    ],
)
def test_malformed_node_info_is_refused(raw: dict[str, object]) -> None:
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}
    with pytest.raises(P2PError):
        NodeInfo.decode(msgpack.packb(raw, use_bin_type=True))


# ----- bounded structures ----------------------------------------------------------------------------------------------


def test_token_bucket_allows_the_burst_then_asks_to_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert [bucket.consume(1) for _ in range(5)] == [0.0] * 5
    assert bucket.consume(1) == pytest.approx(0.1)
    clock.now += 100.0  # idle time refills only up to the burst
    assert bucket.consume(5) == 0.0
    assert bucket.consume(1) == pytest.approx(0.1)


def test_token_bucket_busy_time_refills_beyond_the_burst_up_to_the_ceiling() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock, max_credit=50)
    bucket.consume(5)
    clock.now += 3.0
    bucket.refill_busy()  # 3 s busy: 30 tokens, not capped at the burst of 5
    assert bucket.consume(30) == 0.0
    assert bucket.consume(1) > 0
    clock.now += 1000.0
    bucket.refill_busy()
    assert bucket.consume(55) == 0.0 and bucket.consume(1) > 0


def test_ban_list_expires_and_stays_bounded() -> None:
    clock = FakeClock()
    bans = BanList(capacity=3, clock=clock)
    bans.ban("a", 10, "spam")
    assert bans.is_banned("a") and bans.reason("a") == "spam"
    bans.ban("a", 1, "shorter ban does not shorten")
    assert bans.remaining("a") == pytest.approx(10)
    for key in "bcde":
        bans.ban(key, 20, "x")
    assert len(bans.snapshot()) == 3
    clock.now += 21
    assert not any(bans.is_banned(key) for key in "abcde")


def test_address_book_is_bounded_keeps_pinned_entries_and_drops_failing_ones() -> None:
    clock = FakeClock()
    own = "00" * 20
    book = AddressBook(own, capacity=3, max_failures=2, backoff_base=1, backoff_max=8, clock=clock)
    assert not book.add(NetAddress(own, "127.0.0.1", 1))
    seed = NetAddress("11" * 20, "127.0.0.1", 1)
    book.add(seed, pinned=True)
    for i in range(2, 10):
        book.add(NetAddress(f"{i:02d}" * 20, "127.0.0.1", i))
    assert len(book) == 3 and seed in book.addresses()
    victim = next(a for a in book.addresses() if a != seed)
    book.mark_attempt(victim.node_id)
    assert victim not in book.dial_candidates(10, exclude=set())
    book.mark_failure(victim.node_id)
    book.mark_failure(victim.node_id)
    assert victim not in book.addresses()
    for _ in range(5):
        book.mark_failure(seed.node_id)
    assert seed in book.addresses()
