"""A persistent peer whose stream is damaged on the path is reconnected, not banned."""
from __future__ import annotations

from p2p.keys import NodeKey
from tests.e2e.nodeproc import free_port
from tests.test_p2p_network import CHANNEL, HOST, TamperingProxy, connected, eventually, make_node, run, started


def test_a_persistent_peer_whose_stream_was_damaged_reconnects_without_a_ban() -> None:
    async def scenario() -> None:
        b_key = NodeKey.generate()
        a = make_node(persistent=(f"{b_key.node_id}@{HOST}:{free_port()}",))  # b is a's persistent peer
        async with started(a):
            proxy = TamperingProxy(a.p2p.listen_address.port)
            proxy_port = await proxy.start()
            b = make_node(key=b_key, persistent=(f"{a.id}@{HOST}:{proxy_port}",))
            async with started(b):
                await eventually(lambda: connected(a, b), what="connected through the proxy")
                proxy.armed = True
                assert b.p2p.send(a.id, CHANNEL, b"damaged on the way")
                await eventually(lambda: not a.p2p.is_connected(b.id), what="a drops the damaged connection")
                await eventually(lambda: connected(a, b), what="b redials a")
                assert not a.p2p.is_banned(b.id)
                assert b.p2p.send(a.id, CHANNEL, b"intact")
                await eventually(lambda: b"intact" in a.recorder.payloads())
                assert b"damaged on the way" not in a.recorder.payloads()
            await proxy.stop()

    run(scenario)
