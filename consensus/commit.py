"""Verification of commits: +2/3 of the voting power precommitted the block.

Used to check a block's ``last_commit`` (the commit of its parent) and, in
block sync, the commit that finalised a block received from a peer.
"""
from __future__ import annotations

from consensus.errors import InvalidBlock
from consensus.keys import verify
from consensus.types import PRECOMMIT, Commit, vote_sign_bytes
from consensus.validators import ValidatorSet


def verify_commit(commit: Commit, validators: ValidatorSet, chain_id: int, height: int, block_hash: bytes) -> None:
    """Raise ``InvalidBlock`` unless ``commit`` finalises ``block_hash`` at ``height`` with +2/3 of ``validators``."""
    if commit.height != height or commit.block_hash != block_hash:
        raise InvalidBlock(f"commit is for height {commit.height} block 0x{commit.block_hash.hex()}, "
                           f"expected height {height} block 0x{block_hash.hex()}")
    signed_power = 0
    seen: set[bytes] = set()
    for signature in commit.signatures:
        validator = validators.by_address(signature.validator_address)
        if validator is None:
            raise InvalidBlock(f"commit signed by 0x{signature.validator_address.hex()}, not a validator")
        if signature.validator_address in seen:
            raise InvalidBlock(f"commit has two signatures of 0x{signature.validator_address.hex()}")
        seen.add(signature.validator_address)
        message = vote_sign_bytes(chain_id, PRECOMMIT, height, commit.round, block_hash, signature.timestamp_ms)
        if not verify(validator.pub_key, message, signature.signature):
            raise InvalidBlock(f"invalid precommit signature of 0x{signature.validator_address.hex()}")
        signed_power += validator.power
    if signed_power * 3 <= validators.total_power * 2:
        raise InvalidBlock(f"commit has {signed_power} of {validators.total_power} voting power, needs more than 2/3")
