"""What the signer verifies before it signs: the request says what its sign bytes say.

The signer never signs arbitrary bytes. The sign bytes are decoded with the
consensus decoder; their chain id must be the signer's chain, their height and
round the request's, and their kind must be the request's step (a proposal at
the propose step, a prevote at the prevote step, a precommit at the precommit
step). The double-sign guard then judges the request by that (height, round,
step), which the bytes are now known to carry.
"""
from __future__ import annotations

from consensus.errors import SignRequestRejected
from consensus.messages import PROPOSAL_KIND, MalformedMessage, decode_sign_bytes
from consensus.privval import STEP_PRECOMMIT, STEP_PREVOTE, STEP_PROPOSE
from consensus.remote_signer.protocol import SignRequest
from consensus.types import PRECOMMIT, PREVOTE

STEP_OF_KIND = {PROPOSAL_KIND: STEP_PROPOSE, PREVOTE: STEP_PREVOTE, PRECOMMIT: STEP_PRECOMMIT}


def check_sign_request(request: SignRequest, chain_id: int) -> None:
    """Raise ``SignRequestRejected`` unless ``request`` is a proposal or vote of ``chain_id`` at its position."""
    if request.chain_id != chain_id:
        raise SignRequestRejected(f"request for chain {request.chain_id}, this signer signs for chain {chain_id}")
    try:
        fields = decode_sign_bytes(request.sign_bytes)
    except MalformedMessage as exc:
        raise SignRequestRejected(f"sign bytes are not a proposal or vote: {exc}") from None
    if fields.chain_id != chain_id:
        raise SignRequestRejected(f"sign bytes of chain {fields.chain_id}, this signer signs for chain {chain_id}")
    claimed = (request.height, request.round, request.step)
    actual = (fields.height, fields.round, STEP_OF_KIND[fields.kind])
    if claimed != actual:
        raise SignRequestRejected(f"request for (height, round, step) {claimed} carries sign bytes of {actual}")
