"""The CyberMiles application: the state machine the consensus engine drives.

Implements ``consensus.application.Application`` with the VM, the native
contracts and the chain store. A proposal is executed once: the proposer's
``prepare_proposal`` result is cached by block hash, so ``process_proposal``,
``finalize_block`` and ``commit`` of the same block reuse it. ``commit`` hands
the block, its receipts, its commit and the state writes of its execution to
storage as one atomic batch.

Validator sets: the set of every height is known two blocks ahead. The
updates the native contracts return at the end of block H govern block H + 2
(``consensus.validators``); ``commit`` stores the new set with the block, and
``validators_at`` answers for any height up to the last committed one + 2.
The native contracts' block hooks learn, from each block, its proposer, which
validators signed its parent (its last commit) and which did not, and who its
evidence proves double-signed.
"""
from __future__ import annotations

import functools
import logging
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import SignedTransactionAPI
from eth.db.account import AccountDB
from eth_hash.auto import keccak

from consensus.application import AppInfo, FinalizeResult, ProposalRequest
from consensus.errors import InvalidBlock, InvalidValidatorUpdate, ProposalUnavailable
from consensus.evidence import DuplicateVoteEvidence
from consensus.types import (
    EMPTY_COMMIT,
    EMPTY_OMMERS_HASH,
    ZERO_HASH32,
    Block,
    Commit,
    Header,
    evidence_root,
)
from consensus.validators import Validator, ValidatorSet
from consensus.validity import validate_block
from cybermiles_node.beacon import ProposerSlots, RevealSource, beacon_reader, next_prev_randao
from cybermiles_node.devblocks import DevBlockBuilder
from cybermiles_node.errors import GenesisMismatch
from cybermiles_node.natives import check_genesis, genesis_accounts, governed_params, native_contracts
from cybermiles_node.storage.chainstore import ChainStore
from cybermiles_node.txcache import DecodedTxCache
from genesis.document import GenesisDocument
from middleware.randomness.errors import RevealUnavailable
from vm.errors import BlockExecutionError, InvalidTransaction
from vm.execution import BlockEnv, ChainExecutor, ExecutionResult
from vm.fees import FeeParams, next_base_fee
from vm.native.addresses import STAKING_ADDRESS
from vm.native.hooks import ConsensusInfo, Misbehaviour
from vm.receipts import Receipt
from vm.transactions import DecodeFailure, DecodeOutcome, decode_batch
from vm.trie_root import BLANK_ROOT_HASH

log = logging.getLogger(__name__)

GENESIS_EXTRA_DATA = b"CyberMiles genesis"
MAX_CACHED_RESULTS = 8


def genesis_validator_set(genesis: GenesisDocument) -> ValidatorSet:
    """The validator set named by the genesis document."""
    return ValidatorSet.of([Validator(v.pub_key, v.power, v.owner) for v in genesis.validators])


@dataclass(frozen=True)
class _Executed:
    block: Block
    result: ExecutionResult
    dev_record: bytes | None = None
    seconds: float = 0.0  # how long executing the block took


