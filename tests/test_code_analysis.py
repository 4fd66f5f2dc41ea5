"""The shared jump-destination analysis agrees with py-evm's own CodeStream."""
from __future__ import annotations

from eth.vm.code_stream import CodeStream
from hypothesis import given, settings
from hypothesis import strategies as st

from vm.code_analysis import AnalysedCodeStream, opcode_positions

PUSH2_JUMPDEST_DATA = bytes([0x61, 0x5B, 0x5B, 0x5B])  # PUSH2 0x5b5b, then a real JUMPDEST at 3


def test_push_data_is_not_an_opcode_position() -> None:
    assert opcode_positions(PUSH2_JUMPDEST_DATA) == frozenset({0, 3})
    stream = AnalysedCodeStream(PUSH2_JUMPDEST_DATA)
    assert [stream.is_valid_opcode(i) for i in range(5)] == [True, False, False, True, False]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_analysis_matches_py_evm_for_every_position(code: bytes) -> None:
    ours, reference = AnalysedCodeStream(code), CodeStream(code)
    for position in range(len(code) + 2):
        assert ours.is_valid_opcode(position) == reference.is_valid_opcode(position)
