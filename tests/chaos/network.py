"""The chaos testnet: ``cmnode testnet`` homes whose p2p links run through the fault-injecting relay.

Every node's persistent peers are rewritten to one relay port per directed pair
(``i>j`` is the port node ``i`` dials to reach node ``j``), so the relay can cut,
delay or corrupt any link; node ids are unchanged and the nodes still
authenticate each other. Nodes are real ``cmnode start`` processes that the
harness kills, pauses, resumes and restarts.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tomllib
from itertools import permutations
from pathlib import Path

import tomli_w

from tests.e2e.nodeproc import free_port_range

PROXY_READY_S = 30.0
PORTS_LOW, PORTS_HIGH = 20_000, 32_000
STOP_TIMEOUT_S = 60.0


class ChaosError(Exception):
    """The harness could not set up or drive the testnet (not a finding about the node)."""


def link_name(source: int, target: int) -> str:
    """The relay link node ``source`` dials to reach node ``target``."""
    return f"{source}>{target}"


class ChaosNet:
    """Node homes, node processes and the relay of one chaos run."""

    def __init__(self, workdir: Path, validators: int, full_nodes: int, block_interval_ms: int) -> None:
        self.workdir = workdir
        self.validators = validators
        self.size = validators + full_nodes
        self.block_interval_ms = block_interval_ms
        self.nodes: list[dict[str, object]] = []
        self.link_ports: dict[str, int] = {}
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.paused: set[int] = set()
        self._proxy: asyncio.subprocess.Process | None = None

    @property
    def homes(self) -> list[Path]:
        """Every node's home, by index."""
        return [Path(str(node["home"])) for node in self.nodes]

    @property
    def rpc_urls(self) -> list[str]:
        """Every node's JSON-RPC URL, by index."""
        return [str(node["rpc"]) for node in self.nodes]

    def log_path(self, index: int) -> Path:
        """Where node ``index`` writes its log (appended across restarts)."""
        return self.workdir / f"node{index}.log"

    async def create(self) -> None:
        """Write the homes with ``cmnode testnet`` and point every persistent peer at the relay."""
        pairs = list(permutations(range(self.size), 2))
        # Below Linux's ephemeral ports (32768..60999): polling a node that is not listening yet could
        # otherwise connect a socket to itself on that node's port and keep the node from binding it.
        base = free_port_range(2 * self.size + len(pairs), PORTS_LOW, PORTS_HIGH)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cybermiles_node.cli", "testnet", "--validators", str(self.validators),
            "--full-nodes", str(self.size - self.validators), "--output", str(self.workdir / "net"),
            "--base-port", str(base), "--json",
            # Downtime jailing would shrink the validator set after a long kill and turn the next single
            # fault into a halt; this run is about consensus and the network, not the downtime rule.
            "--param", "max_slash_blocks=1000000",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise ChaosError(f"cmnode testnet failed: {err.decode()}")
        self.nodes = json.loads(out)
        self.link_ports = {link_name(i, j): base + 2 * self.size + n for n, (i, j) in enumerate(pairs)}
        node_ids = [str(node["p2p"]).split("@")[0] for node in self.nodes]
        for index, home in enumerate(self.homes):
            config_path = home / "config.toml"
            config = tomllib.loads(config_path.read_text())
            config["p2p"]["persistent_peers"] = [
                f"{node_ids[j]}@127.0.0.1:{self.link_ports[link_name(index, j)]}" for j in range(self.size) if j != index
            ]
            config.setdefault("consensus", {})["block_interval_ms"] = self.block_interval_ms
            config_path.write_text(tomli_w.dumps(config))

    async def start_proxy(self) -> None:
        """Start the relay and wait until every link listens."""
        p2p_ports = [int(str(node["p2p"]).rsplit(":", 1)[1]) for node in self.nodes]
        arguments = [f"--link={name}:{port}:{p2p_ports[int(name.split('>')[1])]}" for name, port in self.link_ports.items()]
        self._proxy = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.chaos.proxy", *arguments,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=open(self.workdir / "proxy.log", "ab"),  # noqa: SIM115 - the child writes to it until it exits
        )
        assert self._proxy.stdout is not None
        line = await asyncio.wait_for(self._proxy.stdout.readline(), PROXY_READY_S)
        if line.strip() != b"ready":
            raise ChaosError(f"the relay did not start: {line!r}; see {self.workdir / 'proxy.log'}")

    async def command_proxy(self, command: dict[str, object]) -> None:
        """Send one command to the relay and wait for its acknowledgement."""
        assert self._proxy is not None and self._proxy.stdin is not None and self._proxy.stdout is not None
        self._proxy.stdin.write(json.dumps(command).encode() + b"\n")
        await self._proxy.stdin.drain()
        answer = json.loads(await asyncio.wait_for(self._proxy.stdout.readline(), PROXY_READY_S))
        if not answer.get("ok"):
            raise ChaosError(f"the relay refused {command}: {answer}")

    def links_between(self, side: set[int]) -> list[str]:
        """Both directions of every link that crosses from ``side`` to the other nodes."""
        return [link_name(i, j) for i in range(self.size) for j in range(self.size)
                if i != j and (i in side) != (j in side)]

    def links_of(self, nodes: set[int]) -> list[str]:
        """Both directions of every link that touches one of ``nodes``."""
        return [link_name(i, j) for i in range(self.size) for j in range(self.size)
                if i != j and (i in nodes or j in nodes)]

    async def start(self, index: int) -> None:
        """Start node ``index`` (``cmnode start``), its output appended to its log."""
        with open(self.log_path(index), "ab") as log:
            self.processes[index] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cybermiles_node.cli", "start", "--home", str(self.homes[index]),
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )

    async def kill(self, index: int) -> None:
        """``kill -9`` node ``index`` and reap it."""
        process = self.processes.pop(index)
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            process.kill()
        await process.wait()
        self.paused.discard(index)

    async def stop(self, index: int) -> int:
        """Stop node ``index`` with SIGTERM; its exit code (``kill -9`` after ``STOP_TIMEOUT_S``: -9)."""
        process = self.processes.pop(index)
        if process.returncode is not None:
            return process.returncode  # it ended on its own (the run reports that)
        if index in self.paused:
            process.send_signal(signal.SIGCONT)
            self.paused.discard(index)
        process.terminate()
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            return await process.wait()

    def pause(self, index: int) -> None:
        """SIGSTOP node ``index``."""
        os.kill(self.processes[index].pid, signal.SIGSTOP)
        self.paused.add(index)

    def resume(self, index: int) -> None:
        """SIGCONT node ``index``."""
        os.kill(self.processes[index].pid, signal.SIGCONT)
        self.paused.discard(index)

    def exited(self) -> dict[int, int]:
        """Nodes whose process ended on its own: index -> exit code."""
        return {index: process.returncode for index, process in self.processes.items() if process.returncode is not None}

    async def close(self) -> None:
        """Kill whatever still runs (nodes and relay); for the way out of a failed run."""
        for index in list(self.processes):
            await self.kill(index)
        if self._proxy is not None and self._proxy.returncode is None:
            self._proxy.kill()
            await self._proxy.wait()
        self._proxy = None
