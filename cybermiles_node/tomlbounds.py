"""Bounds of a TOML text, checked before ``tomllib`` parses it.

``tomllib`` recurses once per array or inline table nested in a value (deep
enough, that overflows the stack instead of raising an error), and the work it
does for one dotted key grows with the square of its number of parts. One
linear scan of the text finds the deepest nesting and the longest dotted key,
skipping strings and comments, so a hostile file is refused by a bound instead.
"""
from __future__ import annotations

import re

from cybermiles_node.errors import ConfigError

#: Arrays and inline tables inside one another (``config.toml`` needs 3).
MAX_TOML_NESTING = 16
#: Parts of one dotted key or table name (``webhooks.inbound.callers`` has 3).
MAX_TOML_KEY_PARTS = 16

# Every alternative consumes at least one character and never backtracks: strings
# without their closing quotes run to the end of the line (or text), as the
# parser will reject them there anyway, so the scan stays linear on any input.
_TOKEN = re.compile(
    r'''(?P<string>"""(?:[^"\\]|\\[\s\S]|"(?!""))*+(?:"""|\Z)"{0,2}'''
    r"""|'''(?:[^']|'(?!''))*+(?:'''|\Z)'{0,2}"""
    r'''|"(?:[^"\\\n]|\\[^\n])*+"?'''
    r"""|'[^'\n]*+'?)"""
    r"|(?P<part>[A-Za-z0-9_+:-]++)"
    r"|(?P<comment>#[^\n]*+)"
    r"|(?P<open>[\[{])"
    r"|(?P<close>[\]}])"
    r"|(?P<dot>\.)"
    r"|(?P<space>[ \t]++)"
    r"|(?P<other>[\s\S])"
)


def check_toml_bounds(text: str, source: str) -> None:
    """Raise ``ConfigError`` (naming ``source`` and the line) when ``text`` nests arrays and inline
    tables deeper than ``MAX_TOML_NESTING`` or has a dotted key of more than ``MAX_TOML_KEY_PARTS`` parts."""
    depth = 0
    dots = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "dot":
            dots += 1
            if dots >= MAX_TOML_KEY_PARTS:
                where = f"{source}:{_line_of(text, match.start())}"
                raise ConfigError(f"{where}: a dotted key of more than {MAX_TOML_KEY_PARTS} parts")
        elif kind == "open":
            dots = 0
            depth += 1
            if depth > MAX_TOML_NESTING:
                where = f"{source}:{_line_of(text, match.start())}"
                raise ConfigError(f"{where}: arrays and tables nested deeper than {MAX_TOML_NESTING} levels")
        elif kind == "close":
            dots = 0
            depth = max(depth - 1, 0)
        elif kind in ("other", "comment"):
            dots = 0


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
