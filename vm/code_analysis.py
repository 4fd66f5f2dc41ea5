"""Jump-destination analysis done once per contract code, not once per call.

py-evm's ``CodeStream`` works out lazily, for every new message, which byte
positions are opcodes (and not PUSH data) by looking backwards from each jump
target. A token contract called a thousand times in a block repeats that work
a thousand times. ``AnalysedCodeStream`` answers the same question from the
set of opcode positions, computed by one forward scan and shared by every
stream over the same code (a bounded cache keyed by the code itself). The
same scan yields the valid jump destinations (``JUMPDEST`` opcodes outside
PUSH data), which the fast opcode loop of ``vm.interpreter`` checks jumps against.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import NamedTuple

from eth.vm.code_stream import CodeStream
from eth.vm.opcode_values import JUMPDEST, PUSH1, PUSH32

MAX_CACHED_CODES = 1024


class CodeAnalysis(NamedTuple):
    """What one forward scan of a contract's code tells."""

    opcode_positions: frozenset[int]
    jump_destinations: frozenset[int]


_cache: OrderedDict[bytes, CodeAnalysis] = OrderedDict()
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


def analysis_of(code: bytes) -> CodeAnalysis:
    """The shared analysis of ``code`` (computed once while it stays among the recently used codes)."""
    with _lock:
        analysis = _cache.get(code)
        if analysis is not None:
            _cache.move_to_end(code)
            return analysis
    positions = opcode_positions(code)
    analysis = CodeAnalysis(positions, frozenset(p for p in positions if code[p] == JUMPDEST))
    with _lock:
        _cache[code] = analysis
        while len(_cache) > MAX_CACHED_CODES:
            _cache.popitem(last=False)
    return analysis


class AnalysedCodeStream(CodeStream):
    """A ``CodeStream`` whose opcode-position checks use the shared analysis of its code."""

    __slots__ = ["analysis"]

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        self.analysis = analysis_of(code_bytes)

    def is_valid_opcode(self, position: int) -> bool:
        """Whether ``position`` holds an opcode rather than PUSH data."""
        return position in self.analysis.opcode_positions
