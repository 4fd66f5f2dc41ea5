"""Proposer selection: CometBFT's weighted round-robin, against its published golden sequence and invariants."""
from __future__ import annotations

import pytest

from consensus.keys import ValidatorKey
from consensus.proposer import InvalidPriorities, ProposerPriorities
from consensus.validators import Validator, ValidatorSet

# CometBFT types/validator_set_test.go, TestProposerSelection1: powers foo 1000, bar 300, baz 330.
GOLDEN = (
    "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo "
    "baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo "
    "foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo "
    "baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo"
)


def sequence(state: ProposerPriorities, count: int) -> list[bytes]:
    """Proposers of ``count`` consecutive single increments, starting with ``state``'s own."""
    proposers = []
    for _ in range(count):
        proposers.append(state.proposer)
        state = state.incremented(1)
    return proposers


def test_golden_sequence_of_cometbft() -> None:
    state = ProposerPriorities.from_powers([(b"foo", 1000), (b"bar", 300), (b"baz", 330)])
    assert b" ".join(sequence(state, 99)).decode() == GOLDEN


def test_frequency_is_proportional_to_power() -> None:
    state = ProposerPriorities.from_powers([(b"a", 5), (b"b", 3), (b"c", 2)])
    proposers = sequence(state, 1000)
    assert (proposers.count(b"a"), proposers.count(b"b"), proposers.count(b"c")) == (500, 300, 200)


def test_equal_powers_rotate_in_address_order() -> None:
    state = ProposerPriorities.from_powers([(b"c", 1), (b"a", 1), (b"b", 1)])
    assert sequence(state, 6) == [b"a", b"b", b"c", b"a", b"b", b"c"]


def test_rounds_are_one_batch_from_the_height_state() -> None:
    state = ProposerPriorities.from_powers([(b"foo", 1000), (b"bar", 300), (b"baz", 330)])
    assert state.incremented(0) is state
    assert [state.incremented(r).proposer for r in range(4)] == sequence(state, 4)


def test_priorities_stay_centred_and_within_the_window() -> None:
    state = ProposerPriorities.from_powers([(b"a", 10**9), (b"b", 1), (b"c", 7)])
    for _ in range(200):
        state = state.incremented(1)
        priorities = [p for _, _, p in state.entries]
        assert max(priorities) - min(priorities) <= 2 * state.total_power + state.total_power
        assert abs(sum(priorities)) < len(priorities) * state.total_power


def test_newcomer_starts_behind_and_removed_validators_leave() -> None:
    keys = [ValidatorKey(bytes([i]) * 32) for i in range(3)]
    validators = [Validator(k.public_key, 10, b"\x00" * 20) for k in keys]
    state = ProposerPriorities.initial(ValidatorSet.of(validators[:2]))
    grown = state.updated(ValidatorSet.of(validators))
    newcomer = validators[2].address
    assert grown.priority_of(newcomer) == min(p for _, _, p in grown.entries)
    assert grown.priority_of(newcomer) < 0
    next_state = grown.next_height(ValidatorSet.of(validators[1:]))
    assert {a for a, _, _ in next_state.entries} == {v.address for v in validators[1:]}
    with pytest.raises(InvalidPriorities):
        next_state.priority_of(validators[0].address)


def test_rescaling_bounds_a_huge_spread() -> None:
    state = ProposerPriorities(((b"a", 1, 10**12), (b"b", 1, -(10**12))), b"a")
    after = state.incremented(1)
    priorities = [p for _, _, p in after.entries]
    assert max(priorities) - min(priorities) <= 2 * 2 + 2


def test_encoding_round_trip_and_rejection() -> None:
    state = ProposerPriorities.from_powers([(b"a" * 20, 5), (b"b" * 20, 3)]).incremented(7)
    assert ProposerPriorities.decode(state.encode()) == state
    for bad in (b"", b"\xc0", b"\x01\x02", state.encode()[:-1]):
        with pytest.raises(InvalidPriorities):
            ProposerPriorities.decode(bad)


def test_invalid_sets_are_refused() -> None:
    with pytest.raises(InvalidPriorities):
        ProposerPriorities.from_powers([])
    with pytest.raises(InvalidPriorities):
        ProposerPriorities.from_powers([(b"a", 0)])
    with pytest.raises(InvalidPriorities):
        ProposerPriorities.from_powers([(b"a", 1), (b"a", 2)])
    with pytest.raises(InvalidPriorities):
        ProposerPriorities.from_powers([(b"a", 1)]).incremented(-1)
