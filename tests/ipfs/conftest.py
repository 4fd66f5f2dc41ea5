"""A real IPFS node for the tests: ``helia-node.mjs`` (Helia's UnixFS over HTTP), one process per module."""
from __future__ import annotations

import select
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELIA_NODE = Path(__file__).with_name("helia-node.mjs")
#: Seconds the process may take to print its address.
START_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def helia_api() -> Iterator[str]:
    """The Kubo-RPC URL of a fresh Helia node (its blockstore in memory), stopped after the module."""
    if shutil.which("node") is None or not (REPO / "node_modules" / "@helia" / "unixfs").is_dir():
        pytest.skip("needs Node.js and `npm ci` (@helia/unixfs)")
    process = subprocess.Popen(["node", str(HELIA_NODE)], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("listening "):
            process.kill()
            raise RuntimeError(f"the Helia node did not start: {line!r} {process.communicate(timeout=START_TIMEOUT_S)}")
        yield line.split()[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
