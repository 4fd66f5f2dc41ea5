"""The private validator: signs votes and never signs two different things for one step.

Before a signature leaves this module, the (height, round, step) it was made
for and the hash of the signed bytes are written to ``last_signed.json`` and
fsynced. A restarted validator reloads that record, so even after ``kill -9``
it refuses to sign conflicting bytes for a step it already signed, and it
re-signs identical bytes with the identical signature.

Consensus signs through a ``ConsensusSigner``: this in-process
``PrivValidator``, or ``consensus.remote_signer.RemoteSigner`` when the key is
kept by a signer process on another host (which guards with its own
``PrivValidator``).
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eth_hash.auto import keccak

from consensus.errors import DoubleSignRefused, ValidatorKeyFileError
from consensus.keys import ValidatorKey

STEP_PROPOSE = 1
STEP_PREVOTE = 2
STEP_PRECOMMIT = 3
REWOUND_ROUND = 2**31 - 1  # the round recorded by ``rewind``: above any round a height reaches


class ConsensusSigner(Protocol):
    """What the consensus engines sign proposals and votes with."""

    @property
    def address(self) -> bytes:
        """The validator address of the signing key."""
        ...

    async def sign_step(self, height: int, round_: int, step: int, sign_bytes: bytes) -> bytes:
        """The signature of ``sign_bytes`` for (height, round, step).

        Raises ``DoubleSignRefused`` when it would conflict with an earlier
        signature, and a ``RemoteSignerError`` when a remote signer cannot answer.
        """
        ...


@dataclass(frozen=True)
class SignedStep:
    """The highest step this validator has signed, and what it signed there."""

    height: int
    round: int
    step: int
    sign_bytes_hash: bytes
    signature: bytes


class PrivValidator:
    """A validator key guarded by a persistent last-signed record."""

    def __init__(self, key: ValidatorKey, state_path: Path) -> None:
        self.key = key
        self._path = Path(state_path)
        self.last = self._load()
        self._lock = threading.Lock()

    @property
    def address(self) -> bytes:
        """The validator address."""
        return self.key.address

    async def sign_step(self, height: int, round_: int, step: int, sign_bytes: bytes) -> bytes:
        """``sign`` off the event loop (the record's fsync blocks)."""
        return await asyncio.to_thread(self.sign, height, round_, step, sign_bytes)

    def sign(self, height: int, round_: int, step: int, sign_bytes: bytes) -> bytes:
        """Sign ``sign_bytes`` for (height, round, step), refusing any conflicting signature."""
        digest = keccak(sign_bytes)
        with self._lock:
            last = self.last
            if last is not None:
                position, last_position = (height, round_, step), (last.height, last.round, last.step)
                if position < last_position:
                    raise DoubleSignRefused(f"already signed a later step {last_position}, refusing {position}",
                                            last_position)
                if position == last_position:
                    if digest == last.sign_bytes_hash:
                        return last.signature
                    raise DoubleSignRefused(f"already signed different data at {position}", last_position)
            signature = self.key.sign(sign_bytes)
            self._store(SignedStep(height, round_, step, digest, signature))
            return signature

    def rewind(self, height: int) -> None:
        """Let the next signature be for ``height + 1`` after a development chain was rolled back to ``height``.

        Only a development chain (``cmnode start --dev``, one validator, no peers) rewinds:
        its blocks above ``height`` were deleted, so nobody holds votes for them. The
        record becomes "every step of ``height`` signed", which still refuses that height.
        """
        with self._lock:
            self._store(SignedStep(height, REWOUND_ROUND, STEP_PRECOMMIT, b"", b""))

    def _load(self) -> SignedStep | None:
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ValidatorKeyFileError(f"{self._path}: unreadable last-signed record") from exc
        try:
            return SignedStep(
                int(data["height"]), int(data["round"]), int(data["step"]),
                bytes.fromhex(data["sign_bytes_hash"]), bytes.fromhex(data["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidatorKeyFileError(f"{self._path}: malformed last-signed record") from exc

    def _store(self, signed: SignedStep) -> None:
        data = json.dumps({
            "height": signed.height, "round": signed.round, "step": signed.step,
            "sign_bytes_hash": signed.sign_bytes_hash.hex(), "signature": signed.signature.hex(),
        })
        temporary = self._path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._path)
        directory = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.last = signed
