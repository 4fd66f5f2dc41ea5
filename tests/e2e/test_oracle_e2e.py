"""End to end: 3 of 4 validators' oracle processes answer a request on a real 4-validator testnet.

Each validator's owner account runs ``cmnode oracle run`` against its own node: three ask an
honest source, the fourth a tampered one that answers late with another value. The value of the
honest three lands identically on every node, the tampered attestation is refused, and an
attestation after a request's deadline is refused with the contract's reason.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from tests.e2e.nodeproc import dev_account, running_testnet

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ABI = json.loads((REPO / "middleware" / "oracle" / "IOracle.abi.json").read_text())
ORACLE = Web3.to_checksum_address("0x0000000000000000000000000000000000000c13")
HONEST, TAMPERED = b"CMT/USD=0.0123", b"CMT/USD=9.9999"
CLIENT = 12  # dev account making the requests


class Source:
    """A web service answering every POSTed request with ``answer`` after ``delay`` seconds."""

    def __init__(self, answer: bytes, delay: float = 0.0) -> None:
        self.requests: list[dict] = []
        self.answer = answer
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                source.requests.append(request)
                time.sleep(delay)
                answer = source.answer_for(request)
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/price"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer_for(self, request: dict) -> bytes:
        """The body answering ``request`` (the POSTed document): ``answer``."""
        return self.answer


def cmnode(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "cybermiles_node.cli", *args], capture_output=True, text=True,
                          check=True, timeout=120).stdout


@pytest.fixture(scope="module")
def testnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[dict], Path]]:
    output = tmp_path_factory.mktemp("oracle-testnet")
    with running_testnet(output, validators=4) as nodes:
        yield nodes, output


def w3_of(node: dict) -> Web3:
    return Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10}))


def wait_until(predicate, what: str, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # noqa: BLE001 - a node still starting answers with connection errors
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def transact(w3: Web3, account_index: int, call) -> dict:
    account = dev_account(account_index)
    tx = call.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address),
                                 "chainId": w3.eth.chain_id, "gas": 1_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=60)
    assert receipt.status == 1
    return receipt


def start_oracle(index: int, node: dict, source: Source, output: Path) -> subprocess.Popen:
    """Import validator ``index``'s owner key into a keystore and run ``cmnode oracle run`` for it."""
    directory = output / f"oracle{index}"
    directory.mkdir()
    (directory / "key").write_text(dev_account(index).key.hex())
    (directory / "password").write_text("oracle password\n")
    cmnode("account", "import", str(directory / "key"), "--keystore", str(directory / "keystore"),
           "--password-file", str(directory / "password"), "--light-kdf")
    return subprocess.Popen(
        [sys.executable, "-m", "cybermiles_node.cli", "oracle", "run", "--from", dev_account(index).address,
         "--source", source.url, "--keystore", str(directory / "keystore"), "--password-file",
         str(directory / "password"), "--rpc", node["rpc"], "--poll", "0.3", "--from-block", "0"],
        stdout=open(output / f"oracle{index}.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )


def stop_oracles(processes: list[subprocess.Popen], sources: list[Source] = ()) -> None:
    """Stop ``cmnode oracle run`` processes (all signalled first, then awaited) and the sources they asked."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    for source in sources:
        source.server.shutdown()


def test_three_of_four_validator_oracles_land_one_value_and_tampered_and_late_answers_are_refused(testnet) -> None:
    nodes, output = testnet
    w3s = [w3_of(node) for node in nodes]
    for w3 in w3s:
        wait_until(lambda w3=w3: w3.eth.block_number >= 2, "the testnet to make blocks")
    oracle = w3s[0].eth.contract(address=ORACLE, abi=ABI)
    honest, tampered = Source(HONEST), Source(TAMPERED, delay=4.0)
    oracles = [start_oracle(i, nodes[i], honest if i < 3 else tampered, output) for i in range(4)]
    try:
        defined = transact(w3s[0], CLIENT, oracle.functions.defineValidatorSet(2, 3))
        set_id = oracle.events.OracleSetDefined().process_receipt(defined)[0].args.setId
        now = w3s[0].eth.get_block("latest").timestamp
        requested = transact(w3s[0], CLIENT, oracle.functions.request(set_id, "price.cmt-usd", b"\x01", now + 60, 64))
        event = oracle.events.OracleRequested().process_receipt(requested)[0].args
        request_id = event.requestId
        assert event.threshold == 3 and sorted(m.lower() for m in event.members) == sorted(
            dev_account(i).address.lower() for i in range(4))  # the validators' owners, in rank order

        wait_until(lambda: oracle.functions.result(request_id).call()[0] == 2, "the request to resolve")
        height = w3s[0].eth.block_number
        views = []
        for w3 in w3s:
            wait_until(lambda w3=w3: w3.eth.block_number >= height, "every node to reach the height")
            views.append(w3.eth.contract(address=ORACLE, abi=ABI).functions.getRequest(request_id).call(
                block_identifier=height))
        assert all(view == views[0] for view in views)
        _, requester, status, threshold, _, _, _, value, attesters, hashes = views[0]
        assert (status, threshold, value) == (2, 3, HONEST)
        assert sorted(a.lower() for a in attesters) == sorted(dev_account(i).address.lower() for i in range(3))
        assert set(hashes) == {Web3.keccak(HONEST)}
        assert honest.requests[0]["requestId"] == str(request_id) and honest.requests[0]["topic"] == "price.cmt-usd"

        # The tampered oracle answers after the quorum: its attestation is refused, nothing it sent landed.
        wait_until(lambda: "already resolved" in (output / "oracle3.log").read_text(), "the tampered answer")
        assert oracle.functions.getRequest(request_id).call()[8] == attesters

        # A late answer: a set of two accounts without oracle processes, whose request times out.
        defined = transact(w3s[0], CLIENT, oracle.functions.defineSet(
            [dev_account(14).address, dev_account(15).address], 2))
        quiet_set = oracle.events.OracleSetDefined().process_receipt(defined)[0].args.setId
        # The deadline leaves room for the request itself to land on a loaded machine (it must be in the future).
        deadline = w3s[0].eth.get_block("latest").timestamp + 8
        requested = transact(w3s[0], CLIENT, oracle.functions.request(quiet_set, "price.cmt-usd", b"", deadline, 64))
        late_id = oracle.events.OracleRequested().process_receipt(requested)[0].args.requestId
        wait_until(lambda: w3s[0].eth.get_block("latest").timestamp > deadline + 1, "the deadline to pass")
        assert oracle.functions.result(late_id).call() == [3, b""]
        with pytest.raises(ContractLogicError, match=f"request {late_id} closed at its deadline {deadline}"):
            oracle.functions.attest(late_id, HONEST).call({"from": dev_account(14).address})
        expired = transact(w3s[1], 14, w3s[1].eth.contract(address=ORACLE, abi=ABI).functions.expire(late_id))
        assert oracle.events.RequestTimedOut().process_receipt(expired)[0].args.deadline == deadline
    finally:
        stop_oracles(oracles)
