"""How fast the node computes a file's CID, and adds and fetches (verified) a file through an IPFS node.

Computes the CID of ``--mb`` MB of random bytes ``--repeat`` times, then starts the
test IPFS node (``tests/ipfs/helia-node.mjs``, Helia's UnixFS in memory; needs
``npm ci``) and runs ``add_file`` (local CID, upload, check of the announced CID)
and ``fetch`` (download, CID of the bytes, comparison) on the same file. Prints
seconds and MB/s for each.

    python benchmarks/ipfs.py
    python benchmarks/ipfs.py --mb 64 --repeat 3
"""
from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the harness from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.errors import BenchmarkError
from benchmarks.load import positive_int
from cybermiles_node.ipfs.cid import Cid
from cybermiles_node.ipfs.client import IpfsApi, add_file, fetch
from cybermiles_node.ipfs.unixfs import cid_of

REPO = Path(__file__).resolve().parent.parent
HELIA_NODE = REPO / "tests" / "ipfs" / "helia-node.mjs"
MB = 1_000_000


def _row(what: str, seconds: float, size: int) -> str:
    return f"{what:<34} {seconds:8.3f} s  {size / MB / seconds:8.1f} MB/s"


def _start_helia() -> tuple[subprocess.Popen[str], str]:
    if not (REPO / "node_modules" / "@helia" / "unixfs").is_dir():
        raise BenchmarkError("run `npm ci` first: the IPFS node needs @helia/unixfs")
    process = subprocess.Popen(["node", str(HELIA_NODE)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise BenchmarkError(f"the IPFS node did not start: {line!r}")
    return process, line.split()[1]


def run(size: int, repeat: int) -> None:
    """Measure and print."""
    data = random.Random(size).randbytes(size)
    best = min(_timed(lambda: cid_of(data)) for _ in range(repeat))
    print(f"file of {size / MB:.0f} MB, best of {repeat}")
    print(_row("CID computed by the node", best, size))
    process, api_url = _start_helia()
    try:
        api = IpfsApi(api_url, max_bytes=size)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "file.bin"
            path.write_bytes(data)
            cid = cid_of(data)
            print(_row("add_file (CID, upload, check)", min(
                _timed(lambda: asyncio.run(add_file(api, path))) for _ in range(repeat)), size))
            print(_row("fetch (download, CID, compare)", min(
                _timed(lambda: asyncio.run(_fetch_only(api, cid))) for _ in range(repeat)), size))
    finally:
        process.terminate()
        process.wait()


async def _fetch_only(api: IpfsApi, cid: Cid) -> None:
    """Fetch and drop the bytes (``asyncio.run`` of Python 3.11 formats a returned result, slowly)."""
    await fetch(api, cid)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=positive_int, default=64, help="file size in MB, at most 1024 (default 64)")
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="runs of each measurement, at most 20; the best is printed (default 3)")
    args = parser.parse_args()
    if args.mb > 1024 or args.repeat > 20:
        parser.error("--mb must be at most 1024 and --repeat at most 20")
    try:
        run(args.mb * MB, args.repeat)
    except BenchmarkError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
