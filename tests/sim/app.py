"""A tiny deterministic application: blocks of pseudo-transactions over a fake state root.

Blocks are real ``consensus.types.Block`` objects. The "state root" of a block
is the hash of its parent's state root and its transactions, so a block's
validity is checkable from the parent alone: right height and parent, linked
last commit, consistent roots, well-formed transactions and evidence.
"""
from __future__ import annotations

from collections.abc import Callable

import rlp
from eth_hash.auto import keccak

from consensus.evidence import DuplicateVoteEvidence, InvalidEvidence
from consensus.messages import Verifier
from consensus.types import (
    EMPTY_COMMIT,
    EMPTY_OMMERS_HASH,
    ZERO_HASH32,
    Block,
    Commit,
    Header,
    evidence_root,
)
from consensus.validators import ValidatorSet

ValidatorSchedule = Callable[[int], ValidatorSet]
"""The validator set of a height."""

GENESIS_STATE_ROOT = keccak(b"sim genesis state")
GENESIS_HASH = keccak(b"sim genesis block")
TX_PREFIX = b"tx:"


def state_root_after(parent_state_root: bytes, transactions: list[bytes]) -> bytes:
    """The fake post-state of applying ``transactions`` on ``parent_state_root``."""
    return keccak(parent_state_root + rlp.encode(transactions))


class SimChain:
    """One node's committed chain (what its disk would hold): blocks and the commits that finalised them."""

    def __init__(self, chain_id: int, validators: ValidatorSchedule, verifier: Verifier) -> None:
        self.chain_id = chain_id
        self.validators = validators
        self.verifier = verifier
        self.blocks: list[Block] = []
        self.commits: list[Commit] = []

    @property
    def height(self) -> int:
        """Last committed height (0 before the first block)."""
        return len(self.blocks)

    @property
    def tip_hash(self) -> bytes:
        """Hash of the last committed block (the genesis hash before the first)."""
        return self.blocks[-1].hash if self.blocks else GENESIS_HASH

    @property
    def tip_state_root(self) -> bytes:
        """State root after the last committed block."""
        return self.blocks[-1].header.state_root if self.blocks else GENESIS_STATE_ROOT

    @property
    def last_commit(self) -> Commit:
        """The commit of the last block (the next block's ``last_commit``)."""
        return self.commits[-1] if self.commits else EMPTY_COMMIT

    def commit(self, block: Block, commit: Commit) -> None:
        """Append a decided block."""
        if block.number != self.height + 1:
            raise ValueError(f"block {block.number} does not extend height {self.height}")
        self.blocks.append(block)
        self.commits.append(commit)

    def build(self, proposer: bytes, timestamp_s: int, tag: bytes, evidence: list[bytes]) -> Block:
        """The next block, with a few pseudo-transactions named after ``tag``."""
        height = self.height + 1
        transactions = [TX_PREFIX + b"%d:%s:%d" % (height, tag, i) for i in range(1 + len(tag) % 3)]
        parent_time = self.blocks[-1].header.timestamp if self.blocks else 0
        header = Header(
            parent_hash=self.tip_hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=proposer,
            state_root=state_root_after(self.tip_state_root, transactions),
            transactions_root=keccak(rlp.encode(transactions)), receipts_root=ZERO_HASH32,
            logs_bloom=0, difficulty=0, number=height, gas_limit=30_000_000, gas_used=0,
            timestamp=max(parent_time, timestamp_s), extra_data=b"", mix_hash=self.tip_hash,
            nonce=b"\x00" * 8, base_fee_per_gas=0, chain_id=self.chain_id, proposer_address=proposer,
            validators_hash=self.validators(height).hash, next_validators_hash=self.validators(height + 1).hash,
            last_commit_hash=self.last_commit.hash, evidence_hash=evidence_root(evidence),
            randao_reveal=b"\x00" * 32,
        )
        return Block(header=header, transactions=transactions, last_commit=self.last_commit, evidence=evidence)

    def is_valid(self, block: Block) -> bool:
        """Whether ``block`` is a valid next block on this chain."""
        header = block.header
        parent_time = self.blocks[-1].header.timestamp if self.blocks else 0
        if (header.number, header.parent_hash, header.chain_id) != (self.height + 1, self.tip_hash, self.chain_id):
            return False
        if header.timestamp < parent_time or header.validators_hash != self.validators(header.number).hash:
            return False
        if header.next_validators_hash != self.validators(header.number + 1).hash:
            return False
        if not all(tx.startswith(TX_PREFIX) for tx in block.transactions):
            return False
        if header.transactions_root != keccak(rlp.encode(list(block.transactions))):
            return False
        if header.state_root != state_root_after(self.tip_state_root, list(block.transactions)):
            return False
        expected_last = self.blocks[-1].hash if self.blocks else ZERO_HASH32
        if block.last_commit.block_hash != expected_last or header.last_commit_hash != block.last_commit.hash:
            return False
        if header.evidence_hash != evidence_root(block.evidence):
            return False
        try:
            for item in block.evidence:
                evidence = DuplicateVoteEvidence.decode(item)
                evidence.verify(self.chain_id, self.validators(evidence.height), self.verifier)
        except InvalidEvidence:
            return False
        return True
