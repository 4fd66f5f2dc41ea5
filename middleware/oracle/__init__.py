"""Oracle quorum: m-of-n attested answers from the outside world.

On-chain: the ``IOracle`` native contract (``contract.py``) keeps oracle sets (explicit
accounts with a threshold, or the elected validators with a fractional threshold),
requests with a deadline in block time and a bound on the answer's size, and the
oracles' attestations; a request resolves once ``m`` members attest the same value and
fails when its deadline passes first. Off-chain: ``source.py`` asks a web service for
an answer, bounded in size and time (the node's ``cmnode oracle`` uses it).
"""
