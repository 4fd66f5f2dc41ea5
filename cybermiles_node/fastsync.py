"""The node's side of fast sync: checking and storing blocks without executing them, and the pivot's state.

``FastSync`` is the ``consensus.reactor.sync.FastSyncApp`` of the node:

* ``verify`` runs ``syncpayload.check_payload`` for a fetched block in a pool of
  worker processes (one per core), so the signature recoveries and trie roots
  of several blocks run at once;
* ``store`` writes a verified block with its receipt records and commit through
  ``ChainStore.commit_synced_block`` (fsynced every few blocks) and records the
  validator set its header announces, on the execution thread;
* ``children`` tells the state-sync scheduler what a fetched state record
  refers to: a trie node's children; an account's storage trie and code;
* ``store_state`` and ``finish`` write the fetched records and mark the state
  available from the pivot.

State records are content-addressed in one namespace (py-evm keeps trie nodes
and code under their keccak hashes), so each is stored under the hash it was
asked by, which the scheduler checked.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import rlp
from eth_hash.auto import keccak

from consensus.blocksync import SyncedBlock
from consensus.errors import InvalidBlock
from consensus.statesync import FetchedNode
from cybermiles_node.application import CyberMilesApp
from cybermiles_node.decodepool import start_worker_processes
from vm.syncpayload import HeaderCommitments, PayloadCheck, check_payload
from vm.trie_root import BLANK_ROOT_HASH

log = logging.getLogger(__name__)

EMPTY_CODE_HASH = keccak(b"")
HASH_SIZE = 32
BRANCH_WIDTH = 17
LEAF_FLAGS = (2, 3)  # hex-prefix flags of a leaf's path (even, odd length)


class RecordTag:
    """What a state record is, which says what it refers to."""

    ACCOUNT_NODE = 1
    STORAGE_NODE = 2
    CODE = 3


def _node_references(node: Any) -> tuple[list[bytes], list[bytes]]:
    """The hashes of the child nodes a decoded trie node refers to, and the values of its leaves.

    Children whose encoding is shorter than 32 bytes are embedded in the node
    itself, not stored apart: they are walked in place.
    """
    children: list[bytes] = []
    leaves: list[bytes] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if not isinstance(current, list):
            continue
        if len(current) == BRANCH_WIDTH:
            references = current[:16]
        elif len(current) == 2 and isinstance(current[0], bytes) and current[0]:
            if current[0][0] >> 4 in LEAF_FLAGS:
                if isinstance(current[1], bytes):
                    leaves.append(current[1])
                continue
            references = [current[1]]
        else:
            continue
        for reference in references:
            if isinstance(reference, list):
                pending.append(reference)
            elif isinstance(reference, bytes) and len(reference) == HASH_SIZE:
                children.append(reference)
    return children, leaves


def record_children(node: FetchedNode) -> list[tuple[bytes, int]]:
    """The records a fetched state record refers to, tagged (see ``RecordTag``)."""
    if node.tag == RecordTag.CODE:
        return []
    try:
        decoded = rlp.decode(node.value)
    except rlp.exceptions.RLPException as exc:
        log.error("state record 0x%s is not a trie node: %s", node.hash.hex(), exc)
        return []
    children, leaves = _node_references(decoded)
    found = [(child, node.tag) for child in children]
    if node.tag == RecordTag.ACCOUNT_NODE:
        for leaf in leaves:
            try:
                _nonce, _balance, storage_root, code_hash = rlp.decode(leaf)
            except (rlp.exceptions.RLPException, ValueError) as exc:
                log.error("account leaf in 0x%s is malformed: %s", node.hash.hex(), exc)
                continue
            if storage_root != BLANK_ROOT_HASH:
                found.append((storage_root, RecordTag.STORAGE_NODE))
            if code_hash != EMPTY_CODE_HASH:
                found.append((code_hash, RecordTag.CODE))
    return found


def default_workers() -> ProcessPoolExecutor:
    """Worker processes for payload checks, one per core (``decodepool.start_worker_processes``)."""
    count = max(multiprocessing.cpu_count(), 1)
    workers = start_worker_processes(count)
    empty = HeaderCommitments(0, 0, BLANK_ROOT_HASH, BLANK_ROOT_HASH, 0, 0)
    for _ in range(count):  # start the processes and their imports now, not on the first block
        workers.submit(check_payload, empty, [], [])
    return workers


class FastSync:
    """Checks and stores fast-synced blocks and the pivot's state for a ``CyberMilesApp``."""

    def __init__(self, app: CyberMilesApp, execution: Executor, workers: Executor | None = None) -> None:
        """``execution`` is the node's execution thread (all chain-store writes go through it)."""
        self._app = app
        self._store = app.store
        self._execution = execution
        self._workers = workers or default_workers()

    @property
    def root_tag(self) -> int:
        """A state root is the root node of the account trie."""
        return RecordTag.ACCOUNT_NODE

    async def verify(self, synced: SyncedBlock) -> PayloadCheck:
        """The payload check of a fetched block, run in a worker process; ``InvalidBlock`` if it fails."""
        if synced.receipts is None:
            raise InvalidBlock("came without its receipts")
        header = synced.block.header
        commitments = HeaderCommitments(
            chain_id=self._app.chain_id, base_fee=header.base_fee_per_gas,
            transactions_root=header.transactions_root, receipts_root=header.receipts_root,
            gas_used=header.gas_used, logs_bloom=header.logs_bloom,
        )
        loop = asyncio.get_running_loop()
        verdict: PayloadCheck = await loop.run_in_executor(
            self._workers, check_payload, commitments, list(synced.block.transactions), list(synced.receipts)
        )
        if verdict.problem is not None:
            raise InvalidBlock(verdict.problem)
        return verdict

    async def store(self, blocks: list[tuple[SyncedBlock, object]], durable: bool) -> None:
        """Store verified blocks without state (the last one fsynced if ``durable``) and follow the new head."""
        def write() -> None:
            for index, (synced, verified) in enumerate(blocks):
                assert isinstance(verified, PayloadCheck) and synced.receipts is not None
                block = synced.block
                change = None if synced.next_validators is None else (block.number + 1, synced.next_validators)
                self._store.commit_synced_block(block, synced.receipts, verified.tx_hashes, synced.commit,
                                                validator_set_change=change,
                                                sync=durable and index == len(blocks) - 1)
            self._app.reload_chain_head()

        await asyncio.get_running_loop().run_in_executor(self._execution, write)

    def children(self, node: FetchedNode) -> list[tuple[bytes, int]]:
        """What a fetched state record refers to."""
        return record_children(node)

    async def store_state(self, nodes: list[FetchedNode]) -> None:
        """Store fetched state records under their hashes."""
        records = {node.hash: node.value for node in nodes}
        await asyncio.get_running_loop().run_in_executor(self._execution, self._store.put_state_nodes, records)

    async def finish(self, pivot: int) -> None:
        """Mark the state of ``pivot`` available (fsynced) and end fast sync."""
        def write() -> None:
            self._store.mark_state_available(pivot)
            self._app.reload_chain_head()

        await asyncio.get_running_loop().run_in_executor(self._execution, write)

    def close(self) -> None:
        """Stop the worker processes."""
        self._workers.shutdown(wait=False, cancel_futures=True)
