"""How deeply RLP lists nest, bounded by one iterative pass before a recursive decoder meets them.

pyrlp decodes nested lists by recursion, and re-slices its input at every
level: bytes nested thousands of lists deep cost time quadratic in their size
and end in ``RecursionError``. Decoders of untrusted bytes check the bound
first with ``nesting_exceeds``.
"""
from __future__ import annotations

import rlp
from rlp.codec import consume_length_prefix


def nesting_exceeds(raw: bytes, start: int, max_depth: int) -> bool:
    """Whether ``raw`` (from offset ``start``) holds lists nested more than ``max_depth`` levels.

    One pass over the item headers with a stack of list ends: nothing recurses,
    and a header that does not parse is left for the decoder to reject.
    """
    open_ends: list[int] = []
    position = start
    while position < len(raw):
        while open_ends and position >= open_ends[-1]:
            open_ends.pop()
        try:
            _, kind, length, content = consume_length_prefix(raw, position)
        except (rlp.DecodingError, IndexError):  # a header cut short: the decoder rejects it
            return False
        if kind is list:
            if len(open_ends) >= max_depth:
                return True
            open_ends.append(content + length)
            position = content
        else:
            position = content + length
    return False
