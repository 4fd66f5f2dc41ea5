"""The ``cmt_query*`` JSON-RPC methods over a real application: staking and governance read at chosen blocks."""
from __future__ import annotations

import asyncio
from typing import Any

import eth_abi
import pytest
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from consensus.dpos.events import BLOCK_AWARD
from consensus.dpos.governance_execution import PARAM_CHANGED_EVENT
from consensus.keys import ValidatorKey
from cybermiles_node.mempool.config import MempoolConfig
from cybermiles_node.mempool.pool import Mempool
from cybermiles_node.rpc_backend import NodeBackend, ReadLimits
from genesis.distribution import GENESIS_SUPPLY
from rpc.config import RPCConfig
from rpc.server import build_dispatcher
from tests.test_application import CHAIN_ID, GWEI, Proposer
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS

CMT = 10**18
NEW_KEY = ValidatorKey(seed=b"\x42" * 32)
DECLARE = "declareCandidacy(bytes32,uint256,uint256,string,string,string,string,string)"


def calldata(signature: str, types: list[str], values: list[Any]) -> bytes:
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, values)


class Rpc:
    """Calls JSON-RPC methods on the dispatcher the node serves, with the node's backend."""

    def __init__(self, node, limits: ReadLimits = ReadLimits()) -> None:
        self.backend = NodeBackend(node.app, Mempool(CHAIN_ID, MempoolConfig()), lambda raw: None, limits=limits)
        self.dispatcher, _ = build_dispatcher(self.backend, RPCConfig())

    def answer(self, method: str, *params: Any) -> dict[str, Any]:
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        response = asyncio.run(self.dispatcher.handle_request(request))
        assert response is not None
        return response

    def __call__(self, method: str, *params: Any) -> Any:
        response = self.answer(method, *params)
        assert "error" not in response, response
        return response["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        response = self.answer(method, *params)
        assert "error" in response, response
        return response["error"]


@pytest.fixture
def chain(open_node, validator_key, genesis, dev_keys):
    """Block 1 empty; 2: dev 5 declares; 3: dev 6 delegates to it; 4: the validator proposes; 5: it votes yes."""
    proposer = Proposer(open_node("a"), validator_key, genesis)
    candidate, delegator = dev_keys[5], dev_keys[6]

    def tx(account, nonce: int, data: bytes, value: int, to: bytes = STAKING_ADDRESS) -> bytes:
        fields = {"nonce": nonce, "to": to_checksum_address(to), "value": value, "gas": 1_000_000,
                  "data": data, "maxFeePerGas": 5 * GWEI, "maxPriorityFeePerGas": GWEI, "chainId": CHAIN_ID}
        return bytes(account.sign_transaction(fields).raw_transaction)

    declare = calldata(DECLARE, ["bytes32", "uint256", "uint256"] + ["string"] * 5,
                       [NEW_KEY.public_key, 100_000 * CMT, 1_000, "Shop", "https://shop.example", "", "", ""])
    delegate = calldata("delegate(address)", ["address"], [candidate.address])
    proposer.decide(proposer.propose())
    proposer.decide(proposer.propose([tx(candidate, 0, declare, 10_000 * CMT)]))
    proposer.decide(proposer.propose([tx(delegator, 0, delegate, 5_000 * CMT)]))
    propose = calldata("proposeParam(string,string,string)", ["string"] * 3, ["max_validators", "21", "grow"])
    proposer.decide(proposer.propose([tx(dev_keys[0], 0, propose, 0, GOVERNANCE_ADDRESS)]))
    vote = calldata("vote(uint256,uint8)", ["uint256", "uint8"], [0, 0])
    proposer.decide(proposer.propose([tx(dev_keys[0], 1, vote, 0, GOVERNANCE_ADDRESS)]))
    rpc = Rpc(proposer.node)
    yield rpc, candidate.address.lower(), delegator.address.lower(), genesis
    rpc.backend.close()


def test_a_declared_candidate_and_its_delegation_at_two_heights(chain) -> None:
    rpc, owner, delegator, genesis = chain
    before = rpc("cmt_queryValidator", owner, "0x2")
    assert before["height"] == "0x2"
    assert before["data"]["stake"] == hex(10_000 * CMT)
    assert before["data"]["numOfDelegators"] == "0x1"
    after = rpc("cmt_queryValidator", owner)
    assert after["height"] == "0x5"
    candidate = after["data"]
    assert candidate["stake"] == hex(15_000 * CMT)
    assert candidate["selfStake"] == hex(10_000 * CMT)
    assert candidate["maxAmount"] == hex(100_000 * CMT)
    assert candidate["commissionBp"] == hex(1_000)
    assert candidate["pubKey"] == "0x" + NEW_KEY.public_key.hex()
    assert candidate["declaredAt"] == "0x2"
    assert candidate["description"]["website"] == "https://shop.example"
    assert candidate["state"] == "candidate" and candidate["rank"] is None and candidate["votingPower"] == "0x0"

    all_candidates = rpc("cmt_queryValidators")["data"]
    assert [c["owner"] for c in all_candidates] == ["0x" + genesis.validators[0].owner.hex(), owner]
    assert all_candidates[0]["state"] == "validator" and all_candidates[0]["rank"] == "0x0"
    assert int(all_candidates[0]["votingPower"], 16) == genesis.validators[0].power
    assert [c["owner"] for c in rpc("cmt_queryValidators", "0x1")["data"]] == [all_candidates[0]["owner"]]

    delegations = rpc("cmt_queryDelegator", delegator)["data"]
    assert delegations["delegations"] == [{
        "candidate": owner, "candidateId": candidate["id"], "delegator": delegator, "amount": hex(5_000 * CMT),
        "commissionBp": hex(1_000), "rewarded": "0x0", "slashed": "0x0",
    }]
    assert delegations["unbondings"] == []
    assert rpc("cmt_queryDelegator", delegator, "0x2")["data"]["delegations"] == []


def test_supply_adds_up_and_grows_with_awards(chain) -> None:
    rpc, _, _, genesis = chain
    supplies = [{k: int(v, 16) for k, v in rpc("cmt_querySupply", hex(h))["data"].items()} for h in range(6)]
    for height, s in enumerate(supplies):
        assert s["total"] == GENESIS_SUPPLY + s["minted"] - s["burned"], height
        assert s["circulating"] == s["total"] - s["bonded"] - s["unbonding"] - s["rewards"] - s["locked"] - s["reserve"]
        assert s["reserve"] == int(rpc("eth_getBalance", "0x" + GOVERNANCE_ADDRESS.hex(), hex(height)), 16)
    assert supplies[0]["minted"] == 0 and supplies[0]["bonded"] == genesis.total_staked()
    assert supplies[5]["minted"] > supplies[1]["minted"] > 0
    assert supplies[5]["bonded"] - supplies[1]["bonded"] >= 15_000 * CMT
    assert supplies[3]["burned"] > supplies[1]["burned"]  # the two staking transactions paid base fees


def test_awards_params_absences_and_proposals(chain) -> None:
    rpc, _, _, genesis = chain
    validator = "0x" + genesis.validators[0].owner.hex()
    awards = rpc("cmt_queryAwardInfos")["data"]
    assert [a["owner"] for a in awards] == [validator]
    assert int(awards[0]["amount"], 16) > 0
    assert rpc("cmt_queryAbsentValidators")["data"] == []

    before = rpc("cmt_queryParams", "0x4")["data"]
    assert before["max_validators"] == hex(19)
    assert before["min_staking_amount"] == hex(1_000 * CMT)
    assert before["slash_enabled"] is False
    assert before["foundation_address"] == "0x" + genesis.foundation.hex()
    assert rpc("cmt_queryParams", "latest")["data"] == {**before, "max_validators": hex(21)}

    assert rpc("cmt_queryProposals", "0x3") == {"height": "0x3", "data": []}
    (pending,) = rpc("cmt_queryProposals", "0x4")["data"]
    assert pending["status"] == "pending" and pending["votes"] == []
    (executed,) = rpc("cmt_queryProposals")["data"]
    assert executed == {
        **pending, "status": "executed", "decidedAt": executed["decidedAt"], "detail": executed["detail"],
        "votes": [{"voter": validator, "answer": "yes", "power": hex(genesis.validators[0].power)}],
    }
    assert (pending["id"], pending["kind"], pending["name"], pending["value"], pending["reason"]) == \
        ("0x0", "param", "max_validators", "21", "grow")
    assert pending["proposer"] == validator and pending["to"] is None
    assert int(executed["decidedAt"], 16) > 0


def test_staking_transactions_decode_like_any_call(chain) -> None:
    rpc, owner, delegator, _ = chain
    block = rpc("eth_getBlockByNumber", "0x3", True)
    (tx,) = block["transactions"]
    assert tx["from"] == delegator and tx["to"] == "0x" + STAKING_ADDRESS.hex()
    assert tx["input"].startswith("0x" + function_signature_to_4byte_selector("delegate(address)").hex())
    assert rpc("eth_getTransactionByHash", tx["hash"])["blockNumber"] == "0x3"
    receipt = rpc("eth_getTransactionReceipt", tx["hash"])
    assert receipt["status"] == "0x1"
    delegated = [log for log in receipt["logs"] if log["address"] == "0x" + STAKING_ADDRESS.hex()]
    assert len(delegated) == 1 and delegated[0]["topics"][2] == "0x" + owner[2:].rjust(64, "0")


def test_bad_params_and_unknown_candidates_are_clear_errors(chain) -> None:
    rpc, owner, _, _ = chain
    stranger = "0x" + "ab" * 20
    missing = rpc.error("cmt_queryValidator", stranger)
    assert missing["code"] == -32001 and missing["message"] == f"no candidate owned by {stranger} at block 5"
    assert rpc.error("cmt_queryValidator")["message"] == "missing value for required argument 0"
    assert rpc.error("cmt_queryValidator", "0x1234")["message"] == \
        "invalid argument 0: hex string has length 4, want 40"
    assert rpc.error("cmt_querySupply", "0x99") == {"code": -32001, "message": "header not found"}
    assert rpc.error("cmt_queryParams", "soon")["code"] == -32602
    assert rpc.error("cmt_queryValidators", "latest", 1)["message"] == "too many arguments, want at most 1"
    assert rpc.error("cmt_queryDelegator", owner, {"blockHash": "0x" + "00" * 32})["code"] == -32001
    assert rpc("cmt_queryDelegator", stranger)["data"] == {"address": stranger, "delegations": [], "unbondings": []}


def test_block_events_are_served_with_their_block(chain) -> None:
    rpc, _, _, _ = chain
    award_topic = "0x" + keccak(BLOCK_AWARD.encode()).hex()
    for number in ("0x2", "0x5", "latest"):
        events = rpc("cmt_getBlockEvents", number)
        awards = [e for e in events if e["topics"][0] == award_topic]
        assert len(awards) == 1 and awards[0]["address"] == "0x" + STAKING_ADDRESS.hex()
        assert awards[0]["blockNumber"] == ("0x5" if number == "latest" else number)
        assert [e["logIndex"] for e in events] == [hex(i) for i in range(len(events))]
    block_hash = rpc("eth_getBlockByNumber", "0x5", False)["hash"]
    assert rpc("cmt_getBlockEvents", {"blockHash": block_hash}) == rpc("cmt_getBlockEvents", "0x5")
    assert rpc("cmt_getBlockEvents", "0x0") == []  # genesis has no hooks run
    assert rpc.error("cmt_getBlockEvents", "0x99")["message"] == "header not found"
    assert rpc.error("cmt_getBlockEvents")["code"] == -32602


def test_a_governance_execution_is_a_block_event(chain) -> None:
    rpc, _, _, _ = chain
    changed = "0x" + keccak(PARAM_CHANGED_EVENT.encode()).hex()
    found = [number for number in range(1, 6)
             if any(e["topics"][0] == changed for e in rpc("cmt_getBlockEvents", hex(number)))]
    assert found == [5]  # the vote of block 5 approved the proposal; the end-block hook executed it
