"""Block sync: requests across peers, verification of real signed commits, lying and slow peers, messages."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import rlp
from eth_hash.auto import keccak

from consensus.blocksync import (
    BlockRequest,
    BlockResponse,
    BlockSyncDecodeError,
    BlockSyncError,
    BlockSyncPool,
    Misbehaviour,
    NoBlockResponse,
    StatusRequest,
    StatusResponse,
    answer_request,
    decode_message,
    encode_message,
)
from consensus.commit import verify_commit
from consensus.errors import ConsensusError, InvalidBlock
from consensus.keys import ValidatorKey
from consensus.types import (
    EMPTY_COMMIT,
    EMPTY_OMMERS_HASH,
    PRECOMMIT,
    ZERO_HASH32,
    Block,
    Commit,
    CommitSig,
    Header,
    evidence_root,
    vote_sign_bytes,
)
from consensus.validators import Validator, ValidatorSet
from cybermiles_node.storage import ChainStore, LevelDB

CHAIN_ID = 15
CHAIN_LENGTH = 30
KEYS = tuple(ValidatorKey(seed=keccak(f"block sync validator {index}".encode())) for index in range(4))
VALIDATORS = ValidatorSet.of([Validator(pub_key=key.public_key, power=10, owner=bytes([index + 1]) * 20)
                              for index, key in enumerate(KEYS)])

Answer = tuple[Block, Commit | None]


def make_block(height: int, parent_hash: bytes, last_commit: Commit, *, tag: bytes = b"") -> Block:
    """A block with a fake state root (the pool does not execute), linked to its parent and its commit."""
    header = Header(
        parent_hash=parent_hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=b"\x01" * 20,
        state_root=keccak(b"state %d" % height + tag), transactions_root=keccak(b"txs"), receipts_root=keccak(b"rs"),
        logs_bloom=0, difficulty=0, number=height, gas_limit=30_000_000, gas_used=0, timestamp=1_700_000_000 + height,
        extra_data=tag, mix_hash=ZERO_HASH32, nonce=b"\x00" * 8, base_fee_per_gas=10**9, chain_id=CHAIN_ID,
        proposer_address=KEYS[height % 4].address, validators_hash=VALIDATORS.hash,
        next_validators_hash=VALIDATORS.hash, last_commit_hash=last_commit.hash, evidence_hash=evidence_root([]),
        randao_reveal=b"\x00" * 32,
    )
    return Block(header=header, transactions=[], last_commit=last_commit, evidence=[])


def sign_commit(block: Block, keys: tuple[ValidatorKey, ...] = KEYS, round_: int = 0) -> Commit:
    """The precommits of ``keys`` for ``block``."""
    signatures = []
    for index, key in enumerate(keys):
        timestamp = 1_700_000_000_000 + block.number * 1000 + index
        message = vote_sign_bytes(CHAIN_ID, PRECOMMIT, block.number, round_, block.hash, timestamp)
        signatures.append(CommitSig(validator_address=key.address, timestamp_ms=timestamp,
                                    signature=key.sign(message)))
    return Commit(height=block.number, round=round_, block_hash=block.hash, signatures=signatures)


def build_chain(length: int) -> list[Answer]:
    """Genesis (no commit) and blocks 1..length, each with the commit that finalised it."""
    genesis = make_block(0, ZERO_HASH32, EMPTY_COMMIT)
    chain: list[Answer] = [(genesis, None)]
    last_commit = EMPTY_COMMIT
    for height in range(1, length + 1):
        block = make_block(height, chain[-1][0].hash, last_commit)
        commit = sign_commit(block)
        chain.append((block, commit))
        last_commit = commit
    return chain


@pytest.fixture(scope="module")
def chain() -> list[Answer]:
    return build_chain(CHAIN_LENGTH)


def new_pool(chain: list[Answer], **options: int) -> BlockSyncPool:
    """A pool syncing from block 1 on top of the chain's genesis."""
    settings = {"max_blocks_ahead": 8, "max_pending_requests": 6, "max_pending_per_peer": 3,
                "request_timeout_ms": 1_000, "caught_up_grace_ms": 500, **options}
    return BlockSyncPool(1, chain[0][0].hash, chain_id=CHAIN_ID, validators_at=lambda height: VALIDATORS,
                         now_ms=0, **settings)


