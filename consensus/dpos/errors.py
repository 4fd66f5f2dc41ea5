"""Exceptions of delegated proof of stake (staking, election, rewards, slashing, governance).

``DposError`` is the root. It is both a ``ConsensusError`` (it belongs to the
consensus package) and a ``NativeContractError``, so a rule broken inside a
native-contract call reverts the call with the error's message as the reason
wallets show.
"""
from consensus.errors import ConsensusError
from vm.errors import NativeContractError


class DposError(ConsensusError, NativeContractError):
    """Root of every error raised by ``consensus.dpos``; the message is the revert reason."""


class Unauthorized(DposError):
    """The sender may not perform this operation (not the owner, not the foundation, ...)."""


class UnknownCandidate(DposError):
    """No candidate is registered for the given owner account or public key."""


class InvalidCandidacy(DposError):
    """A candidacy declaration or update that breaks a rule (key in use, bad commission, ...)."""


class InvalidAmount(DposError):
    """An amount that is zero, negative, above a limit, or more than what is available."""


class InvalidParameter(DposError):
    """A chain parameter that is missing, of the wrong type or out of range."""
