"""Exceptions raised by the execution layer; ``VMError`` is the root."""


class VMError(Exception):
    """Root of every error raised by the ``vm`` package."""


class InvalidTransaction(VMError):
    """A transaction that can never be included: malformed, wrongly signed, or of a disabled type.

    The message is worded as geth words it, since wallets show it to users.
    """


class BlockExecutionError(VMError):
    """A block whose execution does not match its header or breaks a block rule."""


class NativeContractError(VMError):
    """A native contract call that failed; the message becomes the revert reason."""


class TraceLimitExceeded(VMError):
    """A trace grew past its bounds (recorded steps, frames or bytes); the trace is abandoned."""


class InvalidLogFilter(VMError):
    """A log filter with more than four topic positions, or an address or topic of the wrong size."""
