"""A Solidity contract stakes through IStaking like through any contract (no code-size check failure)."""
from __future__ import annotations

import shutil
from pathlib import Path

import eth_abi

from cybermiles_node.solc import compile_file
from tests.dpos.harness import CMT, address_of, selector
from vm.execution import NATIVE_MARKER_CODE, CallMessage
from vm.native.addresses import STAKING_ADDRESS

INTERFACE = Path(__file__).resolve().parents[2] / "consensus" / "dpos" / "IStaking.sol"
POOL = """// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.10;
import "./IStaking.sol";

contract Pool {
    IStaking constant STAKING = IStaking(0x0000000000000000000000000000000000000c02);

    function total() external view returns (uint256) { return STAKING.getSupply().total; }

    function stake(address candidate) external payable returns (uint256) {
        return STAKING.delegate{value: msg.value}(candidate);
    }

    function unstake(address candidate, uint256 amount) external returns (uint256) {
        return STAKING.withdraw(candidate, amount);
    }
}
"""


def test_a_contract_delegates_withdraws_and_reads_the_supply(staking_chain, sign_tx, tmp_path: Path) -> None:
    shutil.copy(INTERFACE, tmp_path / "IStaking.sol")
    (tmp_path / "Pool.sol").write_text(POOL)
    pool = compile_file(tmp_path / "Pool.sol")["Pool"]
    sc = staking_chain(validators=2)
    user, candidate = sc.users[0], sc.owners[0]
    receipt = sc.block([sign_tx(user, nonce=0, to=b"", data=pool.bytecode, gas=2_000_000)]).receipts[0]
    address = receipt.contract_address
    stake = selector("stake(address)") + eth_abi.encode(["address"], [candidate.address])
    receipt = sc.block([sign_tx(user, nonce=1, to=address, data=stake, value=2_000 * CMT, gas=2_000_000)]).receipts[0]
    assert receipt.status == 1
    delegations = sc.call("getDelegations(address)", ["(address,address,uint256,uint256,uint256,uint256)[]"],
                          ["0x" + address.hex()])[0]
    assert [row[2] for row in delegations] == [2_000 * CMT]
    unstake = selector("unstake(address,uint256)") + eth_abi.encode(["address", "uint256"],
                                                                   [candidate.address, 500 * CMT])
    assert sc.block([sign_tx(user, nonce=2, to=address, data=unstake, gas=2_000_000)]).receipts[0].status == 1
    outcome = sc.chain.call(CallMessage(sender=address_of(user), to=address, data=selector("total()"), gas=10**7),
                            timestamp=sc.time)
    assert outcome.success and eth_abi.decode(["uint256"], outcome.output)[0] == sc.supply()["total"]
    assert sc.chain.state.get_code(STAKING_ADDRESS) == NATIVE_MARKER_CODE  # callers see a contract there
