"""``cmnode account new|list|import``: manage the encrypted keystore of a node home.

Also the keystore and password options that the transaction commands share.
Passwords come from ``--password-file`` (its first line, as geth reads it),
else the ``CMNODE_PASSWORD`` environment variable, else a hidden prompt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cybermiles_node.cli.output import CommandError, emit, json_option, reporting_errors
from cybermiles_node.home import HOME_ENV, NodeHome
from cybermiles_node.keystore import (
    LIGHT_SCRYPT_N,
    STANDARD_SCRYPT_N,
    Keystore,
    KeystoreError,
)
from cybermiles_node.secretfile import MAX_SECRET_FILE_BYTES, SecretFileError, read_secret_file

#: Environment variable holding a keystore password, for scripts.
PASSWORD_ENV = "CMNODE_PASSWORD"

F = TypeVar("F", bound=Callable[..., Any])


def password_option(command: F) -> F:
    """Add ``--password-file`` to ``command``."""
    return click.option(
        "--password-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"File whose first line is the keystore password (else ${PASSWORD_ENV}, else a prompt).",
    )(command)


def keystore_options(command: F) -> F:
    """Add ``--home`` and ``--keystore`` to ``command``."""
    command = click.option(
        "--keystore",
        "keystore_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Keystore directory (default: <home>/keystore).",
    )(command)
    command = click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Node home directory (default: ${HOME_ENV}, else ~/.cmnode).",
    )(command)
    return command


def open_keystore(home: Path | None, keystore_dir: Path | None, *, light_kdf: bool = False) -> Keystore:
    """The keystore at ``keystore_dir``, else the node home's (``--home``, ``$CMNODE_HOME``, ``~/.cmnode``)."""
    directory = keystore_dir.expanduser() if keystore_dir is not None else NodeHome.resolve(home).keystore
    return Keystore(directory, scrypt_n=LIGHT_SCRYPT_N if light_kdf else STANDARD_SCRYPT_N)


def read_password(password_file: Path | None, *, confirm: bool = False, prompt: str = "Password") -> str:
    """The password from ``password_file``, ``$CMNODE_PASSWORD`` or a hidden prompt."""
    if password_file is not None:
        return _first_line(secret_text(password_file, "password file"))
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, default="",
                              show_default=False, err=True)
    return value


def secret_text(path: Path, what: str) -> str:
    """The text of a small secret file, its problems reported as a command error."""
    try:
        return read_secret_file(path, what)
    except SecretFileError as exc:
        raise CommandError(str(exc)) from None


def _first_line(text: str) -> str:
    """The first line of ``text`` without its line ending."""
    lines = text.splitlines()
    return lines[0] if lines else ""


light_kdf_option = click.option(
    "--light-kdf",
    is_flag=True,
    help="Use geth's light scrypt cost (fast, weaker): for throwaway development keys only.",
)


@click.group("account")
def account() -> None:
    """Manage encrypted accounts (geth keystore format)."""


@account.command("new")
@keystore_options
@password_option
@light_kdf_option
@json_option
def account_new(
    home: Path | None, keystore_dir: Path | None, password_file: Path | None, light_kdf: bool, json_output: bool
) -> None:
    """Create a new account encrypted with a password."""
    with reporting_errors(json_output, (KeystoreError,)):
        keystore = open_keystore(home, keystore_dir, light_kdf=light_kdf)
        password = read_password(password_file, confirm=True)
        address = keystore.new(password)
        path = keystore.path_of(address)
    emit(
        json_output,
        {"address": address, "keyfile": str(path)},
        [f"Address:  {address}", f"Key file: {path}",
         "Keep the password safe: without it the key cannot be recovered."],
    )


@account.command("list")
@keystore_options
@json_option
def account_list(home: Path | None, keystore_dir: Path | None, json_output: bool) -> None:
    """List the accounts in the keystore, oldest first."""
    with reporting_errors(json_output, (KeystoreError,)):
        keystore = open_keystore(home, keystore_dir)
        scan = keystore.scan()
    accounts = [{"address": address, "keyfile": str(path)} for address, path in scan.accounts]
    malformed = [{"file": str(path), "reason": reason} for path, reason in scan.malformed]
    lines = [f"Account #{index}: {item['address']}  {item['keyfile']}" for index, item in enumerate(accounts)]
    if not accounts:
        lines.append(f"No accounts in {keystore.directory} (create one with `cmnode account new`).")
    lines += [f"Skipped unreadable key file: {item['reason']}" for item in malformed]
    emit(json_output, {"keystore": str(keystore.directory), "accounts": accounts, "malformed": malformed}, lines)


@account.command("import")
@click.argument("keyfile", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@keystore_options
@password_option
@light_kdf_option
@json_option
def account_import(
    keyfile: Path | None,
    home: Path | None,
    keystore_dir: Path | None,
    password_file: Path | None,
    light_kdf: bool,
    json_output: bool,
) -> None:
    """Import a hex private key from KEYFILE ('-' for stdin; prompted for when omitted)."""
    with reporting_errors(json_output, (KeystoreError,)):
        keystore = open_keystore(home, keystore_dir, light_kdf=light_kdf)
        if keyfile is None:
            private_key = click.prompt("Private key (hex)", hide_input=True, err=True)
        elif str(keyfile) == "-":
            private_key = sys.stdin.readline(MAX_SECRET_FILE_BYTES)
        else:
            private_key = _first_line(secret_text(keyfile, "key file"))
        password = read_password(password_file, confirm=True)
        address = keystore.import_key(private_key.strip(), password)
        path = keystore.path_of(address)
    emit(json_output, {"address": address, "keyfile": str(path)},
         [f"Imported: {address}", f"Key file: {path}"])
