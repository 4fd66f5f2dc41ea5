"""A fault-injecting TCP relay between the p2p ports of a local testnet, run as its own process.

    python -m tests.chaos.proxy --link 0>1:LISTEN:TARGET --link 1>0:LISTEN:TARGET ...

Each ``--link`` is one directed pair of nodes: the dialing node's persistent-peer
address for the other node points at ``LISTEN``, and the relay forwards every
connection accepted there to ``TARGET`` (the other node's p2p port). The relay
only moves bytes; the nodes' secret connection still authenticates both ends.

Once every port is bound the relay prints ``ready``. It then reads commands, one
JSON object a line on stdin, and answers each with a JSON line on stdout:

* ``{"links": [...], "cut": true}``: close the links' connections and close every
  new one as soon as it is accepted (a partition);
* ``{"links": [...], "delay_ms": D, "drop": P, "seed": S}``: hold every chunk of
  bytes ``D`` ms before forwarding it (order kept), and drop a chunk with
  probability ``P`` (which breaks the encrypted stream: the nodes must notice and
  reconnect);
* ``{"heal": true}``: every link relays again, promptly and completely.

Every link's bytes in flight are bounded (``QUEUE_CHUNKS`` chunks of at most
``CHUNK_BYTES``); a full queue stops reading from the sender.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field

CHUNK_BYTES = 65_536
QUEUE_CHUNKS = 256


@dataclass
class LinkFaults:
    """What a link currently does to the bytes it relays."""

    cut: bool = False
    delay_ms: int = 0
    drop: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))


class Link:
    """One directed pair of nodes: a listening port relayed to the target node's p2p port."""

    def __init__(self, name: str, listen_port: int, target_port: int) -> None:
        self.name = name
        self.listen_port = listen_port
        self.target_port = target_port
        self.faults = LinkFaults()
        self._connections: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind the listening port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    def set_faults(self, faults: LinkFaults) -> None:
        """Apply ``faults`` from now on; a cut also closes the connections in progress."""
        self.faults = faults
        if faults.cut:
            for writer in list(self._connections):
                writer.transport.abort()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.faults.cut:
            client_writer.transport.abort()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._connections.update((client_writer, target_writer))
        try:
            await asyncio.gather(self._pump(client_reader, target_writer), self._pump(target_reader, client_writer))
        finally:
            for writer in (client_writer, target_writer):
                self._connections.discard(writer)
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Relay one direction of a connection through a bounded queue, applying the link's faults."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)
        sender = asyncio.create_task(self._send(queue, writer))
        try:
            while not sender.done():
                try:
                    data = await reader.read(CHUNK_BYTES)
                except OSError:
                    break
                if not data:
                    break
                faults = self.faults
                if faults.drop and faults.rng.random() < faults.drop:
                    continue
                await queue.put((time.monotonic() + faults.delay_ms / 1000, data))
        finally:
            await queue.put((0.0, b""))
            with contextlib.suppress(OSError, ConnectionError):
                await sender
            writer.transport.abort()

    async def _send(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        while True:
            due, data = await queue.get()
            if not data:
                return
            wait = min(due - time.monotonic(), self.faults.delay_ms / 1000)
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()


def parse_link(text: str) -> Link:
    """``NAME:LISTEN:TARGET`` as a link."""
    name, listen, target = text.rsplit(":", 2)
    return Link(name, int(listen), int(target))


def apply_command(links: dict[str, Link], command: dict[str, object]) -> dict[str, object]:
    """Carry out one control command; the answer to print."""
    if command.get("heal"):
        for link in links.values():
            link.set_faults(LinkFaults())
        return {"ok": True}
    names = command.get("links")
    if not isinstance(names, list) or not all(isinstance(n, str) and n in links for n in names):
        return {"ok": False, "error": f"unknown links in {names!r}"}
    cut, delay_ms, drop = command.get("cut", False), command.get("delay_ms", 0), command.get("drop", 0.0)
    if not isinstance(cut, bool) or not isinstance(delay_ms, int) or not isinstance(drop, (int, float)):
        return {"ok": False, "error": "cut must be a boolean, delay_ms an integer and drop a number"}
    for name in names:
        rng = random.Random(f"{command.get('seed', 0)}:{name}")
        links[name].set_faults(LinkFaults(cut=cut, delay_ms=delay_ms, drop=float(drop), rng=rng))
    return {"ok": True}


async def serve(links: dict[str, Link]) -> None:
    """Bind every link, say ``ready``, then obey commands from stdin until it closes."""
    for link in links.values():
        await link.start()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        try:
            command = json.loads(line)
            answer = apply_command(links, command) if isinstance(command, dict) else {"ok": False, "error": "not an object"}
        except ValueError as exc:
            answer = {"ok": False, "error": f"not JSON: {exc}"}
        print(json.dumps(answer), flush=True)


def main() -> None:
    """Run the relay until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", action="append", required=True, metavar="NAME:LISTEN:TARGET")
    args = parser.parse_args()
    links = {link.name: link for link in map(parse_link, args.link)}
    asyncio.run(serve(links))


if __name__ == "__main__":
    main()
