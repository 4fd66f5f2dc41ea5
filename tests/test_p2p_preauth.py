"""Strangers before authentication, over real sockets: idle floods, huge announced frames, strikes and bans.

Loopback addresses 127.x.y.z all reach a node listening on 127.0.0.1, so each
test gives its attacker and its honest peers distinct source addresses.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import struct

import psutil
import pytest
from Crypto.PublicKey import ECC

from p2p import P2PConfig, P2PConfigError, PeerLimitReached
from p2p.address import is_loopback, source_of
from p2p.bans import StrikeCounter
from p2p.handshake import EPHEMERAL_KEY_SIZE
from p2p.pending import PendingHandshakes
from tests.test_p2p_network import (
    FAST,
    HOST,
    Node,
    connected,
    eventually,
    make_node,
    raw_peer,
    run,
    send_garbage,
    started,
)

MB = 1024 * 1024


async def stranger(target: Node, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to ``target`` from ``source`` that has sent nothing."""
    return await asyncio.open_connection(HOST, target.p2p.listen_address.port, local_addr=(source, 0))


async def announce_frame(target: Node, source: str, frame_bytes: int,
                         send_body: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stranger that does the key exchange, then announces a frame of ``frame_bytes`` (and sends its body)."""
    reader, writer = await stranger(target, source)
    await reader.readexactly(EPHEMERAL_KEY_SIZE)
    writer.write(ECC.generate(curve="curve25519").public_key().export_key(format="raw"))
    writer.write(struct.pack(">I", frame_bytes))
    with contextlib.suppress(OSError):
        await writer.drain()
        sent = 0
        while send_body and sent < frame_bytes:
            writer.write(bytes(64 * 1024))
            await writer.drain()
            sent += 64 * 1024
    return reader, writer


async def hung_up(reader: asyncio.StreamReader, timeout: float) -> bool:
    """Whether the remote side closes the connection within ``timeout`` (what it sends meanwhile is skipped)."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except OSError:
        pass
    return True


def test_a_frame_announced_larger_than_a_handshake_message_is_cut_before_its_body() -> None:
    async def scenario() -> None:
        # Frames of admitted peers may hold 8 MiB; the handshake's may not.
        a = make_node(config=dataclasses.replace(FAST, max_frame_size=8 * MB, handshake_timeout=20.0))
        async with started(a):
            reader, writer = await announce_frame(a, "127.0.0.5", 5 * MB, send_body=False)
            # Cut at once, from the header alone, long before the handshake deadline.
            assert await hung_up(reader, 3.0)
            writer.close()
            assert a.p2p.address_strikes("127.0.0.5") == 1 and not a.p2p.address_bans()

    run(scenario)


def test_sixty_strangers_sending_five_mb_frames_leave_memory_flat() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, max_frame_size=8 * MB, handshake_timeout=20.0)
        a = make_node(config=config)
        process = psutil.Process()
        async with started(a):
            before = process.memory_info().rss
            peak = before

            async def sample() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, process.memory_info().rss)
                    await asyncio.sleep(0.02)

            sampler = asyncio.create_task(sample())
            attackers = await asyncio.gather(*(announce_frame(a, f"127.0.1.{i + 1}", 5 * 1000 * 1000, send_body=True)
                                               for i in range(60)))
            for reader, writer in attackers:
                assert await hung_up(reader, 5.0)
                writer.close()
            sampler.cancel()
            # Before the frame limits of the handshake phase, the node buffered every body: about 300 MB.
            assert peak - before < 60 * MB, f"RSS grew by {(peak - before) / MB:.0f} MB"
            assert a.p2p.address_strikes("127.0.1.1") == 1

    run(scenario, timeout=60.0)


def test_idle_sockets_renewed_from_a_few_addresses_do_not_keep_an_honest_peer_out() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, max_pending_handshakes=8, handshake_timeout=2.0)
        a = make_node(config=config)
        attackers = [f"127.0.2.{i}" for i in range(1, 5)]  # 4 addresses x 4 sockets: twice the table
        held: list[asyncio.StreamWriter] = []

        async def renew_idle_sockets(source: str) -> None:
            while True:
                with contextlib.suppress(OSError):
                    reader, writer = await stranger(a, source)
                    held.append(writer)
                    await hung_up(reader, 30.0)  # the node hangs up (limit, eviction, deadline): open another
                    writer.close()
                await asyncio.sleep(0.01)

        async with started(a):
            flood = [asyncio.create_task(renew_idle_sockets(source)) for source in attackers for _ in range(4)]
            try:
                await asyncio.sleep(0.5)
                honest = make_node(persistent=(a.address,))  # dials from 127.0.0.1
                async with started(honest):
                    await eventually(lambda: connected(a, honest), timeout=5.0, what="honest node admitted")
                connection, key = await raw_peer(a, source="127.0.0.9")
                await eventually(lambda: a.p2p.is_connected(key.node_id), what="raw peer admitted")
                await connection.close()
                # Idle sockets time out or are evicted, and each is a strike: the flooding addresses get banned.
                await eventually(lambda: set(attackers) <= set(a.p2p.address_bans()), timeout=15.0,
                                 what="flooding addresses banned")
                assert not {HOST, "127.0.0.9"} & set(a.p2p.address_bans())
            finally:
                for task in flood:
                    task.cancel()
                await asyncio.gather(*flood, return_exceptions=True)
                for writer in held:
                    writer.close()

    run(scenario, timeout=60.0)


