"""Tests of transaction decoding: accepted types, recovered senders, and every way a raw transaction is refused."""
from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vm.errors import InvalidTransaction
from vm.transactions import (
    SECP256K1_N,
    decode_transaction,
    effective_gas_price,
    effective_tip,
    signing_message,
    tx_type,
)
from vm.transactions import TransactionBuilder as PyEvmTransactions

CHAIN_ID = 15
GWEI = 10**9
SIGNER = Account.from_key(keccak(b"transaction test signer"))
SENDER = bytes.fromhex(SIGNER.address[2:])
RECIPIENT = bytes.fromhex("ab" * 20)


def sign(fields: dict) -> bytes:
    """The raw signed encoding of ``fields`` (eth_account picks the type from the fields)."""
    base = {"nonce": 3, "gas": 50_000, "to": RECIPIENT, "value": 7, "data": b"\x01\x02"}
    return bytes(SIGNER.sign_transaction({**base, **fields}).raw_transaction)


def legacy(chain_id: int | None = CHAIN_ID) -> bytes:
    """An EIP-155 legacy transaction (unprotected when ``chain_id`` is None)."""
    fields = {"gasPrice": 2 * GWEI}
    if chain_id is not None:
        fields["chainId"] = chain_id
    return sign(fields)


def access_list(chain_id: int = CHAIN_ID) -> bytes:
    """An EIP-2930 transaction with a one-entry access list."""
    return sign({
        "gasPrice": 2 * GWEI,
        "chainId": chain_id,
        "accessList": [{"address": "0x" + "cd" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}],
    })


