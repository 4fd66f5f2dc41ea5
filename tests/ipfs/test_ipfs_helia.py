"""The CID the node computes for a file equals the one a real IPFS node (Helia) gives when it imports it."""
from __future__ import annotations

import asyncio
import json
import random

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.ipfs.unixfs import CHUNK_BYTES, MAX_LINKS, cid_of

#: Sizes where the layout changes: one raw block, two leaves, a full node of leaves and the next level.
BOUNDARIES = [0, CHUNK_BYTES, 2 * CHUNK_BYTES, 7 * CHUNK_BYTES]


async def _helia_cid(api: str, data: bytes) -> str:
    """The CID the Helia node announces for ``data`` added as Kubo's RPC API is called."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="file.bin", content_type="application/octet-stream")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api}/api/v0/add", params={"cid-version": "1", "raw-leaves": "true"},
                                data=form) as response:
            assert response.status == 200, await response.text()
            return json.loads((await response.text()).splitlines()[-1])["Hash"]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(BOUNDARIES), st.integers(-2, 2), st.integers(0, 2**32))
def test_random_files_around_chunk_boundaries(helia_api: str, boundary: int, offset: int, seed: int) -> None:
    size = max(0, boundary + offset)
    data = random.Random(seed).randbytes(size)
    assert str(cid_of(data)) == asyncio.run(_helia_cid(helia_api, data))


@pytest.mark.parametrize("size", [MAX_LINKS * CHUNK_BYTES + 1], ids=["two-levels"])
def test_a_file_of_two_levels(helia_api: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    assert str(cid_of(data)) == asyncio.run(_helia_cid(helia_api, data))
