"""The checks over a chaos run's whole history, after the faults healed.

* Agreement: the final chains of all nodes (and every hash seen during the run)
  have one block per height.
* Durability: every acknowledged transaction is in the block its receipt named,
  on every node.
* No double signing: no block carries evidence, no candidacy is jailed, no node logged a double sign,
  and across all nodes' stored commits (each block's ``last_commit`` and each
  node's own seen commit) a validator's precommits for one height and round are
  one and the same signed message; every commit verifies against the validator
  set of its height.
* Clean logs: no traceback in any node's log.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import aiohttp

from consensus.commit import verify_commit
from consensus.errors import InvalidBlock
from consensus.types import Commit
from cybermiles_node.home import NodeHome
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.storage.leveldb import LevelDB
from genesis.loader import load_genesis
from tests.chaos.history import ChainHistory
from tests.chaos.rpc import RpcFailure, batch, call

SCAN_BATCH = 100
DOUBLE_SIGN_MARK = "double signing by validator"
TRACEBACK_MARK = "Traceback"

Precommit = tuple[bytes, int, bytes]  # block hash, timestamp (ms), signature


async def scan_final_chains(session: aiohttp.ClientSession, urls: list[str], upto: int,
                            history: ChainHistory) -> list[int]:
    """Read every node's chain up to height ``upto`` into ``history``, check the acknowledged transactions; the heads.

    ``upto`` is a height every node should have reached (the chain grows meanwhile).
    """
    heads = []
    blocks: dict[tuple[int, int], tuple[str, set[str]]] = {}
    for index, url in enumerate(urls):
        try:
            head = int(str(await call(session, url, "eth_blockNumber")), 16)
            last = min(head, upto)
            for first in range(1, last + 1, SCAN_BATCH):
                numbers = range(first, min(last, first + SCAN_BATCH - 1) + 1)
                found = await batch(session, url, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers], 30)
                for number, block in zip(numbers, found):
                    assert isinstance(block, dict)
                    history.record_block(index, number, str(block["hash"]))
                    blocks[index, number] = (str(block["hash"]), set(map(str, block["transactions"])))
        except RpcFailure as exc:
            history.violations.append(f"node {index} cannot be read at the end: {exc}")
            head = -1
        heads.append(head)
    for entry in history.acknowledged.values():
        for index in range(len(urls)):
            if min(heads[index], upto) < entry.block_number:
                continue  # a node that never got there (a liveness failure, reported as such) lost nothing
            block_hash, transactions = blocks.get((index, entry.block_number), ("", set()))
            if block_hash != entry.block_hash or entry.tx_hash not in transactions:
                history.violations.append(
                    f"acknowledged transaction {entry.tx_hash} (block {entry.block_number} {entry.block_hash}) "
                    f"is not there on node {index} (its block there: {block_hash or 'none'})")
    return heads


async def check_staking(session: aiohttp.ClientSession, urls: list[str], history: ChainHistory) -> None:
    """No candidacy is jailed on any node (downtime jailing is off in these runs: only a double sign jails)."""
    for index, url in enumerate(urls):
        try:
            answer = await call(session, url, "cmt_queryValidators")
        except RpcFailure as exc:
            history.violations.append(f"node {index}: cmt_queryValidators failed at the end: {exc}")
            continue
        assert isinstance(answer, dict) and isinstance(answer["data"], list)
        for candidate in answer["data"]:
            if candidate.get("jailed"):
                history.violations.append(f"node {index}: validator {candidate.get('owner')} is jailed")


def audit_stores(homes: list[Path], history: ChainHistory) -> int:
    """Check evidence and commits in every (stopped) node's database; how many precommits were compared."""
    precommits: dict[tuple[bytes, int, int], set[Precommit]] = defaultdict(set)
    for index, home in enumerate(homes):
        node_home = NodeHome.resolve(home)
        chain_id = load_genesis(node_home.genesis).chain_id
        db = LevelDB(node_home.database)
        try:
            store = ChainStore(db)
            for height in range(1, store.latest_height() + 1):
                block = store.get_block_by_number(height)
                if block is None:
                    history.violations.append(f"node {index}: block {height} missing from its store")
                    continue
                if block.evidence:
                    history.violations.append(f"node {index}: block {height} carries {len(block.evidence)} evidence")
                commits = [(height, store.get_seen_commit(height))]
                if height > 1:
                    commits.append((height - 1, block.last_commit))
                for committed_height, commit in commits:
                    if commit is not None:
                        _check_commit(index, store, chain_id, committed_height, commit, history, precommits)
        finally:
            db.close()
    for (validator, height, round_), signed in sorted(precommits.items()):
        if len(signed) > 1:
            history.violations.append(
                f"validator 0x{validator.hex()} signed {len(signed)} different precommits at height {height} "
                f"round {round_}: {sorted((h.hex(), t) for h, t, _ in signed)}")
    return len(precommits)


def _check_commit(index: int, store: ChainStore, chain_id: int, height: int, commit: Commit, history: ChainHistory,
                  precommits: dict[tuple[bytes, int, int], set[Precommit]]) -> None:
    validators = store.get_validator_set(height)
    block_hash = store.get_hash_by_number(height)
    if validators is None or block_hash is None:
        history.violations.append(f"node {index}: no validator set or block for the commit of height {height}")
        return
    try:
        verify_commit(commit, validators, chain_id, height, block_hash)
    except InvalidBlock as exc:
        history.violations.append(f"node {index}: commit of height {height} does not verify: {exc}")
    for signature in commit.signatures:
        precommits[signature.validator_address, height, commit.round].add(
            (commit.block_hash, signature.timestamp_ms, signature.signature))


def check_logs(logs: list[Path], history: ChainHistory) -> list[str]:
    """A double sign logged by any node is a safety violation (into ``history``); tracebacks are returned."""
    tracebacks = []
    for index, path in enumerate(logs):
        text = path.read_text(errors="replace") if path.exists() else ""
        if DOUBLE_SIGN_MARK in text:
            history.violations.append(f"node {index}'s log reports double signing (see {path.name})")
        if TRACEBACK_MARK in text:
            tracebacks.append(f"node {index}'s log has {text.count(TRACEBACK_MARK)} traceback(s) (see {path.name})")
    return tracebacks