@dataclass
class SyncRun:
    """What a simulated sync produced."""

    applied: list[tuple[Block, Commit]] = field(default_factory=list)
    faults: list[Misbehaviour] = field(default_factory=list)
    requests: list[tuple[str, int]] = field(default_factory=list)
    caught_up_at: int | None = None


def run_sync(pool: BlockSyncPool, peers: dict[str, Callable[[int], Answer | None]], *,
             step_ms: int = 100, max_steps: int = 500) -> SyncRun:
    """Drive ``pool`` like a node would: send requests, deliver answers (``None``: the peer stays silent), apply."""
    run = SyncRun()
    for step in range(max_steps):
        now = step * step_ms
        for peer_id, height in pool.next_requests(now):
            run.requests.append((peer_id, height))
            answer = peers[peer_id](height)
            if answer is not None:
                fault = pool.add_block(peer_id, *answer)
                if fault is not None:
                    run.faults.append(fault)
        while (item := pool.next_to_apply()) is not None:
            run.applied.append((item.block, item.commit))
        run.faults.extend(pool.take_misbehaviours())
        if pool.is_caught_up(now):
            run.caught_up_at = now
            return run
    return run


def honest(chain: list[Answer]) -> Callable[[int], Answer | None]:
    return lambda height: chain[height]


def assert_applied_the_chain(run: SyncRun, chain: list[Answer], up_to: int) -> None:
    """The run applied exactly blocks 1..up_to of ``chain``, in order, each with a commit that finalises it."""
    assert [block.hash for block, _ in run.applied] == [chain[h][0].hash for h in range(1, up_to + 1)]
    for height, (block, commit) in enumerate(run.applied, start=1):
        verify_commit(commit, VALIDATORS, CHAIN_ID, height, block.hash)


def announce(pool: BlockSyncPool, height: int, *peer_ids: str) -> None:
    for peer_id in peer_ids:
        assert pool.set_peer_range(peer_id, 1, height) is None


# -- syncing from honest peers ---------------------------------------------------------


def test_syncs_the_chain_in_order_from_several_peers(chain: list[Answer]) -> None:
    pool = new_pool(chain)
    announce(pool, CHAIN_LENGTH, "a", "b", "c")
    run = run_sync(pool, {peer: honest(chain) for peer in "abc"})
    assert run.caught_up_at is not None
    assert_applied_the_chain(run, chain, CHAIN_LENGTH)
    assert run.faults == []
    assert pool.height == CHAIN_LENGTH + 1
    load = {peer: sum(1 for asked, _ in run.requests if asked == peer) for peer in "abc"}
    assert min(load.values()) >= CHAIN_LENGTH // 4, load
    assert sorted(height for _, height in run.requests) == list(range(1, CHAIN_LENGTH + 1))


def test_out_of_order_arrival_is_applied_in_order(chain: list[Answer]) -> None:
    pool = new_pool(chain)
    announce(pool, CHAIN_LENGTH, "a", "b")
    requests = pool.next_requests(0)
    assert sorted(height for _, height in requests) == [1, 2, 3, 4, 5, 6]
    for peer_id, height in sorted(requests, key=lambda request: -request[1]):
        assert pool.add_block(peer_id, *chain[height]) is None
        if height > 1:
            assert pool.next_to_apply() is None
    applied = []
    while (item := pool.next_to_apply()) is not None:
        applied.append(item.block.number)
    assert applied == [1, 2, 3, 4, 5, 6]


def test_a_block_without_its_commit_waits_for_the_next_block(chain: list[Answer]) -> None:
    pool = new_pool(chain)
    announce(pool, CHAIN_LENGTH, "a")
    pool.next_requests(0)
    assert pool.add_block("a", chain[1][0], None) is None
    assert pool.next_to_apply() is None
    assert pool.add_block("a", chain[2][0], None) is None
    synced = pool.next_to_apply()
    assert synced is not None
    assert synced.block == chain[1][0]
    assert synced.commit == chain[2][0].last_commit
    assert pool.next_to_apply() is None  # block 2 has no proof yet


def test_peers_without_a_block_are_not_asked_for_it_again(chain: list[Answer]) -> None:
    pool = new_pool(chain, max_pending_per_peer=8)
    announce(pool, CHAIN_LENGTH, "a", "b")
    first = {height: peer for peer, height in pool.next_requests(0)}
    refusing = first[1]
    other = "b" if refusing == "a" else "a"
    assert pool.no_block(refusing, 1) is None
    again = pool.next_requests(100)
    assert (other, 1) in again
    assert all(peer != refusing for peer, _ in again)


