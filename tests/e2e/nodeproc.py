"""Running ``cmnode`` as a real subprocess for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

MNEMONIC = "test test test test test test test test test test test junk"


def free_port_range(count: int, low: int = 20_000, high: int = 32_000) -> int:
    """A base port with ``count`` consecutive free ports on loopback in ``low..high``, searched from a per-process offset.

    Other test runs on this machine may be starting testnets at the same
    moment; starting the search where they do not makes a collision between
    the check and the nodes' binding unlikely. The default range lies below
    Linux's ephemeral ports (32768 and up): there, any client connection made
    meanwhile could take a port between the check and a node's bind.
    """
    first = low + (os.getpid() * 37) % (high - low)
    for base in [*range(first, high, 41), *range(low, first, 41)]:
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports on loopback")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_account(index: int) -> Account:
    """Dev account ``index`` of the standard mnemonic."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def cmnode(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a ``cmnode`` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "cybermiles_node.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=check,
    )


class NodeProcess:
    """A ``cmnode start`` process with its home and RPC port."""

    def __init__(self, home: Path, block_interval_ms: int = 500) -> None:
        self.home = home
        self.port = free_port()
        self.block_interval_ms = block_interval_ms
        self.process: subprocess.Popen | None = None
        self.log_path = home.parent / f"{home.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def init(self) -> None:
        cmnode("init", "--home", str(self.home))

    def start(self, dev: bool = False) -> None:
        """Start ``cmnode start`` (with ``--dev``: a development chain, its home created if need be)."""
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cybermiles_node.cli", "start", *(["--dev"] if dev else []), "--home", str(self.home),
             "--rpc-addr", f"127.0.0.1:{self.port}", "--block-interval", str(self.block_interval_ms)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                self.rpc("eth_blockNumber")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("node did not start serving RPC within 60 s")

    def rpc(self, method: str, *params: object) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def stop(self) -> int:
        """Graceful stop (SIGTERM); returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    def kill(self) -> None:
        """``kill -9``."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def wait_for_height(self, height: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while int(self.rpc("eth_blockNumber"), 16) < height:
            if time.time() > deadline:
                raise TimeoutError(f"height {height} not reached")
            time.sleep(0.1)


