"""What the JSON-RPC server needs from the node: the ``Backend`` protocol and its data types.

The server owns request parsing, block-tag resolution, limits and the
Ethereum JSON shapes; the backend answers plain questions about the chain,
the state, the mempool and the network. The node implements ``Backend``; the
server never imports the node.

Conventions for implementers:

* Coroutine methods may run blocking reads (LevelDB, py-evm) on an executor
  thread; they are awaited on the server's event loop.
* Heights given to the backend are resolved and checked by the server: they
  are never above ``latest_height()`` at the time of the check. State that is
  not available for a height is reported with ``rpc.errors.ResourceNotFound``.
* Errors are reported by raising ``rpc.errors`` types (``ExecutionReverted``,
  ``TransactionRejected``, ``ResourceNotFound``, ``LimitExceeded``) or
  ``vm.errors.InvalidTransaction`` (answered as ``-32000`` with its message).
  Any other exception becomes an internal error whose details are only logged.
* Addresses and hashes are raw bytes (20 and 32 bytes); amounts are ints.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from eth.abc import SignedTransactionAPI

from consensus.types import Block
from vm.access_list import AccessListOutcome
from vm.logs import BlockLog, LogFilter
from vm.overrides import NO_OVERRIDES, BlockOverrides, CallOverrides, StateOverrides
from vm.proofs import AccountProof
from vm.receipts import Log, Receipt
from vm.simulation import SimulatedBlock
from vm.tracing.session import BlockTraces, TraceSpec, TransactionTrace

EXECUTION_REVERTED = "execution reverted"


@dataclass(frozen=True)
class CallRequest:
    """A message call for ``eth_call`` / ``eth_estimateGas`` (the ``GenericTransaction`` schema).

    Missing fields are None (``value`` and ``data`` default to empty); the
    backend picks defaults (sender zero address, gas cap, zero gas price).
    """

    sender: bytes | None = None
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = ()
    nonce: int | None = None


@dataclass(frozen=True)
class CallResult:
    """The outcome of executing a ``CallRequest`` without committing it.

    ``error`` is None on success. After a ``REVERT`` it is exactly
    ``EXECUTION_REVERTED`` and ``output`` holds the revert data; any other
    failure (out of gas, invalid opcode, ...) carries geth's message.
    """

    success: bool
    output: bytes
    gas_used: int
    error: str | None = None

    @property
    def reverted(self) -> bool:
        """True when the call ended in ``REVERT`` (``output`` is then the revert data)."""
        return not self.success and self.error == EXECUTION_REVERTED


@dataclass(frozen=True)
class SimulatedBlockRequest:
    """One block of ``eth_simulateV1``: block overrides (None: the defaults), state overrides, calls."""

    block: BlockOverrides | None
    state: StateOverrides
    calls: tuple[CallRequest, ...]


@dataclass(frozen=True)
class SimulationRequest:
    """An ``eth_simulateV1`` payload: its blocks and whether calls must be valid transactions."""

    blocks: tuple[SimulatedBlockRequest, ...]
    validation: bool = False
    trace_transfers: bool = False


@dataclass(frozen=True)
class LogSearch:
    """A resolved log query: an inclusive height range and the filter its logs pass.

    ``max_results`` bounds the answer: the backend stops after collecting
    ``max_results + 1`` logs, so that the server can report that the limit was exceeded.
    """

    from_block: int
    to_block: int
    log_filter: LogFilter = LogFilter()
    max_results: int = 10_000


@dataclass(frozen=True)
class TxContext:
    """Where a mined transaction sits, for the contextual fields of a transaction object."""

    block_hash: bytes
    block_number: int
    block_timestamp: int
    index: int
    base_fee: int

    @classmethod
    def in_block(cls, block: Block, index: int) -> TxContext:
        """The context of the ``index``-th transaction of ``block``."""
        header = block.header
        return cls(header.hash, header.number, header.timestamp, index, header.base_fee_per_gas)


@dataclass(frozen=True)
class MinedTransaction:
    """A committed transaction (decoded, sender recovered) and where it sits."""

    tx: SignedTransactionAPI
    context: TxContext


@dataclass(frozen=True)
class MinedReceipt:
    """A committed transaction's receipt, its block, and the block-wide index of its first log."""

    receipt: Receipt
    block_hash: bytes
    block_number: int
    first_log_index: int