# -- lying peers --------------------------------------------------------------------------


def bad_signature(chain: list[Answer], height: int) -> Answer:
    block, commit = chain[height]
    assert commit is not None
    first = commit.signatures[0]
    forged = CommitSig(first.validator_address, first.timestamp_ms, bytes([first.signature[0] ^ 1]) + first.signature[1:])
    return block, Commit(commit.height, commit.round, commit.block_hash, [forged, *commit.signatures[1:]])


def wrong_parent(chain: list[Answer], height: int) -> Answer:
    block = make_block(height, keccak(b"another chain"), chain[height][0].last_commit)
    return block, sign_commit(block)  # even +2/3 signatures cannot make a block extend the wrong parent


def too_little_power(chain: list[Answer], height: int) -> Answer:
    block = make_block(height, chain[height - 1][0].hash, chain[height][0].last_commit, tag=b"fork")
    return block, sign_commit(block, KEYS[:2])


def unproven_fork(chain: list[Answer], height: int) -> Answer:
    return make_block(height, chain[height - 1][0].hash, chain[height][0].last_commit, tag=b"fork"), None


def rejected_body(chain: list[Answer], height: int) -> Answer:
    block = make_block(height, chain[height - 1][0].hash, chain[height][0].last_commit, tag=b"bad body")
    return block, sign_commit(block)


def reject_bad_bodies(block: Block) -> None:
    if block.header.extra_data == b"bad body":
        raise InvalidBlock("transactions do not match the header's root")


@pytest.mark.parametrize("lie", [bad_signature, wrong_parent, too_little_power, unproven_fork, rejected_body])
def test_a_lying_peer_is_reported_and_its_blocks_refetched(
    chain: list[Answer], lie: Callable[[list[Answer], int], Answer]
) -> None:
    pool = BlockSyncPool(1, chain[0][0].hash, chain_id=CHAIN_ID, validators_at=lambda height: VALIDATORS,
                         now_ms=0, check_block=reject_bad_bodies, max_blocks_ahead=8, max_pending_requests=6,
                         max_pending_per_peer=3, request_timeout_ms=1_000)
    announce(pool, CHAIN_LENGTH, "a", "b", "c")
    run = run_sync(pool, {"a": lambda height: lie(chain, height), "b": honest(chain), "c": honest(chain)})
    assert_applied_the_chain(run, chain, CHAIN_LENGTH)
    assert {fault.peer_id for fault in run.faults} == {"a"}
    assert len(run.faults) == 1
    asked_of_a = [height for peer, height in run.requests if peer == "a"]
    assert asked_of_a and all(height <= 6 for height in asked_of_a)  # only its first batch
    for height in asked_of_a:
        assert [peer for peer, h in run.requests if h == height and peer != "a"], height


def test_unrequested_or_mismatched_answers_are_misbehaviour(chain: list[Answer]) -> None:
    pool = new_pool(chain)
    announce(pool, CHAIN_LENGTH, "a", "b", "c", "d")
    requested = pool.next_requests(0)
    by_peer: dict[str, list[int]] = {}
    for peer, height in requested:
        by_peer.setdefault(peer, []).append(height)

    fault = pool.add_block("a", *chain[20])
    assert fault is not None and fault.peer_id == "a" and "not requested" in fault.reason
    height_b = by_peer["b"][0]
    fault = pool.add_block("b", chain[height_b][0], chain[height_b + 1][1])
    assert fault is not None and fault.peer_id == "b"
    fault = pool.no_block("c", 25)
    assert fault is not None and fault.peer_id == "c"
    fault = pool.set_peer_range("d", 10, 5)
    assert fault is not None and fault.peer_id == "d"
    assert pool.add_block("stranger", *chain[1]) is not None
    # a reported peer is out of the pool: it is not asked again and its claims do not count
    assert pool.next_requests(100) == []
    assert pool.max_peer_height == -1


