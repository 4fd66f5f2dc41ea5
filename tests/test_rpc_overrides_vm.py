"""Execution behind the state-override, access-list, proof and simulation methods, on hand-assembled contracts."""
from __future__ import annotations

import rlp
from eth.rlp.accounts import Account as TrieAccount
from eth_account import Account
from eth_hash.auto import keccak
from trie import HexaryTrie

from vm.access_list import create_access_list
from vm.execution import CallMessage, GenesisAccount
from vm.overrides import AccountOverride, BlockOverrides, CallOverrides
from vm.proofs import prove_account
from vm.simulation import SimulatedBlockInput, SimulationError, simulate

ETHER = 10**18
ALICE = Account.from_key(keccak(b"overrides alice"))
ALICE_ADDR = bytes.fromhex(ALICE.address[2:])
NOBODY = bytes.fromhex("99" * 20)


def push1(value: int) -> bytes:
    """PUSH1 ``value``."""
    return bytes([0x60, value])


# Returns SLOAD(calldata[0]).
SLOT_READER = push1(0) + b"\x35\x54" + push1(0) + b"\x52" + push1(32) + push1(0) + b"\xf3"
# Returns NUMBER, TIMESTAMP, COINBASE, BASEFEE, GASLIMIT, PREVRANDAO as six words.
BLOCK_VIEW = b"".join(op + push1(32 * i) + b"\x52" for i, op in enumerate(
    [b"\x43", b"\x42", b"\x41", b"\x48", b"\x45", b"\x44"])) + push1(192) + push1(0) + b"\xf3"
# Returns BALANCE(calldata[0]) after SLOAD(7): touches another account and a slot.
TOUCHER = push1(7) + b"\x54\x50" + push1(0) + b"\x35\x31" + push1(0) + b"\x52" + push1(32) + push1(0) + b"\xf3"
# Increments slot 0.
COUNTER = push1(0) + b"\x54" + push1(1) + b"\x01" + push1(0) + b"\x55\x00"

READER = bytes.fromhex("a1" * 20)
VIEW = bytes.fromhex("a2" * 20)
TOUCH = bytes.fromhex("a3" * 20)
COUNT = bytes.fromhex("a4" * 20)
GENESIS = (
    GenesisAccount(ALICE_ADDR, balance=10 * ETHER, nonce=3),
    GenesisAccount(READER, code=SLOT_READER, storage=((1, 11), (2, 22))),
    GenesisAccount(VIEW, code=BLOCK_VIEW),
    GenesisAccount(TOUCH, code=TOUCHER),
    GenesisAccount(COUNT, code=COUNTER),
)


def word(value: int) -> bytes:
    """A 32-byte word."""
    return value.to_bytes(32, "big")


def test_a_call_ignores_a_nonce_that_is_not_the_next_one(memory_chain) -> None:
    chain = memory_chain(GENESIS)
    for nonce in (0, 3, 4, 100):
        outcome = chain.call(CallMessage(sender=ALICE_ADDR, to=READER, data=word(1), nonce=nonce))
        assert outcome.success and outcome.output == word(11), nonce
        estimate = chain.executor.estimate_gas(
            chain.db, chain.root, chain.env(), CallMessage(sender=ALICE_ADDR, to=COUNT, nonce=nonce), cap=30_000_000)
        assert estimate.success and estimate.gas_used > 21_000


def test_state_overrides_change_balance_nonce_code_and_storage_for_one_call(memory_chain) -> None:
    chain = memory_chain(GENESIS)

    def read(slot: int, account: AccountOverride) -> int:
        outcome = chain.executor.call(chain.db, chain.root, chain.env(), CallMessage(sender=ALICE_ADDR, to=READER, data=word(slot)),
                                      overrides=CallOverrides(state=((READER, account),)))
        assert outcome.success, outcome.error
        return int.from_bytes(outcome.output, "big")

    assert read(1, AccountOverride(state_diff=((2, 5),))) == 11  # a diff keeps the other slots
    assert read(2, AccountOverride(state_diff=((2, 5),))) == 5
    assert read(1, AccountOverride(state=((2, 5),))) == 0  # a full state clears the other slots
    assert read(2, AccountOverride(state=((2, 5),))) == 5
    # Code placed at an empty address runs there; the balance of a poor sender is raised.
    moved = chain.executor.call(
        chain.db, chain.root, chain.env(), CallMessage(sender=NOBODY, to=NOBODY, data=word(0), value=ETHER),
        overrides=CallOverrides(state=((NOBODY, AccountOverride(balance=2 * ETHER, code=SLOT_READER,
                                                                 state_diff=((0, 42),))),)))
    assert moved.success and moved.output == word(42)
    assert chain.state.get_code(NOBODY) == b"" and chain.state.get_balance(NOBODY) == 0


