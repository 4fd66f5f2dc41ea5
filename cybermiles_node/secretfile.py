"""Reading small secret text files (passwords, keys, HMAC secrets): bounded in size, UTF-8, clear errors."""
from __future__ import annotations

from pathlib import Path

from cybermiles_node.errors import NodeError

#: Largest password, private key or secret file read.
MAX_SECRET_FILE_BYTES = 64 * 1024


class SecretFileError(NodeError):
    """A secret file that cannot be read, is too large or is not UTF-8 text."""


def read_secret_file(path: Path, what: str, max_bytes: int = MAX_SECRET_FILE_BYTES) -> str:
    """The text of the small secret file ``path`` of at most ``max_bytes`` bytes (``what`` names it in errors:
    "password file", "key file", ...)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SecretFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise SecretFileError(f"{what} {path} is larger than {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SecretFileError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None