def test_the_requests_of_a_reported_peer_go_to_the_others(chain: list[Answer]) -> None:
    pool = new_pool(chain, max_pending_per_peer=8)
    announce(pool, CHAIN_LENGTH, "a", "b")
    first = pool.next_requests(0)
    heights_of_a = sorted(height for peer, height in first if peer == "a")
    assert heights_of_a
    assert pool.add_block("a", *chain[25]) is not None
    later = pool.next_requests(100)
    assert {peer for peer, _ in later} == {"b"}
    assert sorted(height for _, height in later) == heights_of_a


# -- slow peers ---------------------------------------------------------------------------


def test_timed_out_requests_go_to_another_peer_and_late_answers_are_welcome(chain: list[Answer]) -> None:
    pool = new_pool(chain)
    announce(pool, CHAIN_LENGTH, "a", "b")
    silent_heights: list[int] = []

    def silent(height: int) -> Answer | None:
        silent_heights.append(height)
        return None

    run = run_sync(pool, {"a": silent, "b": honest(chain)})
    assert_applied_the_chain(run, chain, len(run.applied))
    assert len(run.applied) >= CHAIN_LENGTH - 1
    assert run.faults == []
    assert silent_heights and max(silent_heights) <= 8  # after timing out, the silent peer is not asked again
    for height in silent_heights:
        assert ("b", height) in run.requests
    # a late answer to a timed-out request is not misbehaviour, and the block is not applied twice
    assert pool.add_block("a", *chain[silent_heights[0]]) is None
    assert pool.next_to_apply() is None


def test_a_slow_peer_is_asked_again_once_it_answers(chain: list[Answer]) -> None:
    pool = new_pool(chain, max_pending_per_peer=2)
    announce(pool, CHAIN_LENGTH, "a")
    first = pool.next_requests(0)
    assert [height for _, height in first] == [1, 2]
    assert pool.next_requests(999) == []
    assert pool.next_requests(1_000) == []  # timed out, and no other peer to ask
    assert pool.max_peer_height == -1
    assert pool.add_block("a", *chain[1]) is None
    again = pool.next_requests(1_100)
    assert ("a", 2) in again


# -- bounds -------------------------------------------------------------------------------


def test_requests_and_buffered_blocks_stay_within_the_window(chain: list[Answer]) -> None:
    pool = new_pool(chain, max_blocks_ahead=5, max_pending_requests=3, max_pending_per_peer=2)
    announce(pool, CHAIN_LENGTH, "a", "b", "c")
    delivered: set[int] = set()
    for now in range(0, 100, 10):
        requests = pool.next_requests(now)
        assert len(requests) <= 3
        for peer, height in requests:
            assert 1 <= height <= 5
            if height != 1:  # block 1 is held back, so nothing can be applied and the window cannot move
                assert pool.add_block(peer, *chain[height]) is None
                delivered.add(height)
        assert pool.next_to_apply() is None
    assert delivered == {2, 3, 4, 5}
    assert pool.next_requests(100) == []
    assert pool.add_block("c", *chain[6]) is not None  # beyond the window, so never requested: not kept


def test_the_window_advances_one_height_per_applied_block(chain: list[Answer]) -> None:
    pool = new_pool(chain, max_blocks_ahead=4, max_pending_requests=4, max_pending_per_peer=4)
    announce(pool, CHAIN_LENGTH, "a")
    assert [height for _, height in pool.next_requests(0)] == [1, 2, 3, 4]
    for height in (1, 2, 3, 4):
        pool.add_block("a", *chain[height])
    assert pool.next_requests(10) == []
    assert pool.next_to_apply() is not None
    assert [height for _, height in pool.next_requests(20)] == [5]


# -- caught up ----------------------------------------------------------------------------


def test_caught_up_without_peers_only_after_the_grace_period(chain: list[Answer]) -> None:
    pool = new_pool(chain, caught_up_grace_ms=500)
    assert not pool.is_caught_up(0)
    assert not pool.is_caught_up(499)
    assert pool.is_caught_up(500)


def test_caught_up_one_below_the_highest_peer(chain: list[Answer]) -> None:
    pool = new_pool(chain, caught_up_grace_ms=0)
    announce(pool, 5, "a")
    assert not pool.is_caught_up(0)
    run = run_sync(pool, {"a": honest(chain)})
    assert run.caught_up_at is not None
    assert [block.number for block, _ in run.applied][-1] >= 4
    pool.set_peer_range("a", 1, 12)
    assert not pool.is_caught_up(run.caught_up_at)


