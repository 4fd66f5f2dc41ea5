"""A wallet library (web3.py) stakes with nothing but the published IStaking ABI."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from consensus.dpos.params import DposParams
from cybermiles_node.solc import compile_file
from tests.conftest import CHAIN_ID, GWEI
from tests.dpos.harness import CMT, StakingChain, address_of
from vm.execution import CallMessage
from vm.native.addresses import STAKING_ADDRESS
from vm.transactions import decode_transaction

INTERFACE = Path(__file__).resolve().parents[2] / "consensus" / "dpos" / "IStaking.sol"


@pytest.fixture(scope="module")
def abi() -> list[dict[str, Any]]:
    return compile_file(INTERFACE)["IStaking"].abi


class Wallet:
    """Builds transactions and reads views with a web3 contract object, as a dapp would."""

    def __init__(self, sc: StakingChain, abi: list[dict[str, Any]]) -> None:
        self.sc = sc
        self.w3 = Web3()
        self.contract = self.w3.eth.contract(address=Web3.to_checksum_address(STAKING_ADDRESS), abi=abi)

    def send(self, account: Any, name: str, *args: Any, value: int = 0) -> Any:
        tx = getattr(self.contract.functions, name)(*args).build_transaction({
            "from": account.address, "value": value, "gas": 3_000_000, "chainId": CHAIN_ID,
            "nonce": self.sc.chain.state.get_nonce(address_of(account)),
            "maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI,
        })
        raw = bytes(account.sign_transaction(tx).raw_transaction)
        return self.sc.block([decode_transaction(raw, CHAIN_ID)]).receipts[0]

    def view(self, name: str, *args: Any) -> Any:
        function = getattr(self.contract.functions, name)(*args)
        data = bytes.fromhex(self.contract.encode_abi(name, args=list(args))[2:])
        outcome = self.sc.chain.call(CallMessage(sender=b"\x01" * 20, to=STAKING_ADDRESS, data=data, gas=10**7),
                                     timestamp=self.sc.time)
        assert outcome.success
        output_types = [_canonical(o) for o in function.abi["outputs"]]
        (value,) = self.w3.codec.decode(output_types, outcome.output)
        return value


def _canonical(output: dict[str, Any]) -> str:
    if not output["type"].startswith("tuple"):
        return output["type"]
    return "(" + ",".join(_canonical(c) for c in output["components"]) + ")" + output["type"][len("tuple"):]


def test_declare_delegate_and_withdraw_through_web3(staking_chain, abi) -> None:
    sc = staking_chain(validators=2, params=DposParams(unbonding_period=60))
    wallet = Wallet(sc, abi)
    shop, fan = sc.users[0], sc.users[1]
    key = b"\x5a" * 32
    receipt = wallet.send(shop, "declareCandidacy", key, 100_000 * CMT, 1_000, "Shop", "", "", "", "",
                          value=10_000 * CMT)
    assert receipt.status == 1 and len(receipt.logs) == 1
    assert wallet.send(fan, "delegate", shop.address, value=3_000 * CMT).status == 1
    info = wallet.view("getCandidate", shop.address)
    assert info[0] == shop.address.lower() and info[2] == key and info[7] == 13_000 * CMT and info[18] == "Shop"
    assert wallet.send(fan, "withdraw", shop.address, 1_000 * CMT).status == 1
    (pending,) = wallet.view("getUnbondings", fan.address)
    assert pending[2] == 1_000 * CMT
    supply = wallet.view("getSupply")
    assert supply[0] == sc.genesis_supply + supply[1] - supply[2]
    assert len(wallet.view("getValidators")) == 2
