"""The one-pass trie root equals py-evm's general trie for every list of items."""
from __future__ import annotations

from eth.db.trie import make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from vm.trie_root import BLANK_ROOT_HASH, ordered_trie_root


class _Item:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def encode(self) -> bytes:
        return self._data


def _reference_root(items: list[bytes]) -> bytes:
    return make_trie_root_and_nodes(tuple(_Item(item) for item in items))[0]


def test_empty_list_has_the_blank_root() -> None:
    assert ordered_trie_root([]) == BLANK_ROOT_HASH == _reference_root([])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=120), max_size=300))
def test_root_matches_the_general_trie(items: list[bytes]) -> None:
    assert ordered_trie_root(items) == _reference_root(items)


def test_root_matches_across_the_one_and_two_byte_index_boundary() -> None:
    items = [bytes([i % 251 + 1]) * (i % 40 + 1) for i in range(300)]
    for count in (127, 128, 129, 255, 256, 257, 300):
        assert ordered_trie_root(items[:count]) == _reference_root(items[:count])