def test_a_peer_claiming_a_height_it_does_not_serve_stops_counting(chain: list[Answer]) -> None:
    pool = new_pool(chain, caught_up_grace_ms=0)
    announce(pool, 10, "honest")
    assert pool.set_peer_range("boaster", 1, 10_000) is None
    run = run_sync(pool, {"honest": honest(chain), "boaster": lambda height: None})
    assert run.caught_up_at is not None
    assert run.applied[-1][0].number >= 9
    assert pool.max_peer_height == 10


# -- messages -----------------------------------------------------------------------------


def test_messages_round_trip(chain: list[Answer]) -> None:
    messages = [
        StatusRequest(), StatusResponse(base=1, height=30), BlockRequest(height=7),
        BlockResponse(block=chain[7][0], commit=chain[7][1]), BlockResponse(block=chain[0][0], commit=None),
        NoBlockResponse(height=99),
    ]
    for message in messages:
        assert decode_message(encode_message(message)) == message


def malformed(chain: list[Answer]) -> list[bytes]:
    good_response = encode_message(BlockResponse(block=chain[3][0], commit=chain[3][1]))
    return [
        b"",
        b"\x09\xc0",
        b"\x01",
        b"\x01\xc0\x00",
        b"\x02" + rlp.encode([5, 3]),
        b"\x02" + rlp.encode([1]),
        b"\x03" + rlp.encode([b"\x00\x07"]),
        b"\x03" + rlp.encode([2**64]),
        b"\x05" + rlp.encode(b"not a list"),
        good_response[:-1],
        good_response + b"\x00",
        b"\x04" + rlp.encode([chain[3][0], [chain[3][1], chain[3][1]]]),
        b"\x04" + rlp.encode([[b"header"], [], [], []]),
        b"\x04" + b"\xc1" * 100_000,
        bytes([0x04]) + b"\xff" * 64,
    ]


def test_malformed_messages_raise_the_typed_error(chain: list[Answer]) -> None:
    for data in malformed(chain):
        with pytest.raises(BlockSyncDecodeError):
            decode_message(data)
    big = encode_message(BlockResponse(block=chain[3][0], commit=chain[3][1]))
    with pytest.raises(BlockSyncDecodeError, match="exceeds"):
        decode_message(big, max_bytes=len(big) - 1)
    assert issubclass(BlockSyncDecodeError, BlockSyncError)
    assert issubclass(BlockSyncError, ConsensusError)


# -- serving from the chain store -------------------------------------------------------


def test_nodes_sync_from_peers_serving_their_chain_store(tmp_path: Path, chain: list[Answer]) -> None:
    stores = []
    for name in ("a", "b"):
        store = ChainStore(LevelDB(tmp_path / name))
        for block, commit in chain[:21]:
            store.commit_block(block, [], commit, {})
        stores.append(store)
    assert answer_request(StatusRequest(), stores[0]) == StatusResponse(base=0, height=20)
    assert answer_request(BlockRequest(25), stores[0]) == NoBlockResponse(25)
    assert answer_request(BlockRequest(3), stores[0]) == BlockResponse(chain[3][0], chain[3][1])

    follower = ChainStore(LevelDB(tmp_path / "follower"))
    follower.commit_block(chain[0][0], [], None, {})
    pool = BlockSyncPool(follower.latest_height() + 1, chain[0][0].hash, chain_id=CHAIN_ID,
                         validators_at=lambda height: VALIDATORS, now_ms=0, caught_up_grace_ms=0)
    for peer_id, store in zip("ab", stores):
        status = decode_message(encode_message(answer_request(StatusRequest(), store)))
        assert isinstance(status, StatusResponse)
        pool.set_peer_range(peer_id, status.base, status.height)
    now = 0
    while not pool.is_caught_up(now):
        for peer_id, height in pool.next_requests(now):
            wire = encode_message(BlockRequest(height))
            request = decode_message(wire)
            assert isinstance(request, BlockRequest)
            response = decode_message(encode_message(answer_request(request, stores["ab".index(peer_id)])))
            assert isinstance(response, BlockResponse)
            assert pool.add_block(peer_id, response.block, response.commit) is None
        while (item := pool.next_to_apply()) is not None:
            follower.commit_block(item.block, [], item.commit, {})
        now += 10
    assert follower.latest_height() >= 19
    for height in range(follower.latest_height() + 1):
        assert follower.get_hash_by_number(height) == chain[height][0].hash


