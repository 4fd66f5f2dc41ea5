"""The chain's randomness beacon: RANDAO over per-validator hash chains.

On-chain: the ``IRandomness`` native contract (``contract.py``) checks each block's
reveal against its proposer's commitment, mixes it into the beacon and keeps the value
of every height for 8,192 blocks (for ever once requested). Off-chain: ``hashchain.py``
derives a validator's secret hash chains and computes the reveal of its next block.
The security argument and its limits: ``docs/randomness.md``.
"""
