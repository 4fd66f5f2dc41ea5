"""Fixtures shared by the end-to-end tests: one running node per module."""
from __future__ import annotations

import pytest
from web3 import Web3

from tests.e2e.nodeproc import NodeProcess


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    proc = NodeProcess(tmp_path_factory.mktemp("e2e") / "home")
    proc.init()
    proc.start()
    yield proc
    if proc.process is not None:
        proc.stop()


@pytest.fixture(scope="module")
def w3(node: NodeProcess) -> Web3:
    return Web3(Web3.HTTPProvider(node.url))


