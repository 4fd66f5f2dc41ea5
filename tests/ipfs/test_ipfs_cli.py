"""``cmnode ipfs add|cat|cid|convert`` against a real IPFS node (Helia), and against nodes that lie."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cybermiles_node.cli.ipfs import ipfs
from cybermiles_node.ipfs.unixfs import CHUNK_BYTES, cid_of

HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
HELLO_DIGEST = "0xa948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"


def _run(*args: str) -> Result:
    return CliRunner().invoke(ipfs, list(args), catch_exceptions=False, env={"CMNODE_HOME": None})


def _one_line_error(result: Result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and text in lines[0], result.output


class _LyingNode(BaseHTTPRequestHandler):
    """An IPFS API that answers ``cat`` with other bytes and ``add`` with another file's CID."""

    def do_POST(self) -> None:  # noqa: N802 (the http.server name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b"hello world!" if self.path.startswith("/api/v0/cat") else json.dumps(
            {"Name": "f", "Hash": HELLO_CID, "Size": "12"}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def lying_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_add_then_cat_through_a_real_ipfs_node(helia_api: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * (2 * CHUNK_BYTES // 256) + b"tail"  # three chunks: a dag-pb root
    source = tmp_path / "evidence.bin"
    source.write_bytes(data)
    added = _run("add", str(source), "--api", helia_api, "--json")
    assert added.exit_code == 0, added.output
    result = json.loads(added.output)
    assert result == {"cid": str(cid_of(data)), "codec": "dag-pb", "digest": "0x" + cid_of(data).digest.hex(),
                      "size": len(data)}
    target = tmp_path / "fetched.bin"
    fetched = _run("cat", result["cid"], "--api", helia_api, "-o", str(target))
    assert fetched.exit_code == 0, fetched.output
    assert target.read_bytes() == data
    converted = json.loads(_run("convert", result["digest"], "--codec", "dag-pb", "--json").output)
    assert converted["cid"] == result["cid"]


def test_cat_to_stdout_and_the_api_from_the_home_config(helia_api: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'[ipfs]\napi = "{helia_api}"\n')
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello world\n")
    added = _run("add", str(source), "--home", str(home))
    assert added.exit_code == 0, added.output
    assert added.output.splitlines()[0].split() == ["cid", HELLO_CID]
    assert HELLO_DIGEST in added.output.splitlines()[1]
    fetched = CliRunner().invoke(ipfs, ["cat", HELLO_CID, "--home", str(home)], catch_exceptions=False)
    assert fetched.exit_code == 0
    assert fetched.stdout_bytes == b"hello world\n"


def test_tampered_bytes_are_refused_and_nothing_is_written(lying_api: str, tmp_path: Path) -> None:
    target = tmp_path / "fetched.txt"
    result = _run("cat", HELLO_CID, "--api", lying_api, "-o", str(target))
    _one_line_error(result, f"the 12 bytes received for {HELLO_CID} are not that file")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_an_add_answered_with_another_cid_is_refused(lying_api: str, tmp_path: Path) -> None:
    source = tmp_path / "other.txt"
    source.write_bytes(b"other bytes\n")
    _one_line_error(_run("add", str(source), "--api", lying_api),
                    f"the IPFS node stored other.txt as {HELLO_CID}, but its bytes give {cid_of(b'other bytes' + bytes([10]))}")


def test_cid_offline_and_convert(tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello world\n")
    assert json.loads(_run("cid", str(source), "--json").output) == {
        "cid": HELLO_CID, "codec": "raw", "digest": HELLO_DIGEST, "size": 12}
    assert json.loads(_run("convert", HELLO_CID, "--json").output)["digest"] == HELLO_DIGEST
    assert json.loads(_run("convert", HELLO_DIGEST, "--codec", "raw", "--json").output)["cid"] == HELLO_CID


@pytest.mark.parametrize("args,text", [
    (["cat", "QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u", "--api", "http://127.0.0.1:5001"], "is a CIDv0"),
    (["cat", HELLO_CID, "--api", "http://127.0.0.1:1"], "cannot reach the IPFS API at http://127.0.0.1:1"),
    (["cat", HELLO_CID, "--api", "ftp://127.0.0.1"], "must be an http:// or https:// URL"),
    (["convert", "0x1234", "--codec", "raw"], "expected a bytes32 digest"),
], ids=["cidv0", "unreachable", "bad-url", "short-digest"])
def test_bad_input_is_one_clear_line(args: list[str], text: str) -> None:
    _one_line_error(_run(*args), text)


def test_a_silent_api_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in the backlog, unanswered
        api = f"http://127.0.0.1:{silent.getsockname()[1]}"
        _one_line_error(_run("cat", HELLO_CID, "--api", api, "--timeout", "0.5"),
                        f"the IPFS API at {api} did not answer within 0.5 s")


def test_too_large(helia_api: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(5000))
    _one_line_error(_run("add", str(source), "--api", helia_api, "--max-bytes", "4096"), "larger than the limit of 4096")
    assert _run("add", str(source), "--api", helia_api).exit_code == 0
    _one_line_error(_run("cat", str(cid_of(bytes(5000))), "--api", helia_api, "--max-bytes", "4096"),
                    "larger than the limit of 4096")