def dynamic_fee(chain_id: int = CHAIN_ID, *, max_fee: int = 5 * GWEI, tip: int = 2 * GWEI) -> bytes:
    """An EIP-1559 transaction."""
    return sign({"maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip, "chainId": chain_id})


VALID_ENCODINGS = (legacy(), access_list(), dynamic_fee())


# -- accepted types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected_type"),
    [(legacy(), 0), (access_list(), 1), (dynamic_fee(), 2)],
    ids=["legacy-eip155", "eip2930", "eip1559"],
)
def test_accepted_types_decode_with_the_signer_as_sender(raw: bytes, expected_type: int) -> None:
    tx = decode_transaction(raw, CHAIN_ID)
    assert tx_type(tx) == expected_type
    assert tx.sender == SENDER
    assert tx.nonce == 3 and tx.to == RECIPIENT and tx.value == 7 and tx.data == b"\x01\x02"
    assert tx.encode() == raw
    assert tx.hash == keccak(raw)


def test_access_list_is_kept() -> None:
    tx = decode_transaction(access_list(), CHAIN_ID)
    assert [(address, tuple(keys)) for address, keys in tx.access_list] == [(bytes.fromhex("cd" * 20), (1,))]


def test_sender_is_recovered_once_and_cached() -> None:
    tx = decode_transaction(dynamic_fee(), CHAIN_ID)
    assert tx.__dict__["_sender"] == SENDER
    tx.__dict__["_sender"] = b"\x99" * 20  # a second recovery would overwrite this
    assert tx.sender == b"\x99" * 20


def test_effective_price_of_dynamic_fee_is_base_fee_plus_capped_tip() -> None:
    tx = decode_transaction(dynamic_fee(max_fee=5 * GWEI, tip=2 * GWEI), CHAIN_ID)
    assert effective_gas_price(tx, 1 * GWEI) == 3 * GWEI
    assert effective_tip(tx, 1 * GWEI) == 2 * GWEI
    # the tip is cut to what the fee cap leaves over the base fee
    assert effective_gas_price(tx, 4 * GWEI) == 5 * GWEI
    assert effective_tip(tx, 4 * GWEI) == 1 * GWEI
    assert effective_tip(tx, 6 * GWEI) < 0


def test_effective_price_of_legacy_is_its_gas_price() -> None:
    tx = decode_transaction(legacy(), CHAIN_ID)
    assert effective_gas_price(tx, 1 * GWEI) == 2 * GWEI
    assert effective_tip(tx, 1 * GWEI) == 1 * GWEI


# -- refused transactions -------------------------------------------------------


def test_unprotected_legacy_is_refused() -> None:
    with pytest.raises(InvalidTransaction, match=r"^only replay-protected \(EIP-155\) transactions allowed over RPC$"):
        decode_transaction(legacy(chain_id=None), CHAIN_ID)


@pytest.mark.parametrize("build", [legacy, access_list, dynamic_fee], ids=["legacy", "eip2930", "eip1559"])
def test_wrong_chain_id_is_refused(build) -> None:
    with pytest.raises(InvalidTransaction, match=r"^invalid chain id for signer: have 16 want 15$"):
        decode_transaction(build(16), CHAIN_ID)


def test_blob_transactions_are_refused() -> None:
    raw = b"\x03" + rlp.encode([CHAIN_ID, 0, 1, 2, 21_000, RECIPIENT, 0, b"", [], 1, [b"\x01" * 32], 0, 1, 1])
    with pytest.raises(InvalidTransaction, match="blob transactions are disabled"):
        decode_transaction(raw, CHAIN_ID)


def test_set_code_transactions_are_refused() -> None:
    raw = b"\x04" + rlp.encode([CHAIN_ID, 0, 1, 2, 21_000, RECIPIENT, 0, b"", [], [], 0, 1, 1])
    with pytest.raises(InvalidTransaction, match="set-code transactions are disabled"):
        decode_transaction(raw, CHAIN_ID)


@pytest.mark.parametrize("first_byte", [0x00, 0x05, 0x7F])
def test_unknown_types_are_refused(first_byte: int) -> None:
    with pytest.raises(InvalidTransaction, match="transaction type not supported"):
        decode_transaction(bytes([first_byte]) + dynamic_fee()[1:], CHAIN_ID)


def test_empty_input_is_refused() -> None:
    with pytest.raises(InvalidTransaction):
        decode_transaction(b"", CHAIN_ID)


def test_trailing_bytes_are_refused() -> None:
    for raw in VALID_ENCODINGS:
        with pytest.raises(InvalidTransaction, match="^rlp: "):
            decode_transaction(raw + b"\x00", CHAIN_ID)


def test_integer_with_leading_zero_is_refused() -> None:
    fields = rlp.decode(legacy())
    fields[0] = b"\x00\x03"  # nonce 3 with a leading zero byte
    with pytest.raises(InvalidTransaction, match="^rlp: "):
        decode_transaction(rlp.encode(fields), CHAIN_ID)


def test_long_form_length_for_a_short_payload_is_refused() -> None:
    raw = dynamic_fee()
    payload = raw[1:]
    items = rlp.decode(payload)
    body = b"".join(rlp.encode(item) for item in items)
    assert len(body) < 256
    # the list length written with two bytes (0xf9) where one byte (0xf8) is canonical
    non_canonical = b"\x02" + bytes([0xF9]) + len(body).to_bytes(2, "big") + body
    with pytest.raises(InvalidTransaction, match="^rlp: "):
        decode_transaction(non_canonical, CHAIN_ID)


def test_high_s_signature_is_refused() -> None:
    fields = rlp.decode(dynamic_fee()[1:])
    y_parity, s = rlp.sedes.big_endian_int.deserialize(fields[9]), rlp.sedes.big_endian_int.deserialize(fields[11])
    fields[9] = rlp.sedes.big_endian_int.serialize(1 - y_parity)
    fields[11] = rlp.sedes.big_endian_int.serialize(SECP256K1_N - s)
    with pytest.raises(InvalidTransaction, match="^invalid transaction v, r, s values$"):
        decode_transaction(b"\x02" + rlp.encode(fields), CHAIN_ID)


def test_zero_r_signature_is_refused() -> None:
    fields = rlp.decode(access_list()[1:])
    fields[9] = b""
    with pytest.raises(InvalidTransaction, match="^invalid transaction v, r, s values$"):
        decode_transaction(b"\x01" + rlp.encode(fields), CHAIN_ID)


def test_bad_legacy_v_is_refused() -> None:
    fields = rlp.decode(legacy())
    fields[6] = b"\x1d"  # v = 29: neither 27/28 nor EIP-155
    with pytest.raises(InvalidTransaction, match="^invalid transaction v, r, s values$"):
        decode_transaction(rlp.encode(fields), CHAIN_ID)


def test_tip_above_fee_cap_is_refused() -> None:
    # eth_account refuses to sign such a transaction: build and sign it by hand
    unsigned = rlp.decode(dynamic_fee()[1:])[:9]
    unsigned[2] = rlp.sedes.big_endian_int.serialize(3 * GWEI)  # max priority fee
    unsigned[3] = rlp.sedes.big_endian_int.serialize(1 * GWEI)  # max fee
    message = b"\x02" + rlp.encode(unsigned)
    signature = SIGNER.unsafe_sign_hash(keccak(message))
    raw = b"\x02" + rlp.encode(unsigned + [signature.v - 27, signature.r, signature.s])
    with pytest.raises(InvalidTransaction, match="max priority fee per gas higher than max fee per gas"):
        decode_transaction(raw, CHAIN_ID)


def test_tampered_payload_recovers_another_sender() -> None:
    fields = rlp.decode(dynamic_fee()[1:])
    fields[6] = rlp.sedes.big_endian_int.serialize(8)  # value 7 -> 8, signature kept
    try:
        tx = decode_transaction(b"\x02" + rlp.encode(fields), CHAIN_ID)
    except InvalidTransaction:
        return
    assert tx.sender != SENDER


# -- robustness -----------------------------------------------------------------


def _decode_or_refuse(raw: bytes) -> None:
    """Decoding either yields a transaction with a 20-byte sender or raises InvalidTransaction."""
    try:
        tx = decode_transaction(raw, CHAIN_ID)
    except InvalidTransaction as exc:
        assert str(exc)
        return
    assert len(tx.sender) == 20
    assert tx.encode() == raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_invalid_transaction(raw: bytes) -> None:
    _decode_or_refuse(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from([0x01, 0x02, 0x03, 0x04]))
def test_random_typed_payloads_never_raise_anything_but_invalid_transaction(payload: bytes, kind: int) -> None:
    _decode_or_refuse(bytes([kind]) + payload)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID_ENCODINGS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 10_000),
    st.binary(max_size=8),
)
def test_mutated_valid_encodings_never_raise_anything_but_invalid_transaction(
    raw: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    mutated = bytearray(raw)
    for position, value in flips:
        mutated[position % len(mutated)] = value
    _decode_or_refuse(bytes(mutated))
    _decode_or_refuse(raw[: cut % len(raw)])
    _decode_or_refuse(bytes(mutated) + tail)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID_ENCODINGS), st.data())
