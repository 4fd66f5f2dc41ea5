"""The nodes compared by ``compare.py``: how each is installed, started, awaited and stopped.

hardhat 2 and anvil come from npm into ``benchmarks/.tools``; our node is started by
configurable ``cmnode`` commands. Every process is started in a session of its own so
that stopping it also stops whatever it spawned.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.errors import BenchmarkError, TargetError
from benchmarks.hdkeys import DEV_MNEMONIC
from benchmarks.rpcclient import RpcClient
from benchmarks.rss import find_listening_pid

TOOLS_DIR = Path(__file__).resolve().parent / ".tools"
NPM_PACKAGES = ("hardhat@2", "@foundry-rs/anvil")
DEV_ACCOUNTS = 20
BLOCK_GAS_LIMIT = 30_000_000  # anvil's and hardhat's default, and the comparison's unless told otherwise
DEFAULT_OURS_INIT = "cmnode init --home {home} --network local --param block_gas_limit={gas_limit}"
DEFAULT_OURS_START = "cmnode start --home {home} --rpc-addr 127.0.0.1:{port}"
STOP_GRACE_S = 10.0
NPM_TIMEOUT_S = 600.0
VERSION_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class LaunchPlan:
    """How to bring up one target: commands to run first, then the long-running node command."""

    name: str
    version: str
    setup_commands: tuple[tuple[str, ...], ...]
    command: tuple[str, ...]
    cwd: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_npm_tools() -> None:
    """Install hardhat 2 and anvil into ``benchmarks/.tools`` unless they are there already."""
    if (TOOLS_DIR / "node_modules" / "hardhat").is_dir() and (TOOLS_DIR / "node_modules" / "@foundry-rs" / "anvil").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise TargetError("npm is not on PATH; install Node.js and npm to compare with hardhat and anvil")
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    manifest = TOOLS_DIR / "package.json"
    if not manifest.exists():
        manifest.write_text(json.dumps({"name": "benchmark-tools", "private": True}) + "\n")
    print(f"installing {' '.join(NPM_PACKAGES)} into {TOOLS_DIR} ...", file=sys.stderr)
    try:
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", *NPM_PACKAGES], cwd=TOOLS_DIR,
                              capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"npm install did not finish within {NPM_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        raise TargetError(f"npm install failed: {proc.stderr.strip()[-800:]}")


def _package_version(package: str) -> str:
    """The version of an npm package installed in the tools folder."""
    try:
        return str(json.loads((TOOLS_DIR / "node_modules" / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def _anvil_binary() -> Path:
    """The anvil executable shipped by the npm package for this platform, checked to run."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "")
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    binary = TOOLS_DIR / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if not binary.is_file():
        raise TargetError(
            f"@foundry-rs/anvil ships no binary for {system}-{platform.machine()} "
            f"(looked for {binary.relative_to(TOOLS_DIR)})"
        )
    try:
        proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetError(f"the anvil binary from npm does not run on this machine: {exc}") from exc
    if proc.returncode != 0:
        raise TargetError(f"the anvil binary from npm does not run on this machine: {proc.stderr.strip()[:300]}")
    return binary


