"""The ``[rpc] explorer`` switch: what ``config.toml`` says, what the node decides, what the RPC port serves."""
from __future__ import annotations

from pathlib import Path

import pytest

from cybermiles_node.config import config_to_toml, load_config
from cybermiles_node.errors import ConfigError
from rpc.config import RPCConfig
from tests.test_rpc import FakeChain, async_test, serve


def config_file(tmp_path: Path, rpc_lines: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[rpc]\naddr = \"127.0.0.1:8545\"\n{rpc_lines}")
    return path


@pytest.mark.parametrize(("line", "on_dev", "on_other"), [
    ("", True, False),
    ("explorer = true\n", True, True),
    ("explorer = false\n", False, False),
])
def test_the_explorer_is_on_for_dev_unless_the_config_says_otherwise(
        tmp_path: Path, line: str, on_dev: bool, on_other: bool) -> None:
    rpc = load_config(config_file(tmp_path, line)).rpc
    assert (rpc.serves_explorer(dev=True), rpc.serves_explorer(dev=False)) == (on_dev, on_other)
    # Writing the config back keeps the choice (and keeps "absent" absent).
    rewritten = tmp_path / "rewritten.toml"
    rewritten.write_text(config_to_toml(load_config(tmp_path / "config.toml")))
    assert load_config(rewritten).rpc.explorer == rpc.explorer


@pytest.mark.parametrize("value", ['"yes"', "1", "0", '"true"', "[]"])
def test_a_non_boolean_explorer_setting_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"rpc\.explorer: must be true or false"):
        load_config(config_file(tmp_path, f"explorer = {value}\n"))


@async_test
async def test_the_rpc_port_serves_the_explorer_only_when_on() -> None:
    async with serve(FakeChain(), RPCConfig(explorer=False)) as client:
        for path in ("/explorer", "/explorer/", "/explorer/main.js"):
            response = await client.http.get(path, allow_redirects=False)
            assert response.status == 404, path
        assert await client.result("eth_blockNumber") == "0x0"
    async with serve(FakeChain(), RPCConfig(explorer=True)) as client:
        redirect = await client.http.get("/explorer", allow_redirects=False)
        assert (redirect.status, redirect.headers["Location"]) == (302, "/explorer/")
        page = await client.http.get("/explorer/")
        assert page.status == 200 and page.content_type == "text/html"
        assert '<script type="module" src="/explorer/main.js">' in await page.text()
        script = await client.http.get("/explorer/main.js")
        assert script.status == 200 and len(await script.read()) > 0
