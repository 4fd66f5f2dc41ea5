"""The gas tables of the library's pages are the blocks ``benchmarks/library_gas.py --write-docs`` writes.

Each contract with a flow in the script has exactly one block between the script's markers on its page; the block
reads back into figures that render to the same text (so the format, the markers and the flow's notes are the
script's), and its rows name every state-changing function of the contract and nothing else. The numbers are the
benchmark's to refresh, not this test's.
"""
from __future__ import annotations

import pytest

from benchmarks.library_gas import (
    FLOWS,
    LibraryFlow,
    block_of,
    pages,
    parse_block,
    render_block,
    state_changing_functions,
)
from cybermiles_node.contract_library import compile_contracts
from cybermiles_node.solc import CompiledContract


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledContract]:
    """The contracts of the script's flows, compiled as the script and `cmnode contracts deploy` compile them."""
    return compile_contracts(list(pages(FLOWS).values()))


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.contract)
def test_the_page_holds_the_scripts_block_for_every_state_changing_function(
        flow: LibraryFlow, compiled: dict[str, CompiledContract]) -> None:
    page = pages([flow])[flow.contract].page
    assert page is not None, f"{flow.contract} has no page in docs/contracts/README.md"
    block = block_of(page.read_text(encoding="utf-8"))
    figures = parse_block(flow.contract, block)
    assert render_block(figures, flow.notes) == block
    assert figures.deployment_gas > 0 and figures.calls
    assert {call.function for call in figures.calls} == state_changing_functions(compiled[flow.contract].abi)
