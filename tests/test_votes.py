"""Consensus messages, vote sets, commits and duplicate-vote evidence, with real Ed25519 signatures."""
from __future__ import annotations

from dataclasses import replace

import pytest
import rlp
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.commit import verify_commit
from consensus.errors import InvalidBlock
from consensus.evidence import DuplicateVoteEvidence, EvidencePool, InvalidEvidence
from consensus.keys import ValidatorKey
from consensus.messages import (
    NIL,
    MalformedMessage,
    Proposal,
    Vote,
    decode_message,
    encode_message,
)
from consensus.types import EMPTY_COMMIT, PRECOMMIT, PREVOTE, ZERO_HASH32, Block, Header
from consensus.validators import Validator, ValidatorSet
from consensus.votes import (
    MAX_FUTURE_ROUNDS_PER_VALIDATOR,
    HeightVoteSet,
    InvalidVote,
    VoteNotTracked,
    VoteSet,
)

CHAIN_ID = 15
KEYS = [ValidatorKey(keccak(b"votes test %d" % i)) for i in range(4)]
POWERS = [40, 30, 20, 10]
VALIDATORS = ValidatorSet.of([Validator(k.public_key, p, b"\x00" * 20) for k, p in zip(KEYS, POWERS)])
ADDRESSES = [k.address for k in KEYS]
BLOCK_A = keccak(b"block a")
BLOCK_B = keccak(b"block b")


def vote(index: int, value: bytes, vote_type: int = PRECOMMIT, height: int = 5, round_: int = 0,
         timestamp_ms: int = 1_000) -> Vote:
    """A vote signed by validator ``index``."""
    unsigned = Vote(vote_type, height, round_, value, timestamp_ms, ADDRESSES[index])
    return unsigned.with_signature(KEYS[index].sign(unsigned.sign_bytes(CHAIN_ID)))


def block(height: int = 5) -> Block:
    """A small block at ``height``."""
    header = Header(
        parent_hash=ZERO_HASH32, ommers_hash=ZERO_HASH32, coinbase=b"", state_root=ZERO_HASH32,
        transactions_root=ZERO_HASH32, receipts_root=ZERO_HASH32, logs_bloom=0, difficulty=0, number=height,
        gas_limit=1, gas_used=0, timestamp=1, extra_data=b"", mix_hash=ZERO_HASH32, nonce=b"\x00" * 8,
        base_fee_per_gas=0, chain_id=CHAIN_ID, proposer_address=ADDRESSES[0], validators_hash=VALIDATORS.hash,
        next_validators_hash=VALIDATORS.hash, last_commit_hash=EMPTY_COMMIT.hash, evidence_hash=ZERO_HASH32,
        randao_reveal=b"\x00" * 32,
    )
    return Block(header=header, transactions=[b"tx"], last_commit=EMPTY_COMMIT, evidence=[])


def proposal(index: int = 0, round_: int = 1, pol_round: int = 0) -> Proposal:
    """A proposal signed by validator ``index``."""
    unsigned = Proposal(5, round_, pol_round, block(), 2_000, ADDRESSES[index])
    return unsigned.with_signature(KEYS[index].sign(unsigned.sign_bytes(CHAIN_ID)))


# messages


def test_messages_round_trip_and_verify() -> None:
    for message, signer in ((vote(1, BLOCK_A), 1), (vote(2, NIL, PREVOTE), 2), (proposal(), 0),
                            (proposal(round_=0, pol_round=-1), 0)):
        decoded = decode_message(encode_message(message), 1 << 20)
        assert decoded == message
        assert decoded.verify(CHAIN_ID, KEYS[signer].public_key)
        assert not decoded.verify(CHAIN_ID, KEYS[3].public_key)


def test_signatures_bind_every_field() -> None:
    original = vote(1, BLOCK_A)
    public_key = KEYS[1].public_key
    assert original.verify(CHAIN_ID, public_key)
    assert not original.verify(CHAIN_ID + 1, public_key)
    for changed in ({"block_hash": BLOCK_B}, {"round": 1}, {"height": 6}, {"type": PREVOTE}, {"timestamp_ms": 1}):
        assert not replace(original, **changed).verify(CHAIN_ID, public_key)
    signed = proposal()
    assert signed.verify(CHAIN_ID, KEYS[0].public_key)
    assert not replace(signed, pol_round=-1).verify(CHAIN_ID, KEYS[0].public_key)
    assert not replace(signed, block=block(6)).verify(CHAIN_ID, KEYS[0].public_key)


