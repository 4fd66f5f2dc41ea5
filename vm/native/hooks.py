"""What a block tells native contracts about consensus, and what they tell consensus back.

Every native contract may run code at the start and end of each block
(``NativeContract.begin_block`` / ``end_block``), in an unmetered system
context. The start sees ``ConsensusInfo``: who proposed the block, which
validators signed the previous block (its commit is in this block) and which
did not, which validators the block's evidence proves double-signed, the
proposer's randomness reveal, and who missed a proposer slot at the parent height. The
end may return ``ValidatorUpdate``s, the only way the application changes the
consensus validator set; the engine applies them at a fixed height lag.

Validators are named by their 32-byte Ed25519 consensus public keys: the vm
knows nothing of consensus's own types.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Misbehaviour:
    """A validator proven by evidence in this block to have double-signed at ``height``."""

    pub_key: bytes
    height: int


@dataclass(frozen=True)
class ConsensusInfo:
    """Consensus facts of the block being executed (all ordered, so execution stays deterministic)."""

    proposer: bytes = b""
    signed: tuple[bytes, ...] = ()  # validators whose precommit for the parent is in this block's commit
    absent: tuple[bytes, ...] = ()  # the parent's validators missing from that commit
    misbehaviour: tuple[Misbehaviour, ...] = ()
    reveal: bytes = b""  # the proposer's randomness reveal (the header's ``randao_reveal``)
    missed_proposers: tuple[bytes, ...] = ()  # proposers of the parent height's rounds before the deciding one


@dataclass(frozen=True)
class ValidatorUpdate:
    """Set ``pub_key``'s voting power (0 removes it); ``owner`` is its account (fees, identity)."""

    pub_key: bytes
    power: int
    owner: bytes
