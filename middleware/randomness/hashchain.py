"""A validator's secret hash chains and the reveal of its next block.

Chain ``e`` starts from a secret seed derived from the validator's consensus key
(``consensus.keys.ValidatorKey.beacon_seed``: nothing new is stored, and whoever
holds the key, the node or its remote signer, can rebuild every chain); its element ``k`` is
``keccak^(L-k)(seed_e)``, so element 0, ``keccak^L(seed_e)``, is the *anchor* the
validator publishes first, and each later element hashes to the one before. With
``r`` reveals remaining in the stored chain, the commitment is ``keccak^r(seed_e)``
and the next reveal is ``keccak^(r-1)(seed_e)``.

``HashChain`` keeps every 256th element (257 checkpoints), so a reveal costs at most
255 hashes instead of up to 65,536 (one on average: the 256 elements after a checkpoint
are computed together); building the checkpoints costs one pass.
"""
from __future__ import annotations

from eth_hash.auto import keccak

from middleware.randomness.errors import RandomnessError

CHAIN_LENGTH = 65_536
CHECKPOINT_INTERVAL = 256


def hash_times(value: bytes, times: int) -> bytes:
    """``keccak`` applied ``times`` times to ``value``."""
    for _ in range(times):
        value = keccak(value)
    return value


class HashChain:
    """One chain's elements, served from checkpoints."""

    def __init__(self, seed: bytes, length: int = CHAIN_LENGTH, interval: int = CHECKPOINT_INTERVAL) -> None:
        if length <= 0 or interval <= 0:
            raise RandomnessError(f"a hash chain needs a positive length and interval, got {length}, {interval}")
        self.length = length
        self._interval = interval
        self._checkpoints = [seed]
        value = seed
        for _ in range(length // interval):
            value = hash_times(value, interval)
            self._checkpoints.append(value)
        self._segment: tuple[int, list[bytes]] = (-1, [])  # the elements after one checkpoint, as last used

    def hashed(self, times: int) -> bytes:
        """``keccak^times(seed)``, for ``0 <= times <= length``.

        The elements between two checkpoints are computed together and kept until another
        segment is asked for, so successive reveals cost one hash each on average.
        """
        if not 0 <= times <= self.length:
            raise RandomnessError(f"a chain of length {self.length} has no element hashed {times} times")
        index = min(times // self._interval, len(self._checkpoints) - 1)
        if self._segment[0] != index:
            elements = [self._checkpoints[index]]
            for _ in range(min(self._interval, self.length - index * self._interval + 1) - 1):
                elements.append(keccak(elements[-1]))
            self._segment = (index, elements)
        return self._segment[1][times - index * self._interval]

    @property
    def anchor(self) -> bytes:
        """Element 0: what the validator publishes before its first reveal."""
        return self.hashed(self.length)

    def reveal_after(self, remaining: int) -> bytes:
        """The reveal that follows a commitment with ``remaining`` reveals left (1 .. length)."""
        if not 0 < remaining <= self.length:
            raise RandomnessError(f"no reveal follows a commitment with {remaining} reveals remaining")
        return self.hashed(remaining - 1)
