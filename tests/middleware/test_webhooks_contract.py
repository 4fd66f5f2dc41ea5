"""Webhooks: the IWebhooks native contract, alone and called by the DeliveryEscrow example through memory_chain."""
from __future__ import annotations

from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    function_signature_to_4byte_selector,
)

from cybermiles_node.solc import CompiledContract, compile_file
from middleware.webhooks.contract import (
    CALLBACK_REQUESTED_TOPIC,
    MAX_PAYLOAD_BYTES,
    MAX_TOPIC_BYTES,
    WebhooksContract,
    decode_callback_request,
)
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import WEBHOOKS_ADDRESS
from vm.native.framework import ERROR_SELECTOR

ETHER = 10**18
REPO = Path(__file__).resolve().parents[2]
BUYER = Account.from_key(keccak(b"webhooks buyer"))
ORACLE = Account.from_key(keccak(b"webhooks oracle"))
SELLER = bytes.fromhex("5e" * 20)


def address_of(account) -> bytes:
    return bytes.fromhex(account.address[2:])


def calldata(signature: str, types: list[str], values: list) -> bytes:
    return function_signature_to_4byte_selector(signature) + eth_abi.encode(types, values)


def revert_reason(output: bytes) -> str:
    assert output[:4] == ERROR_SELECTOR
    return eth_abi.decode(["string"], output[4:])[0]


@pytest.fixture(scope="module")
def escrow_contract() -> CompiledContract:
    return compile_file(REPO / "examples" / "contracts" / "DeliveryEscrow.sol")["DeliveryEscrow"]


@pytest.fixture(scope="module")
def interface_abi() -> list[dict]:
    return compile_file(REPO / "middleware" / "webhooks" / "IWebhooks.sol")["IWebhooks"].abi


@pytest.fixture
def chain(memory_chain):
    return memory_chain(
        [GenesisAccount(address_of(BUYER), balance=100 * ETHER), GenesisAccount(address_of(ORACLE), balance=ETHER)],
        natives=[WebhooksContract()],
    )


def request(chain, sign_tx, topic: str, payload: bytes, nonce: int):
    data = calldata("requestCallback(string,bytes)", ["string", "bytes"], [topic, payload])
    return chain.execute([sign_tx(BUYER, nonce=nonce, to=WEBHOOKS_ADDRESS, data=data, gas=200_000)], strict=True)


def test_the_solidity_interface_matches_the_native_contract(interface_abi) -> None:
    functions = {function_abi_to_4byte_selector(e) for e in interface_abi if e["type"] == "function"}
    assert functions == {spec.selector for spec in WebhooksContract.methods()}
    [event] = [e for e in interface_abi if e["type"] == "event"]
    assert event_abi_to_log_topic(event) == CALLBACK_REQUESTED_TOPIC


def test_requests_are_numbered_and_announced(chain, sign_tx) -> None:
    first = request(chain, sign_tx, "carrier.delivery", b"\x01\x02", nonce=0).receipts[0]
    second = request(chain, sign_tx, "payments.refund", b"", nonce=1).receipts[0]
    assert first.status == second.status == 1
    decoded = [decode_callback_request(r.logs[0].address, r.logs[0].topics, r.logs[0].data) for r in (first, second)]
    assert [(d.request_id, d.requester, d.topic, d.payload) for d in decoded] == [
        (1, address_of(BUYER), "carrier.delivery", b"\x01\x02"),
        (2, address_of(BUYER), "payments.refund", b""),
    ]
    assert first.logs[0].topics[3] == keccak(b"carrier.delivery")
    count = chain.call(CallMessage(sender=bytes(20), to=WEBHOOKS_ADDRESS, data=calldata("requestCount()", [], [])))
    assert eth_abi.decode(["uint256"], count.output) == (2,)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("", b"", "Webhooks: topic must be 1 to 64 printable ASCII characters without spaces"),
        ("x" * (MAX_TOPIC_BYTES + 1), b"", "Webhooks: topic must be 1 to 64"),
        ("two words", b"", "Webhooks: topic must be 1 to 64"),
        ("t", b"\x00" * (MAX_PAYLOAD_BYTES + 1), "Webhooks: payload too large (4097 bytes, limit 4096)"),
    ],
    ids=["empty-topic", "long-topic", "space", "large-payload"],
)
def test_out_of_bounds_requests_revert_and_count_nothing(chain, topic, payload, reason) -> None:
    outcome = chain.call(CallMessage(
        sender=address_of(BUYER), to=WEBHOOKS_ADDRESS,
        data=calldata("requestCallback(string,bytes)", ["string", "bytes"], [topic, payload]),
    ))
    assert not outcome.success and reason in revert_reason(outcome.output)
    assert chain.state.get_storage(WEBHOOKS_ADDRESS, 0) == 0


