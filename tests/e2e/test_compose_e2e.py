"""The 4-validator ``docker-compose.yml``, run without a container engine.

The compose file is read as compose reads it; its ``init`` service's command
and each node's command (after the image's ``cmnode`` entrypoint) are run as
processes on this machine, with the shared ``/testnet`` volume mapped to a
temporary folder. Then the published ports must be the nodes' RPC ports and
the four nodes must commit the same blocks. What this cannot show is the
image build itself (``docker build``), which needs an engine.
"""
from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from web3 import Web3

from tests.e2e.nodeproc import free_port_range

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]
COMPOSE_BASE_PORT = 26650
NODES = [f"node{i}" for i in range(4)]


def _compose() -> dict:
    return yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())


def _entrypoint() -> list[str]:
    """The image's ENTRYPOINT, from the Dockerfile."""
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", (REPOSITORY / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None, "the Dockerfile has no exec-form ENTRYPOINT"
    return yaml.safe_load(match.group(1))


def _rpc_port(home: Path) -> int:
    config = tomllib.loads((home / "config.toml").read_text())
    return int(config["rpc"]["addr"].rsplit(":", 1)[1])


def test_compose_file_describes_four_validators_sharing_the_init_volume() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"init", *NODES}
    assert _entrypoint() == ["cmnode"]
    for name in NODES:
        service = services[name]
        assert service["command"] == ["start", "--home", f"/testnet/{name}"]
        assert "testnet:/testnet" in service["volumes"]
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        if name != "node0":
            assert service["network_mode"] == "service:node0"  # they peer on 127.0.0.1 as configured
    assert "testnet:/testnet" in services["init"]["volumes"]
    assert "testnet" in compose["volumes"]


def test_compose_commands_start_a_network_that_commits_blocks(tmp_path: Path) -> None:
    compose = _compose()
    services = compose["services"]
    volume = tmp_path / "testnet"
    volume.mkdir()
    base = free_port_range(8)
    cmnode = str(Path(sys.executable).parent / "cmnode")
    init = " ".join(services["init"]["command"])
    assert f"--base-port {COMPOSE_BASE_PORT}" in init
    init = init.replace("/testnet", str(volume)).replace(f"--base-port {COMPOSE_BASE_PORT}", f"--base-port {base}")
    init = re.sub(r"(^|\|\|\s*)cmnode\b", lambda m: m.group(1) + shlex.quote(cmnode), init)
    subprocess.run(["sh", "-c", init], check=True, timeout=120, capture_output=True)
    genesis = (volume / "node0" / "genesis.json").read_bytes()
    subprocess.run(["sh", "-c", init], check=True, timeout=120, capture_output=True)  # a restart keeps the homes
    assert (volume / "node0" / "genesis.json").read_bytes() == genesis

    published = {int(mapping.split(":")[0]) for mapping in services["node0"]["ports"]}
    rpc_ports = [_rpc_port(volume / name) for name in NODES]
    assert {port - base + COMPOSE_BASE_PORT for port in rpc_ports} == published

    processes = []
    with contextlib.ExitStack() as logs:
        for name in NODES:
            command = [part.replace("/testnet", str(volume)) for part in services[name]["command"]]
            log = logs.enter_context(open(tmp_path / f"{name}.log", "w"))
            processes.append(subprocess.Popen([cmnode, *command], stdout=log, stderr=subprocess.STDOUT))
        try:
            _wait_for_common_blocks(rpc_ports)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)


def _wait_for_common_blocks(rpc_ports: list[int]) -> None:
    """Wait until every node has 3 blocks, then require they are the same blocks."""
    clients = [Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 5}))
               for port in rpc_ports]
    deadline = time.time() + 120
    while True:
        try:
            heights = [client.eth.block_number for client in clients]
        except OSError:  # a node not answering yet
            heights = [0]
        if min(heights) >= 3:
            break
        assert time.time() < deadline, f"the compose network did not commit 3 blocks: {heights}"
        time.sleep(0.5)
    assert len({client.eth.get_block(3).hash for client in clients}) == 1