def write_testnet(output: Path, validators: int, full_nodes: int, base_port: int | None = None,
                  params: tuple[str, ...] = ()) -> list[dict]:
    """``cmnode testnet ... --json`` into ``output`` (ports below the ephemeral range); the nodes it describes.

    ``params`` are genesis chain parameter overrides, ``NAME=VALUE`` each (``--param``).
    """
    base = base_port if base_port is not None else free_port_range(2 * (validators + full_nodes))
    result = subprocess.run(
        [sys.executable, "-m", "cybermiles_node.cli", "testnet", "--validators", str(validators),
         "--full-nodes", str(full_nodes), "--output", str(output), "--base-port", str(base), "--json",
         *(arg for param in params for arg in ("--param", param))],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(result.stdout)


@contextmanager
def running_testnet(output: Path, validators: int, full_nodes: int = 0) -> Iterator[list[dict]]:
    """``write_testnet`` into ``output`` and run each node as a ``cmnode start`` process until the block ends.

    Yields the nodes ``write_testnet`` describes; node i logs to ``output/node<i>.log``.
    """
    nodes = write_testnet(output, validators, full_nodes)
    processes = []
    for index, node in enumerate(nodes):
        with open(output / f"node{index}.log", "w") as log:
            processes.append(subprocess.Popen([sys.executable, "-m", "cybermiles_node.cli", "start", "--home",
                                               node["home"]], stdout=log, stderr=subprocess.STDOUT))
    try:
        yield nodes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def wait_for_height(block_number: Callable[[], int], height: int, timeout: float, describe: Callable[[], str]) -> None:
    """Poll ``block_number()`` until it reaches ``height`` (errors of a node still starting are retried).

    Raises ``TimeoutError`` with ``describe()`` (e.g. the node's log) when ``timeout`` seconds pass first.
    """
    deadline = time.time() + timeout
    while True:
        try:
            if block_number() >= height:
                return
        except Exception:  # noqa: BLE001 - a node starting or restarting refuses connections
            pass
        if time.time() > deadline:
            raise TimeoutError(f"height {height} not reached:\n{describe()}")
        time.sleep(0.2)


class Sender:
    """Signs and sends transactions with explicit nonces, so many go out at once; waits for their receipts."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.chain_id = w3.eth.chain_id
        self.nonces: dict[str, int] = {}

    def nonce(self, account: LocalAccount) -> int:
        """The nonce ``account``'s next transaction gets (and counts it as used)."""
        if account.address not in self.nonces:
            self.nonces[account.address] = self.w3.eth.get_transaction_count(account.address, "pending")
        self.nonces[account.address] += 1
        return self.nonces[account.address] - 1

    def send(self, account: LocalAccount, tx: dict) -> bytes:
        """Sends ``tx`` from ``account`` with its next nonce and fees twice the base fee; its hash."""
        fee = 2 * self.w3.eth.get_block("latest").baseFeePerGas + 10**9
        tx = {"nonce": self.nonce(account), "chainId": self.chain_id, "maxFeePerGas": fee,
              "maxPriorityFeePerGas": 10**9, "value": 0, **tx}
        return self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)

    def call(self, account: LocalAccount, function: ContractFunction, value: int = 0, gas: int = 1_000_000) -> bytes:
        """Sends a transaction of ``function`` (to its contract) from ``account``."""
        return self.send(account, {"to": function.address, "data": function._encode_transaction_data(),
                                   "value": value, "gas": gas})

    def sponsored(self, account: LocalAccount, function: ContractFunction, gas: int = 900_000) -> bytes:
        """Sends ``function`` from ``account`` at gas price 0 and value 0: paid by the contract's sponsorship."""
        tx = {"nonce": self.nonce(account), "chainId": self.chain_id, "gasPrice": 0, "value": 0, "gas": gas,
              "to": function.address, "data": function._encode_transaction_data()}
        return self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)

    def deploy(self, account: LocalAccount, abi: list, bytecode: str, *arguments: object,
               value: int = 0) -> tuple[str, bytes]:
        """Sends the deployment of a contract from ``account``; its address (known before it lands) and hash."""
        nonce = self.nonces.get(account.address)
        address = get_create_address(account.address, nonce if nonce is not None else self.w3.eth.get_transaction_count(
            account.address, "pending"))
        data = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*arguments).data_in_transaction
        return address, self.send(account, {"data": data, "value": value, "gas": 8_000_000})

    def receipts(self, hashes: list[bytes]) -> list:
        """The receipts of ``hashes``, each of which must succeed."""
        receipts = [self.w3.eth.wait_for_transaction_receipt(h, timeout=90) for h in hashes]
        assert all(r.status == 1 for r in receipts), receipts
        return receipts


def get_create_address(sender: str, nonce: int) -> str:
    """The address of the contract ``sender`` creates with the transaction of ``nonce``."""
    return Web3.to_checksum_address(Web3.keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def wait_for_block_time(w3: Web3, after: int, timeout: float = 90) -> None:
    """Polls until the latest block's time is past ``after``."""
    deadline = time.time() + timeout
    while w3.eth.get_block("latest").timestamp <= after:
        assert time.time() < deadline, f"block time did not pass {after}"
        time.sleep(0.2)


def state_roots_at(w3s: list[Web3], height: int, output: Path) -> set[bytes]:
    """The state roots the nodes report for block ``height``, once each has it (node i's log in ``output``)."""
    roots = set()
    for index, w3 in enumerate(w3s):
        wait_for_height(lambda w3=w3: w3.eth.block_number, height, 60,
                        lambda index=index: (output / f"node{index}.log").read_text()[-3000:])
        roots.add(bytes(w3.eth.get_block(height).stateRoot))
    return roots
