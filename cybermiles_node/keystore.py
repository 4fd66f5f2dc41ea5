"""Encrypted account keystores in geth's on-disk format.

Each account is one Web3 Secret Storage (version 3) JSON file, encrypted with
scrypt and AES-128-CTR, named like geth names them,
``UTC--<ISO 8601 time>--<lowercase address without 0x>``, with file mode 0600.
A directory written here can be read by geth, Clef, MetaMask's JSON import or
web3.py, and the other way round.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_keyfile import create_keyfile_json, decode_keyfile_json
from eth_keys import keys
from eth_utils import ValidationError as EthValidationError
from eth_utils import is_hex_address, to_checksum_address

from cybermiles_node.secretfile import SecretFileError, read_secret_file
from middleware.jsonnesting import first_too_deep

#: geth's standard scrypt cost (N=2^18, r=8, p=1): about a second per unlock.
STANDARD_SCRYPT_N = 1 << 18
#: geth's ``--lightkdf`` cost (N=2^12): for throwaway development keys only.
LIGHT_SCRYPT_N = 1 << 12
#: Keystore files larger than this are not keystore files.
MAX_KEYFILE_BYTES = 64 * 1024
#: Bytes in a secp256k1 private key.
PRIVATE_KEY_BYTES = 32
#: Objects inside one another in a key file (it needs 3).
MAX_KEYFILE_NESTING = 8
#: Bounds of the key derivation a key file may ask for: at most geth's standard memory (N=2^18 with
#: r=8, 256 MiB), four times its work (N * r * p), 4 million PBKDF2 rounds (geth writes 262,144).
MAX_SCRYPT_N = 1 << 20
MAX_SCRYPT_R = 8
MAX_SCRYPT_P = 16
MAX_SCRYPT_WORK = 4 * STANDARD_SCRYPT_N * 8
MAX_PBKDF2_ROUNDS = 1 << 22
MAX_SALT_BYTES = 64
DERIVED_KEY_BYTES = 32
_HEX = re.compile(r"[0-9a-fA-F]*")


class KeystoreError(Exception):
    """Root of every keystore error; the message is fit to show to a user."""


class WrongPasswordError(KeystoreError):
    """The password does not decrypt the key file."""


class UnknownAccountError(KeystoreError):
    """No key file in the keystore holds the requested address."""


class AccountExistsError(KeystoreError):
    """A key file for the address is already in the keystore."""


class MalformedKeyfileError(KeystoreError):
    """A file in the keystore is not a valid version 3 key file."""


class InvalidPrivateKeyError(KeystoreError):
    """A private key given for import is not 32 bytes of valid secp256k1 key."""


@dataclass(frozen=True)
class KeystoreScan:
    """What a keystore directory holds: readable key files and the unreadable ones."""

    #: ``(checksum address, key file)`` in key file name order.
    accounts: tuple[tuple[str, Path], ...]
    #: ``(file, reason)`` for files that are not valid key files.
    malformed: tuple[tuple[Path, str], ...]


class Keystore:
    """A directory of geth-format encrypted key files."""

    def __init__(self, directory: Path | str, *, scrypt_n: int = STANDARD_SCRYPT_N) -> None:
        """Use ``directory`` (created on first write); new keys use scrypt cost ``scrypt_n``."""
        if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
            raise KeystoreError(f"scrypt N must be a power of two greater than 1, got {scrypt_n}")
        self.directory = Path(directory)
        self.scrypt_n = scrypt_n

    def new(self, password: str) -> str:
        """Create a fresh random account encrypted with ``password``; return its checksum address."""
        return self.import_key(secrets.token_bytes(PRIVATE_KEY_BYTES), password)

    def import_key(self, private_key: bytes | str, password: str) -> str:
        """Store ``private_key`` (32 bytes or hex) encrypted with ``password``; return its address."""
        key_bytes = parse_private_key(private_key)
        address = keys.PrivateKey(key_bytes).public_key.to_checksum_address()
        if any(known == address for known, _path in self.scan().accounts):
            raise AccountExistsError(f"account {address} already exists in {self.directory}")
        document = create_keyfile_json(
            key_bytes, password.encode("utf-8"), kdf="scrypt", iterations=self.scrypt_n
        )
        document["address"] = address[2:].lower()
        self._write(address, document)
        return address

    def list(self) -> list[str]:
        """Return the checksum addresses in the keystore, oldest key file first (geth's order)."""
        addresses: list[str] = []
        for address, _path in self.scan().accounts:
            if address not in addresses:
                addresses.append(address)
        return addresses

    def scan(self) -> KeystoreScan:
        """Read every file of the directory; malformed files are reported, not raised."""
        accounts: list[tuple[str, Path]] = []
        malformed: list[tuple[Path, str]] = []
        for path in self._key_files():
            try:
                accounts.append((_read_keyfile(path)["address"], path))
            except MalformedKeyfileError as exc:
                malformed.append((path, str(exc)))
        return KeystoreScan(accounts=tuple(accounts), malformed=tuple(malformed))

    def unlock(self, address: str, password: str) -> bytes:
        """Decrypt and return the 32-byte private key of ``address``."""
        checksum = _checksum(address)
        matches = self._files_for(checksum)
        if len(matches) > 1:
            names = ", ".join(path.name for path in matches)
            raise KeystoreError(f"multiple key files hold account {checksum}: {names}")
        path = matches[0]
        document = _read_keyfile(path)["document"]
        problem = _crypto_problem(document.get("crypto", document.get("Crypto")))
        if problem is not None:
            raise MalformedKeyfileError(f"{path}: crypto.{problem}")
        try:
            private_key = decode_keyfile_json(document, password.encode("utf-8"))
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise WrongPasswordError("could not decrypt key with given password") from exc
            raise MalformedKeyfileError(f"{path}: {exc}") from exc
        except (KeyError, TypeError) as exc:
            raise MalformedKeyfileError(f"{path}: missing or invalid field {exc}") from exc
        try:
            owner = keys.PrivateKey(private_key).public_key.to_checksum_address()
        except EthValidationError:
            raise MalformedKeyfileError(f"{path}: the decrypted key is outside the secp256k1 range") from None
        if owner != checksum:
            raise MalformedKeyfileError(f"{path}: the decrypted key does not belong to {checksum}")
        return bytes(private_key)

    def path_of(self, address: str) -> Path:
        """Return the key file holding ``address``."""
        return self._files_for(_checksum(address))[0]

    def _key_files(self) -> builtins.list[Path]:
        """Key files in name order, skipping hidden and editor backup files as geth does."""
        if not self.directory.is_dir():
            return []
        return sorted(
            path
            for path in self.directory.iterdir()
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith("~")
        )

    def _files_for(self, checksum: str) -> builtins.list[Path]:
        """Key files whose address is ``checksum`` (at least one, else :class:`UnknownAccountError`)."""
        scan = self.scan()
        matches = [path for address, path in scan.accounts if address == checksum]
        if not matches:
            unreadable = ""
            if scan.malformed:
                names = ", ".join(path.name for path, _reason in scan.malformed)
                unreadable = f" ({len(scan.malformed)} unreadable key files: {names})"
            raise UnknownAccountError(
                f"unknown account {checksum}: no key file in {self.directory}{unreadable}"
            )
        return matches

    def _write(self, address: str, document: dict[str, Any]) -> None:
        """Write ``document`` atomically to a new 0600 file named the geth way."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / keyfile_name(address, datetime.now(UTC))
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)


def keyfile_name(address: str, created: datetime) -> str:
    """Return geth's file name for ``address`` created at ``created`` (UTC)."""
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%S.%f") + "000Z"
    return f"UTC--{stamp}--{_checksum(address)[2:].lower()}"


def parse_private_key(private_key: bytes | str) -> bytes:
    """Return the 32 key bytes of ``private_key`` given as bytes or hex text (0x optional)."""
    if isinstance(private_key, str):
        text = private_key.strip()
        text = text[2:] if text[:2].lower() == "0x" else text
        if len(text) != 2 * PRIVATE_KEY_BYTES:
            raise InvalidPrivateKeyError(
                f"a private key is {PRIVATE_KEY_BYTES} bytes ({2 * PRIVATE_KEY_BYTES} hex digits), "
                f"got {len(text)} characters"
            )
        try:
            key_bytes = bytes.fromhex(text)
        except ValueError:
            raise InvalidPrivateKeyError("the private key is not hexadecimal") from None
    else:
        key_bytes = bytes(private_key)
    if len(key_bytes) != PRIVATE_KEY_BYTES:
        raise InvalidPrivateKeyError(
            f"a private key is {PRIVATE_KEY_BYTES} bytes, got {len(key_bytes)}"
        )
    try:
        keys.PrivateKey(key_bytes)
    except EthValidationError:
        raise InvalidPrivateKeyError("the private key is outside the secp256k1 range") from None
    return key_bytes


def _checksum(address: str) -> str:
    """Return the checksum form of ``address`` or raise :class:`KeystoreError`."""
    if not isinstance(address, str) or not is_hex_address(address):
        raise KeystoreError(f"not an account address: {address!r}")
    return to_checksum_address(address)


def _read_keyfile(path: Path) -> dict[str, Any]:
    """Parse ``path`` and return ``{"address": checksum, "document": dict}``."""
    try:
        text = read_secret_file(path, "key file", MAX_KEYFILE_BYTES)
    except SecretFileError as exc:
        raise MalformedKeyfileError(str(exc)) from None
    if first_too_deep(text, MAX_KEYFILE_NESTING) is not None:
        raise MalformedKeyfileError(f"{path}: nested deeper than {MAX_KEYFILE_NESTING} levels")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedKeyfileError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedKeyfileError(f"{path}: not a JSON object")
    if document.get("version") != 3:
        raise MalformedKeyfileError(f"{path}: unsupported key file version {document.get('version')!r}")
    crypto = document.get("crypto", document.get("Crypto"))
    if not isinstance(crypto, dict):
        raise MalformedKeyfileError(f"{path}: missing the 'crypto' section")
    raw_address = document.get("address")
    if not isinstance(raw_address, str) or not is_hex_address(
        raw_address if raw_address.startswith("0x") else "0x" + raw_address
    ):
        raise MalformedKeyfileError(f"{path}: missing or invalid 'address'")
    address = to_checksum_address(raw_address if raw_address.startswith("0x") else "0x" + raw_address)
    return {"address": address, "document": document}


def _hex_of(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is hex (no 0x) of ``low`` to ``high`` bytes."""
    return isinstance(value, str) and low * 2 <= len(value) <= high * 2 and _HEX.fullmatch(value) is not None


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _crypto_problem(crypto: dict[str, Any]) -> str | None:
    """What is wrong with a key file's ``crypto`` section (the field and why), or None.

    The key derivation's cost is bounded, so a key file cannot make an unlock
    run for hours or allocate gigabytes.
    """
    if crypto.get("cipher") != "aes-128-ctr":
        return "cipher: only aes-128-ctr is supported"
    params = crypto.get("cipherparams")
    if not isinstance(params, dict) or not _hex_of(params.get("iv"), 16, 16):
        return "cipherparams.iv: expected 16 bytes of hex"
    if not _hex_of(crypto.get("ciphertext"), PRIVATE_KEY_BYTES, PRIVATE_KEY_BYTES):
        return f"ciphertext: expected {PRIVATE_KEY_BYTES} bytes of hex"
    if not _hex_of(crypto.get("mac"), 32, 32):
        return "mac: expected 32 bytes of hex"
    kdf, kdfparams = crypto.get("kdf"), crypto.get("kdfparams")
    if not isinstance(kdfparams, dict):
        return "kdfparams: missing"
    if kdfparams.get("dklen") != DERIVED_KEY_BYTES:
        return f"kdfparams.dklen: must be {DERIVED_KEY_BYTES}"
    if not _hex_of(kdfparams.get("salt"), 0, MAX_SALT_BYTES):
        return f"kdfparams.salt: expected at most {MAX_SALT_BYTES} bytes of hex"
    if kdf == "scrypt":
        n, r, p = kdfparams.get("n"), kdfparams.get("r"), kdfparams.get("p")
        if not _whole(n, 2, MAX_SCRYPT_N) or n & (n - 1):
            return f"kdfparams.n: must be a power of two from 2 to {MAX_SCRYPT_N}"
        if not _whole(r, 1, MAX_SCRYPT_R) or not _whole(p, 1, MAX_SCRYPT_P):
            return f"kdfparams: r must be 1 to {MAX_SCRYPT_R} and p 1 to {MAX_SCRYPT_P}"
        if n * r > STANDARD_SCRYPT_N * MAX_SCRYPT_R:
            return f"kdfparams: n * r above {STANDARD_SCRYPT_N * MAX_SCRYPT_R} (scrypt would need over 256 MiB)"
        if n * r * p > MAX_SCRYPT_WORK:
            return f"kdfparams: n * r * p above {MAX_SCRYPT_WORK}"
        return None
    if kdf == "pbkdf2":
        if kdfparams.get("prf") != "hmac-sha256":
            return "kdfparams.prf: only hmac-sha256 is supported"
        if not _whole(kdfparams.get("c"), 1, MAX_PBKDF2_ROUNDS):
            return f"kdfparams.c: must be 1 to {MAX_PBKDF2_ROUNDS}"
        return None
    return "kdf: only scrypt and pbkdf2 are supported"
