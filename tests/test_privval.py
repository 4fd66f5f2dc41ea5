"""Tests of validator keys and the private validator's double-sign guard, including reloads from disk."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from consensus.errors import DoubleSignRefused, ValidatorKeyFileError
from consensus.keys import ValidatorKey, address_of, verify
from consensus.privval import STEP_PRECOMMIT, STEP_PREVOTE, STEP_PROPOSE, PrivValidator

KEY = ValidatorKey(seed=keccak(b"privval test key"))
OTHER = ValidatorKey(seed=keccak(b"another key"))


# -- keys ---------------------------------------------------------------------------


def test_signatures_verify_only_for_the_signed_message_and_key() -> None:
    signature = KEY.sign(b"message")
    assert len(KEY.public_key) == 32 and len(signature) == 64
    assert verify(KEY.public_key, b"message", signature)
    assert not verify(KEY.public_key, b"messagf", signature)
    assert not verify(OTHER.public_key, b"message", signature)
    assert not verify(KEY.public_key, b"message", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not verify(b"\x00" * 5, b"message", signature)  # not a public key
    assert not verify(KEY.public_key, b"message", b"short")


def test_rfc8032_test_vector() -> None:
    # RFC 8032 section 7.1, TEST 1 (empty message)
    key = ValidatorKey(seed=bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert key.public_key.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_address_is_the_first_20_bytes_of_sha256_of_the_public_key() -> None:
    import hashlib

    assert KEY.address == address_of(KEY.public_key) == hashlib.sha256(KEY.public_key).digest()[:20]


def test_generated_keys_differ() -> None:
    assert ValidatorKey.generate().seed != ValidatorKey.generate().seed


def test_key_file_round_trip_with_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "validator_key.json"
    KEY.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ValidatorKey.load(path) == KEY
    data = json.loads(path.read_text())
    assert data["address"] == KEY.address.hex() and data["pub_key"] == KEY.public_key.hex()


def test_saving_never_overwrites_a_key(tmp_path: Path) -> None:
    path = tmp_path / "validator_key.json"
    KEY.save(path)
    with pytest.raises(FileExistsError):
        OTHER.save(path)
    assert ValidatorKey.load(path) == KEY


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ValidatorKeyFileError, match="validator key file not found"):
        ValidatorKey.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "malformed validator key file"),
        ("[]", "malformed validator key file"),
        ('{"pub_key": "00"}', "malformed validator key file"),
        ('{"priv_key": "zz"}', "malformed validator key file"),
        ('{"priv_key": "0011", "pub_key": "00"}', "inconsistent"),
    ],
)
def test_malformed_key_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "validator_key.json"
    path.write_text(content)
    with pytest.raises(ValidatorKeyFileError, match=message):
        ValidatorKey.load(path)


def test_key_file_whose_public_key_does_not_match(tmp_path: Path) -> None:
    path = tmp_path / "validator_key.json"
    KEY.save(path)
    data = json.loads(path.read_text())
    data["pub_key"] = OTHER.public_key.hex()
    path.write_text(json.dumps(data))
    with pytest.raises(ValidatorKeyFileError, match="inconsistent"):
        ValidatorKey.load(path)


# -- the private validator ---------------------------------------------------------------


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "last_signed.json"


def test_signs_and_records_before_returning(state_path: Path) -> None:
    privval = PrivValidator(KEY, state_path)
    assert privval.last is None and privval.address == KEY.address
    signature = privval.sign(5, 0, STEP_PREVOTE, b"vote A")
    assert verify(KEY.public_key, b"vote A", signature)
    record = json.loads(state_path.read_text())
    assert (record["height"], record["round"], record["step"]) == (5, 0, STEP_PREVOTE)
    assert bytes.fromhex(record["signature"]) == signature
    assert stat.S_IMODE(os.stat(state_path).st_mode) == 0o600


def test_refuses_different_bytes_at_the_same_step(state_path: Path) -> None:
    privval = PrivValidator(KEY, state_path)
    privval.sign(5, 0, STEP_PRECOMMIT, b"block A")
    with pytest.raises(DoubleSignRefused, match=r"already signed different data at \(5, 0, 3\)"):
        privval.sign(5, 0, STEP_PRECOMMIT, b"block B")


def test_identical_bytes_get_the_identical_signature(state_path: Path) -> None:
    privval = PrivValidator(KEY, state_path)
    first = privval.sign(5, 0, STEP_PRECOMMIT, b"block A")
    assert privval.sign(5, 0, STEP_PRECOMMIT, b"block A") == first


@pytest.mark.parametrize(
    "earlier",
    [(5, 0, STEP_PREVOTE), (5, 0, STEP_PROPOSE), (4, 9, STEP_PRECOMMIT), (0, 0, STEP_PROPOSE)],
)
def test_refuses_any_lower_position(state_path: Path, earlier: tuple[int, int, int]) -> None:
    privval = PrivValidator(KEY, state_path)
    privval.sign(5, 0, STEP_PRECOMMIT, b"block A")
    with pytest.raises(DoubleSignRefused, match="already signed a later step"):
        privval.sign(*earlier, b"block A")


def test_later_positions_may_sign_anything(state_path: Path) -> None:
    privval = PrivValidator(KEY, state_path)
    privval.sign(5, 0, STEP_PREVOTE, b"A")
    privval.sign(5, 0, STEP_PRECOMMIT, b"B")
    privval.sign(5, 1, STEP_PROPOSE, b"C")
    privval.sign(6, 0, STEP_PROPOSE, b"D")
    assert (privval.last.height, privval.last.round, privval.last.step) == (6, 0, STEP_PROPOSE)


def test_the_guard_survives_a_restart(state_path: Path) -> None:
    signature = PrivValidator(KEY, state_path).sign(7, 2, STEP_PRECOMMIT, b"block A")
    reloaded = PrivValidator(KEY, state_path)
    assert reloaded.last is not None and (reloaded.last.height, reloaded.last.round) == (7, 2)
    assert reloaded.sign(7, 2, STEP_PRECOMMIT, b"block A") == signature
    with pytest.raises(DoubleSignRefused):
        reloaded.sign(7, 2, STEP_PRECOMMIT, b"block B")
    with pytest.raises(DoubleSignRefused):
        reloaded.sign(7, 1, STEP_PRECOMMIT, b"block B")
    reloaded.sign(7, 3, STEP_PRECOMMIT, b"block B")
    assert PrivValidator(KEY, state_path).last.round == 3


def test_no_temporary_file_is_left_behind(state_path: Path) -> None:
    PrivValidator(KEY, state_path).sign(1, 0, STEP_PROPOSE, b"x")
    assert sorted(p.name for p in state_path.parent.iterdir()) == [state_path.name]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[1, 2]",
        "null",
        '{"height": 1, "round": 0, "step": 3}',
        '{"height": "x", "round": 0, "step": 3, "sign_bytes_hash": "00", "signature": "00"}',
        '{"height": 1, "round": 0, "step": 3, "sign_bytes_hash": "zz", "signature": "00"}',
    ],
    ids=["empty", "truncated", "list", "null", "missing-fields", "bad-height", "bad-hex"],
)
def test_corrupted_record_is_a_key_file_error(state_path: Path, content: str) -> None:
    state_path.write_text(content)
    with pytest.raises(ValidatorKeyFileError, match="last-signed record"):
        PrivValidator(KEY, state_path)


def test_unreadable_record_is_a_key_file_error(state_path: Path) -> None:
    state_path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValidatorKeyFileError, match="last-signed record"):
        PrivValidator(KEY, state_path)
