"""Memory of a validator while strangers hold pending p2p handshakes that announce huge frames.

Writes a 2-validator ``cmnode testnet`` in a temporary folder and starts its
first validator alone. Then ``--connections`` clients, each from its own
loopback address (127.0.0.2, 127.0.0.3, ...: as if from that many hosts,
none of which a per-address limit turns away at accept), do the first step
of the handshake (the ephemeral key exchange), announce a frame of
``--frame-mb`` MB and send its body but the last byte, and hold the
connection. The validator's resident memory is
sampled throughout; the script prints it before and at the peak, and how many
clients the validator cut off before their frame's body was sent.

    python benchmarks/p2p_preauth.py
    python benchmarks/p2p_preauth.py --connections 60 --frame-mb 5 --hold 3
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from Crypto.PublicKey import ECC

from benchmarks.errors import BenchmarkError
from benchmarks.report import MB
from benchmarks.rss import RssSampler
from benchmarks.testnet import node_process, write_testnet

EPHEMERAL_KEY_SIZE = 32
CHUNK = 256 * 1024
START_TIMEOUT_S = 120.0


async def hold_big_frame(p2p_host: str, p2p_port: int, source: str, frame_bytes: int, hold_s: float) -> int:
    """One stranger: key exchange, announce ``frame_bytes``, send all of it but the last byte, hold.

    Returns how many body bytes the client wrote (into the socket buffers) before the connection broke.
    """
    sent = 0
    try:
        reader, writer = await asyncio.open_connection(p2p_host, p2p_port, local_addr=(source, 0))
    except OSError:
        return 0
    try:
        await reader.readexactly(EPHEMERAL_KEY_SIZE)
        ephemeral = ECC.generate(curve="curve25519").public_key().export_key(format="raw")
        writer.write(ephemeral + struct.pack(">I", frame_bytes))
        await writer.drain()
        while sent < frame_bytes - 1:
            chunk = min(CHUNK, frame_bytes - 1 - sent)
            writer.write(bytes(chunk))
            await writer.drain()
            sent += chunk
        await asyncio.sleep(hold_s)
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return sent


async def measure(connections: int, frame_bytes: int, hold_s: float, settle_s: float) -> None:
    """Start one validator, attack it, print its memory figures."""
    with tempfile.TemporaryDirectory(prefix="cmnode-p2p-preauth-") as folder:
        workdir = Path(folder)
        node = write_testnet(workdir / "testnet", 2)[0]
        process = node_process(node, workdir)
        process.start()
        try:
            pid = await process.wait_ready(START_TIMEOUT_S)
            await asyncio.sleep(settle_s)
            host, port = node.p2p.rsplit("@", 1)[-1].rsplit(":", 1)
            async with RssSampler(pid, interval=0.05) as idle:
                await asyncio.sleep(0.5)
            async with RssSampler(pid, interval=0.05) as attacked:
                sources = [f"127.0.{(i + 2) // 256}.{(i + 2) % 256}" for i in range(connections)]
                taken = await asyncio.gather(
                    *(hold_big_frame(host, int(port), source, frame_bytes, hold_s) for source in sources))
            cut = sum(1 for n in taken if n < frame_bytes - 1)  # the validator hung up before the body was written
            print(f"validator pid {pid}, {connections} pending connections each announcing a "
                  f"{frame_bytes / 1e6:.1f} MB frame")
            print(f"  RSS before: {idle.peak_bytes / MB:.0f} MB")
            print(f"  RSS peak under attack: {attacked.peak_bytes / MB:.0f} MB "
                  f"(+{(attacked.peak_bytes - idle.peak_bytes) / MB:.0f} MB)")
            print(f"  connections cut before their frame's body was sent: {cut} of {connections} "
                  f"(most body bytes one client wrote, into socket buffers, before the cut: {max(taken) / 1e6:.2f} MB)")
        finally:
            process.stop()


def main() -> int:
    """Parse the options and run the measurement; print a message and return 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=60, help="pending connections (default 60)")
    parser.add_argument("--frame-mb", type=float, default=5.0, help="announced frame size in MB (default 5)")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each connection is held (default 3)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to let the node settle (default 3)")
    args = parser.parse_args()
    if not 1 <= args.connections <= 60_000 or args.frame_mb <= 0 or args.hold < 0 or args.settle < 0:
        parser.error("--connections must be 1..60000, --frame-mb positive, --hold and --settle not negative")
    try:
        asyncio.run(measure(args.connections, int(args.frame_mb * 1e6), args.hold, args.settle))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