@pytest.mark.parametrize("data", [
    b"", b"\x80", b"\xc0", b"not rlp at all", rlp.encode([3, 1]), rlp.encode([2, 1, 2]),
    rlp.encode([2, 3, 5, 0, b"", 1, b"\x11" * 20, b"\x22" * 64]),                # vote type 3
    rlp.encode([2, 1, 5, 0, b"\x01" * 31, 1, b"\x11" * 20, b"\x22" * 64]),       # short block hash
    rlp.encode([2, 1, 5, 0, b"", 1, b"\x11" * 19, b"\x22" * 64]),                # short address
    rlp.encode([2, 1, 5, 0, b"", 1, b"\x11" * 20, b"\x22" * 63]),                # short signature
    rlp.encode([2, 1, b"\x00\x05", 0, b"", 1, b"\x11" * 20, b"\x22" * 64]),      # non-canonical integer
    rlp.encode([2, 1, 2**64, 0, b"", 1, b"\x11" * 20, b"\x22" * 64]),            # height out of range
    rlp.encode([2, 1, [5], 0, b"", 1, b"\x11" * 20, b"\x22" * 64]),              # list for an integer
    rlp.encode([1, 5, 1, 0, [b"junk"], 1, b"\x11" * 20, b"\x22" * 64]),          # malformed block
])
def test_malformed_messages_raise_a_typed_error(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_message(data, 1 << 20)


def test_message_pol_round_must_be_below_round_and_size_is_bounded() -> None:
    bad = proposal(round_=1, pol_round=1)
    with pytest.raises(MalformedMessage):
        decode_message(encode_message(bad), 1 << 20)
    data = encode_message(proposal())
    with pytest.raises(MalformedMessage):
        decode_message(data, len(data) - 1)
    with pytest.raises(MalformedMessage):
        decode_message(data + b"\x00", 1 << 20)


# vote sets


def test_thresholds_by_voting_power() -> None:
    votes = VoteSet(CHAIN_ID, 5, 0, PRECOMMIT, VALIDATORS)
    assert votes.add(vote(3, BLOCK_A)).added                      # 10 of 100
    assert not votes.has_one_third_any()
    votes.add(vote(2, NIL))                                          # 30
    assert not votes.has_one_third_any()
    votes.add(vote(1, BLOCK_A))                                      # 60: f+1, A has 40
    assert votes.has_one_third_any() and not votes.has_two_thirds_any()
    assert votes.two_thirds_majority() is None
    votes.add(vote(0, BLOCK_A))                                      # 100: A has 80
    assert votes.has_two_thirds_any()
    assert votes.two_thirds_majority() == BLOCK_A and votes.has_two_thirds_for(BLOCK_A)
    assert (votes.power_for(BLOCK_A), votes.power_for(NIL), votes.power) == (80, 20, 100)


def test_exactly_two_thirds_is_not_enough() -> None:
    validators = ValidatorSet.of([Validator(k.public_key, 1, b"\x00" * 20) for k in KEYS[:3]])
    votes = VoteSet(CHAIN_ID, 5, 0, PREVOTE, validators)
    for index in (0, 1):
        votes.add(vote(index, BLOCK_A, PREVOTE))
    assert not votes.has_two_thirds_any() and votes.two_thirds_majority() is None
    votes.add(vote(2, NIL, PREVOTE))
    assert votes.has_two_thirds_any() and votes.two_thirds_majority() is None


def test_nil_majority() -> None:
    votes = VoteSet(CHAIN_ID, 5, 0, PREVOTE, VALIDATORS)
    for index in (0, 1):
        votes.add(vote(index, NIL, PREVOTE))
    assert votes.two_thirds_majority() == NIL
    with pytest.raises(InvalidVote):
        votes.make_commit()


def test_duplicates_are_ignored_and_conflicts_become_evidence() -> None:
    votes = VoteSet(CHAIN_ID, 5, 0, PRECOMMIT, VALIDATORS)
    first = vote(0, BLOCK_A)
    assert votes.add(first).added
    assert votes.add(first) == votes.add(first) and not votes.add(first).added
    assert not votes.add(vote(0, BLOCK_A, timestamp_ms=5)).added  # same value, another timestamp: no evidence
    result = votes.add(vote(0, BLOCK_B))
    assert not result.added and result.evidence == DuplicateVoteEvidence.of(first, vote(0, BLOCK_B))
    assert votes.power_for(BLOCK_B) == 0 and votes.power == 40
    nil_conflict = votes.add(vote(0, NIL))                           # nil is tracked: counted for nil
    assert nil_conflict.added and nil_conflict.evidence is not None
    assert (votes.power_for(NIL), votes.power_for(BLOCK_A), votes.power) == (40, 40, 40)


def test_tracked_conflicting_votes_count_for_their_value() -> None:
    votes = VoteSet(CHAIN_ID, 5, 0, PREVOTE, VALIDATORS, tracks=lambda value: value == BLOCK_B)
    votes.add(vote(0, BLOCK_A, PREVOTE))
    votes.add(vote(1, BLOCK_B, PREVOTE))
    votes.add(vote(3, BLOCK_B, PREVOTE))
    assert not votes.has_two_thirds_for(BLOCK_B)
    assert votes.add(vote(0, BLOCK_B, PREVOTE)).added                # 0 equivocates for B
    assert votes.has_two_thirds_for(BLOCK_B) and votes.power == 80


def test_foreign_and_forged_votes_are_refused() -> None:
    votes = VoteSet(CHAIN_ID, 5, 0, PRECOMMIT, VALIDATORS)
    stranger = ValidatorKey(keccak(b"stranger"))
    unsigned = Vote(PRECOMMIT, 5, 0, BLOCK_A, 1, stranger.address)
    with pytest.raises(InvalidVote):
        votes.add(unsigned.with_signature(stranger.sign(unsigned.sign_bytes(CHAIN_ID))))
    forged = vote(1, BLOCK_A).with_signature(vote(2, BLOCK_A).signature)
    with pytest.raises(InvalidVote):
        votes.add(forged)
    with pytest.raises(InvalidVote):
        votes.add(vote(1, BLOCK_A, round_=1))
    with pytest.raises(InvalidVote):
        votes.add(vote(1, BLOCK_A, PREVOTE))
    assert votes.power == 0


def test_commit_from_precommits_verifies() -> None:
    votes = VoteSet(CHAIN_ID, 5, 2, PRECOMMIT, VALIDATORS)
    for index in (0, 2):
        votes.add(vote(index, BLOCK_A, round_=2))
    votes.add(vote(1, NIL, round_=2))
    with pytest.raises(InvalidVote):
        votes.make_commit()
    votes.add(vote(3, BLOCK_A, round_=2))
    commit = votes.make_commit()
    assert (commit.height, commit.round, commit.block_hash) == (5, 2, BLOCK_A)
    assert [s.validator_address for s in commit.signatures] == [ADDRESSES[0], ADDRESSES[2], ADDRESSES[3]]
    verify_commit(commit, VALIDATORS, CHAIN_ID, 5, BLOCK_A)
    with pytest.raises(InvalidBlock):
        verify_commit(commit, VALIDATORS, CHAIN_ID + 1, 5, BLOCK_A)


def test_height_vote_set_bounds_rounds_ahead() -> None:
    votes = HeightVoteSet(CHAIN_ID, 5, VALIDATORS)
    votes.add(vote(0, NIL, round_=1))                                # current + 1: always tracked
    for round_ in range(10, 10 + MAX_FUTURE_ROUNDS_PER_VALIDATOR):
        votes.add(vote(1, NIL, round_=round_))
    with pytest.raises(VoteNotTracked):
        votes.add(vote(1, NIL, round_=50))
    votes.add(vote(2, NIL, round_=10))                               # an opened round takes everyone
    votes.add(vote(2, NIL, round_=60))                               # another validator has its own share
    assert votes.rounds() == [1, 10, 11, 60]
    assert votes.power_in_round(10) == 50
    votes.set_round(12)                                              # rounds 10, 11 are no longer ahead
    votes.add(vote(1, NIL, round_=50))
    with pytest.raises(InvalidVote):
        votes.add(vote(3, NIL, height=6))


def test_bad_signature_does_not_open_a_round() -> None:
    votes = HeightVoteSet(CHAIN_ID, 5, VALIDATORS)
    with pytest.raises(InvalidVote):
        votes.add(vote(1, NIL, round_=7).with_signature(b"\x00" * 64))
    assert votes.rounds() == []


# evidence


def test_evidence_is_canonical_and_verifies() -> None:
    a, b = vote(1, BLOCK_A, PREVOTE), vote(1, BLOCK_B, PREVOTE)
    evidence = DuplicateVoteEvidence.of(a, b)
    assert evidence == DuplicateVoteEvidence.of(b, a)
    assert DuplicateVoteEvidence.decode(evidence.encode()) == evidence
    evidence.verify(CHAIN_ID, VALIDATORS)
    assert evidence.height == 5 and evidence.validator_address == ADDRESSES[1]


@pytest.mark.parametrize("pair", [
    (vote(1, BLOCK_A), vote(1, BLOCK_A, timestamp_ms=9)),           # same block
    (vote(1, BLOCK_A), vote(2, BLOCK_B)),                            # two validators
    (vote(1, BLOCK_A), vote(1, BLOCK_B, round_=1)),                  # two rounds
    (vote(1, BLOCK_A), vote(1, BLOCK_B, PREVOTE)),                   # two types
    (vote(1, BLOCK_A), vote(1, BLOCK_B).with_signature(b"\x01" * 64)),  # forged
])
def test_evidence_that_proves_nothing_is_refused(pair: tuple[Vote, Vote]) -> None:
    with pytest.raises(InvalidEvidence):
        DuplicateVoteEvidence.of(*pair).verify(CHAIN_ID, VALIDATORS)


def test_malformed_or_non_canonical_evidence_is_refused() -> None:
    a, b = vote(1, BLOCK_A), vote(1, BLOCK_B)
    canonical = DuplicateVoteEvidence.of(a, b)
    swapped = DuplicateVoteEvidence(canonical.vote_b, canonical.vote_a)
    for data in (b"", b"\xc0", swapped.encode(), canonical.encode() + b"\x00", b"\x01" * 2000):
        with pytest.raises(InvalidEvidence):
            DuplicateVoteEvidence.decode(data)


def test_evidence_pool() -> None:
    pool = EvidencePool(CHAIN_ID, max_pending=2, max_age_heights=10)
    first = DuplicateVoteEvidence.of(vote(1, BLOCK_A), vote(1, BLOCK_B))
    second = DuplicateVoteEvidence.of(vote(2, BLOCK_A), vote(2, NIL))
    third = DuplicateVoteEvidence.of(vote(3, BLOCK_A), vote(3, NIL))
    assert pool.add(first, VALIDATORS, 6)
    assert not pool.add(first, VALIDATORS, 6)                        # duplicate
    with pytest.raises(InvalidEvidence):
        pool.add(DuplicateVoteEvidence.of(vote(1, BLOCK_A), vote(2, BLOCK_B)), VALIDATORS, 6)
    with pytest.raises(InvalidEvidence):
        pool.add(second, VALIDATORS, 4)                              # from the future
    assert pool.add(second, VALIDATORS, 6)
    assert not pool.add(third, VALIDATORS, 6)                        # full
    assert pool.pending(5) == [first, second] and pool.pending(1) == [first]
    pool.mark_committed([first], 7)
    assert pool.pending(5) == [second]
    assert not pool.add(first, VALIDATORS, 7)                        # committed already
    assert pool.add(third, VALIDATORS, 7)
    pool.prune(16)
    assert len(pool) == 0
    assert not pool.add(third, VALIDATORS, 16)                       # expired


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_raise_the_typed_error(data: bytes) -> None:
    try:
        decoded = decode_message(data, 1 << 20)
    except MalformedMessage:
        return
    assert encode_message(decoded) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(encode_message(vote(1, BLOCK_A))) - 1), st.integers(0, 255))
def test_a_corrupted_vote_is_never_counted(position: int, byte: int) -> None:
    data = bytearray(encode_message(vote(1, BLOCK_A)))
    if data[position] == byte:
        return
    data[position] = byte
    try:
        decoded = decode_message(bytes(data), 1 << 20)
    except MalformedMessage:
        return
    assert isinstance(decoded, Vote) and decoded != vote(1, BLOCK_A)
    votes = VoteSet(CHAIN_ID, decoded.height, decoded.round, decoded.type, VALIDATORS)
    with pytest.raises(InvalidVote):
        votes.add(decoded)
