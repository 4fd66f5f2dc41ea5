"""Exceptions of the IPFS package; ``IpfsError`` is the root, and every message is fit to show to a user."""


class IpfsError(Exception):
    """Root of the IPFS package's errors."""


class CidError(IpfsError):
    """Text or bytes that are not a content identifier the chain accepts."""


class ContentMismatch(IpfsError):
    """Bytes whose CID differs from the one they were asked for or announced with."""


class ContentTooLarge(IpfsError):
    """A file or a response beyond the size limit."""


class IpfsApiError(IpfsError):
    """The IPFS node's RPC API is unreachable, timed out, or answered with an error or a malformed body."""