def test_gas_of_a_request_follows_the_documented_schedule(chain, sign_tx) -> None:
    arguments = eth_abi.encode(["string", "bytes"], ["t" * 16, b"p" * 32])
    data = function_signature_to_4byte_selector("requestCallback(string,bytes)") + arguments
    intrinsic = 21_000 + sum(4 if byte == 0 else 16 for byte in data)
    event = 375 + 4 * 375 + 8 * len(arguments)
    assert len(arguments) == 192
    first = chain.execute([sign_tx(BUYER, nonce=0, to=WEBHOOKS_ADDRESS, data=data, gas=200_000)], strict=True)
    later = chain.execute([sign_tx(BUYER, nonce=1, to=WEBHOOKS_ADDRESS, data=data, gas=200_000)], strict=True)
    assert first.receipts[0].gas_used == intrinsic + 5_000 + 2_100 + 20_000 + event == intrinsic + 30_511
    assert later.receipts[0].gas_used == intrinsic + 5_000 + 2_100 + 5_000 + event == intrinsic + 15_511


def test_delivery_escrow_requests_a_callback_and_only_the_oracle_releases_it(chain, sign_tx, escrow_contract) -> None:
    deploy = escrow_contract.bytecode + eth_abi.encode(["address"], [address_of(ORACLE)])
    created = chain.execute([sign_tx(BUYER, nonce=0, to=None, data=deploy, gas=3_000_000)], strict=True).receipts[0]
    escrow = created.contract_address
    assert created.status == 1 and escrow is not None

    pay = calldata("pay(address,string)", ["address", "string"], [SELLER, "TRACK-1"])
    paid = chain.execute([sign_tx(BUYER, nonce=1, to=escrow, data=pay, value=3 * ETHER, gas=400_000)],
                         strict=True).receipts[0]
    assert paid.status == 1
    callbacks = [decode_callback_request(log.address, log.topics, log.data) for log in paid.logs]
    [callback] = [c for c in callbacks if c is not None]
    assert (callback.request_id, callback.requester, callback.topic) == (1, escrow, "carrier.delivery")
    assert eth_abi.decode(["uint256", "string"], callback.payload) == (1, "TRACK-1")

    confirm = calldata("confirmDelivery(uint256)", ["uint256"], [1])
    stranger = chain.execute([sign_tx(BUYER, nonce=2, to=escrow, data=confirm, gas=200_000)], strict=True)
    assert stranger.receipts[0].status == 0 and chain.state.get_balance(SELLER) == 0
    refused = chain.call(CallMessage(sender=address_of(BUYER), to=escrow, data=confirm))
    assert revert_reason(refused.output) == "DeliveryEscrow: only the oracle confirms deliveries"

    confirmed = chain.execute([sign_tx(ORACLE, nonce=0, to=escrow, data=confirm, gas=200_000)], strict=True)
    assert confirmed.receipts[0].status == 1
    assert chain.state.get_balance(SELLER) == 3 * ETHER and chain.state.get_balance(escrow) == 0
    twice = chain.call(CallMessage(sender=address_of(ORACLE), to=escrow, data=confirm))
    assert revert_reason(twice.output) == "DeliveryEscrow: order is not awaiting delivery"
