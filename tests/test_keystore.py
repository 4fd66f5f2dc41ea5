"""Tests of the geth-format encrypted keystore."""

from __future__ import annotations

import json
import re
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from cybermiles_node.keystore import (
    LIGHT_SCRYPT_N,
    STANDARD_SCRYPT_N,
    AccountExistsError,
    InvalidPrivateKeyError,
    Keystore,
    KeystoreError,
    MalformedKeyfileError,
    UnknownAccountError,
    WrongPasswordError,
    keyfile_name,
)

# First account of the `test test ... junk` development mnemonic.
DEV_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
GETH_NAME = re.compile(r"UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{9}Z--[0-9a-f]{40}")


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    """A keystore with the light scrypt cost so tests stay fast."""
    return Keystore(tmp_path / "keystore", scrypt_n=LIGHT_SCRYPT_N)


def test_new_account_round_trip(keystore: Keystore) -> None:
    address = keystore.new("correct horse")
    key = keystore.unlock(address, "correct horse")
    assert Account.from_key(key).address == address
    assert keystore.list() == [address]


def test_import_then_unlock_returns_the_same_key(keystore: Keystore) -> None:
    address = keystore.import_key("0x" + DEV_KEY, "pw")
    assert address == DEV_ADDRESS
    assert keystore.unlock(DEV_ADDRESS.lower(), "pw") == bytes.fromhex(DEV_KEY)


def test_wrong_password_is_reported_as_geth_words_it(keystore: Keystore) -> None:
    address = keystore.new("right")
    with pytest.raises(WrongPasswordError, match="^could not decrypt key with given password$"):
        keystore.unlock(address, "wrong")


def test_unknown_account(keystore: Keystore) -> None:
    keystore.new("pw")
    with pytest.raises(UnknownAccountError, match="unknown account 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"):
        keystore.unlock("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "pw")


def test_importing_an_existing_account_is_refused(keystore: Keystore) -> None:
    keystore.import_key(DEV_KEY, "pw")
    with pytest.raises(AccountExistsError, match="already exists"):
        keystore.import_key(DEV_KEY, "other")
    assert keystore.list() == [DEV_ADDRESS]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("1234", "32 bytes"),
        ("zz" * 32, "not hexadecimal"),
        ("00" * 32, "outside the secp256k1 range"),
        ("ff" * 32, "outside the secp256k1 range"),
    ],
)
def test_invalid_private_keys_are_refused(keystore: Keystore, key: str, message: str) -> None:
    with pytest.raises(InvalidPrivateKeyError, match=message):
        keystore.import_key(key, "pw")


def test_key_file_is_in_geth_format_and_private(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "keystore")  # geth's standard scrypt cost
    address = store.import_key(DEV_KEY, "pw")
    (path,) = list((tmp_path / "keystore").iterdir())
    assert GETH_NAME.fullmatch(path.name)
    assert path.name.endswith(address[2:].lower())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["version"] == 3
    assert document["address"] == address[2:].lower()
    uuid.UUID(document["id"])
    crypto = document["crypto"]
    assert crypto["cipher"] == "aes-128-ctr"
    assert crypto["kdf"] == "scrypt"
    assert crypto["kdfparams"]["n"] == STANDARD_SCRYPT_N
    assert crypto["kdfparams"]["r"] == 8 and crypto["kdfparams"]["p"] == 1
    assert crypto["kdfparams"]["dklen"] == 32
    assert set(crypto) >= {"cipherparams", "ciphertext", "mac"}
    # Any other Web3 Secret Storage reader decrypts it.
    assert Account.decrypt(document, "pw") == bytes.fromhex(DEV_KEY)


def test_reads_the_web3_secret_storage_scrypt_test_vector(tmp_path: Path) -> None:
    """The published v3 scrypt vector (with the address geth adds) unlocks with its password."""
    private_key = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
    address = Account.from_key(private_key).address
    document = {
        "address": address[2:].lower(),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
            "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32, "n": 262144, "r": 1, "p": 8,
                "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19",
            },
            "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
        },
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version": 3,
    }
    directory = tmp_path / "keystore"
    directory.mkdir()
    (directory / keyfile_name(address, datetime(2016, 3, 22, tzinfo=UTC))).write_text(json.dumps(document))
    store = Keystore(directory)
    assert store.list() == [address]
    assert store.unlock(address, "testpassword").hex() == private_key
    with pytest.raises(WrongPasswordError):
        store.unlock(address, "testpasswore")


def test_list_is_in_creation_order(keystore: Keystore) -> None:
    first = keystore.new("a")
    second = keystore.new("b")
    third = keystore.import_key(DEV_KEY, "c")
    assert keystore.list() == [first, second, third]


def test_malformed_files_are_reported_not_fatal(keystore: Keystore) -> None:
    address = keystore.new("pw")
    (keystore.directory / "UTC--broken").write_text("{not json")
    (keystore.directory / "UTC--v1").write_text(json.dumps({"version": 1, "address": "00" * 20}))
    (keystore.directory / ".hidden").write_text("ignored")
    scan = keystore.scan()
    assert [a for a, _ in scan.accounts] == [address]
    reasons = {path.name: reason for path, reason in scan.malformed}
    assert set(reasons) == {"UTC--broken", "UTC--v1"}
    assert "not JSON" in reasons["UTC--broken"]
    assert "unsupported key file version 1" in reasons["UTC--v1"]
    assert keystore.unlock(address, "pw")
    with pytest.raises(UnknownAccountError, match="2 unreadable key files"):
        keystore.unlock(DEV_ADDRESS, "pw")


def test_tampered_key_file_is_malformed(keystore: Keystore) -> None:
    address = keystore.new("pw")
    path = keystore.path_of(address)
    document = json.loads(path.read_text())
    del document["crypto"]["kdfparams"]
    path.write_text(json.dumps(document))
    with pytest.raises(MalformedKeyfileError):
        keystore.unlock(address, "pw")


def test_empty_or_missing_keystore_lists_nothing(tmp_path: Path) -> None:
    assert Keystore(tmp_path / "absent").list() == []


def test_not_an_address(keystore: Keystore) -> None:
    with pytest.raises(KeystoreError, match="not an account address"):
        keystore.unlock("0x1234", "pw")


def test_scrypt_cost_must_be_a_power_of_two(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="power of two"):
        Keystore(tmp_path, scrypt_n=1000)
