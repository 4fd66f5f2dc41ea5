"""How deep a JSON text nests, found before a recursive decoder descends into it.

Python's JSON decoder recurses once per nested array or object, and with the
high recursion limit the EVM sets, a text nested deep enough overflows the C
stack and kills the process instead of raising an error. The documents of the
middleware are shallow, so each caller refuses a text that nests deeper than
its format needs, by one linear scan that skips strings.
"""
from __future__ import annotations

import re

# A string without its closing quote runs to the end of the text (the decoder rejects it
# there), and the string pattern never backtracks, so the scan is linear on any input.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\[\s\S])*+"?|[\[\]{}]')


def first_too_deep(text: str, limit: int) -> int | None:
    """The offset in ``text`` of the first ``[`` or ``{`` that opens level ``limit + 1``, else None."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in ("]", "}"):
            depth -= 1
    return None