class CyberMilesApp:
    """The application behind the consensus engine (blocking; called from one executor thread)."""

    def __init__(self, store: ChainStore, genesis: GenesisDocument, executor: ChainExecutor | None = None,
                 decoded_txs: DecodedTxCache | None = None) -> None:
        """``decoded_txs`` lends the transactions the mempool already decoded, to check proposals faster."""
        self.store = store
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        check_genesis(genesis)
        self.executor = executor or ChainExecutor(native_contracts(genesis))
        self.decoded_txs = decoded_txs or DecodedTxCache()
        # decodes the transactions of a block this node did not admit (the node lends its worker processes)
        self.decode_txs: Callable[[Sequence[bytes]], list[DecodeOutcome]] = functools.partial(
            decode_batch, chain_id=self.chain_id)
        self._validator_sets: list[tuple[int, ValidatorSet]] = []
        self.fee_params = FeeParams(
            min_base_fee=genesis.params.min_gas_price,
            elasticity_multiplier=genesis.params.elasticity_multiplier,
            max_change_denominator=genesis.params.base_fee_max_change_denominator,
        )
        self._cache: OrderedDict[bytes, _Executed] = OrderedDict()
        self.last_receipts: tuple[Receipt, ...] = ()
        self.last_execution_seconds = 0.0  # of the last committed block (monitoring)
        self.last_store_seconds = 0.0  # writing the last committed block's batch
        self.dev_blocks: DevBlockBuilder | None = None  # set on a development chain (``cmnode start --dev``)
        self.reveals: RevealSource | None = None  # this validator's randomness reveals (set by the node)
        if store.latest_height() < 0:
            self._init_chain()
        else:
            self._check_same_genesis()
        self._validator_sets = store.validator_set_changes()
        self._proposer_slots = ProposerSlots(store, self.validators_at)
        self.latest_header: Header = store.get_header_by_number(store.latest_height())  # type: ignore[assignment]

    # -- genesis -------------------------------------------------------------------

    def _init_chain(self) -> None:
        root, writes = self.executor.genesis_state(self.store.state_db(), genesis_accounts(self.genesis))
        validators = genesis_validator_set(self.genesis)
        validators_hash = validators.hash
        header = Header(
            parent_hash=ZERO_HASH32,
            ommers_hash=EMPTY_OMMERS_HASH,
            coinbase=b"\x00" * 20,
            state_root=root,
            transactions_root=BLANK_ROOT_HASH,
            receipts_root=BLANK_ROOT_HASH,
            logs_bloom=0,
            difficulty=0,
            number=0,
            gas_limit=self.genesis.params.gas_limit,
            gas_used=0,
            timestamp=self.genesis.genesis_time,
            extra_data=GENESIS_EXTRA_DATA,
            mix_hash=self.genesis.hash(),
            nonce=b"\x00" * 8,
            base_fee_per_gas=self.genesis.params.initial_base_fee,
            chain_id=self.chain_id,
            proposer_address=b"\x00" * 20,
            validators_hash=validators_hash,
            next_validators_hash=validators_hash,
            last_commit_hash=ZERO_HASH32,
            evidence_hash=evidence_root([]),
            randao_reveal=ZERO_HASH32,
        )
        block = Block(header=header, transactions=[], last_commit=EMPTY_COMMIT, evidence=[])
        self.store.commit_block(block, [], None, _puts_only(writes), validator_set_change=(1, validators))
        log.info("initialised chain %d: genesis block 0x%s", self.chain_id, header.hash.hex())

    def _check_same_genesis(self) -> None:
        """Refuse a genesis document other than the one the stored chain began with.

        The stored genesis block carries the document's hash as its ``mix_hash``
        and its chain id; a changed allocation, parameter or chain id would
        otherwise run on silently over state and blocks made under the old one.
        """
        stored = self.store.get_header_by_number(0)
        if stored is None:
            return  # a store without a genesis block fails its own integrity check first
        expected = self.genesis.hash()
        if stored.mix_hash != expected or stored.chain_id != self.chain_id:
            raise GenesisMismatch(
                f"genesis.json (hash 0x{expected.hex()}, chain id {self.chain_id}) is not the genesis this "
                f"database was created with (hash 0x{stored.mix_hash.hex()}, chain id {stored.chain_id}): "
                "restore the original genesis.json, or start a new chain in a new home"
            )

    # -- consensus interface -------------------------------------------------------

    def info(self) -> AppInfo:
        """The last committed height and header."""
        return AppInfo(last_height=self.latest_header.number, last_header=self.latest_header)

    def validators_at(self, height: int) -> ValidatorSet:
        """The validator set that signs block ``height`` (known up to the last committed height + 2)."""
        if height > self.latest_header.number + 2:
            raise InvalidBlock(f"the validator set of height {height} is not known yet")
        index = bisect_right(self._validator_sets, max(height, 1), key=lambda change: change[0])
        return self._validator_sets[max(index, 1) - 1][1]

    @property
    def validators(self) -> ValidatorSet:
        """The validator set of the next block."""
        return self.validators_at(self.latest_header.number + 1)

    def next_base_fee(self) -> int:
        """Base fee of the block after the latest committed one."""
        parent = self.latest_header
        return next_base_fee(parent.base_fee_per_gas, parent.gas_used, parent.gas_limit, self.fee_params)

    def block_env(self, parent: Header, number: int, timestamp: int, coinbase: bytes,
                  consensus: ConsensusInfo | None = None) -> BlockEnv:
        """The execution environment of the block after ``parent``."""
        return BlockEnv(
            number=number,
            timestamp=timestamp,
            coinbase=coinbase,
            gas_limit=self.gas_limit_after(parent),
            base_fee=next_base_fee(parent.base_fee_per_gas, parent.gas_used, parent.gas_limit, self.fee_params),
            prev_randao=next_prev_randao(self.account_db(parent.state_root), parent.number, parent.hash),
            chain_id=self.chain_id,
            recent_hashes=tuple(self.store.recent_hashes(parent.number)),
            max_tx_gas=self.genesis.params.max_gas_per_tx,
            consensus=consensus or ConsensusInfo(),
        )

    def gas_limit_after(self, parent: Header) -> int:
        """The gas limit of the block after ``parent``: governance's ``block_gas_limit`` in force in the parent's
        state, or the genesis document's ``params.gas_limit`` while that is 0."""
        governed = governed_params(self.account_db(parent.state_root)).block_gas_limit
        return governed or self.genesis.params.gas_limit

    def consensus_info(self, number: int, proposer_address: bytes, last_commit: Commit,
                       evidence: list[bytes], reveal: bytes = ZERO_HASH32) -> ConsensusInfo:
        """What block ``number``'s hooks learn: its proposer, its parent's signers and absentees, double-signers,
        the proposer's randomness reveal and who missed a proposer slot at the parent height."""
        validators = self.validators_at(number)
        proposer = validators.by_address(proposer_address)
        signed: list[bytes] = []
        absent: list[bytes] = []
        if number > 1:
            signers = {sig.validator_address for sig in last_commit.signatures}
            for validator in self.validators_at(number - 1).validators:
                (signed if validator.address in signers else absent).append(validator.pub_key)
        misbehaviour = []
        for encoded in evidence:
            found = DuplicateVoteEvidence.decode(encoded)
            offender = self.validators_at(found.height).by_address(found.validator_address)
            if offender is not None:
                misbehaviour.append(Misbehaviour(offender.pub_key, found.height))
        return ConsensusInfo(
            proposer=proposer.pub_key if proposer is not None else b"",
            signed=tuple(signed),
            absent=tuple(absent),
            misbehaviour=tuple(misbehaviour),
            reveal=reveal,
            missed_proposers=self._proposer_slots.missed(number - 1, last_commit.round) if number > 1 else (),
        )

    def prepare_proposal(self, request: ProposalRequest) -> Block:
        """Execute the offered transactions into a full block whose header carries the post-state."""
        parent = self.latest_header
        info = self.consensus_info(request.height, request.proposer_address, request.last_commit,
                                   list(request.evidence), self._reveal(parent, request.proposer_address))
        env = self.block_env(parent, request.height, request.timestamp, STAKING_ADDRESS, info)
        dev_record = None
        started = time.perf_counter()
        if self.dev_blocks is not None:
            result, dev_record = self.dev_blocks.execute(
                self.executor, self.store.state_db(), parent.state_root, env, list(request.txs))
        else:
            result = self.executor.execute_block(
                self.store.state_db(), parent.state_root, env, list(request.txs), strict=False
            )
        for tx_hash, reason in result.rejected:
            log.debug("left out tx 0x%s: %s", tx_hash.hex(), reason)
        header = self._header(parent, env, request.proposer_address, request.last_commit, request.evidence, result)
        block = Block(header=header, transactions=list(result.transactions), last_commit=request.last_commit,
                      evidence=list(request.evidence))
        self._remember(block, result, dev_record, time.perf_counter() - started)
        return block

    def process_proposal(self, block: Block) -> bool:
        """Re-execute a proposal (unless this node built it) and compare with its header."""
        if block.hash in self._cache:
            return True
        try:
            self._verify(block)
        except (BlockExecutionError, InvalidTransaction, InvalidBlock) as exc:
            log.warning("rejected proposal %d 0x%s: %s", block.number, block.hash.hex(), exc)
            return False
        return True

    def finalize_block(self, block: Block) -> FinalizeResult:
        """Results of a decided block: the validator-set updates it made (they govern block number + 2)."""
        if block.hash not in self._cache:
            self._verify(block)
        updates = self._cache[block.hash].result.validator_updates
        return FinalizeResult(tuple(Validator(u.pub_key, u.power, u.owner) for u in updates))

    def commit(self, block: Block, commit: Commit) -> None:
        """Persist the decided block, its receipts, commit and state in one atomic batch."""
        executed = self._cache.get(block.hash)
        if executed is None:
            self._verify(block)
            executed = self._cache[block.hash]
        change = self._validator_set_change(block, executed.result)
        started = time.perf_counter()
        self.store.commit_block(
            block, list(executed.result.receipts), commit, _puts_only(executed.result.state_writes),
            block_events=executed.result.block_events, validator_set_change=change,
            dev_record=executed.dev_record,
        )
        self.last_store_seconds = time.perf_counter() - started
        self.last_execution_seconds = executed.seconds
        self._cache.clear()
        if change is not None:
            self._validator_sets.append(change)
            log.info("validator set changes at height %d: %d validators, total power %d",
                     change[0], len(change[1].validators), change[1].total_power)
        self.latest_header = block.header
        self.last_receipts = executed.result.receipts
        self.decoded_txs.discard(receipt.tx_hash for receipt in executed.result.receipts)

    def reload_chain_head(self) -> None:
        """Re-read the latest header and the validator-set schedule from the store.

        For blocks stored without execution (fast sync): their validator sets come from
        the headers that announce them rather than from this application's results.
        """
        self._validator_sets = self.store.validator_set_changes()
        self.latest_header = self.store.get_header_by_number(self.store.latest_height())  # type: ignore[assignment]
        self._cache.clear()

    # -- queries -------------------------------------------------------------------

    def account_db(self, state_root: bytes) -> AccountDB:
        """A read-only view of accounts at ``state_root``."""
        return AccountDB(self.store.state_db(), state_root)

    # -- internals -----------------------------------------------------------------

    def _validator_set_change(self, block: Block, result: ExecutionResult) -> tuple[int, ValidatorSet] | None:
        """The set governing block number + 2 if the block's updates change it.

        Updates that cannot apply (they would empty the set, or remove an unknown
        validator) are dropped as a whole, identically on every node, and logged.
        """
        if not result.validator_updates:
            return None
        current = self.validators_at(block.number + 1)
        try:
            updated = current.updated((u.pub_key, u.power, u.owner) for u in result.validator_updates)
        except InvalidValidatorUpdate as exc:
            log.error("block %d: validator updates ignored: %s", block.number, exc)
            return None
        return None if updated.hash == current.hash else (block.number + 2, updated)

    def _header(self, parent: Header, env: BlockEnv, proposer_address: bytes, last_commit: Commit,
                evidence: Any, result: ExecutionResult) -> Header:
        return Header(
            parent_hash=parent.hash,
            ommers_hash=EMPTY_OMMERS_HASH,
            coinbase=env.coinbase,
            state_root=result.state_root,
            transactions_root=result.transactions_root,
            receipts_root=result.receipts_root,
            logs_bloom=result.logs_bloom,
            difficulty=0,
            number=env.number,
            gas_limit=env.gas_limit,
            gas_used=result.gas_used,
            timestamp=env.timestamp,
            extra_data=b"",
            mix_hash=env.prev_randao,
            nonce=b"\x00" * 8,
            base_fee_per_gas=env.base_fee,
            chain_id=self.chain_id,
            proposer_address=proposer_address,
            validators_hash=self.validators_at(env.number).hash,
            next_validators_hash=self.validators_at(env.number + 1).hash,
            last_commit_hash=last_commit.hash,
            evidence_hash=evidence_root(evidence),
            randao_reveal=env.consensus.reveal,
        )

    def _reveal(self, parent: Header, proposer_address: bytes) -> bytes:
        """This validator's randomness reveal for the block after ``parent`` (its record at ``parent``)."""
        proposer = self.validators_at(parent.number + 1).by_address(proposer_address)
        try:
            if self.reveals is None or proposer is None:
                raise RevealUnavailable("this node holds no randomness secret of the proposer")
            return self.reveals.reveal(beacon_reader(self.account_db(parent.state_root)).validator(proposer.pub_key))
        except RevealUnavailable as exc:
            raise ProposalUnavailable(str(exc)) from exc

    def _verify(self, block: Block) -> None:
        """Check ``block`` as consensus does (``consensus.validity``), then re-execute it and compare headers."""
        parent = self.latest_header
        header = block.header
        try:
            validate_block(block, parent, self.chain_id, self.validators_at)
        except InvalidBlock as exc:
            raise BlockExecutionError(str(exc)) from exc
        if header.coinbase != STAKING_ADDRESS:
            raise BlockExecutionError("coinbase is not the staking contract (fees fund the rewards)")
        info = self.consensus_info(header.number, header.proposer_address, block.last_commit, list(block.evidence),
                                   header.randao_reveal)
        env = self.block_env(parent, header.number, header.timestamp, header.coinbase, info)
        txs = self._decoded(block.transactions)
        started = time.perf_counter()
        result = self.executor.execute_block(self.store.state_db(), parent.state_root, env, txs, strict=True)
        seconds = time.perf_counter() - started
        expected = self._header(parent, env, header.proposer_address, block.last_commit, block.evidence, result)
        if expected.hash != header.hash:
            raise BlockExecutionError(f"header does not match execution (state root 0x{result.state_root.hex()})")
        self._remember(block, result, seconds=seconds)

    def _decoded(self, raws: Sequence[bytes]) -> list[SignedTransactionAPI]:
        """The block's transactions: decoded at admission if this node admitted them, the others now, together."""
        found = [self.decoded_txs.get(keccak(raw)) for raw in raws]
        missing = [index for index, tx in enumerate(found) if tx is None]
        for index, outcome in zip(missing, self.decode_txs([raws[index] for index in missing])):
            if isinstance(outcome, DecodeFailure):
                raise InvalidTransaction(outcome.message)
            found[index] = outcome
        return found  # type: ignore[return-value]  # every None was replaced

    def _remember(self, block: Block, result: ExecutionResult, dev_record: bytes | None = None,
                  seconds: float = 0.0) -> None:
        self._cache[block.hash] = _Executed(block, result, dev_record, seconds)
        while len(self._cache) > MAX_CACHED_RESULTS:
            self._cache.popitem(last=False)


def _puts_only(writes: dict[bytes, bytes | None]) -> dict[bytes, bytes]:
    """Trie nodes are content-addressed and never deleted on an archive node: keep the puts."""
    return {key: value for key, value in writes.items() if value is not None}

