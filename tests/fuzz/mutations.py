"""Edits of valid inputs shared by the fuzzers: JSON documents, texts and stored records.

A fuzzer that starts from a valid input reaches deeper than random bytes: each
strategy here changes a few places of a known-good value.
"""
from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (as keys and list indices from the root), the root first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:4]):
            found += json_paths(item, (*prefix, index))
    return found


@st.composite
def edited_json(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any], most: int = 3) -> Any:
    """A copy of ``document`` with one to ``most`` places replaced by ``values`` or removed."""
    edited = json.loads(json.dumps(document))
    places = [path for path in json_paths(edited) if path]
    for _ in range(draw(st.integers(1, most))):
        path = draw(st.sampled_from(places))
        parent = edited
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) or not isinstance(parent, dict):
                parent[path[-1]] = draw(values)
            else:
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this place
    return edited


@st.composite
def edited_text(draw: st.DrawFn, text: str, fragments: list[str], most: int = 4) -> str:
    """``text`` with one to ``most`` of ``fragments`` inserted or short runs of characters deleted."""
    for _ in range(draw(st.integers(1, most))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(fragments)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 10)):]
    return text


@st.composite
def edited_record(draw: st.DrawFn, records: list[bytes]) -> bytes:
    """One of ``records`` with one byte changed, or cut short."""
    record = bytearray(draw(st.sampled_from(records)))
    at = draw(st.integers(0, len(record) - 1))
    if draw(st.booleans()):
        record[at] = draw(st.integers(0, 255))
        return bytes(record)
    return bytes(record[:at])


#: Any JSON value, small.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
