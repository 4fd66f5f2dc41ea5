"""Jump-destination analysis done once per contract code, not once per call.

py-evm's ``CodeStream`` works out lazily, for every new message, which byte
positions are opcodes (and not PUSH data) by looking backwards from each jump
target. A token contract called a thousand times in a block repeats that work
a thousand times. ``AnalysedCodeStream`` answers the same question from the
set of opcode positions, computed by one forward scan and shared by every
stream over the same code (a bounded cache keyed by the code itself).
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from eth.vm.code_stream import CodeStream
from eth.vm.opcode_values import PUSH1, PUSH32

MAX_CACHED_CODES = 1024

_cache: OrderedDict[bytes, frozenset[int]] = OrderedDict()
_lock = Lock()


def opcode_positions(code: bytes) -> frozenset[int]:
    """Positions of ``code`` that hold an opcode (every position not inside PUSH data)."""
    positions = []
    index, length = 0, len(code)
    while index < length:
        positions.append(index)
        opcode = code[index]
        index += 1 + (opcode - PUSH1 + 1 if PUSH1 <= opcode <= PUSH32 else 0)
    return frozenset(positions)


def _positions_for(code: bytes) -> frozenset[int]:
    with _lock:
        positions = _cache.get(code)
        if positions is not None:
            _cache.move_to_end(code)
            return positions
    positions = opcode_positions(code)
    with _lock:
        _cache[code] = positions
        while len(_cache) > MAX_CACHED_CODES:
            _cache.popitem(last=False)
    return positions


class AnalysedCodeStream(CodeStream):
    """A ``CodeStream`` whose opcode-position checks use the shared analysis of its code."""

    __slots__ = ["_opcode_positions"]

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        self._opcode_positions = _positions_for(code_bytes)

    def is_valid_opcode(self, position: int) -> bool:
        """Whether ``position`` holds an opcode rather than PUSH data."""
        return position in self._opcode_positions
