"""``cmt_cidOf`` over the node's JSON-RPC dispatcher and backend: the CID a dapp gets for a file's bytes."""
from __future__ import annotations

import pytest

from cybermiles_node.ipfs.unixfs import CHUNK_BYTES, cid_of
from tests.test_rpc_cmt import Rpc

HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture
def rpc(open_node):
    rpc = Rpc(open_node("a"))
    yield rpc
    rpc.backend.close()


def test_cid_of_a_file_of_one_chunk_and_of_several(rpc: Rpc) -> None:
    assert rpc("cmt_cidOf", "0x" + b"hello world\n".hex()) == {
        "cid": HELLO_CID, "codec": "raw",
        "digest": "0xa948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"}
    content = bytes(range(256)) * (CHUNK_BYTES // 256) + b"more"
    answer = rpc("cmt_cidOf", "0x" + content.hex())
    assert answer["cid"] == str(cid_of(content)) and answer["codec"] == "dag-pb"
    assert rpc("cmt_cidOf", "0x")["cid"] == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@pytest.mark.parametrize("params,message", [
    ([], "missing value for required argument 0"),
    (["0x123"], "invalid argument 0"),
    (["hello"], "invalid argument 0"),
    (["0x00", "0x00"], "too many arguments, want at most 1"),
])
def test_bad_parameters(rpc: Rpc, params: list[str], message: str) -> None:
    error = rpc.error("cmt_cidOf", *params)
    assert error["code"] == -32602 and message in error["message"]
