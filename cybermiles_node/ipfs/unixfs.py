"""The CID an IPFS UnixFS import gives for a file's bytes, with Kubo's default layout.

Kubo (``ipfs add --cid-version=1 --raw-leaves``) and Helia with the same settings
cut a file into fixed-size chunks of 262,144 bytes, store each chunk as a ``raw``
block and build a balanced tree of ``dag-pb`` nodes with at most 174 links each,
level by level: every run of up to 174 nodes of one level gets a parent on the
next, until one node is left. A file of one chunk (the empty file included) is
that raw block itself.

A parent is a dag-pb ``PBNode`` whose ``Data`` is a UnixFS ``Data`` message
(``Type = File``, ``filesize``, one ``blocksizes`` entry per child) and whose
links carry the child's CID, an empty name and its cumulative size. The two
messages are written here by hand: dag-pb requires the links (field 2) before the
data (field 1), which generic protobuf serialisers, writing fields in number
order, do not produce, and each message needs only a few varints and byte fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from cybermiles_node.ipfs.cid import DAG_PB, RAW, Cid
from cybermiles_node.ipfs.errors import ContentMismatch, ContentTooLarge

#: Bytes of each chunk (Kubo's ``size-262144`` chunker).
CHUNK_BYTES = 262_144
#: Most links of one dag-pb node in Kubo's balanced layout.
MAX_LINKS = 174
#: UnixFS ``Data.Type`` of a file.
UNIXFS_FILE = 2


def _varint(value: int) -> bytes:
    """Unsigned LEB128, as protobuf writes varints."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    """A varint protobuf field."""
    return _varint(number << 3) + _varint(value)


@dataclass(frozen=True)
class _Child:
    """A node of the tree as its parent links it: CID, cumulative block size, file bytes below it."""

    cid: Cid
    tree_size: int
    file_size: int


def _parent(children: list[_Child]) -> _Child:
    """The dag-pb node linking ``children``."""
    unixfs = _field_varint(1, UNIXFS_FILE) + _field_varint(3, sum(c.file_size for c in children))
    unixfs += b"".join(_field_varint(4, c.file_size) for c in children)
    links = b"".join(
        _field_bytes(2, _field_bytes(1, c.cid.to_bytes()) + _field_bytes(2, b"") + _field_varint(3, c.tree_size))
        for c in children
    )
    block = links + _field_bytes(1, unixfs)
    return _Child(Cid.of_block(DAG_PB, block), len(block) + sum(c.tree_size for c in children),
                  sum(c.file_size for c in children))


def _root(leaves: list[_Child]) -> Cid:
    """The root CID of the balanced tree over ``leaves`` (a single leaf is its own root)."""
    if len(leaves) == 1:
        return leaves[0].cid
    level = leaves
    while True:
        level = [_parent(level[i:i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
        if len(level) == 1:
            return level[0].cid


class UnixfsHasher:
    """Computes a file's CID from its bytes given in pieces of any size, holding one chunk at a time."""

    def __init__(self) -> None:
        """An empty file so far."""
        self._pending = bytearray()
        self._leaves: list[_Child] = []
        self.size = 0

    def update(self, data: bytes) -> None:
        """Append ``data`` to the file."""
        self.size += len(data)
        view = memoryview(data)
        if self._pending:
            room = CHUNK_BYTES - len(self._pending)
            self._pending += view[:room]
            view = view[room:]
            if len(self._pending) < CHUNK_BYTES:
                return
            self._leaf(bytes(self._pending))
            self._pending.clear()
        while len(view) >= CHUNK_BYTES:
            self._leaf(bytes(view[:CHUNK_BYTES]))
            view = view[CHUNK_BYTES:]
        self._pending += view

    def _leaf(self, chunk: bytes) -> None:
        self._leaves.append(_Child(Cid.of_block(RAW, chunk), len(chunk), len(chunk)))

    def cid(self) -> Cid:
        """The CID of the bytes given so far."""
        leaves = list(self._leaves)
        if self._pending or not leaves:
            leaves.append(_Child(Cid.of_block(RAW, bytes(self._pending)), len(self._pending), len(self._pending)))
        return _root(leaves)


def cid_of(data: bytes) -> Cid:
    """The CID of a file holding ``data``."""
    hasher = UnixfsHasher()
    hasher.update(data)
    return hasher.cid()


def cid_of_stream(stream: BinaryIO, max_bytes: int) -> Cid:
    """The CID of the bytes read from ``stream``; ``ContentTooLarge`` past ``max_bytes``."""
    hasher = UnixfsHasher()
    while piece := stream.read(CHUNK_BYTES):
        if hasher.size + len(piece) > max_bytes:
            raise ContentTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
        hasher.update(piece)
    return hasher.cid()


def check_content(cid: Cid, data: bytes) -> None:
    """``ContentMismatch`` unless ``data`` is the file whose CID is ``cid``."""
    actual = cid_of(data)
    if actual != cid:
        raise ContentMismatch(f"the {len(data)} bytes received for {cid} are not that file: their CID is {actual}")
