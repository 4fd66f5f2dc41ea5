"""Development-chain controls over a real node (application, LevelDB, engine, signer), without processes."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from cybermiles_node.config import NodeConfig
from cybermiles_node.devblocks import DevRecord, EditKind, StateEdit, apply_edits
from cybermiles_node.devchain import DevChain
from cybermiles_node.home import NodeHome
from cybermiles_node.node import Node
from cybermiles_node.provision import initialise_home
from genesis.loader import load_genesis
from genesis.networks import dev_accounts
from rpc.backend import CallRequest
from rpc.config import RPCConfig
from rpc.dev import DevRequestError
from rpc.server import build_dispatcher
from vm.native.addresses import STAKING_ADDRESS
from vm.tracing.session import TraceSpec

STRANGER = bytes.fromhex("5" * 40)
ETHER = 10**18


def _node(tmp_path: Path, dev: bool) -> Node:
    home = NodeHome.resolve(tmp_path / "home")
    initialise_home(home, "local", None, NodeConfig())
    return Node(home, NodeConfig(), load_genesis(home.genesis), dev=dev, automine=True)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = _node(tmp_path, dev=True)
    node._build_dev_chain()
    yield node
    node.backend.close()
    node.execution.shutdown(wait=True)
    node.db.close()


def _dev(node: Node) -> DevChain:
    assert node.dev_chain is not None
    return node.dev_chain


def test_state_edit_is_applied_through_a_new_block_recorded_with_it(node: Node) -> None:
    dev, store, app = _dev(node), node.store, node.app
    parent = app.latest_header
    asyncio.run(dev.set_balance(STRANGER, 7 * ETHER))
    block = app.latest_header
    assert block.number == parent.number + 1
    assert app.account_db(block.state_root).get_balance(STRANGER) == 7 * ETHER
    assert app.account_db(parent.state_root).get_balance(STRANGER) == 0
    record = DevRecord.decode(store.get_dev_record(block.hash) or b"")
    assert record.edits == (StateEdit(EditKind.BALANCE, STRANGER, 7 * ETHER),)
    # Replay: the record's edits on the parent state, then the block, give the header's state root.
    stored = store.get_block_by_number(block.number)
    assert stored is not None
    env = app.block_env(parent, block.number, block.timestamp, STAKING_ADDRESS,
                        app.consensus_info(block.number, block.proposer_address, stored.last_commit, [],
                                           block.randao_reveal))
    root, overlay = apply_edits(app.executor, store.state_db(), parent.state_root, env, record.edits)
    replayed = app.executor.execute_block(overlay, root, env, [], strict=True)
    assert replayed.state_root == block.state_root


def test_revert_removes_later_blocks_and_their_transactions_then_the_chain_goes_on(node: Node) -> None:
    dev, store = _dev(node), node.store
    sender = dev_accounts()[1].address

    async def scenario() -> tuple[int, bytes, bool]:
        snapshot = dev.snapshot()
        height = store.latest_height()
        tx_hash = await dev.send_transaction(CallRequest(sender=sender, to=STRANGER, value=ETHER))
        assert store.get_tx_location(tx_hash) is not None
        await dev.mine(3)
        reverted = await dev.revert(snapshot)
        await dev.mine()  # the validator signs the rewound height again
        return height, tx_hash, reverted

    height, tx_hash, reverted = asyncio.run(scenario())
    assert reverted
    assert store.latest_height() == height + 1
    assert store.get_tx_location(tx_hash) is None
    assert node.app.account_db(node.app.latest_header.state_root).get_balance(STRANGER) == 0
    assert asyncio.run(dev.revert(1)) is False  # used up


def test_impersonated_transaction_is_included_with_its_sender(node: Node) -> None:
    dev = _dev(node)

    async def scenario() -> bytes:
        await dev.set_balance(STRANGER, 2 * ETHER)
        dev.impersonate(STRANGER)
        return await dev.send_transaction(CallRequest(sender=STRANGER, to=dev_accounts()[0].address, value=ETHER))

    tx_hash = asyncio.run(scenario())
    mined = asyncio.run(node.backend.get_mined_transaction(tx_hash))
    assert mined is not None and mined.tx.sender == STRANGER
    receipt = asyncio.run(node.backend.get_mined_receipt(tx_hash))
    assert receipt is not None and receipt.receipt.sender == STRANGER and receipt.receipt.status == 1
    # A trace replays the block as it ran: the impersonated sender, not whatever its marker signature recovers.
    traced = asyncio.run(node.backend.trace_transaction(tx_hash, TraceSpec(kind="call")))
    assert traced is not None
    (trace,) = traced.transactions
    assert trace.success and trace.gas_used == receipt.receipt.gas_used
    assert trace.call is not None and trace.call.sender == STRANGER
    dev.stop_impersonating(STRANGER)
    with pytest.raises(Exception, match="unknown account"):
        asyncio.run(dev.send_transaction(CallRequest(sender=STRANGER, to=STRANGER, value=1)))


def test_time_moves_forward_only(node: Node) -> None:
    dev, app = _dev(node), node.app
    latest = app.latest_header.timestamp
    with pytest.raises(DevRequestError, match="lower than previous block's timestamp"):
        dev.set_next_timestamp(latest - 1)
    dev.set_next_timestamp(latest + 1000)
    asyncio.run(dev.mine(3, 60))
    assert app.latest_header.timestamp == latest + 1000 + 120


def test_dev_methods_do_not_exist_without_dev(tmp_path: Path) -> None:
    plain = _node(tmp_path, dev=False)
    try:
        plain._build_dev_chain()
        assert plain.dev_chain is None
        dispatcher, _ = build_dispatcher(plain.backend, RPCConfig())
        for method in ("evm_mine", "evm_snapshot", "hardhat_setBalance", "anvil_impersonateAccount",
                       "eth_sendTransaction"):
            reply = asyncio.run(dispatcher.handle_request({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}))
            assert reply == {"jsonrpc": "2.0", "id": 1, "error": {
                "code": -32601, "message": f"the method {method} does not exist/is not available"}}
    finally:
        plain.backend.close()
        plain.execution.shutdown(wait=True)
        plain.db.close()
