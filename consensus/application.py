"""The narrow interface between the consensus engine and the application (in the spirit of ABCI).

The engine never sees application state. It asks the application to build a
proposal (``prepare_proposal``), to check one (``process_proposal``), to
finalize a decided block (``finalize_block``: compute only, the result is
cached from ``process_proposal``) and to persist it (``commit``). Validator-set
changes come back from ``finalize_block``. All methods are blocking and are
called by the engine's driver on one dedicated executor thread, in order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consensus.types import Block, Commit, Header
from consensus.validators import Validator, ValidatorSet


@dataclass(frozen=True)
class AppInfo:
    """What the application has committed: the engine resumes from here."""

    last_height: int
    last_header: Header | None


class DecodedTx(Protocol):
    """A transaction as the engine handles it: decoded by the application, opaque to consensus but for its hash."""

    @property
    def hash(self) -> bytes:
        """The transaction's hash."""
        ...


@dataclass(frozen=True)
class ProposalRequest:
    """What the engine fixes in a proposal; the application fills in transactions and post-state."""

    height: int
    timestamp: int
    proposer_address: bytes
    proposer_owner: bytes
    last_commit: Commit
    txs: Sequence[DecodedTx]  # decoded transactions, as the TxSource returned them
    max_bytes: int
    evidence: Sequence[bytes] = ()  # encoded DuplicateVoteEvidence to include


@dataclass(frozen=True)
class FinalizeResult:
    """What a decided block changes for consensus: updates that govern the block two heights later."""

    validator_updates: tuple[Validator, ...] = field(default=())


class Application(Protocol):
    """The replicated state machine driven by the consensus engine."""

    def info(self) -> AppInfo:
        """The last committed height and header."""
        ...

    def prepare_proposal(self, request: ProposalRequest) -> Block:
        """Execute the offered transactions (dropping those that cannot be included) into a full block."""
        ...

    def process_proposal(self, block: Block) -> bool:
        """Re-execute a proposed block; True when its header matches the result."""
        ...

    def finalize_block(self, block: Block) -> FinalizeResult:
        """Results of a decided block (from the cache filled by ``process_proposal``)."""
        ...

    def commit(self, block: Block, commit: Commit) -> None:
        """Persist the decided block with its commit, atomically."""
        ...

    def validators_at(self, height: int) -> ValidatorSet:
        """The validator set that signs block ``height`` (known up to the last committed height + 2)."""
        ...


class TxSource(Protocol):
    """Where a proposer takes transactions from (the mempool), called on the event loop."""

    def reap(self, max_bytes: int) -> list[DecodedTx]:
        """Candidate transactions for the next block, in inclusion order.

        They are the application's decoded transactions (senders already
        recovered by ``check_tx``); the engine passes them through untouched.
        """
        ...

    def has_txs(self) -> bool:
        """Whether any transaction is waiting."""
        ...
