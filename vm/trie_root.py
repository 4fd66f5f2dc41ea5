"""Root of an Ethereum index-keyed Merkle-Patricia trie, computed in one pass.

Transactions and receipts roots commit to ``rlp(index) -> item`` tries. All
items are known at once, so instead of inserting them one by one into a
general trie (which re-hashes the path for every insertion), the trie is
built bottom-up from the sorted keys: each node is encoded and hashed once.
Nodes are lists of byte strings, so they are encoded with pyrlp's raw encoder,
which skips the type inference of ``rlp.encode``.
The result equals py-evm's ``make_trie_root_and_nodes`` (a differential test
checks it).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rlp
from eth_hash.auto import keccak
from rlp.codec import encode_raw
from rlp.sedes import big_endian_int

BLANK_ROOT_HASH = keccak(rlp.encode(b""))


def _nibbles(key: bytes) -> tuple[int, ...]:
    out = []
    for byte in key:
        out.append(byte >> 4)
        out.append(byte & 0x0F)
    return tuple(out)


def _hex_prefix(nibbles: Sequence[int], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    if len(nibbles) % 2:
        first = bytes([((flag + 1) << 4) | nibbles[0]])
        rest = nibbles[1:]
    else:
        first = bytes([flag << 4])
        rest = nibbles
    return first + bytes((rest[i] << 4) | rest[i + 1] for i in range(0, len(rest), 2))


def _reference(node: Any) -> Any:
    """How a parent refers to ``node``: inline if its encoding is short, else by hash."""
    encoded = encode_raw(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _build(pairs: Sequence[tuple[tuple[int, ...], bytes]], depth: int) -> Any:
    if len(pairs) == 1:
        key, value = pairs[0]
        return [_hex_prefix(key[depth:], leaf=True), value]
    first_key = pairs[0][0]
    last_key = pairs[-1][0]  # sorted: the common prefix of all is that of first and last
    common = 0
    limit = min(len(first_key), len(last_key)) - depth
    while common < limit and first_key[depth + common] == last_key[depth + common]:
        common += 1
    if common:
        child = _build(pairs, depth + common)
        return [_hex_prefix(first_key[depth:depth + common], leaf=False), _reference(child)]
    branch: list[Any] = [b""] * 17
    start = 0
    if len(first_key) == depth:
        branch[16] = pairs[0][1]
        start = 1
    while start < len(pairs):
        nibble = pairs[start][0][depth]
        end = start
        while end < len(pairs) and pairs[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _reference(_build(pairs[start:end], depth + 1))
        start = end
    return branch


def ordered_trie_root(items: Sequence[bytes]) -> bytes:
    """Root hash of the trie mapping ``rlp(i)`` to ``items[i]``."""
    if not items:
        return BLANK_ROOT_HASH
    pairs = sorted((_nibbles(encode_raw(big_endian_int.serialize(index))), item) for index, item in enumerate(items))
    return keccak(encode_raw(_build(pairs, 0)))
