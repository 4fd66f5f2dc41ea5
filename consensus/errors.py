"""Exceptions of the consensus package; ``ConsensusError`` is the root."""


class ConsensusError(Exception):
    """Root of every error raised by the ``consensus`` package."""


class InvalidBlock(ConsensusError):
    """A block that fails a consensus rule (bad commit, wrong validators hash, ...)."""


class ValidatorKeyFileError(ConsensusError):
    """A validator key file that is missing, unreadable or malformed."""


class DoubleSignRefused(ConsensusError):
    """Signing would conflict with something this validator already signed.

    ``signed`` is the (height, round, step) the signer last signed, when known.
    """

    def __init__(self, message: str, signed: tuple[int, int, int] | None = None) -> None:
        super().__init__(message)
        self.signed = signed


class RemoteSignerError(ConsensusError):
    """Root of the failures of a remote signer connection (``consensus.remote_signer``)."""


class SignerUnavailable(RemoteSignerError):
    """No remote signer is connected, or it did not answer in time: nothing was signed."""


class SignerProtocolError(RemoteSignerError):
    """A remote signer message that is malformed, oversized or unexpected."""


class SignRequestRejected(RemoteSignerError):
    """The signer refused a request that is not what it claims (chain id, height, round, step, bytes)."""


class InvalidValidatorUpdate(ConsensusError):
    """Validator-set updates that cannot be applied (removing an unknown validator, emptying the set, ...)."""


class ProposalUnavailable(ConsensusError):
    """The application cannot build this validator's proposal now (its randomness reveal is unavailable):
    the round goes without a proposal from it."""
