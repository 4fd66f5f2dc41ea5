"""Whether a block may follow its parent: the consensus checks of a block, in one place.

As CometBFT's ``validateBlock``, this is everything about a block that does not need
its execution: the height and parent hash follow the parent, the chain id is this
chain's, the header names the validator sets that govern its height and the next one,
the header commits to the block's last commit and evidence, the last commit carries
+2/3 of the parent's validators' precommits for the parent (none after genesis), the
proposer is a validator of the height, and every piece of evidence is a verified double
sign of a validator, at most once per block. Block sync and fast sync check the parts
they can before a block's commit arrives (``header_problem``); the application runs
``validate_block`` on every block it is given, then only re-executes it and compares
the header execution gives.
"""
from __future__ import annotations

from collections.abc import Callable

from consensus.commit import verify_commit
from consensus.errors import InvalidBlock
from consensus.evidence import DuplicateVoteEvidence, InvalidEvidence
from consensus.types import EMPTY_COMMIT, Block, Header, evidence_root
from consensus.validators import ValidatorSet


def header_problem(block: Block, parent_hash: bytes, chain_id: int, validators: ValidatorSet) -> str | None:
    """Why ``block`` cannot follow the block ``parent_hash`` under ``validators``, judged by its header
    alone (parent hash, chain id, validator-set, last-commit and evidence hashes); None when it can."""
    header = block.header
    checks = (
        (header.parent_hash == parent_hash, "its parent hash is not the last block's"),
        (header.chain_id == chain_id, f"it has chain id {header.chain_id}"),
        (header.validators_hash == validators.hash, "it names another validator set"),
        (header.last_commit_hash == block.last_commit.hash, "its last commit is not the one its header names"),
        (header.evidence_hash == evidence_root(block.evidence), "its evidence is not the one its header names"),
    )
    for ok, problem in checks:
        if not ok:
            return problem
    return None


def validate_block(block: Block, parent: Header, chain_id: int,
                   validators_at: Callable[[int], ValidatorSet]) -> None:
    """Raise ``InvalidBlock`` unless ``block`` may follow ``parent`` (the checks of the module docstring);
    ``validators_at(h)`` is the validator set that governs height ``h``."""
    header = block.header
    if header.number != parent.number + 1:
        raise InvalidBlock("its height does not follow the last block")
    validators = validators_at(header.number)
    problem = header_problem(block, parent.hash, chain_id, validators)
    if problem is not None:
        raise InvalidBlock(problem)
    if header.timestamp < parent.timestamp:
        raise InvalidBlock("its timestamp is before the parent's")
    if header.next_validators_hash != validators_at(header.number + 1).hash:
        raise InvalidBlock("it names another next validator set")
    if parent.number == 0:
        if block.last_commit != EMPTY_COMMIT:
            raise InvalidBlock("the first block carries a commit, but genesis is not voted on")
    else:
        verify_commit(block.last_commit, validators_at(parent.number), chain_id, parent.number, parent.hash)
    _check_evidence(block, chain_id, validators_at)
    if validators.by_address(header.proposer_address) is None:
        raise InvalidBlock("its proposer is not a validator of this height")


def _check_evidence(block: Block, chain_id: int, validators_at: Callable[[int], ValidatorSet]) -> None:
    """Every piece of evidence must be a verified double-sign of a validator, at most once per block."""
    seen: set[bytes] = set()
    for index, encoded in enumerate(block.evidence):
        try:
            evidence = DuplicateVoteEvidence.decode(encoded)
            if evidence.height >= block.number:
                raise InvalidEvidence(f"from height {evidence.height}, not before the block")
            evidence.verify(chain_id, validators_at(evidence.height))
        except InvalidEvidence as exc:
            raise InvalidBlock(f"evidence {index}: {exc}") from exc
        if evidence.hash in seen:
            raise InvalidBlock(f"evidence {index}: repeated")
        seen.add(evidence.hash)
