"""``deploy/``: the Kubernetes manifests against the API's JSON schemas (kubernetes-validate), the Grafana
dashboard against the node's metric names, the systemd unit and the Dockerfile health check, and the
multi-host compose file, whose service command runs here as processes (no container engine) on two
"hosts" that name each other by address."""
from __future__ import annotations

import configparser
import contextlib
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import requests
import tomli_w
import yaml
from prometheus_client.parser import text_string_to_metric_families

from cybermiles_node.cli.main import cli
from cybermiles_node.metrics import NodeMetrics, NodeState
from tests.e2e.nodeproc import free_port_range

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "kubernetes" / "cmnode.yaml").read_text()) if doc]


def test_kubernetes_manifests_match_the_api_schemas() -> None:
    kinds = []
    for doc in manifests():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        kinds.append(doc["kind"])
    assert sorted(kinds) == ["PodDisruptionBudget", "Service", "Service", "StatefulSet"]


def test_the_schema_check_refuses_a_misspelt_field() -> None:
    statefulset = next(doc for doc in manifests() if doc["kind"] == "StatefulSet")
    statefulset["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSION, strict=True)


def test_statefulset_probes_and_volumes() -> None:
    statefulset = next(doc for doc in manifests() if doc["kind"] == "StatefulSet")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    # The container's arguments are a valid ``cmnode start`` command line.
    assert container["args"][0] == "start"
    assert cli.get_command(None, "start").make_context("start", container["args"][1:]).params["metrics_addr"]


def test_grafana_dashboard_uses_only_metrics_the_node_exports() -> None:
    dashboard = yaml.safe_load((DEPLOY / "grafana" / "cmnode-dashboard.json").read_text())
    exposition = NodeMetrics(lambda: NodeState(height=0)).exposition().decode()
    exported = {family.name for family in text_string_to_metric_families(exposition)}
    used = {re.sub(r"_(total|bucket)$", "", name) for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"\bcmnode_[a-z0-9_]+", target["expr"])}
    assert len(used) >= 30 and used <= exported, used - exported


def test_systemd_unit_runs_cmnode_start() -> None:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / "cmnode.service").read_text())
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    binary, command, *args = service["ExecStart"].split()
    assert binary.endswith("/cmnode") and command == "start"
    cli.get_command(None, "start").make_context("start", args)  # a valid command line
    assert service["KillSignal"] == "SIGTERM" and service["User"] == "cmnode"


def test_dockerfile_health_check_probes_health() -> None:
    dockerfile = (DEPLOY.parent / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK .*\\\n\s+CMD python -c .*urlopen\(os.environ\['CMNODE_HEALTH_URL'\]", dockerfile,
                     re.MULTILINE)
    assert "ENV CMNODE_HEALTH_URL=http://127.0.0.1:8545/health" in dockerfile


def _validator_service() -> dict:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"validator"}
    return compose["services"]["validator"]


def test_compose_file_publishes_p2p_and_metrics_and_checks_readiness() -> None:
    service = _validator_service()
    assert service["volumes"] == ["${CMNODE_HOME:-./home}:/data"]
    assert {"26656:26656", "127.0.0.1:8545:8545", "26660:26660"} == set(service["ports"])
    assert "/ready" in " ".join(service["healthcheck"]["test"])
    assert service["command"][:3] == ["start", "--home", "/data"]


@pytest.mark.e2e
def test_compose_service_command_runs_validators_that_peer_by_address(tmp_path: Path) -> None:
    """Two homes from ``cmnode testnet``, each on its own "host" address (127.0.0.2, 127.0.0.3), peers named
    by those addresses; the compose service command runs for each with its ports moved apart."""
    service = _validator_service()
    base = free_port_range(8)
    cmnode = str(Path(sys.executable).parent / "cmnode")
    subprocess.run([cmnode, "testnet", "--validators", "2", "--output", str(tmp_path / "homes"),
                    "--base-port", str(base)], check=True, timeout=120, capture_output=True)
    hosts = ["127.0.0.2", "127.0.0.3"]
    for index in range(len(hosts)):
        config_path = tmp_path / "homes" / f"node{index}" / "config.toml"
        config = tomllib.loads(config_path.read_text())
        peer = config["p2p"]["persistent_peers"][0]
        node_id, _, address = peer.partition("@")
        config["p2p"]["persistent_peers"] = [f"{node_id}@{hosts[1 - index]}:{base + 2 * (1 - index)}"]
        config_path.write_text(tomli_w.dumps(config))
    processes = []
    with contextlib.ExitStack() as logs:
        for index, host in enumerate(hosts):
            ports = {"26656": base + 2 * index, "8545": base + 2 * index + 1, "26660": base + 4 + index}
            command = [part.replace("/data", str(tmp_path / "homes" / f"node{index}")) for part in service["command"]]
            command = [re.sub(r"^0\.0\.0\.0:(\d+)$", lambda m: f"{host}:{ports[m.group(1)]}", part)
                       for part in command]
            log = logs.enter_context(open(tmp_path / f"node{index}.log", "w"))
            processes.append(subprocess.Popen([cmnode, *command], stdout=log, stderr=subprocess.STDOUT))
        try:
            deadline = time.time() + 120
            while True:  # both ready (synced, a peer, a recent block) and both past height 1: they commit together
                try:
                    ready = [requests.get(f"http://{host}:{base + 4 + index}/ready", timeout=5)
                             for index, host in enumerate(hosts)]
                    heights = [int(requests.post(f"http://{host}:{base + 2 * index + 1}", timeout=5, json={
                        "jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).json()["result"], 16)
                        for index, host in enumerate(hosts)]
                    if all(r.status_code == 200 for r in ready) and min(heights) >= 2:
                        break
                except requests.ConnectionError:
                    pass
                assert time.time() < deadline, (tmp_path / "node0.log").read_text()[-3000:]
                time.sleep(0.5)
            assert all(r.json()["checks"]["peers"] == {"ok": True, "detail": "1 connected"} for r in ready)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