@dataclass(frozen=True)
class SyncStatus:
    """Block-sync progress while the node catches up (``eth_syncing``)."""

    starting_block: int
    current_block: int
    highest_block: int


@dataclass(frozen=True)
class ConsensusStatus:
    """Where consensus is: the committed height, and the round and step of the next height."""

    height: int
    round: int
    step: str
    validator: bytes | None
    node_id: str | None
    moniker: str


@dataclass(frozen=True)
class DposDescription:
    """What a candidate says about itself."""

    name: str
    website: str
    location: str
    email: str
    profile: str


@dataclass(frozen=True)
class DposCandidate:
    """A staking candidacy at some block; ``state`` is ``validator``, ``backup`` or ``candidate``.

    ``rank`` is the position in the elected set (validators first, from 0);
    None for a candidate that is not elected. Amounts are wei.
    """

    candidate_id: int
    owner: bytes
    pub_key: bytes
    pending_pub_key: bytes | None
    pending_owner: bytes | None
    max_amount: int
    commission_bp: int
    self_stake: int
    stake: int
    pending_reward: int
    voting_power: int
    verified: bool
    active: bool
    jailed: bool
    missed_blocks: int
    delegator_count: int
    declared_at: int
    state: str
    rank: int | None
    description: DposDescription


@dataclass(frozen=True)
class DposDelegation:
    """``amount`` wei of ``delegator`` bonded to the candidacy owned by ``candidate``."""

    candidate: bytes
    candidate_id: int
    delegator: bytes
    amount: int
    commission_bp: int
    rewarded: int
    slashed: int


@dataclass(frozen=True)
class DposUnbonding:
    """A pending unbonding: paid to its delegator at block time ``mature_time``."""

    seq: int
    candidate: bytes
    candidate_id: int
    amount: int
    mature_time: int


@dataclass(frozen=True)
class DposDelegator:
    """A delegator's delegations (by candidacy id) and pending unbondings (by sequence number)."""

    address: bytes
    delegations: tuple[DposDelegation, ...]
    unbondings: tuple[DposUnbonding, ...]


@dataclass(frozen=True)
class DposAward:
    """What the candidacy owned by ``owner`` was credited by the latest block that paid awards (wei)."""

    owner: bytes
    candidate_id: int
    amount: int


@dataclass(frozen=True)
class DposAbsence:
    """A member of the elected set that missed ``missed_blocks`` consecutive blocks."""

    owner: bytes
    pub_key: bytes
    missed_blocks: int


@dataclass(frozen=True)
class DposVote:
    """One voter's answer (``yes``, ``no``, ``abstain``) and its voting power when cast."""

    voter: bytes
    answer: str
    power: int


@dataclass(frozen=True)
class DposProposal:
    """A governance proposal: ``kind`` ``transfer`` (``to``, ``amount``) or ``param`` (``name``, ``value``).

    ``status`` is ``pending``, ``approved``, ``rejected``, ``expired``,
    ``executed`` or ``failed``; times are block times in seconds
    (``decided_at`` 0 while pending).
    """

    proposal_id: int
    kind: str
    proposer: bytes
    reason: str
    to: bytes | None
    amount: int
    name: str
    value: str
    status: str
    created_at: int
    expire_at: int
    decided_at: int
    detail: str
    votes: tuple[DposVote, ...]


@dataclass(frozen=True)
class DposParam:
    """A chain parameter in force: integers as ints, booleans as bools, addresses as 20 bytes."""

    name: str
    value: int | bool | bytes


@dataclass(frozen=True)
class DposSupply:
    """Where the CMT is (wei): ``total`` is genesis + minted - burned; ``circulating`` excludes the rest."""

    total: int
    minted: int
    burned: int
    bonded: int
    unbonding: int
    rewards: int
    locked: int
    reserve: int
    circulating: int


BlockListener = Callable[[Block, Sequence[Receipt]], None]

PendingListener = Callable[[SignedTransactionAPI], None]
"""Called with each transaction the mempool admits (decoded, its sender recovered)."""


@dataclass(frozen=True)
class PoolContent:
    """Mempool transactions by sender and nonce, both ascending: executable (``pending``) and behind a gap."""

    pending: Mapping[bytes, Mapping[int, SignedTransactionAPI]]
    queued: Mapping[bytes, Mapping[int, SignedTransactionAPI]]


