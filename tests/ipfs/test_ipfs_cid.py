"""CIDs computed by the node: known vectors, the text and binary forms, the digest form, and the refusals."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.ipfs.cid import DAG_PB, RAW, Cid, parse_digest
from cybermiles_node.ipfs.errors import CidError, ContentMismatch
from cybermiles_node.ipfs.unixfs import CHUNK_BYTES, MAX_LINKS, UnixfsHasher, check_content, cid_of

# Each CID below is what `tests/ipfs/helia-node.mjs` answered to
# `POST /api/v0/add?cid-version=1&raw-leaves=true` with the file's bytes as a
# multipart upload (curl -F file=@FILE).
VECTORS = [
    ("hello world", b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    ("empty", b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    ("one full chunk", bytes(CHUNK_BYTES), "bafkreiekhhjkxu4ztk3tyng3er3ijhg56mb44oe3gwbgquhzu4afrg2ksa"),
    ("under a chunk", bytes(range(256)) * 1000, "bafkreifvpnsldggv2woolirktopslzzkpuebi5wugicrvkjd6pn6xoijgq"),
    ("chunk and a byte", bytes(CHUNK_BYTES + 1), "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"),
    ("three chunks", bytes(range(256)) * 2049, "bafybeicvn3sdkipsxltawiqn5fi3cj32luwgxwysdggzf7fqjiuoz5xedm"),
]
#: 174 chunks and one byte of zeros: two levels of dag-pb nodes (a full node of 174 links and one of 1).
TWO_LEVELS = "bafybeihqwzd3o6q6v3pmwhzjy22vokhr767burokmqemg63hptx2nqd7ym"


@pytest.mark.parametrize("data,expected", [(d, c) for _, d, c in VECTORS], ids=[n for n, _, _ in VECTORS])
def test_known_vectors(data: bytes, expected: str) -> None:
    cid = cid_of(data)
    assert str(cid) == expected
    assert cid.codec == (RAW if len(data) <= CHUNK_BYTES else DAG_PB)
    if cid.codec == RAW:
        assert cid.digest == hashlib.sha256(data).digest()


def test_two_level_tree() -> None:
    assert str(cid_of(bytes(MAX_LINKS * CHUNK_BYTES + 1))) == TWO_LEVELS


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3 * CHUNK_BYTES + 10).flatmap(
    lambda data: st.tuples(st.just(data), st.lists(st.integers(0, len(data)), max_size=8))))
def test_pieces_of_any_size_give_the_whole_file_cid(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    hasher = UnixfsHasher()
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in zip(bounds, bounds[1:]):
        hasher.update(data[start:end])
    assert hasher.size == len(data)
    assert hasher.cid() == cid_of(data)


@given(st.sampled_from([RAW, DAG_PB]), st.binary(min_size=32, max_size=32))
def test_text_binary_and_digest_forms_convert_both_ways(codec: int, digest: bytes) -> None:
    cid = Cid(codec, digest)
    text = str(cid)
    assert text.startswith("b") and len(text) == 59 and text == text.lower()
    assert Cid.parse(text) == cid
    assert Cid.from_bytes(cid.to_bytes()) == cid
    assert Cid(codec, parse_digest(cid.digest_hex())) == cid


@pytest.mark.parametrize("text,message", [
    ("", "empty CID"),
    ("QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u", "is a CIDv0"),
    ("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "must start with 'b'"),
    ("BAFKREIFJJCIE6LYPI6NY7AMXNFFTAGCLBUXNDQONFIPMB64F2KM2DEVEI4", "must start with 'b'"),
    ("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei", "59 characters, got 58"),
    ("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei5", "not the canonical base32"),
    ("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2dEvei4", "not lowercase base32"),
    ("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2de1ei4", "not lowercase base32"),
    # the same digest as a dag-cbor (0x71) CID, and as a CIDv1 of a blake2b-256 multihash
    ("bafyreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", "unsupported codec 0x71"),
])
def test_refused_cids(text: str, message: str) -> None:
    with pytest.raises(CidError, match=message):
        Cid.parse(text)


def test_refused_binary_forms() -> None:
    good = Cid.parse(VECTORS[0][2]).to_bytes()
    with pytest.raises(CidError, match="version 0"):
        Cid.from_bytes(b"\x00" + good[1:])
    with pytest.raises(CidError, match=r"multihash 0x13"):
        Cid.from_bytes(good[:2] + b"\x13" + good[3:])
    with pytest.raises(CidError, match="36 bytes, got 35"):
        Cid.from_bytes(good[:-1])
    with pytest.raises(CidError, match="bytes32 digest"):
        parse_digest("0x" + "ab" * 31)


def test_bytes_of_another_file_are_refused() -> None:
    cid = Cid.parse(VECTORS[0][2])
    check_content(cid, b"hello world\n")
    with pytest.raises(ContentMismatch, match="the 12 bytes received for bafkrei.* are not that file"):
        check_content(cid, b"hello world!")
