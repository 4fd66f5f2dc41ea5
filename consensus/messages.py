"""Consensus messages: proposals and votes, their sign bytes, signatures and wire encoding.

A ``Vote`` is a prevote or precommit for a block hash at (height, round). A nil
vote carries the empty byte string ``NIL`` as its block hash (never 32 zero
bytes), so a nil vote can never be confused with a vote for a block.

A ``Proposal`` carries the whole proposed block, the proposal's POL round
(``pol_round``, -1 when the block is proposed fresh, otherwise the round in which
+2/3 prevoted it) and the proposer's signature over ``proposal_sign_bytes``,
which commits to the block through its header hash.

Both travel over the network as RLP: ``encode_message`` / ``decode_message``.
Decoding is strict (canonical RLP, lists nested at most ``MAX_RLP_NESTING``
deep, exact field count, bounded integers, fixed-size addresses, hashes and
signatures) and raises ``MalformedMessage`` for anything else; it never raises
another exception type on bad bytes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import rlp
from rlp.exceptions import DecodingError, DeserializationError

from consensus.errors import ConsensusError
from consensus.keys import verify
from consensus.types import PRECOMMIT, PREVOTE, Block, vote_sign_bytes
from vm.rlp_nesting import nesting_exceeds

NIL = b""
"""The block hash of a nil vote."""

MAX_INT = 2**63 - 1
"""Upper bound of every integer field on the wire (heights, rounds, timestamps)."""

MAX_RLP_NESTING = 8
"""Deepest nesting of RLP lists in a message of the network (a proposal's commit signatures are at depth 5)."""

SIGNATURE_SIZE = 64
ADDRESS_SIZE = 20
HASH_SIZE = 32

_TAG_PROPOSAL = 1
_TAG_VOTE = 2

Verifier = Callable[[bytes, bytes, bytes], bool]
"""Signature check ``(public_key, message, signature) -> bool``; ``consensus.keys.verify`` by default."""


class MalformedMessage(ConsensusError):
    """Bytes received from the network that are not a well-formed consensus message."""


def proposal_sign_bytes(chain_id: int, height: int, round_: int, pol_round: int, block_hash: bytes,
                        timestamp_ms: int) -> bytes:
    """The canonical bytes a proposer signs for a proposal (``pol_round`` -1 is encoded as 0, others +1)."""
    return rlp.encode([b"cmt-proposal", chain_id, height, round_, pol_round + 1, block_hash, timestamp_ms])


PROPOSAL_KIND = 0
"""``SignBytesFields.kind`` of a proposal (votes carry their vote type, ``PREVOTE`` or ``PRECOMMIT``)."""


@dataclass(frozen=True)
class SignBytesFields:
    """What a validator's sign bytes say: a proposal's or vote's chain, position and block."""

    kind: int  # PROPOSAL_KIND, PREVOTE or PRECOMMIT
    chain_id: int
    height: int
    round: int
    block_hash: bytes
    timestamp_ms: int


def decode_sign_bytes(data: bytes) -> SignBytesFields:
    """Decode proposal or vote sign bytes strictly; raises ``MalformedMessage`` for anything else.

    The bytes must be exactly what ``proposal_sign_bytes`` or ``vote_sign_bytes``
    produce for the decoded fields.
    """
    try:
        items = rlp.decode(bytes(data), strict=True)
    except (DecodingError, DeserializationError, TypeError) as exc:
        raise MalformedMessage(f"sign bytes are not canonical RLP: {exc}") from exc
    fields = _expect_list(items, 7, "sign bytes")
    domain = _bytes(fields[0], "sign bytes domain")
    values = [_int(item, "sign bytes field") for item in (fields[1], fields[2], fields[3], fields[4], fields[6])]
    block_hash = _bytes(fields[5], "sign bytes block hash")
    if domain == b"cmt-proposal":
        chain_id, height, round_, pol_round_plus_one, timestamp_ms = values
        decoded = SignBytesFields(PROPOSAL_KIND, chain_id, height, round_, block_hash, timestamp_ms)
        again = proposal_sign_bytes(chain_id, height, round_, pol_round_plus_one - 1, block_hash, timestamp_ms)
        if len(block_hash) != HASH_SIZE or pol_round_plus_one > round_:
            raise MalformedMessage("proposal sign bytes with a bad block hash or POL round")
    elif domain == b"cmt-vote":
        chain_id, vote_type, height, round_, timestamp_ms = values
        decoded = SignBytesFields(vote_type, chain_id, height, round_, block_hash, timestamp_ms)
        again = vote_sign_bytes(chain_id, vote_type, height, round_, block_hash, timestamp_ms)
        if vote_type not in (PREVOTE, PRECOMMIT) or len(block_hash) not in (0, HASH_SIZE):
            raise MalformedMessage("vote sign bytes with a bad vote type or block hash")
    else:
        raise MalformedMessage(f"unknown sign bytes domain {domain[:16]!r}")
    if again != bytes(data):
        raise MalformedMessage("sign bytes are not in canonical form")
    return decoded


@dataclass(frozen=True)
class Vote:
    """A signed prevote or precommit; ``block_hash`` is ``NIL`` for a nil vote."""

    type: int
    height: int
    round: int
    block_hash: bytes
    timestamp_ms: int
    validator_address: bytes
    signature: bytes = b""

    def sign_bytes(self, chain_id: int) -> bytes:
        """What the validator signs."""
        return vote_sign_bytes(chain_id, self.type, self.height, self.round, self.block_hash, self.timestamp_ms)

    def with_signature(self, signature: bytes) -> Vote:
        """This vote carrying ``signature``."""
        return replace(self, signature=signature)

    def verify(self, chain_id: int, public_key: bytes, verifier: Verifier = verify) -> bool:
        """Whether the signature is the validator's over ``sign_bytes``."""
        return verifier(public_key, self.sign_bytes(chain_id), self.signature)

    def to_list(self) -> list[object]:
        """The RLP list form (without message tag)."""
        return [self.type, self.height, self.round, self.block_hash, self.timestamp_ms,
                self.validator_address, self.signature]

    @classmethod
    def from_list(cls, items: object) -> Vote:
        """Parse the RLP list form, strictly."""
        fields = _expect_list(items, 7, "vote")
        vote = cls(
            type=_int(fields[0], "vote type"), height=_int(fields[1], "vote height"),
            round=_int(fields[2], "vote round"), block_hash=_bytes(fields[3], "vote block hash"),
            timestamp_ms=_int(fields[4], "vote timestamp"),
            validator_address=_bytes(fields[5], "vote validator address"),
            signature=_bytes(fields[6], "vote signature"),
        )
        if vote.type not in (PREVOTE, PRECOMMIT):
            raise MalformedMessage(f"vote type {vote.type} is neither prevote nor precommit")
        if len(vote.block_hash) not in (0, HASH_SIZE):
            raise MalformedMessage(f"vote block hash has {len(vote.block_hash)} bytes")
        _check_sizes(vote.validator_address, vote.signature, "vote")
        return vote


@dataclass(frozen=True)
class Proposal:
    """A signed block proposal for (height, round); ``pol_round`` is -1 or the round of the block's POL."""

    height: int
    round: int
    pol_round: int
    block: Block
    timestamp_ms: int
    proposer_address: bytes
    signature: bytes = b""

    @property
    def block_hash(self) -> bytes:
        """The proposed block's hash."""
        return self.block.hash

    def sign_bytes(self, chain_id: int) -> bytes:
        """What the proposer signs."""
        return proposal_sign_bytes(chain_id, self.height, self.round, self.pol_round, self.block_hash,
                                   self.timestamp_ms)

    def with_signature(self, signature: bytes) -> Proposal:
        """This proposal carrying ``signature``."""
        return replace(self, signature=signature)

    def verify(self, chain_id: int, public_key: bytes, verifier: Verifier = verify) -> bool:
        """Whether the signature is the proposer's over ``sign_bytes``."""
        return verifier(public_key, self.sign_bytes(chain_id), self.signature)

    def to_list(self) -> list[object]:
        """The RLP list form (without message tag)."""
        return [self.height, self.round, self.pol_round + 1, self.block, self.timestamp_ms,
                self.proposer_address, self.signature]

    @classmethod
    def from_list(cls, items: object) -> Proposal:
        """Parse the RLP list form, strictly."""
        fields = _expect_list(items, 7, "proposal")
        try:
            block = Block.deserialize(fields[3])
        except (DeserializationError, TypeError, ValueError) as exc:
            raise MalformedMessage(f"proposal block is malformed: {exc}") from exc
        proposal = cls(
            height=_int(fields[0], "proposal height"), round=_int(fields[1], "proposal round"),
            pol_round=_int(fields[2], "proposal POL round") - 1, block=block,
            timestamp_ms=_int(fields[4], "proposal timestamp"),
            proposer_address=_bytes(fields[5], "proposer address"),
            signature=_bytes(fields[6], "proposal signature"),
        )
        if proposal.pol_round >= proposal.round:
            raise MalformedMessage(f"proposal POL round {proposal.pol_round} is not below its round {proposal.round}")
        _check_sizes(proposal.proposer_address, proposal.signature, "proposal")
        return proposal


Message = Proposal | Vote


def encode_message(message: Message) -> bytes:
    """The wire encoding of a proposal or vote."""
    if isinstance(message, Proposal):
        return rlp.encode([_TAG_PROPOSAL, *message.to_list()])
    return rlp.encode([_TAG_VOTE, *message.to_list()])


def decode_message(data: bytes, max_bytes: int) -> Message:
    """Decode a wire message of at most ``max_bytes``, raising ``MalformedMessage`` on anything malformed."""
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedMessage("consensus message is not bytes")
    if len(data) > max_bytes:
        raise MalformedMessage(f"consensus message of {len(data)} bytes exceeds the limit of {max_bytes}")
    if nesting_exceeds(bytes(data), 0, MAX_RLP_NESTING):
        raise MalformedMessage(f"consensus message nests lists deeper than {MAX_RLP_NESTING} levels")
    try:
        items = rlp.decode(bytes(data), strict=True)
    except (DecodingError, DeserializationError) as exc:
        raise MalformedMessage(f"consensus message is not canonical RLP: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise MalformedMessage("consensus message is not a tagged list")
    tag = _int(items[0], "message tag")
    if tag == _TAG_PROPOSAL:
        return Proposal.from_list(items[1:])
    if tag == _TAG_VOTE:
        return Vote.from_list(items[1:])
    raise MalformedMessage(f"unknown consensus message tag {tag}")


def _expect_list(items: object, count: int, what: str) -> list[object]:
    if not isinstance(items, list) or len(items) != count:
        raise MalformedMessage(f"{what} must be a list of {count} fields")
    return items


def _bytes(item: object, what: str) -> bytes:
    if not isinstance(item, bytes):
        raise MalformedMessage(f"{what} is not a byte string")
    return item


def _int(item: object, what: str) -> int:
    raw = _bytes(item, what)
    if raw[:1] == b"\x00":
        raise MalformedMessage(f"{what} has leading zero bytes")
    if len(raw) > 8:
        raise MalformedMessage(f"{what} is out of range")
    value = int.from_bytes(raw, "big")
    if value > MAX_INT:
        raise MalformedMessage(f"{what} is out of range")
    return value


def _check_sizes(address: bytes, signature: bytes, what: str) -> None:
    if len(address) != ADDRESS_SIZE:
        raise MalformedMessage(f"{what} address has {len(address)} bytes, expected {ADDRESS_SIZE}")
    if len(signature) != SIGNATURE_SIZE:
        raise MalformedMessage(f"{what} signature has {len(signature)} bytes, expected {SIGNATURE_SIZE}")