@dataclass(frozen=True)
class PoolStatus:
    """How many transactions the mempool holds: executable and queued behind a nonce gap."""

    pending: int
    queued: int


@dataclass(frozen=True)
class ContentId:
    """A file's IPFS CIDv1 as the node computes it (``docs/ipfs.md``): text form, codec, sha2-256 digest."""

    cid: str
    codec: str
    digest: bytes


class Backend(Protocol):
    """The node as seen by the JSON-RPC server."""

    def chain_id(self) -> int:
        """The EIP-155 chain id (constant for the process)."""
        ...

    async def client_version(self) -> str:
        """``web3_clientVersion``, e.g. ``cmnode/v0.1.0/linux-x86_64/python3.11``."""
        ...

    async def peer_count(self) -> int:
        """Number of connected p2p peers."""
        ...

    async def syncing(self) -> SyncStatus | None:
        """Sync progress, or None when the node is at the head of the chain."""
        ...

    async def latest_height(self) -> int:
        """Height of the last committed block (final: the chain never reorganises)."""
        ...

    async def consensus_status(self) -> ConsensusStatus:
        """The consensus state for ``cmt_status``."""
        ...

    async def get_block_by_number(self, number: int) -> Block | None:
        """The committed block at ``number``, or None."""
        ...

    async def get_block_by_hash(self, block_hash: bytes) -> Block | None:
        """The committed block with header hash ``block_hash``, or None."""
        ...

    async def get_receipts(self, block_hash: bytes) -> Sequence[Receipt] | None:
        """The receipts of a committed block in transaction order, or None if the block is unknown."""
        ...

    async def get_block_events(self, block_hash: bytes) -> Sequence[Log]:
        """The events of a committed block's begin/end hooks (rewards, timers, elections), in order."""
        ...

    async def get_mined_transaction(self, tx_hash: bytes) -> MinedTransaction | None:
        """A committed transaction, or None; its cost does not grow with the size of its block."""
        ...

    async def get_mined_receipt(self, tx_hash: bytes) -> MinedReceipt | None:
        """The receipt of a committed transaction, or None; its cost does not grow with the size of its block."""
        ...

    async def get_pending_transaction(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        """A transaction waiting in the mempool (a decoded py-evm transaction), or None."""
        ...

    async def get_balance(self, address: bytes, height: int) -> int:
        """Balance in wei after block ``height``."""
        ...

    async def get_nonce(self, address: bytes, height: int) -> int:
        """Account nonce after block ``height``."""
        ...

    async def pending_nonce(self, address: bytes) -> int:
        """The next nonce for ``address`` counting its executable mempool transactions."""
        ...

    async def get_code(self, address: bytes, height: int) -> bytes:
        """Contract code after block ``height`` (empty for an account without code)."""
        ...

    async def get_storage_at(self, address: bytes, slot: int, height: int) -> int:
        """The storage word at ``slot`` after block ``height``."""
        ...

    async def call(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> CallResult:
        """Execute ``request`` on the state after block ``height`` (with ``overrides``) and discard the changes.

        Raises ``TransactionRejected`` when the call cannot start (e.g.
        ``insufficient funds for gas * price + value``).
        """
        ...

    async def estimate_gas(self, request: CallRequest, height: int, overrides: CallOverrides = NO_OVERRIDES) -> int:
        """The smallest gas limit with which ``request`` succeeds on the state after ``height`` (with ``overrides``).

        Raises ``ExecutionReverted`` (with the revert data) when it reverts at
        any gas, ``TransactionRejected`` for other failures (geth wording,
        e.g. ``gas required exceeds allowance (30000000)``).
        """
        ...

    async def create_access_list(self, request: CallRequest, height: int,
                                 overrides: CallOverrides = NO_OVERRIDES) -> AccessListOutcome:
        """The access list of ``request`` on the state after ``height`` and the outcome of a run with it."""
        ...

    async def get_proof(self, address: bytes, slots: Sequence[int], height: int) -> AccountProof:
        """The EIP-1186 proof of ``address`` and ``slots`` in the state after block ``height``."""
        ...

    async def simulate(self, request: SimulationRequest, height: int) -> Sequence[SimulatedBlock]:
        """Simulate ``request``'s blocks on top of block ``height``; nothing is kept.

        Raises ``vm.simulation.SimulationError`` when a call cannot start
        (invalid nonce, funds, gas) and ``ServerError`` past the call deadline.
        """
        ...

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        """Add a signed, canonically encoded transaction to the mempool; return its hash.

        Raises ``TransactionRejected`` or ``vm.errors.InvalidTransaction``
        worded as geth words it (``nonce too low``, ``already known``, ...).
        """
        ...

    async def gas_price(self) -> int:
        """Suggested legacy gas price in wei (``eth_gasPrice``): next base fee plus tip."""
        ...

    async def max_priority_fee(self) -> int:
        """Suggested priority fee per gas in wei (``eth_maxPriorityFeePerGas``)."""
        ...

    async def next_base_fee(self) -> int:
        """Base fee per gas of the next block."""
        ...

    async def get_logs(self, query: LogSearch) -> Sequence[BlockLog]:
        """Committed logs matching ``log_filter``, ordered by block then log index.

        The server has already bounded the range; the backend returns at most
        ``log_filter.max_results + 1`` entries.
        """
        ...

    # -- tracing (``debug_trace*``, ``trace_*``) ---------------------------------------

    async def trace_block(self, height: int, spec: TraceSpec, with_hooks: bool = False) -> BlockTraces:
        """Replay block ``height`` and trace each of its transactions as ``spec`` says.

        ``with_hooks`` also reports what the begin/end-block hooks changed. Raises
        ``ServerError`` past ``spec.timeout_seconds`` and ``LimitExceeded`` when a
        trace outgrows its bounds.
        """
        ...

    async def trace_transaction(self, tx_hash: bytes, spec: TraceSpec) -> BlockTraces | None:
        """The trace of a committed transaction (its block replayed up to it), or None if unknown."""
        ...

    async def trace_call(self, request: CallRequest, height: int, spec: TraceSpec) -> TransactionTrace:
        """Trace ``request`` run as ``eth_call`` on the state after block ``height``."""
        ...

    # -- delegated proof of stake (``cmt_query*``) -----------------------------------

    async def dpos_candidates(self, height: int) -> Sequence[DposCandidate]:
        """Every candidacy after block ``height``: validators and backups in rank order, then the rest by id."""
        ...

    async def dpos_candidate(self, owner: bytes, height: int) -> DposCandidate | None:
        """The candidacy owned by ``owner`` after block ``height``, or None."""
        ...

    async def dpos_delegator(self, delegator: bytes, height: int) -> DposDelegator:
        """The delegations and pending unbondings of ``delegator`` after block ``height`` (possibly none)."""
        ...

    async def dpos_awards(self, height: int) -> Sequence[DposAward]:
        """The awards of the latest block at or before ``height`` that paid awards."""
        ...

    async def dpos_absent_validators(self, height: int) -> Sequence[DposAbsence]:
        """Members of the elected set with consecutive missed blocks after block ``height``."""
        ...

    async def dpos_proposals(self, height: int, limit: int) -> Sequence[DposProposal]:
        """The pending proposals and the ``limit`` most recent ones after block ``height``, by id."""
        ...

    async def dpos_params(self, height: int) -> Sequence[DposParam]:
        """The chain parameters in force after block ``height``, in table order."""
        ...

    async def dpos_supply(self, height: int) -> DposSupply:
        """The supply breakdown after block ``height``."""
        ...

    def add_block_listener(self, listener: BlockListener) -> Callable[[], None]:
        """Call ``listener(block, receipts)`` after each block is committed; return a remover.

        Listeners are called on the server's event loop thread, once per block
        in height order, and must not block. Calling the returned function
        stops the notifications.
        """
        ...

    def add_pending_listener(self, listener: PendingListener) -> Callable[[], None]:
        """Call ``listener(tx)`` for each transaction the mempool admits (over RPC or from a peer); return a remover.

        Called on the server's event loop thread; listeners must not block.
        """
        ...

    async def txpool_content(self, sender: bytes | None = None) -> PoolContent:
        """The mempool's transactions, or only those of ``sender``."""
        ...

    async def txpool_status(self) -> PoolStatus:
        """The mempool's pending and queued counts."""
        ...

    async def content_id(self, content: bytes) -> ContentId:
        """The IPFS CIDv1 of a file holding ``content``, as ``cmnode ipfs cid`` computes it."""
        ...
