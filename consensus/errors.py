"""Exceptions of the consensus package; ``ConsensusError`` is the root."""


class ConsensusError(Exception):
    """Root of every error raised by the ``consensus`` package."""


class InvalidBlock(ConsensusError):
    """A block that fails a consensus rule (bad commit, wrong validators hash, ...)."""


class KeyFileError(ConsensusError):
    """A validator key file that is missing, unreadable or malformed."""


class DoubleSignRefused(ConsensusError):
    """Signing would conflict with something this validator already signed."""


class InvalidValidatorUpdate(ConsensusError):
    """Validator-set updates that cannot be applied (removing an unknown validator, emptying the set, ...)."""
