"""A juror's vote salts, kept in a file until the reveal (the juror's side of commit/reveal).

``cmnode jury commit`` draws a random 32-byte salt, records it with the vote here (and prints
both), and commits ``keccak256(caseId, juror, vote, salt)``; ``cmnode jury reveal`` reads them
back. The file is JSON, ``{"<chain id>/<case>/<seat>/<juror>": {"vote": bool, "salt": "0x.."}}``,
written whole to a temporary file and renamed over the old one (mode 0600), so a crash leaves
either the old or the new file. At most ``MAX_ENTRIES`` are kept: the oldest go first.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from middleware.jury.errors import SaltFileError

MAX_ENTRIES = 4_096
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class SealedVote:
    """A committed vote and the salt that seals it."""

    vote: bool
    salt: bytes


def _key(chain_id: int, case_id: int, index: int, juror: bytes) -> str:
    return f"{chain_id}/{case_id}/{index}/0x{juror.hex()}"


class SaltBook:
    """The salts file of one node home."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, SealedVote]:
        if not self.path.exists():
            return {}
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise SaltFileError(f"{self.path}: larger than {MAX_FILE_BYTES} bytes")
            raw = json.loads(self.path.read_text())
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            return {str(key): SealedVote(_vote(entry["vote"]), _salt(entry["salt"])) for key, entry in raw.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SaltFileError(f"{self.path}: cannot read the vote salts: {exc}") from None

    def record(self, chain_id: int, case_id: int, index: int, juror: bytes, sealed: SealedVote) -> None:
        """Keep ``sealed`` for juror ``index`` of a case (replacing an earlier one of the same seat)."""
        entries = self._read()
        entries.pop(_key(chain_id, case_id, index, juror), None)
        entries[_key(chain_id, case_id, index, juror)] = sealed
        kept = list(entries.items())[-MAX_ENTRIES:]
        text = json.dumps({key: {"vote": s.vote, "salt": "0x" + s.salt.hex()} for key, s in kept}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            raise SaltFileError(f"{self.path}: cannot write the vote salts: {exc}") from None

    def lookup(self, chain_id: int, case_id: int, index: int, juror: bytes) -> SealedVote:
        """The vote and salt committed for juror ``index`` of a case."""
        sealed = self._read().get(_key(chain_id, case_id, index, juror))
        if sealed is None:
            raise SaltFileError(f"{self.path}: no salt kept for case {case_id}, juror {index} (0x{juror.hex()}); "
                                "pass the salt printed at commit with --salt")
        return sealed


def _vote(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"vote {value!r} is not true or false")
    return value


def _salt(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError(f"salt {value!r} is not 0x and 64 hex digits")
    return bytes.fromhex(value[2:])