# -- validator-set changes and receipts (fast sync) ------------------------------------------

NEW_KEYS = KEYS[1:]
NEW_VALIDATORS = ValidatorSet.of([Validator(pub_key=key.public_key, power=20, owner=bytes([index + 9]) * 20)
                                  for index, key in enumerate(NEW_KEYS)])
CHANGE_AT = 3  # block 3 announces the new set, which signs blocks 4 and later


def build_changing_chain(length: int) -> list[Answer]:
    """A chain whose validator set changes after block ``CHANGE_AT``, each block signed by its own set."""
    chain: list[Answer] = [(make_block(0, ZERO_HASH32, EMPTY_COMMIT), None)]
    last_commit = EMPTY_COMMIT
    for height in range(1, length + 1):
        block = make_block(height, chain[-1][0].hash, last_commit)
        validators = VALIDATORS if height <= CHANGE_AT else NEW_VALIDATORS
        following = VALIDATORS if height < CHANGE_AT else NEW_VALIDATORS
        proposer = (KEYS if height <= CHANGE_AT else NEW_KEYS)[0].address
        block = Block(header=block.header.copy(validators_hash=validators.hash, next_validators_hash=following.hash,
                                               proposer_address=proposer),
                      transactions=[], last_commit=last_commit, evidence=[])
        commit = sign_commit(block, KEYS if height <= CHANGE_AT else NEW_KEYS)
        chain.append((block, commit))
        last_commit = commit
    return chain


@pytest.mark.parametrize("attached, problem", [
    (NEW_VALIDATORS, None),
    (None, "announces a new validator set but came without it"),
    (ValidatorSet.of([Validator(pub_key=key.public_key, power=30, owner=b"\x07" * 20) for key in NEW_KEYS]),
     "validator set other than the one its header announces"),
])
def test_the_pool_follows_the_validator_sets_headers_announce(attached: ValidatorSet | None,
                                                              problem: str | None) -> None:
    chain = build_changing_chain(8)
    pool = new_pool(chain)
    announce(pool, 8, "a")
    applied: list[int] = []
    faults: list[Misbehaviour] = []
    for step in range(5):
        for peer_id, height in pool.next_requests(step):
            block, commit = chain[height]
            assert pool.add_block(peer_id, block, commit, None, attached if height == CHANGE_AT else None) is None
        while (synced := pool.next_to_apply()) is not None:
            applied.append(synced.block.number)
            assert synced.next_validators == (attached if synced.block.number == CHANGE_AT else None)
        faults.extend(pool.take_misbehaviours())
    if problem is None:
        assert applied == list(range(1, 9)) and faults == []
    else:
        assert applied == [1, 2] and len(faults) == 1 and problem in faults[0].reason


def test_a_pool_requiring_receipts_refuses_blocks_without_them(chain: list[Answer]) -> None:
    pool = new_pool(chain, require_receipts=True)  # type: ignore[arg-type]
    announce(pool, CHAIN_LENGTH, "a", "b")
    requests = {height: peer for peer, height in pool.next_requests(0)}
    fault = pool.add_block(requests[1], *chain[1])
    assert fault is not None and "without the receipts" in fault.reason
    assert pool.add_block(requests[2], *chain[2], (b"receipt",)) is None


def test_answers_carry_receipts_when_asked_and_the_next_validator_set_when_it_changes(tmp_path: Path) -> None:
    chain = build_changing_chain(5)
    store = ChainStore(LevelDB(tmp_path / "changing"))
    store.commit_block(chain[0][0], [], None, {}, validator_set_change=(1, VALIDATORS))
    for height in range(1, 6):
        change = (height + 1, NEW_VALIDATORS) if height == CHANGE_AT else None
        store.commit_block(chain[height][0], [], chain[height][1], {}, validator_set_change=change)
    plain = answer_request(BlockRequest(2), store)
    assert plain == BlockResponse(chain[2][0], chain[2][1])
    with_receipts = decode_message(encode_message(answer_request(BlockRequest(CHANGE_AT, with_receipts=True), store)))
    assert with_receipts == BlockResponse(chain[CHANGE_AT][0], chain[CHANGE_AT][1], (), NEW_VALIDATORS)
    assert decode_message(encode_message(BlockRequest(7, with_receipts=True))) == BlockRequest(7, True)
