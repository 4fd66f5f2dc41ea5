"""End to end: on a real 4-validator testnet, a jury of 7 is drawn from 30 opted-in jurors, votes and is paid.

Thirty fresh accounts are funded by transfers and stake 1 to 30 CMT through web3.py with only
``IJury.abi.json``. A dev account opens a case of 7 (fee 2 CMT + 1 wei, 1 CMT at stake per
juror); once its beacon height is committed another account draws it. Juror 0 commits and
reveals "yes" with ``cmnode jury`` (the salt kept in its home), jurors 1-3 vote yes, 4-5 no,
juror 6 stays silent. After the reveal window a third account finalizes: ruling yes 4 to 2,
the minority and the silent juror lose 1 CMT of stake each, the majority share the fee and
the forfeits equally (1.25 CMT each), the creator gets the 1 wei remainder, the contract holds
exactly the jurors' stakes, and every node has the same state root at the final height.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from middleware.jury.contract import commitment_of
from tests.e2e.nodeproc import (
    Sender,
    dev_account,
    running_testnet,
    state_roots_at,
    wait_for_block_time,
    wait_for_height,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ABI = json.loads((REPO / "middleware" / "jury" / "IJury.abi.json").read_text())
JURY = Web3.to_checksum_address("0x0000000000000000000000000000000000000c15")
ETHER = 10**18
JURORS = [Account.from_key(keccak(b"jury e2e juror %d" % k)) for k in range(30)]
FUNDER, CREATOR, KEEPER = 14, 15, 16  # dev accounts
FEE = 2 * ETHER + 1
WINDOW = 12  # seconds of block time for commits, then for reveals
VOTES = [True, True, True, True, False, False, None]  # seat 6 stays silent


def cmnode(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cybermiles_node.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


@pytest.fixture(scope="module")
def testnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[dict], Path]]:
    output = tmp_path_factory.mktemp("jury-testnet")
    with running_testnet(output, validators=4) as nodes:
        yield nodes, output


def test_a_jury_of_7_of_30_is_drawn_votes_and_is_paid_with_the_same_state_on_every_node(testnet) -> None:
    nodes, output = testnet
    wallet = output / "wallet"  # the keystore and home of the juror in seat 0, who votes with cmnode
    wallet.mkdir()
    password = wallet / "password"
    password.write_text("juror horse\n")
    w3s = [Web3(Web3.HTTPProvider(node["rpc"], request_kwargs={"timeout": 10})) for node in nodes]
    for index, w3 in enumerate(w3s):
        wait_for_height(lambda w3=w3: w3.eth.block_number, 1, 90,
                        lambda index=index: (output / f"node{index}.log").read_text()[-3000:])
    w3 = w3s[0]
    jury = w3.eth.contract(address=JURY, abi=ABI)
    sender = Sender(w3)

    # Thirty jurors funded by transfers, then each stakes k CMT.
    funder = dev_account(FUNDER)
    sender.receipts([sender.send(funder, {"to": a.address, "value": 40 * ETHER, "gas": 21_000}) for a in JURORS])
    sender.receipts([sender.call(a, jury.functions.stake(), value=(k + 1) * ETHER, gas=400_000)
                     for k, a in enumerate(JURORS)])
    assert jury.functions.totalStake().call() == sum(range(1, 31)) * ETHER

    creator, keeper = dev_account(CREATOR), dev_account(KEEPER)
    (opened,) = sender.receipts([sender.call(creator, jury.functions.openCase(7, ETHER, WINDOW, WINDOW), value=FEE)])
    (event,) = jury.events.CaseOpened().process_receipt(opened, errors=DISCARD)
    case_id, beacon_height = event.args.caseId, event.args.beaconHeight
    assert beacon_height == opened.blockNumber + 1
    wait_for_height(lambda: w3.eth.block_number, beacon_height, 60, lambda: "no beacon height")
    (drawn_receipt,) = sender.receipts([sender.call(keeper, jury.functions.draw(case_id), gas=2_000_000)])
    seated = jury.functions.jurors(case_id).call()
    by_address = {a.address: a for a in JURORS}
    assert len(set(seated)) == 7 and set(seated) <= set(by_address)
    seats = [by_address[a] for a in seated]
    _, _, _, _, commit_ends, reveal_ends = jury.functions.caseInfo(case_id).call()

    # The jurors in seats 1-5 commit with web3.py; the juror in seat 0 with cmnode (in the background).
    salts = {i: keccak(b"e2e salt %d" % i) for i in range(1, 7)}
    commits = [sender.call(seats[i], jury.functions.commitVote(
        case_id, i, commitment_of(case_id, bytes.fromhex(seats[i].address[2:]), VOTES[i], salts[i])), gas=300_000)
        for i in range(1, 6)]
    (wallet / "key").write_text(seats[0].key.hex())
    finished(cmnode("account", "import", str(wallet / "key"), "--keystore", str(wallet / "keystore"),
                    "--password-file", str(password), "--light-kdf"))
    signer = ["--home", str(wallet / "home"), "--keystore", str(wallet / "keystore"), "--password-file",
              str(password), "--rpc", nodes[1]["rpc"], "--gas", "300000"]
    cli_commit = cmnode("jury", "commit", str(case_id), "--index", "0", "--vote", "yes", *signer)
    sender.receipts(commits)
    finished(cli_commit)
    assert [jury.functions.voteOf(case_id, i).call()[0] for i in range(7)] == [True] * 6 + [False]

    wait_for_block_time(w3, commit_ends)
    cli_reveal = cmnode("jury", "reveal", str(case_id), "--index", "0", "--vote", "yes", *signer)
    sender.receipts([sender.call(seats[i], jury.functions.revealVote(case_id, i, VOTES[i], salts[i]), gas=300_000)
                     for i in range(1, 6)])
    finished(cli_reveal)

    wait_for_block_time(w3, reveal_ends)
    stakes = {a.address: jury.functions.jurorOf(a.address).call()[0] for a in seats}
    (final,) = sender.receipts([sender.call(keeper, jury.functions.finalize(case_id), gas=3_000_000)])
    height = final.blockNumber
    wait_for_height(lambda: w3s[2].eth.block_number, height, 60, lambda: "node 2 fell behind")
    status = cmnode("jury", "status", "--case", str(case_id), "--juror", seated[0], "--json", "--rpc", nodes[2]["rpc"])
    assert jury.functions.caseInfo(case_id).call()[1:4] == [1, 4, 2]
    pot = FEE + 3 * ETHER
    share = pot // 4
    paid = jury.events.JurorPaid().process_receipt(final, errors=DISCARD)
    assert sorted(p.args.juror for p in paid) == sorted(seated[:4]) and {p.args.amount for p in paid} == {share}
    for seat, account in enumerate(seats):
        after = jury.functions.jurorOf(account.address).call(block_identifier=height)[0]
        gained = w3.eth.get_balance(account.address, height) - w3.eth.get_balance(account.address, height - 1)
        if seat < 4:
            assert after == stakes[account.address] and gained == share
        else:
            assert after == stakes[account.address] - ETHER and gained == 0
    gained = w3.eth.get_balance(creator.address, height) - w3.eth.get_balance(creator.address, height - 1)
    assert gained == pot - 4 * share == 1
    owed = sum(sum(jury.functions.jurorOf(a.address).call(block_identifier=height)[:2]) for a in JURORS)
    assert w3.eth.get_balance(JURY, height) == owed

    status = json.loads(finished(status))  # read from another node, which has the final block
    assert status["case"]["ruling"] == 1 and status["case"]["seats"][0]["vote"] == "yes"
    assert status["case"]["seats"][6]["committed"] is False

    assert len(state_roots_at(w3s, height, output)) == 1
