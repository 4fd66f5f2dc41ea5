"""Block, header, vote and commit types shared by consensus, storage and RPC.

A block header has the Ethereum shape (so wallets and the EVM see a normal
chain) extended with the consensus fields of a Tendermint header. The block
hash is the keccak-256 of the RLP encoding of the whole header, and it is the
hash that ``BLOCKHASH``, the RPC and the next header's ``parent_hash`` use.
"""
from __future__ import annotations

from collections.abc import Sequence

import rlp
from eth_hash.auto import keccak
from rlp.sedes import Binary, CountableList, big_endian_int, binary

hash32 = Binary.fixed_length(32)
address20 = Binary.fixed_length(20, allow_empty=True)

EMPTY_OMMERS_HASH = keccak(rlp.encode([]))
ZERO_HASH32 = b"\x00" * 32

PRECOMMIT = 2
PREVOTE = 1


class Header(rlp.Serializable):
    """Ethereum-shaped block header with Tendermint consensus fields."""

    fields = [
        ("parent_hash", hash32),
        ("ommers_hash", hash32),
        ("coinbase", address20),
        ("state_root", hash32),
        ("transactions_root", hash32),
        ("receipts_root", hash32),
        ("logs_bloom", big_endian_int),
        ("difficulty", big_endian_int),
        ("number", big_endian_int),
        ("gas_limit", big_endian_int),
        ("gas_used", big_endian_int),
        ("timestamp", big_endian_int),
        ("extra_data", binary),
        ("mix_hash", hash32),
        ("nonce", Binary.fixed_length(8)),
        ("base_fee_per_gas", big_endian_int),
        # consensus fields
        ("chain_id", big_endian_int),
        ("proposer_address", address20),
        ("validators_hash", hash32),
        ("next_validators_hash", hash32),
        ("last_commit_hash", hash32),
        ("evidence_hash", hash32),
        ("randao_reveal", hash32),  # the proposer's randomness reveal (middleware/randomness)
    ]

    @property
    def hash(self) -> bytes:
        """The block hash: keccak-256 of the RLP-encoded header."""
        cached = self.__dict__.get("_cached_hash")
        if cached is None:
            cached = keccak(rlp.encode(self))
            self.__dict__["_cached_hash"] = cached
        return cached


class CommitSig(rlp.Serializable):
    """One validator's precommit signature inside a commit."""

    fields = [
        ("validator_address", Binary.fixed_length(20)),
        ("timestamp_ms", big_endian_int),
        ("signature", binary),
    ]


class Commit(rlp.Serializable):
    """+2/3 precommits for one block: what makes a block final."""

    fields = [
        ("height", big_endian_int),
        ("round", big_endian_int),
        ("block_hash", hash32),
        ("signatures", CountableList(CommitSig)),
    ]

    @property
    def hash(self) -> bytes:
        """keccak-256 of the RLP-encoded commit (the next header's ``last_commit_hash``)."""
        return keccak(rlp.encode(self))


EMPTY_COMMIT = Commit(height=0, round=0, block_hash=ZERO_HASH32, signatures=[])


class Block(rlp.Serializable):
    """A header, its transactions (canonical typed encodings), the commit of its parent, and evidence."""

    fields = [
        ("header", Header),
        ("transactions", CountableList(binary)),
        ("last_commit", Commit),
        ("evidence", CountableList(binary)),
    ]
    header: Header
    transactions: Sequence[bytes]
    last_commit: Commit
    evidence: Sequence[bytes]

    @property
    def hash(self) -> bytes:
        """The block hash (the header hash)."""
        return self.header.hash

    @property
    def number(self) -> int:
        """The block height."""
        number: int = self.header.number
        return number


def vote_sign_bytes(
    chain_id: int, vote_type: int, height: int, round_: int, block_hash: bytes, timestamp_ms: int
) -> bytes:
    """The canonical bytes a validator signs for a prevote or precommit."""
    return rlp.encode(
        [b"cmt-vote", chain_id, vote_type, height, round_, block_hash, timestamp_ms]
    )


def evidence_root(evidence: Sequence[bytes]) -> bytes:
    """Hash committing to a block's evidence list."""
    return keccak(rlp.encode(list(evidence)))
