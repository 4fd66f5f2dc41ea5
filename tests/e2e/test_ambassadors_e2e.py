"""End to end: a brand-ambassador campaign paid from counts an oracle quorum reports, on ``cmnode start --dev``.

A business defines a 2-of-3 oracle set of dev accounts and funds a ``BrandAmbassadors`` campaign (deployed from
forge's artifact) for a post; two members run ``cmnode oracle run``, each asking its own small HTTP counts
service, and the third stays silent. The first period's counts resolve and settling credits the ambassador the
rates times the counts; in the second the two services disagree, the request times out on the chain's clock and
settling pays nothing; the third period's agreed counts pay only the growth since the first. The ambassador
withdraws what it earned and the business ends the campaign and withdraws the rest.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import eth_abi
import pytest
from web3 import Web3
from web3.contract import Contract

from tests.e2e.nodeproc import NodeProcess, dev_account
from tests.e2e.test_library_e2e import built, deploy, dev_node, withdraw  # noqa: F401 - fixtures
from tests.e2e.test_middleware_e2e import ETHER, events, succeed
from tests.e2e.test_oracle_e2e import ABI, ORACLE, Source, start_oracle, stop_oracles, wait_until

pytestmark = pytest.mark.e2e

BRAND, AMBASSADOR = dev_account(15), dev_account(16)
MEMBERS = (17, 18, 19)  # dev accounts of the oracle set; 19 never answers
PER_VIEW, PER_LIKE = ETHER // 1000, ETHER // 100
PERIOD, ANSWER_WINDOW = 600, 120
BUDGET = 10 * ETHER
POST = Web3.keccak(text="video: unboxing the new trainers")
PENDING, RESOLVED, TIMED_OUT = 1, 2, 3


class CountsService(Source):
    """A web service answering each oracle request with ``abi.encode(views, likes)`` from ``counts[requestId]``."""

    def __init__(self) -> None:
        self.counts: dict[int, tuple[int, int]] = {}
        super().__init__(b"")

    def answer_for(self, request: dict) -> bytes:
        """The counts set for the request, ABI-encoded."""
        return eth_abi.encode(["uint256", "uint256"], self.counts[int(request["requestId"])])


@pytest.fixture
def services(dev_node: NodeProcess, tmp_path: Path) -> Iterator[list[CountsService]]:  # noqa: F811
    """Two counts services, each asked by one member's ``cmnode oracle run`` process against the node."""
    services = [CountsService(), CountsService()]
    processes = [start_oracle(MEMBERS[i], {"rpc": dev_node.url}, services[i], tmp_path) for i in range(2)]
    try:
        yield services
    finally:
        stop_oracles(processes, services)


def advance(node: NodeProcess, seconds: int) -> None:
    """Moves the chain's clock forward and mines a block stamped with it."""
    node.rpc("evm_increaseTime", seconds)
    node.rpc("evm_mine")


def request_counts(ambassadors: Contract, services: list[CountsService], *answers: tuple[int, int]) -> int:
    """The ambassador asks for the counts; each service will answer its own ``answers`` entry. The request id."""
    w3 = ambassadors.w3
    oracle = w3.eth.contract(ORACLE, abi=ABI)
    request_id = oracle.functions.requestCount().call() + 1
    for service, counts in zip(services, answers, strict=True):
        service.counts[request_id] = counts
    receipt = succeed(w3, AMBASSADOR, ambassadors.functions.requestCounts(1))
    (requested,) = events(ambassadors, "CountsRequested", receipt)
    assert requested["requestId"] == request_id
    return request_id


def test_an_ambassador_is_paid_the_growth_the_oracle_quorum_reports(dev_node: NodeProcess, built: None,  # noqa: F811
                                                                    services: list[CountsService]) -> None:
    w3 = Web3(Web3.HTTPProvider(dev_node.url))
    oracle = w3.eth.contract(ORACLE, abi=ABI)
    receipt = succeed(w3, BRAND, oracle.functions.defineSet([dev_account(i).address for i in MEMBERS], 2))
    set_id = oracle.events.OracleSetDefined().process_receipt(receipt)[0].args.setId
    ambassadors = deploy(dev_node, BRAND, "BrandAmbassadors")
    terms = (AMBASSADOR.address, POST, PER_VIEW, PER_LIKE, set_id, PERIOD, ANSWER_WINDOW)
    receipt = succeed(w3, BRAND, ambassadors.functions.createCampaign(terms), value=BUDGET)
    assert events(ambassadors, "CampaignCreated", receipt)[0]["id"] == 1

    # Period 1: both services report 1,200 views and 80 likes; two of three agree.
    first = request_counts(ambassadors, services, (1200, 80), (1200, 80))
    wait_until(lambda: oracle.functions.result(first).call()[0] == RESOLVED, "the first report to resolve")
    receipt = succeed(w3, AMBASSADOR, ambassadors.functions.settle(1))
    (settled,) = events(ambassadors, "CountsSettled", receipt)
    assert (settled["views"], settled["likes"], settled["paid"]) == (1200, 80, 1200 * PER_VIEW + 80 * PER_LIKE)
    payload = bytes.fromhex(services[0].requests[0]["payload"][2:])
    assert payload == eth_abi.encode(["address", "uint256", "bytes32", "address"],
                                     [ambassadors.address, 1, POST, AMBASSADOR.address])

    # Period 2: the services disagree; the request times out and pays nothing.
    advance(dev_node, PERIOD)
    second = request_counts(ambassadors, services, (1500, 90), (2500, 150))
    wait_until(lambda: len(oracle.functions.getRequest(second).call()[8]) == 2, "both members to answer")
    assert oracle.functions.result(second).call()[0] == PENDING
    advance(dev_node, ANSWER_WINDOW + 1)
    assert oracle.functions.result(second).call() == [TIMED_OUT, b""]
    receipt = succeed(w3, BRAND, ambassadors.functions.settle(1))
    assert events(ambassadors, "ReportFailed", receipt) == [{"id": 1, "requestId": second, "timedOut": True}]
    assert ambassadors.functions.credit(AMBASSADOR.address).call() == 2 * ETHER

    # Period 3: the agreed counts pay the growth since period 1 only.
    advance(dev_node, PERIOD)
    third = request_counts(ambassadors, services, (1500, 90), (1500, 90))
    wait_until(lambda: oracle.functions.result(third).call()[0] == RESOLVED, "the third report to resolve")
    receipt = succeed(w3, AMBASSADOR, ambassadors.functions.settle(1))
    assert events(ambassadors, "CountsSettled", receipt)[0]["paid"] == 300 * PER_VIEW + 10 * PER_LIKE

    assert withdraw(ambassadors, AMBASSADOR) == 2 * ETHER + ETHER * 4 // 10
    receipt = succeed(w3, BRAND, ambassadors.functions.end(1))
    assert events(ambassadors, "Refunded", receipt)[0]["amount"] == BUDGET - 2 * ETHER - ETHER * 4 // 10
    assert withdraw(ambassadors, BRAND) == BUDGET - 2 * ETHER - ETHER * 4 // 10
    assert w3.eth.get_balance(ambassadors.address) == 0
    attesters = {a.lower() for a in oracle.functions.getRequest(third).call()[8]}
    assert attesters == {dev_account(i).address.lower() for i in MEMBERS[:2]}
