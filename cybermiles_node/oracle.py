"""An oracle node: answer the oracle requests of the sets an account belongs to.

``OracleRunner`` follows a node over JSON-RPC: it reads the ``OracleRequested`` logs of
new blocks (``eth_getLogs``, a bounded range per poll), keeps those whose recorded
members include its account and whose deadline has not passed, asks the configured
source for each answer (``middleware.oracle.source``: bounded in size and time), and
submits ``attest(requestId, value)`` signed with its keystore account, with gas for resolving the
request even when the estimate was made before other members' attestations landed. The contract's
refusals (already resolved, late, already attested) are checked with ``eth_estimateGas``
before anything is sent, and logged as one line each; the runner never stops for a
single request's failure.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from cybermiles_node.chainclient.abi import encode_calldata, find_function
from cybermiles_node.chainclient.errors import ChainClientError
from cybermiles_node.chainclient.rpcclient import RpcClient, RpcClientError
from cybermiles_node.chainclient.transactions import TxOptions, build_tx_options, send_transaction
from middleware.oracle.contract import MAX_MEMBERS
from middleware.oracle.errors import SourceError
from middleware.oracle.source import ObservedRequest, decode_request, fetch_answer, request_document
from vm.native.addresses import ORACLE_ADDRESS

log = logging.getLogger(__name__)

ABI_PATH = Path(__file__).resolve().parent.parent / "middleware" / "oracle" / "IOracle.abi.json"
MAX_BLOCKS_PER_POLL = 500
MAX_PENDING_ANSWERS = 1_024


@dataclass(frozen=True)
class OracleSettings:
    """What an oracle node answers, from where, and within which bounds."""

    rpc_url: str
    source_url: str
    max_answer_bytes: int = 1_024
    source_timeout_seconds: float = 5.0
    poll_seconds: float = 1.0
    from_block: int | None = None


def resolution_allowance(value_bytes: int) -> int:
    """Gas to add to an attestation's estimate in case it resolves the request (other members' attestations
    may land first): the status write, the stored value and the ``Resolved`` event, with room to spare."""
    words = (value_bytes + 31) // 32
    return 2 * (5_000 + 20_000 * (words + 1) + 2_100 * MAX_MEMBERS + 375 * 2 + 8 * (160 + 32 * (words + MAX_MEMBERS)))


class OracleRunner:
    """Answers the requests addressed to one account, one poll at a time."""

    def __init__(self, settings: OracleSettings, private_key: bytes) -> None:
        self.settings = settings
        self._key = private_key
        self.account = bytes.fromhex(Account.from_key(private_key).address[2:])
        self._client = RpcClient(settings.rpc_url, timeout=max(settings.source_timeout_seconds, 10.0))
        self._attest = find_function(json.loads(ABI_PATH.read_text()), "attest")
        self._next_block = settings.from_block
        self._chain_id: int | None = None
        self.answered: list[int] = []

    def poll(self) -> int:
        """Read the blocks committed since the last poll and answer their requests; returns how many were answered."""
        latest = int(self._client.call("eth_blockNumber"), 16)
        if self._chain_id is None:
            self._chain_id = int(self._client.call("eth_chainId"), 16)
        start = latest if self._next_block is None else self._next_block
        if start > latest:
            return 0
        end = min(latest, start + MAX_BLOCKS_PER_POLL - 1)
        logs = self._client.call("eth_getLogs", {
            "fromBlock": hex(start), "toBlock": hex(end), "address": "0x" + ORACLE_ADDRESS.hex(),
        })
        self._next_block = end + 1
        block_time = int(self._client.call("eth_getBlockByNumber", hex(latest), False)["timestamp"], 16)
        answered = 0
        for entry in logs[:MAX_PENDING_ANSWERS]:
            request = decode_request(
                bytes.fromhex(entry["address"][2:]), tuple(bytes.fromhex(t[2:]) for t in entry["topics"]),
                bytes.fromhex(entry["data"][2:]),
            )
            if request is None or self.account not in request.members:
                continue
            if request.deadline < block_time:
                log.info("oracle: request %d closed at %d, not answered", request.request_id, request.deadline)
                continue
            answered += self._answer(request)
        return answered

    def _answer(self, request: ObservedRequest) -> int:
        limit = min(request.max_response_bytes, self.settings.max_answer_bytes)
        try:
            value = fetch_answer(self.settings.source_url, request_document(request, self._chain_id or 0), limit,
                                 self.settings.source_timeout_seconds)
            calldata = encode_calldata(self._attest, [request.request_id, value])
            to = "0x" + ORACLE_ADDRESS.hex()
            estimate = int(self._client.call("eth_estimateGas", {
                "from": "0x" + self.account.hex(), "to": to, "data": "0x" + calldata.hex(),
            }), 16)
            send_transaction(self._client, self._key, to, 0, calldata,
                             self._options(estimate + resolution_allowance(len(value))))
        except (SourceError, RpcClientError, ChainClientError) as exc:
            log.warning("oracle: request %d not answered: %s", request.request_id, exc)
            return 0
        log.info("oracle: attested request %d (%d bytes)", request.request_id, len(value))
        self.answered.append(request.request_id)
        return 1

    @staticmethod
    def _options(gas: int) -> TxOptions:
        return build_tx_options(gas, None, None, None, False, 0.0)

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Poll until ``should_stop()``; an unreachable node is logged and retried."""
        while not should_stop():
            try:
                self.poll()
            except RpcClientError as exc:
                log.warning("oracle: %s", exc)
            time.sleep(self.settings.poll_seconds)