def test_mutated_fields_never_raise_anything_but_invalid_transaction(raw: bytes, data: st.DataObject) -> None:
    typed = raw[0] < 0x7F
    fields = rlp.decode(raw[1:] if typed else raw)
    index = data.draw(st.integers(0, len(fields) - 1))
    fields[index] = data.draw(
        st.one_of(st.binary(max_size=40), st.lists(st.binary(max_size=33), max_size=3))
    )
    encoded = rlp.encode(fields)
    _decode_or_refuse(raw[:1] + encoded if typed else encoded)


# -- the signed message ---------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["legacy", "unprotected", "access-list", "dynamic"]),
    chain_id=st.sampled_from([1, 15, 1337, 2**31 - 1, 2**64 - 1]),
    nonce=st.sampled_from([0, 1, 127, 128, 2**32]),
    value=st.sampled_from([0, 1, 10**18, 2**255]),
    data=st.binary(max_size=80),
    create=st.booleans(),
    entries=st.integers(0, 3),
)
def test_signing_message_cut_from_the_encoding_equals_py_evms(kind, chain_id, nonce, value, data, create,
                                                                entries) -> None:
    """The message recovered against is the one py-evm would build from the decoded fields."""
    fields: dict = {"nonce": nonce, "gas": 10**6, "value": value, "data": data, "to": b"" if create else RECIPIENT}
    if kind in ("legacy", "access-list"):
        fields["gasPrice"] = 2 * GWEI
    else:
        fields.update(maxFeePerGas=5 * GWEI, maxPriorityFeePerGas=GWEI)
    if kind != "unprotected":
        fields["chainId"] = chain_id
    if kind == "access-list":
        fields["accessList"] = [{"address": "0x" + "cd" * 20, "storageKeys": ["0x" + f"{k:064x}" for k in range(i)]}
                                for i in range(entries)]
    raw = bytes(SIGNER.sign_transaction(fields).raw_transaction)
    tx = PyEvmTransactions.decode(raw)
    legacy_chain = chain_id if kind == "legacy" else None
    assert signing_message(raw, legacy_chain) == tx.get_message_for_signing()