def test_block_overrides_set_what_the_evm_sees(memory_chain) -> None:
    chain = memory_chain(GENESIS)
    block = BlockOverrides(number=1234, time=1_900_000_000, gas_limit=40_000_000, fee_recipient=NOBODY,
                           prev_randao=b"\x07" * 32, base_fee=3)
    outcome = chain.executor.call(chain.db, chain.root, chain.env(), CallMessage(sender=ALICE_ADDR, to=VIEW, gas_price=3),
                                  overrides=CallOverrides(block=block))
    assert outcome.success
    words = [int.from_bytes(outcome.output[i:i + 32], "big") for i in range(0, 192, 32)]
    assert words == [1234, 1_900_000_000, int.from_bytes(NOBODY, "big"), 3, 40_000_000, int.from_bytes(b"\x07" * 32, "big")]


def test_access_list_names_the_touched_account_and_slot_and_saves_gas(memory_chain) -> None:
    chain = memory_chain(GENESIS)
    message = CallMessage(sender=ALICE_ADDR, to=TOUCH, data=word(int.from_bytes(READER, "big")))
    found = create_access_list(chain.executor, chain.db, chain.root, chain.env(), message)
    assert found.outcome.success
    assert found.access_list == ((READER, ()),)  # the recipient (and its slot 7) is left out, as geth does
    plain = chain.call(message)
    assert plain.gas_used - found.outcome.gas_used == 100  # a cold account read (2600) vs listed (2400) + warm (100)


def test_account_and_storage_proofs_verify_against_the_state_root(memory_chain) -> None:
    chain = memory_chain(GENESIS)
    proof = prove_account(chain.db, chain.root, READER, [1, 2, 3])
    encoded = HexaryTrie.get_from_proof(chain.root, keccak(READER), [rlp.decode(node) for node in proof.proof])
    account = rlp.decode(encoded, sedes=TrieAccount)
    assert (account.storage_root, account.code_hash) == (proof.storage_root, keccak(SLOT_READER))
    for entry, expected in zip(proof.storage, (11, 22, 0), strict=True):
        stored = HexaryTrie.get_from_proof(proof.storage_root, keccak(word(entry.slot)), [rlp.decode(n) for n in entry.proof])
        assert entry.value == expected == (rlp.decode(stored, sedes=rlp.sedes.big_endian_int) if stored else 0)
    absent = prove_account(chain.db, chain.root, NOBODY, [])
    assert HexaryTrie.get_from_proof(chain.root, keccak(NOBODY), [rlp.decode(n) for n in absent.proof]) == b""
    assert (absent.balance, absent.nonce) == (0, 0)


def test_simulation_carries_state_across_blocks_and_validates_on_request(memory_chain) -> None:
    chain = memory_chain(GENESIS)
    env = chain.env(base_fee=0)
    increment = CallMessage(sender=ALICE_ADDR, to=COUNT)
    read = CallMessage(sender=ALICE_ADDR, to=READER, data=word(0))
    blocks = [
        SimulatedBlockInput(env, (), (increment, increment)),
        SimulatedBlockInput(env.__class__(**{**env.__dict__, "number": env.number + 1}),
                            ((READER, AccountOverride(code=SLOT_READER + b"", state_diff=((0, 9),))),), (read,)),
    ]
    result = simulate(chain.executor, chain.db, chain.root, chain.hashes[0], blocks, validate=False)
    assert [len(block.calls) for block in result] == [2, 1]
    assert [call.nonce for call in result[0].calls] == [3, 4]
    assert result[1].calls[0].outcome.output == word(9)
    assert result[1].parent_hash == result[0].hash
    assert chain.state.get_storage(COUNT, 0) == 0
    wrong_nonce = CallMessage(sender=ALICE_ADDR, to=COUNT, nonce=7)
    try:
        simulate(chain.executor, chain.db, chain.root, chain.hashes[0], [SimulatedBlockInput(env, (), (wrong_nonce,))],
                 validate=True)
    except SimulationError as exc:
        assert "nonce" in exc.reason
    else:
        raise AssertionError("a wrong nonce passed validation")