def anvil_plan(port: int, block_time: int, gas_limit: int = BLOCK_GAS_LIMIT) -> LaunchPlan:
    """anvil with interval mining, the 20 dev accounts and the block gas limit (30M by default)."""
    ensure_npm_tools()
    command = (str(_anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--block-time", str(block_time),
               "--accounts", str(DEV_ACCOUNTS), "--mnemonic", DEV_MNEMONIC, "--gas-limit", str(gas_limit))
    return LaunchPlan("anvil", _package_version("@foundry-rs/anvil"), (), command, TOOLS_DIR)


HARDHAT_CONFIG = """// Written by benchmarks/targets.py for each comparison run.
module.exports = {{
  networks: {{
    hardhat: {{
      chainId: 31337,
      blockGasLimit: {gas_limit},
      accounts: {{ mnemonic: "{mnemonic}", count: {accounts} }},
      mining: {{ auto: false, interval: {interval_ms}, mempool: {{ order: "fifo" }} }},
    }},
  }},
}};
"""


def hardhat_plan(port: int, block_time: int, gas_limit: int = BLOCK_GAS_LIMIT) -> LaunchPlan:
    """hardhat 2's node with automine off, interval mining, FIFO mempool and the block gas limit (30M by default)."""
    ensure_npm_tools()
    (TOOLS_DIR / "hardhat.config.js").write_text(HARDHAT_CONFIG.format(
        gas_limit=gas_limit, mnemonic=DEV_MNEMONIC, accounts=DEV_ACCOUNTS, interval_ms=block_time * 1000))
    hardhat = TOOLS_DIR / "node_modules" / ".bin" / "hardhat"
    if not hardhat.exists():
        raise TargetError(f"{hardhat} is missing; delete {TOOLS_DIR} to reinstall the tools")
    command = (str(hardhat), "node", "--hostname", "127.0.0.1", "--port", str(port))
    return LaunchPlan("hardhat", _package_version("hardhat"), (), command, TOOLS_DIR)


def _split(template: str, home: Path, port: int, gas_limit: int) -> tuple[str, ...]:
    """Fill ``{home}``, ``{port}``, ``{rpc_addr}`` and ``{gas_limit}`` into a command template; its words."""
    try:
        words = [w.format(home=home, port=port, rpc_addr=f"127.0.0.1:{port}", gas_limit=gas_limit)
                 for w in shlex.split(template)]
    except (KeyError, IndexError, ValueError) as exc:
        raise TargetError(f"bad command template {template!r}: {exc}") from exc
    if not words:
        raise TargetError("empty command template")
    if shutil.which(words[0]) is None:
        beside_python = Path(sys.executable).parent / words[0]
        if not beside_python.exists():
            raise TargetError(f"{words[0]}: command not found (install the node with 'pip install -e .')")
        words[0] = str(beside_python)
    return tuple(words)


def ours_plan(port: int, home: Path, init_template: str, start_template: str,
              gas_limit: int = BLOCK_GAS_LIMIT) -> LaunchPlan:
    """Our node: ``cmnode init`` into a fresh home, then ``cmnode start`` (its block interval: 1 s by default)."""
    init = _split(init_template, home, port, gas_limit)
    start = _split(start_template, home, port, gas_limit)
    return LaunchPlan("ours", "working tree", (init,), start, home.parent)


class NodeProcess:
    """A started node: its process group, log file and RPC URL."""

    def __init__(self, plan: LaunchPlan, port: int, log_path: Path) -> None:
        """Prepare to run ``plan`` serving JSON-RPC on ``port``, writing output to ``log_path``."""
        self.plan = plan
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the node's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> None:
        """Run the setup commands, then start the node in a new session."""
        with self.log_path.open("ab") as log:
            for command in self.plan.setup_commands:
                try:
                    proc = subprocess.run(command, cwd=self.plan.cwd, stdout=log, stderr=subprocess.STDOUT,
                                          timeout=120, check=False)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise TargetError(f"{self.plan.name}: {' '.join(command)}: {exc}") from exc
                if proc.returncode != 0:
                    raise TargetError(f"{self.plan.name}: {' '.join(command)} exited with {proc.returncode}:\n"
                                      f"{self.log_tail()}")
            try:
                self._proc = subprocess.Popen(self.plan.command, cwd=self.plan.cwd, stdout=log,
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                              start_new_session=True)
            except OSError as exc:
                raise TargetError(f"{self.plan.name}: cannot start {self.plan.command[0]}: {exc}") from exc

    async def wait_ready(self, timeout: float) -> int:
        """Wait until ``eth_chainId`` answers; return the id of the process serving the port."""
        deadline = time.monotonic() + timeout
        async with RpcClient(self.url, timeout=5.0, connections=1) as client:
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    code = None if self._proc is None else self._proc.returncode
                    raise TargetError(f"{self.plan.name} exited (code {code}) before serving RPC:\n{self.log_tail()}")
                try:
                    await client.call("eth_chainId")
                    break
                except BenchmarkError:
                    if time.monotonic() > deadline:
                        raise TargetError(f"{self.plan.name}: no RPC answer on {self.url} within {timeout:.0f} s:\n"
                                          f"{self.log_tail()}") from None
                    await asyncio.sleep(0.25)
        return find_listening_pid(self.port) or self._proc.pid

    def stop(self) -> None:
        """Stop the node's process group: SIGTERM, then SIGKILL after a grace period. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