def test_repeated_misbehaviour_after_authentication_bans_the_address_too() -> None:
    async def scenario() -> None:
        a = make_node()
        attacker = "127.0.0.7"
        async with started(a):
            for strike in range(1, FAST.address_strikes + 1):
                connection, key = await raw_peer(a, source=attacker)  # a fresh node id each time
                await eventually(lambda: a.p2p.is_connected(key.node_id))
                connection.write(b"not msgpack \xc1")
                await connection.drain()
                await eventually(lambda: a.p2p.is_banned(key.node_id), what="node id banned")
                assert (attacker in a.p2p.address_bans()) == (strike == FAST.address_strikes)
                await connection.close()
            assert "banned" in a.p2p.address_bans()[attacker][1]
            reader, writer = await stranger(a, attacker)
            assert await hung_up(reader, 2.0)
            writer.close()
            honest = make_node(persistent=(a.address,))
            async with started(honest):
                await eventually(lambda: connected(a, honest), what="a peer from another address admitted")

    run(scenario)


def test_loopback_connections_are_not_limited_or_banned_by_default() -> None:
    async def scenario() -> None:
        config = dataclasses.replace(FAST, limit_loopback=False, max_pending_handshakes=8)
        a = make_node(config=config)
        async with started(a):
            idle = [await stranger(a, HOST) for _ in range(6)]  # more than max_pending_per_source
            for _ in range(FAST.address_strikes):
                await send_garbage(a)
            assert not a.p2p.address_bans() and a.p2p.address_strikes(HOST) == 0
            for reader, writer in idle:
                assert not await hung_up(reader, 0.05)  # all six still pending
                writer.close()
            b = make_node(persistent=(a.address,))
            async with started(b):
                await eventually(lambda: connected(a, b), what="local peer admitted")

    run(scenario)


def test_pending_handshake_settings_are_validated() -> None:
    P2PConfig(max_pending_handshakes=4, max_pending_per_source=4).validate()
    for bad in (P2PConfig(max_pending_per_source=0), P2PConfig(max_pending_handshakes=2, max_pending_per_source=3),
                P2PConfig(address_strikes=0), P2PConfig(strike_window=0)):
        with pytest.raises(P2PConfigError):
            bad.validate()


class Clock:
    """A hand-moved clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_table_evicts_the_oldest_connection_of_the_largest_holder_for_a_new_address() -> None:
    clock = Clock()
    closed: list[tuple[str, int]] = []
    strikes = {"10.0.0.2": 3}
    table = PendingHandshakes(6, 3, clock, lambda source: strikes.get(source, 0))

    def enter(source: str, number: int) -> None:
        clock.now += 1
        table.admit(source, lambda: closed.append((source, number)))

    for number, source in enumerate(["10.0.0.1"] * 3 + ["10.0.0.2"] * 2 + ["10.0.0.3"]):
        enter(source, number)
    with pytest.raises(PeerLimitReached):
        table.admit("10.0.0.1", lambda: None)  # per-source limit
    enter("10.0.0.9", 6)  # full: 10.0.0.1 holds the most, its oldest goes
    assert closed == [("10.0.0.1", 0)] and len(table) == 6 and table.count("10.0.0.9") == 1
    enter("10.0.0.8", 7)  # 10.0.0.1 and 10.0.0.2 hold two each: the one with more strikes gives way
    assert closed[-1] == ("10.0.0.2", 3) and table.count("10.0.0.2") == 1
    enter("10.0.0.7", 8)  # 10.0.0.1 is now the only largest holder
    assert closed[-1] == ("10.0.0.1", 1)
    with pytest.raises(PeerLimitReached):
        table.admit("10.0.0.7", lambda: None)  # every source holds one, as many as 10.0.0.7 itself
    assert len(table) == 6 and len(closed) == 3


def test_released_connections_free_their_slots_once() -> None:
    table = PendingHandshakes(2, 2, Clock(), lambda source: 0)
    first = table.admit("10.0.0.1", lambda: None)
    table.release(first)
    table.release(first)
    assert len(table) == 0 and table.count("10.0.0.1") == 0
    table.admit("10.0.0.1", lambda: None)
    table.admit("10.0.0.1", lambda: None)
    assert len(table) == 2


def test_strikes_ban_only_when_enough_fall_within_the_window() -> None:
    clock = Clock()
    counter = StrikeCounter(threshold=3, window=10.0, capacity=2, clock=clock)
    assert not counter.strike("a") and not counter.strike("a")
    clock.now = 11.0  # both strikes have aged out
    assert counter.count("a") == 0 and not counter.strike("a") and not counter.strike("a")
    assert counter.strike("a") and counter.count("a") == 0  # struck out: cleared for the ban
    counter.strike("b")
    counter.strike("c")
    counter.strike("d")  # capacity 2: the least recently struck key is forgotten
    assert counter.count("b") == 0 and counter.count("d") == 1


def test_sources_group_ipv6_by_slash_64_and_unmap_ipv4() -> None:
    assert source_of("192.0.2.7") == "192.0.2.7"
    assert source_of("2001:db8:1:2:aaaa::1") == source_of("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert source_of("2001:db8:1:3::1") != source_of("2001:db8:1:2::1")
    assert source_of("::ffff:192.0.2.7") == "192.0.2.7"
    assert source_of("fe80::1%eth0") == "fe80::/64"
    assert is_loopback("127.3.2.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.1") and not is_loopback("not an address")
