"""End to end: webhooks on a real ``cmnode`` process (delivery across a crash, inbound callbacks, admin CLI)."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from web3 import Web3

from cybermiles_node.chainclient.transactions import create_address
from cybermiles_node.solc import compile_file
from middleware.webhooks.errors import SignatureError
from middleware.webhooks.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    sign,
    verify,
)
from tests.e2e.nodeproc import NodeProcess, cmnode, dev_account, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHAIN_ID = 15
ETHER = 10**18
RECEIVER_SECRET = "receiver secret 0123456789"
CARRIER_SECRET = "carrier secret 0123456789"
SELLER = Web3.to_checksum_address("0x00000000000000000000000000000000005e11e7")
CONFIRM = "confirmDelivery(uint256)"


class Receiver:
    """The carrier's web service: records signed deliveries; refuses them (503) while ``failing``."""

    def __init__(self) -> None:
        self.failing = False
        self.attempts: list[str] = []  # idempotency keys of every request
        self.acknowledged: list[dict[str, Any]] = []  # bodies answered with 200
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(RECEIVER_SECRET.encode(), self.headers.get(SIGNATURE_HEADER), body, int(time.time()))
                except SignatureError:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.attempts.append(self.headers[IDEMPOTENCY_HEADER])
                if receiver.failing:
                    self.send_response(503)
                else:
                    receiver.acknowledged.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/carrier"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while len(self.acknowledged) < count:
            assert time.time() < deadline, f"{len(self.acknowledged)} of {count} deliveries arrived"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def escrow_artifact():
    return compile_file(REPO / "examples" / "contracts" / "DeliveryEscrow.sol")["DeliveryEscrow"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A node whose config subscribes the receiver to carrier callbacks and lets the carrier confirm deliveries."""
    root = tmp_path_factory.mktemp("webhooks")
    node = NodeProcess(root / "home")
    node.init()
    oracle, deployer = dev_account(14), dev_account(15)
    escrow = create_address(deployer.address, 0)
    (root / "oracle.key").write_text(oracle.key.hex())
    (node.home / "oracle.pass").write_text("oracle password\n")
    cmnode("account", "import", str(root / "oracle.key"), "--home", str(node.home),
           "--password-file", str(node.home / "oracle.pass"), "--light-kdf")
    receiver = Receiver()
    inbound_port = free_port()
    with (node.home / "config.toml").open("a") as config:
        config.write(f"""
[webhooks]
admin_rpc = true

[[webhooks.subscriptions]]
id = "carrier"
url = "{receiver.url}"
secret = "{RECEIVER_SECRET}"
callback_topic = "carrier.delivery"

[webhooks.delivery]
initial_backoff_ms = 200
max_backoff_ms = 400

[webhooks.inbound]
enabled = true
addr = "127.0.0.1:{inbound_port}"
oracle_account = "{oracle.address}"
password_file = "oracle.pass"

[[webhooks.inbound.callers]]
name = "carrier"
secret = "{CARRIER_SECRET}"
allowed = [{{contract = "{escrow}", method = "{CONFIRM}"}}]
""")
    node.start()
    yield {"node": node, "receiver": receiver, "escrow": escrow, "deployer": deployer, "oracle": oracle,
           "inbound": f"http://127.0.0.1:{inbound_port}/callbacks/carrier"}
    if node.process is not None:
        node.stop()
    receiver.server.shutdown()


def transact(w3: Web3, account, tx: dict) -> Any:
    tx = {"chainId": CHAIN_ID, "nonce": w3.eth.get_transaction_count(account.address, "pending"),
          "gas": 1_000_000, "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, **tx}
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    return receipt


def post_callback(url: str, body: bytes, signature: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_delivery_confirmation_flow_across_a_crash(setup: dict[str, Any], escrow_artifact) -> None:
    node, receiver = setup["node"], setup["receiver"]
    w3 = Web3(Web3.HTTPProvider(node.url))
    deploy = escrow_artifact.bytecode + eth_abi.encode(["address"], [setup["oracle"].address])
    created = transact(w3, setup["deployer"], {"data": deploy, "gas": 3_000_000})
    assert created.contractAddress == setup["escrow"]
    escrow = w3.eth.contract(address=setup["escrow"], abi=escrow_artifact.abi)
    buyer = dev_account(16)

    # a committed callback request reaches the carrier, signed, with the request decoded
    first = transact(w3, buyer, escrow.functions.pay(SELLER, "TRACK-1").build_transaction(
        {"from": buyer.address, "value": 2 * ETHER, "gas": 500_000}))
    receiver.wait_for(1)
    delivery = receiver.acknowledged[0]
    assert delivery["callback"]["requester"].lower() == setup["escrow"].lower()
    assert eth_abi.decode(["uint256", "string"], bytes.fromhex(delivery["callback"]["payload"][2:])) == (1, "TRACK-1")
    assert delivery["transactionHash"] == first.transactionHash.to_0x_hex()
    assert delivery["blockNumber"] == first.blockNumber and delivery["chainId"] == CHAIN_ID

    # the carrier is down when the second request commits; the node is killed while it retries
    receiver.failing = True
    second = transact(w3, buyer, escrow.functions.pay(SELLER, "TRACK-2").build_transaction(
        {"from": buyer.address, "value": 3 * ETHER, "gas": 500_000}))
    deadline = time.time() + 30
    while len(receiver.attempts) < 2:
        assert time.time() < deadline, "the second delivery was never attempted"
        time.sleep(0.05)
    node.kill()
    receiver.failing = False
    node.start()
    receiver.wait_for(2)
    node.wait_for_height(int(node.rpc("eth_blockNumber"), 16) + 4)  # time for any duplicate to show up
    keys = [body["idempotencyKey"] for body in receiver.acknowledged]
    assert keys == [f"{first.transactionHash.to_0x_hex()}-{delivery['logIndex']}",
                    f"{second.transactionHash.to_0x_hex()}-{receiver.acknowledged[1]['logIndex']}"]
    assert receiver.bad_signatures == 0

    # the carrier confirms order 1: the oracle's transaction releases the escrow to the seller
    body = json.dumps({"id": "TRACK-1", "contract": setup["escrow"], "method": CONFIRM, "args": [1]}).encode()
    signature = sign(CARRIER_SECRET.encode(), int(time.time()), body)
    status, answer = post_callback(setup["inbound"], body, signature)
    assert status == 202, answer
    receipt = w3.eth.wait_for_transaction_receipt(answer["transactionHash"], timeout=30)
    assert receipt.status == 1 and receipt["from"] == setup["oracle"].address
    assert w3.eth.get_balance(SELLER) == 2 * ETHER
    assert escrow.functions.orders(1).call()[3] == 2  # Status.Delivered

    # replayed or tampered callbacks are refused and submit nothing
    oracle_nonce = w3.eth.get_transaction_count(setup["oracle"].address, "pending")
    assert post_callback(setup["inbound"], body, signature) == (
        409, {"error": "callback already received (same signature or id)"})
    tampered = body.replace(b"[1]", b"[2]")
    assert post_callback(setup["inbound"], tampered, signature) == (
        401, {"error": "signature does not match the body"})
    assert w3.eth.get_transaction_count(setup["oracle"].address, "pending") == oracle_nonce
    assert escrow.functions.orders(2).call()[3] == 1  # order 2 still awaits delivery


def test_admin_cli_manages_subscriptions(setup: dict[str, Any], tmp_path: Path) -> None:
    rpc = ["--rpc", setup["node"].url, "--json"]
    secret = tmp_path / "secret.txt"
    secret.write_text("another secret 0123456789\n")
    added = cmnode("webhooks", "add", "audit", "http://127.0.0.1:9/audit", "--secret-file", str(secret),
                   "--topic", "*", "--topic", "0x" + "ab" * 32, *rpc)
    assert json.loads(added.stdout)["topics"] == [None, ["0x" + "ab" * 32]]
    assert json.loads(added.stdout)["blockEvents"] is False
    timers = cmnode("webhooks", "add", "timers", "http://127.0.0.1:9/timers", "--secret-file", str(secret),
                    "--address", "0x" + "00" * 18 + "0c11", "--block-events", *rpc)
    assert json.loads(timers.stdout)["blockEvents"] is True
    assert json.loads(cmnode("webhooks", "remove", "timers", *rpc).stdout)["removed"] is True
    listed = json.loads(cmnode("webhooks", "list", *rpc).stdout)["subscriptions"]
    assert [(s["id"], s["source"]) for s in listed] == [("carrier", "config"), ("audit", "admin")]
    assert "secret" not in json.dumps(listed)
    refused = cmnode("webhooks", "remove", "carrier", *rpc, check=False)
    assert refused.returncode == 1 and "comes from the config file" in refused.stdout
    assert json.loads(cmnode("webhooks", "remove", "audit", *rpc).stdout)["removed"] is True
    assert json.loads(cmnode("webhooks", "dead-letters", *rpc).stdout) == {"deadLetters": []}
